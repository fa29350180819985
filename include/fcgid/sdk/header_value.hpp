// fcgid/sdk/header_value.hpp: a header value with parameters,
// `type/subtype; a=b; c="d"` (RFC 9110 section 5.6.6), as in Content-Type and
// Content-Disposition; and RFC 8187 (formerly 5987) `filename*=` values.
//
// Zero-copy: the value and every parameter are views into the parsed text,
// and a header_value owns nothing, so it must not outlive that text. A
// quoted parameter is kept as its raw inside, escapes and all; the rare one
// holding an escape is flagged, and unescaped() copies it into a buffer of
// the caller's.
//
// BACKSLASHES: inside quotes, '\' escapes the next byte only when that byte
// is a tspecial (RFC 2045: ()<>@,;:\"/[]?=), and is kept literally
// otherwise, as Go's mime package does. HTML's multipart encoding does not
// escape backslashes, so filename="C:\dir\a.txt" from an old browser keeps
// them, while filename="a \"b\".txt" still unescapes.
#ifndef FCGID_SDK_HEADER_VALUE_HPP
#define FCGID_SDK_HEADER_VALUE_HPP

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/parse_error.hpp"
#include "fcgid/sdk/percent.hpp"

namespace fcgid::sdk {

namespace detail {

constexpr bool is_tspecial(char c) noexcept {
    switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
        return true;
    default:
        return false;
    }
}

}  // namespace detail

// One parameter. `name` is a token, to be compared case-insensitively;
// `value` is a token, or the inside of a quoted string with its escapes.
struct header_param {
    std::string_view name;
    std::string_view value;
    bool quoted = false;   // the value was a quoted-string ("" is a valid empty value)
    bool escaped = false;  // the value holds at least one backslash escape

    // The value with escapes removed: `value` itself when it has none (no
    // copy), else the unescaped text written over `scratch`, which the
    // returned view then points into.
    std::string_view unescaped(std::string& scratch) const {
        if (!escaped) return value;
        scratch.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\\' && i + 1 < value.size() && detail::is_tspecial(value[i + 1])) ++i;
            scratch.push_back(value[i]);
        }
        return scratch;
    }
};

// A parsed header value: the part before the first ';' and up to
// max_params parameters. Holds views only (see above).
class header_value {
public:
    static constexpr std::size_t max_params = 16;

    using const_iterator = const header_param*;

    // The value without parameters and surrounding whitespace, as written
    // ("multipart/form-data", "form-data"); compare it case-insensitively.
    std::string_view value() const noexcept { return value_; }

    const_iterator begin() const noexcept { return params_.data(); }
    const_iterator end() const noexcept { return params_.data() + count_; }
    std::size_t size() const noexcept { return count_; }

    // The first parameter called `name` (case-insensitive), or nullptr.
    const header_param* find(std::string_view name) const noexcept {
        for (const header_param& p : *this) {
            if (ascii::iequals(p.name, name)) return &p;
        }
        return nullptr;
    }

private:
    friend result<header_value> parse_header_value(std::string_view text);

    std::string_view value_;
    std::array<header_param, max_params> params_{};
    std::size_t count_ = 0;
};

// Parses `text`. The value must be a token or type/subtype; each parameter
// is name=token or name="quoted string", OWS around ';' and '=' tolerated,
// empty parameters (";;") skipped. Fails on an empty value, a CTL, a
// malformed parameter, an unclosed quote, or more than max_params parameters.
// Never allocates.
inline result<header_value> parse_header_value(std::string_view text) {
    for (const char c : text) {
        if (ascii::is_ctl(c) && c != '\t') return parse_errc::invalid_header_value;
    }
    header_value out;
    std::size_t i = text.find(';');
    out.value_ = ascii::trim_ows(text.substr(0, i));
    if (out.value_.empty()) return parse_errc::empty_header_value;
    for (const char c : out.value_) {
        if (!ascii::is_tchar(c) && c != '/') return parse_errc::invalid_header_value;
    }

    const auto skip_ows = [&] {
        while (i < text.size() && ascii::is_ows(text[i])) ++i;
    };
    while (i < text.size()) {
        ++i;  // the ';'
        skip_ows();
        if (i == text.size() || text[i] == ';') continue;

        header_param p;
        const std::size_t name_start = i;
        while (i < text.size() && ascii::is_tchar(text[i])) ++i;
        p.name = text.substr(name_start, i - name_start);
        skip_ows();
        if (p.name.empty() || i == text.size() || text[i] != '=') return parse_errc::invalid_header_parameter;
        ++i;
        skip_ows();
        if (i < text.size() && text[i] == '"') {
            p.quoted = true;
            const std::size_t value_start = ++i;
            for (;; ++i) {
                if (i == text.size()) return parse_errc::unterminated_quoted_string;
                if (text[i] == '"') break;
                if (text[i] == '\\' && i + 1 < text.size() && detail::is_tspecial(text[i + 1])) {
                    p.escaped = true;
                    ++i;
                }
            }
            p.value = text.substr(value_start, i - value_start);
            ++i;  // the closing quote
        } else {
            const std::size_t value_start = i;
            while (i < text.size() && ascii::is_tchar(text[i])) ++i;
            p.value = text.substr(value_start, i - value_start);
            if (p.value.empty()) return parse_errc::invalid_header_parameter;
        }
        skip_ows();
        if (i < text.size() && text[i] != ';') return parse_errc::invalid_header_parameter;
        if (out.count_ == header_value::max_params) return parse_errc::too_many_header_parameters;
        out.params_[out.count_++] = p;
    }
    return out;
}

// Decodes an RFC 8187 ext-value, charset'language'percent-encoded, such as
// UTF-8''%e2%82%ac%20rates.txt, appending UTF-8 to `out`. Knows UTF-8 and
// ISO-8859-1 (converted), the two charsets RFC 8187 requires; returns false,
// leaving `out` as it was, for any other or a value without two quotes.
inline bool decode_ext_value(std::string_view raw, std::string& out) {
    const std::size_t q1 = raw.find('\'');
    const std::size_t q2 = q1 == std::string_view::npos ? q1 : raw.find('\'', q1 + 1);
    if (q2 == std::string_view::npos) return false;
    const std::string_view charset = raw.substr(0, q1);
    const std::string_view encoded = raw.substr(q2 + 1);
    if (ascii::iequals(charset, "UTF-8")) {
        append_percent_decoded(out, encoded);
        return true;
    }
    if (!ascii::iequals(charset, "ISO-8859-1")) return false;
    std::string latin1;
    append_percent_decoded(latin1, encoded);
    for (const char c : latin1) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            out.push_back(c);
        } else {
            out.push_back(static_cast<char>(0xc0 | (u >> 6)));
            out.push_back(static_cast<char>(0x80 | (u & 0x3f)));
        }
    }
    return true;
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_HEADER_VALUE_HPP
