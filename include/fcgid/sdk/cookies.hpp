// fcgid/sdk/cookies.hpp: reading the request's Cookie header and writing
// Set-Cookie header values (RFC 6265).
//
// Reading is lenient, writing is strict: browsers send back whatever some
// earlier server set, so a malformed pair is skipped rather than failing the
// request; but what WE send must follow RFC 6265 section 4.1, so a cookie
// that does not is refused before it reaches a header.
#ifndef FCGID_SDK_COOKIES_HPP
#define FCGID_SDK_COOKIES_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/field_list.hpp"
#include "fcgid/sdk/limits.hpp"
#include "fcgid/sdk/parse_error.hpp"

namespace fcgid::sdk {

namespace detail {

// A byte a received cookie value may hold. RFC 6265's cookie-octet, plus
// space, comma and bytes above 0x7F, which browsers send and Go accepts;
// still not CTLs, DQUOTE or backslash, which no sane value holds.
constexpr bool is_lenient_cookie_byte(char c) noexcept { return !ascii::is_ctl(c) && c != '"' && c != '\\' && c != ';'; }

// cookie-octet (RFC 6265 section 4.1.1): US-ASCII except CTLs, whitespace,
// DQUOTE, comma, semicolon and backslash.
constexpr bool is_cookie_octet(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

}  // namespace detail

// Parses a Cookie header value, "a=1; b=\"2\"" (RFC 6265 section 4.2), into
// its pairs in header order. Values are views into `header` (surrounding
// DQUOTEs removed) and are not percent-decoded: RFC 6265 gives cookie values
// no encoding, so any is the application's.
//
// Tolerated: missing or extra spaces around ';' and '='. Skipped, as
// malformed: a pair without '=', a name that is not a token, a value with a
// CTL, DQUOTE or backslash. Duplicate names are kept; browsers send the
// cookie with the longest Path first, which get() returns.
// Fails only with more than limits.max_cookies well-formed pairs.
inline result<field_list> parse_cookie_header(std::string_view header, const parse_limits& limits = {}) {
    field_list cookies;
    std::size_t count = 0;
    while (!header.empty()) {
        const std::size_t semi = header.find(';');
        const std::string_view pair = header.substr(0, semi);
        header.remove_prefix(semi == std::string_view::npos ? header.size() : semi + 1);

        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = ascii::trim_ows(pair.substr(0, eq));
        std::string_view value = ascii::trim_ows(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        if (!ascii::is_token(name)) continue;
        bool valid = true;
        for (const char c : value) valid = valid && detail::is_lenient_cookie_byte(c);
        if (!valid) continue;

        if (++count > limits.max_cookies) return parse_error(parse_errc::too_many_cookies, count);
        cookies.push_back({name, value});
    }
    return cookies;
}

// The SameSite attribute (RFC 6265bis section 4.1.2.7); unset leaves it out,
// and browsers then apply their default (Lax in Chrome).
enum class same_site_policy : std::uint8_t { unset, lax, strict, none };

// A cookie to send. The views must stay valid until format_set_cookie()
// returns; nothing is kept after that. Every member has an initializer, so
// designated initializers may leave any out without -Wextra warnings.
struct set_cookie {
    std::string_view name{};    // a token
    std::string_view value{};   // cookie-octets; space and comma are sent quoted
    std::string_view path{};    // empty: no Path attribute
    std::string_view domain{};  // empty: no Domain attribute (host-only cookie)
    // Seconds from now; 0 or negative deletes the cookie (sent as Max-Age=0,
    // as Go does for MaxAge < 0). Unset: a session cookie unless expires is set.
    std::optional<long> max_age{};
    std::optional<std::chrono::system_clock::time_point> expires{};  // sent as an IMF-fixdate
    bool secure = false;
    bool http_only = false;
    same_site_policy same_site = same_site_policy::unset;
};

// Appends `t` as an IMF-fixdate (RFC 9110 section 5.6.7), "Sun, 06 Nov 1994
// 08:49:37 GMT", truncated to the second. Returns false, appending nothing,
// for a year outside 1601..9999 (the format has four digits, and browsers
// reject earlier dates).
inline bool append_imf_fixdate(std::string& out, std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const std::int64_t secs = floor<seconds>(t.time_since_epoch()).count();  // rounds down before 1970 too
    std::int64_t days = secs / 86400;
    std::int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    // Days since 1970-01-01 to a civil date: shift to an era starting
    // 0000-03-01 so that the leap day ends each 400-year cycle.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;                                   // [0, 146096]
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);            // [0, 365]
    const std::int64_t mp = (5 * doy + 2) / 153;                                 // [0, 11], March first
    const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 1601 || year > 9999) return false;
    const std::int64_t weekday = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday

