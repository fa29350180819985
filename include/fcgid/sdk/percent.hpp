// fcgid/sdk/percent.hpp: percent-decoding (RFC 3986 section 2.1), with '+'
// as a space for query strings and form bodies (the HTML
// application/x-www-form-urlencoded rules).
//
// MALFORMED ESCAPES ARE KEPT LITERALLY: "100%", "%zz" and "%4" decode to
// themselves, as the WHATWG URL standard, browsers and PHP's urldecode() do.
// Go's url.QueryUnescape fails instead, which turns one stray '%' in a
// hand-typed link into a failed request; keeping it loses nothing (the
// bytes were not an escape) and means decoding cannot fail.
//
// Decoded text is bytes: %00 gives a NUL, and nothing checks UTF-8.
#ifndef FCGID_SDK_PERCENT_HPP
#define FCGID_SDK_PERCENT_HPP

#include <cstddef>
#include <string>
#include <string_view>

#include "fcgid/sdk/ascii.hpp"

namespace fcgid::sdk {

// Whether '+' means a space: yes in query strings and form bodies, no in
// paths and RFC 5987 values.
enum class plus_rule : bool { keep, space };

namespace detail {

// True if s[i] starts a well-formed %XX escape.
constexpr bool is_escape_at(std::string_view s, std::size_t i) noexcept {
    return s[i] == '%' && i + 2 < s.size() && ascii::hex_value(s[i + 1]) >= 0 && ascii::hex_value(s[i + 2]) >= 0;
}

}  // namespace detail

// True if decoding `s` would change it, i.e. it holds a well-formed %XX, or a
// '+' under plus_rule::space. When false, `s` itself is its decoded form and
// a caller can hand out the view instead of a copy.
constexpr bool needs_percent_decoding(std::string_view s, plus_rule plus = plus_rule::keep) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+' && plus == plus_rule::space) return true;
        if (detail::is_escape_at(s, i)) return true;
    }
    return false;
}

// Decodes `in` into `out`, which must have room for in.size() bytes (the
// decoded form is never longer). Returns the number of bytes written.
// `out` may equal in.data() (decoding in place); other overlap is not allowed.
inline std::size_t percent_decode_to(std::string_view in, char* out, plus_rule plus = plus_rule::keep) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%' && detail::is_escape_at(in, i)) {
            out[n++] = static_cast<char>(ascii::hex_value(in[i + 1]) * 16 + ascii::hex_value(in[i + 2]));
            i += 2;
        } else if (c == '+' && plus == plus_rule::space) {
            out[n++] = ' ';
        } else {
            out[n++] = c;
        }
    }
    return n;
}

// Appends the decoded form of `in` to `out` (existing content is kept).
inline void append_percent_decoded(std::string& out, std::string_view in, plus_rule plus = plus_rule::keep) {
    const std::size_t old = out.size();
    out.resize(old + in.size());
    out.resize(old + percent_decode_to(in, out.data() + old, plus));
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_PERCENT_HPP
