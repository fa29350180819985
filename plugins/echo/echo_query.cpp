#include "echo_query.hpp"

#include "percent_decoding.hpp"

namespace fcgid::echo {
namespace {

// Sets `flag` from "1" or "0"; ignores any other value.
void parse_flag(std::string_view raw, bool& flag) noexcept {
    if (decoded_equals(raw, "1")) {
        flag = true;
    } else if (decoded_equals(raw, "0")) {
        flag = false;
    }
}

void apply_pair(std::string_view key, std::string_view value, echo_query& q) {
    if (decoded_equals(key, "status")) {
        // Clamping to 1000 turns every too-large number into an invalid one.
        if (const auto v = decode_decimal(value, 1000); v && *v >= 100 && *v <= 999) {
            q.status = static_cast<int>(*v);
        }
    } else if (decoded_equals(key, "bytes")) {
        if (const auto v = decode_decimal(value, max_bytes)) {
            q.bytes = *v;
        }
    } else if (decoded_equals(key, "delay_ms")) {
        if (const auto v = decode_decimal(value, max_delay_ms)) {
            q.delay_ms = static_cast<std::uint32_t>(*v);
        }
    } else if (decoded_equals(key, "hold_mb")) {
        if (const auto v = decode_decimal(value, max_hold_mb)) {
            q.hold_mb = static_cast<std::uint32_t>(*v);
        }
    } else if (decoded_equals(key, "params")) {
        parse_flag(value, q.params);
    } else if (decoded_equals(key, "fail")) {
        parse_flag(value, q.fail);
    } else if (decoded_equals(key, "stderr")) {
        q.stderr_text.clear();
        percent_decode_append(value, q.stderr_text);
    }
}

} // namespace

echo_query parse_echo_query(std::string_view query_string) {
    echo_query q;
    while (!query_string.empty()) {
        const std::size_t amp = query_string.find('&');
        const std::string_view pair = query_string.substr(0, amp);
        query_string = amp == std::string_view::npos ? std::string_view{}
                                                     : query_string.substr(amp + 1);
        // The raw '=' separates key from value; an encoded one (%3D) is data.
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos) {
            apply_pair(pair.substr(0, eq), pair.substr(eq + 1), q);
        }
    }
    return q;
}

} // namespace fcgid::echo