    constexpr std::string_view week = "SunMonTueWedThuFriSat";
    constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto two = [&out](std::int64_t v) {
        out.push_back(static_cast<char>('0' + v / 10));
        out.push_back(static_cast<char>('0' + v % 10));
    };
    out.append(week.substr(static_cast<std::size_t>(weekday) * 3, 3)).append(", ");
    two(day);
    out.push_back(' ');
    out.append(months.substr(static_cast<std::size_t>(month - 1) * 3, 3)).push_back(' ');
    two(year / 100);
    two(year % 100);
    out.push_back(' ');
    two(rem / 3600);
    out.push_back(':');
    two(rem / 60 % 60);
    out.push_back(':');
    two(rem % 60);
    out.append(" GMT");
    return true;
}

// The Set-Cookie header value for `c`, "sid=abc; Path=/; Secure; HttpOnly;
// SameSite=Lax", attributes in that order: Path, Domain, Expires, Max-Age,
// Secure, HttpOnly, SameSite. Fails, naming the field, when:
//  - the name is not a token (RFC 6265 section 4.1.1);
//  - the value has a byte other than cookie-octet, space or comma (a value
//    with space or comma is sent inside DQUOTEs, as Go does; a value the
//    caller already quoted is checked inside its quotes);
//  - path has a CTL, ';' or a non-ASCII byte; domain is not letters, digits,
//    '-' and '.' (one leading '.' allowed);
//  - expires is outside 1601..9999;
//  - SameSite=None without Secure (browsers drop such cookies);
//  - the name starts with "__Secure-" without Secure, or "__Host-" without
//    Secure, Path=/ and no Domain (RFC 6265bis section 4.1.3).
inline result<std::string> format_set_cookie(const set_cookie& c) {
    if (!ascii::is_token(c.name)) return parse_errc::invalid_cookie_name;

    std::string_view value = c.value;
    const bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
    if (quoted) value = value.substr(1, value.size() - 2);
    bool needs_quotes = false;
    for (const char ch : value) {
        if (ch == ' ' || ch == ',') {
            needs_quotes = true;
        } else if (!detail::is_cookie_octet(ch)) {
            return parse_errc::invalid_cookie_value;
        }
    }
    for (const char ch : c.path) {
        if (ascii::is_ctl(ch) || ch == ';' || static_cast<unsigned char>(ch) >= 0x80) {
            return parse_errc::invalid_cookie_path;
        }
    }
    if (!c.domain.empty()) {
        const std::string_view host = c.domain.front() == '.' ? c.domain.substr(1) : c.domain;
        if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.' ||
            host.find("..") != std::string_view::npos) {
            return parse_errc::invalid_cookie_domain;
        }
        for (const char ch : host) {
            if (!ascii::is_alpha(ch) && !ascii::is_digit(ch) && ch != '-' && ch != '.') {
                return parse_errc::invalid_cookie_domain;
            }
        }
    }
    if (c.same_site == same_site_policy::none && !c.secure) return parse_errc::same_site_none_requires_secure;
    constexpr std::string_view secure_prefix = "__Secure-";
    constexpr std::string_view host_prefix = "__Host-";
    const auto has_prefix = [&c](std::string_view prefix) {
        return c.name.size() >= prefix.size() && ascii::iequals(c.name.substr(0, prefix.size()), prefix);
    };
    if ((has_prefix(secure_prefix) && !c.secure) ||
        (has_prefix(host_prefix) && (!c.secure || c.path != "/" || !c.domain.empty()))) {
        return parse_errc::cookie_prefix_violated;
    }

    std::string out;
    out.reserve(c.name.size() + c.value.size() + c.path.size() + c.domain.size() + 96);
    out.append(c.name).push_back('=');
    if (needs_quotes || quoted) out.push_back('"');
    out.append(value);
    if (needs_quotes || quoted) out.push_back('"');
    if (!c.path.empty()) out.append("; Path=").append(c.path);
    if (!c.domain.empty()) out.append("; Domain=").append(c.domain);
    if (c.expires) {
        out.append("; Expires=");
        if (!append_imf_fixdate(out, *c.expires)) return parse_errc::invalid_cookie_expires;
    }
    if (c.max_age) out.append("; Max-Age=").append(*c.max_age > 0 ? std::to_string(*c.max_age) : "0");
    if (c.secure) out.append("; Secure");
    if (c.http_only) out.append("; HttpOnly");
    switch (c.same_site) {
    case same_site_policy::unset: break;
    case same_site_policy::lax: out.append("; SameSite=Lax"); break;
    case same_site_policy::strict: out.append("; SameSite=Strict"); break;
    case same_site_policy::none: out.append("; SameSite=None"); break;
    }
    return out;
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_COOKIES_HPP
