// fcgid/sdk/parse_error.hpp: how the SDK's parsers fail.
//
// Parsers never throw on bad input and never crash: they return a
// result<T> holding either the value or a parse_error. A caller turns the
// error into "400 Bad Request" with message() as the body, which tells the
// client what was wrong ("multipart: part has no Content-Disposition header
// (part 3)"). Only allocation failure (std::bad_alloc) can escape a parser.
#ifndef FCGID_SDK_PARSE_ERROR_HPP
#define FCGID_SDK_PARSE_ERROR_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fcgid::sdk {

// What went wrong. NEW CODES GO AT THE END: callers may store or log the numbers.
enum class parse_errc : std::uint8_t {
    // application/x-www-form-urlencoded and query strings
    too_many_fields = 1,
    field_name_too_long,
    field_value_too_long,
    // Cookie header
    too_many_cookies,
    // Set-Cookie serialisation
    invalid_cookie_name,
    invalid_cookie_value,
    invalid_cookie_path,
    invalid_cookie_domain,
    invalid_cookie_expires,
    same_site_none_requires_secure,
    cookie_prefix_violated,
    // header values with parameters
    empty_header_value,
    invalid_header_value,
    invalid_header_parameter,
    unterminated_quoted_string,
    too_many_header_parameters,
    // multipart/form-data
    not_multipart_form_data,
    missing_boundary,
    invalid_boundary,
    missing_first_boundary,
    missing_final_boundary,
    too_many_parts,
    part_headers_too_long,
    invalid_part_header,
    missing_content_disposition,
    duplicate_content_disposition,
    not_form_data_disposition,
    missing_part_name,
    too_many_part_headers,
};

// The static text of a code, for logs and 400 bodies. It starts with the
// grammar the error is about ("urlencoded: ", "multipart: ").
constexpr std::string_view reason_of(parse_errc code) noexcept {
    switch (code) {
    case parse_errc::too_many_fields: return "urlencoded: more fields than the limit";
    case parse_errc::field_name_too_long: return "urlencoded: field name longer than the limit";
    case parse_errc::field_value_too_long: return "urlencoded: field value longer than the limit";
    case parse_errc::too_many_cookies: return "cookie: more cookies than the limit";
    case parse_errc::invalid_cookie_name: return "set-cookie: name is not a token";
    case parse_errc::invalid_cookie_value: return "set-cookie: value has a byte RFC 6265 forbids";
    case parse_errc::invalid_cookie_path: return "set-cookie: path has a control character or ';'";
    case parse_errc::invalid_cookie_domain: return "set-cookie: domain is not a host name";
    case parse_errc::invalid_cookie_expires: return "set-cookie: expires is outside the years 1601 to 9999";
    case parse_errc::same_site_none_requires_secure: return "set-cookie: SameSite=None requires Secure";
    case parse_errc::cookie_prefix_violated:
        return "set-cookie: __Secure- needs Secure; __Host- needs Secure, Path=/ and no Domain";
    case parse_errc::empty_header_value: return "header: empty value";
    case parse_errc::invalid_header_value: return "header: value has a control character";
    case parse_errc::invalid_header_parameter: return "header: malformed parameter";
    case parse_errc::unterminated_quoted_string: return "header: quoted string without its closing quote";
    case parse_errc::too_many_header_parameters: return "header: too many parameters";
    case parse_errc::not_multipart_form_data: return "multipart: Content-Type is not multipart/form-data";
    case parse_errc::missing_boundary: return "multipart: Content-Type has no boundary parameter";
    case parse_errc::invalid_boundary: return "multipart: boundary is empty, longer than 70 bytes or has a forbidden byte";
    case parse_errc::missing_first_boundary: return "multipart: body has no boundary line";
    case parse_errc::missing_final_boundary: return "multipart: body ends before the closing boundary";
    case parse_errc::too_many_parts: return "multipart: more parts than the limit";
    case parse_errc::part_headers_too_long: return "multipart: part headers longer than the limit or not ended by an empty line";
    case parse_errc::invalid_part_header: return "multipart: malformed part header line";
    case parse_errc::missing_content_disposition: return "multipart: part has no Content-Disposition header";
    case parse_errc::duplicate_content_disposition: return "multipart: part has two Content-Disposition headers";
    case parse_errc::not_form_data_disposition: return "multipart: Content-Disposition of a part is not form-data";
    case parse_errc::missing_part_name: return "multipart: Content-Disposition of a part has no name parameter";
    case parse_errc::too_many_part_headers: return "multipart: part has more header lines than the limit";
    }
    return "unknown parse error";
}

// What `parse_error::index` counts for a code ("field", "cookie", "part"), or
// empty when the error is about the input as a whole.
constexpr std::string_view item_of(parse_errc code) noexcept {
    switch (code) {
    case parse_errc::too_many_fields:
    case parse_errc::field_name_too_long:
    case parse_errc::field_value_too_long:
        return "field";
    case parse_errc::too_many_cookies:
        return "cookie";
    // Only multipart numbers these, for a part's Content-Disposition.
    case parse_errc::empty_header_value:
    case parse_errc::invalid_header_value:
    case parse_errc::invalid_header_parameter:
    case parse_errc::unterminated_quoted_string:
    case parse_errc::too_many_header_parameters:
    case parse_errc::too_many_parts:
    case parse_errc::part_headers_too_long:
    case parse_errc::invalid_part_header:
    case parse_errc::missing_content_disposition:
    case parse_errc::duplicate_content_disposition:
    case parse_errc::not_form_data_disposition:
    case parse_errc::missing_part_name:
    case parse_errc::too_many_part_headers:
        return "part";
    default:
        return {};
    }
}

// A parse failure: a code, its static reason, and which item (1-based) of
// the input it is about, when that means something (0 otherwise).
struct parse_error {
    parse_errc code{};
    std::size_t index = 0;
    std::string_view reason;  // static storage: reason_of(code)

    constexpr parse_error(parse_errc c, std::size_t i = 0) noexcept : code(c), index(i), reason(reason_of(c)) {}

    // The reason, followed by " (part 3)" when index names an item. Allocates.
    std::string message() const {
        std::string out(reason);
        const std::string_view item = item_of(code);
        if (index != 0 && !item.empty()) {
            out.append(" (").append(item).append(" ").append(std::to_string(index)).append(")");
        }
        return out;
    }

    friend constexpr bool operator==(const parse_error& a, const parse_error& b) noexcept {
        return a.code == b.code && a.index == b.index;
    }
    friend constexpr bool operator!=(const parse_error& a, const parse_error& b) noexcept { return !(a == b); }
};

// Either a T or the parse_error that prevented it; like C++23's
// std::expected<T, parse_error>, kept small and C++17-compatible.
// value() on an error (or error() on a value) throws std::bad_variant_access:
// that is a bug in the caller, not bad input.
template <class T>
class result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    result(parse_error error) : v_(std::in_place_index<1>, error) {}
    result(parse_errc code, std::size_t index = 0) : v_(std::in_place_index<1>, parse_error(code, index)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const parse_error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, parse_error> v_;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_PARSE_ERROR_HPP
