// fcgid/sdk/urlencoded.hpp: query strings (QUERY_STRING) and
// application/x-www-form-urlencoded bodies, "a=1&b=2&b=3&c".
//
// Rules, as the WHATWG URL standard's urlencoded parser and Go's
// url.ParseQuery:
//  - fields are separated by '&' only (not ';', which Go dropped in 1.17
//    because proxies disagreed about it); empty fields ("a=1&&b=2") are skipped;
//  - a field splits at its first '='; without one, the value is empty ("c");
//  - names and values are percent-decoded with '+' as a space; malformed
//    escapes are kept (see percent.hpp);
//  - a leading '?' is NOT stripped: QUERY_STRING has none.
// Limits (limits.hpp) apply to the raw bytes, before decoding.
#ifndef FCGID_SDK_URLENCODED_HPP
#define FCGID_SDK_URLENCODED_HPP

#include <cstddef>
#include <string_view>

#include "fcgid/sdk/field_list.hpp"
#include "fcgid/sdk/limits.hpp"
#include "fcgid/sdk/parse_error.hpp"
#include "fcgid/sdk/percent.hpp"

namespace fcgid::sdk {

namespace detail {

// Calls fn(name, value) with the raw views of each non-empty field of `in`,
// in order; stops early when fn returns false. Returns false if it stopped.
template <class Fn>
bool for_each_urlencoded_field(std::string_view in, Fn&& fn) {
    while (!in.empty()) {
        const std::size_t amp = in.find('&');
        const std::string_view segment = in.substr(0, amp);
        in.remove_prefix(amp == std::string_view::npos ? in.size() : amp + 1);
        if (segment.empty()) continue;
        const std::size_t eq = segment.find('=');
        const std::string_view name = segment.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view() : segment.substr(eq + 1);
        if (!fn(name, value)) return false;
    }
    return true;
}

}  // namespace detail

// Parses `input` into its decoded fields. Fields that need no decoding are
// views into `input`; the others live in the returned list (see
// field_list.hpp, OWNERSHIP). Allocates the field vector once and, only if
// some field needs decoding, one buffer for all the decoded text. Fails when a limit is exceeded, with the
// 1-based number of the offending field as the error's index.
inline result<field_list> parse_urlencoded(std::string_view input, const parse_limits& limits = {}) {
    // Pass 1: check the limits and size the storage, without writing anything.
    std::size_t count = 0;
    std::size_t decoded_bytes = 0;
    parse_errc failure{};
    detail::for_each_urlencoded_field(input, [&](std::string_view name, std::string_view value) {
        ++count;
        if (count > limits.max_fields) {
            failure = parse_errc::too_many_fields;
        } else if (name.size() > limits.max_field_name_bytes) {
            failure = parse_errc::field_name_too_long;
        } else if (value.size() > limits.max_field_value_bytes) {
            failure = parse_errc::field_value_too_long;
        } else {
            if (needs_percent_decoding(name, plus_rule::space)) decoded_bytes += name.size();
            if (needs_percent_decoding(value, plus_rule::space)) decoded_bytes += value.size();
            return true;
        }
        return false;
    });
    if (failure != parse_errc{}) return parse_error(failure, count);

    // Pass 2: fill in, decoding into one buffer that the list owns.
    field_list fields;
    fields.reserve(count);
    char* out = decoded_bytes == 0 ? nullptr : fields.allocate_text(decoded_bytes);
    const auto decode = [&out](std::string_view raw) {
        if (!needs_percent_decoding(raw, plus_rule::space)) return raw;
        const std::string_view decoded(out, percent_decode_to(raw, out, plus_rule::space));
        out += decoded.size();
        return decoded;
    };
    detail::for_each_urlencoded_field(input, [&](std::string_view name, std::string_view value) {
        fields.push_back({decode(name), decode(value)});
        return true;
    });
    return fields;
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_URLENCODED_HPP
