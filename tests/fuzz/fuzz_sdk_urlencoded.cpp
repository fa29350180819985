// Reads arbitrary bytes as a query string, under the default limits and
// tight ones: either a limit error or fields that, percent-encoded again
// and joined with '&', parse back to themselves.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fcgid/sdk/urlencoded.hpp"

using namespace fcgid::sdk;

// Every byte but the unreserved ones as %XX, so nothing is left to interpret.
static void encode(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (ascii::is_alpha(c) || ascii::is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.append({'%', hex[u >> 4], hex[u & 15]});
        }
    }
}

static void check(std::string_view input, const parse_limits& limits) {
    const result<field_list> r = parse_urlencoded(input, limits);
    if (!r) return;
    if (r->size() > limits.max_fields) std::abort();
    std::string again;
    for (const field& f : *r) {
        if (f.name.size() > limits.max_field_name_bytes || f.value.size() > limits.max_field_value_bytes) std::abort();
        encode(again, f.name);
        again += '=';
        encode(again, f.value);
        again += '&';
    }
    parse_limits loose;  // encoding triples sizes
    loose.max_field_name_bytes = loose.max_field_value_bytes = 3 * input.size();
    const result<field_list> back = parse_urlencoded(again, loose);
    if (!back || back->size() != r->size()) std::abort();
    for (std::size_t i = 0; i < r->size(); ++i) {
        if ((*back)[i] != (*r)[i]) std::abort();
    }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check(input, parse_limits{});
    parse_limits tight;
    tight.max_fields = 3;
    tight.max_field_name_bytes = 4;
    tight.max_field_value_bytes = 8;
    check(input, tight);
    return 0;
}
