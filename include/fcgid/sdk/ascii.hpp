// fcgid/sdk/ascii.hpp: the byte classes of the HTTP grammars (RFC 9110,
// RFC 6265, RFC 2046) shared by the SDK's parsers.
//
// Everything works on bytes, never on the C locale: isalpha() and tolower()
// would change meaning with setlocale(), and a parser must not.
#ifndef FCGID_SDK_ASCII_HPP
#define FCGID_SDK_ASCII_HPP

#include <cstddef>
#include <string_view>

namespace fcgid::sdk::ascii {

// A control character: 0x00-0x1F and DEL (RFC 5234 CTL).
constexpr bool is_ctl(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Optional whitespace, OWS (RFC 9110 section 5.6.3): space or horizontal tab.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// tchar (RFC 9110 section 5.6.2): what a token, a header name or a method is made of.
constexpr bool is_tchar(char c) noexcept {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

// True if `s` is a non-empty token.
constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// The value of a hex digit, or -1.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive comparison of ASCII letters (header names, parameter
// names, media types); other bytes must be equal.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

// `s` without leading and trailing OWS.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace fcgid::sdk::ascii

#endif  // FCGID_SDK_ASCII_HPP
