// Reads arbitrary bytes as "Content-Type LF body": a multipart/form-data
// parse either fails with a reason or yields bounded parts whose data and
// headers are views inside the body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fcgid/sdk/multipart.hpp"

using namespace fcgid::sdk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t lf = input.find('\n');
    if (lf == std::string_view::npos) return 0;
    const std::string_view type = input.substr(0, lf);
    const std::string_view body = input.substr(lf + 1);
    const auto inside = [&](std::string_view s) {
        return s.data() >= body.data() && s.data() + s.size() <= body.data() + body.size();
    };
    parse_limits limits;
    limits.max_parts = 8;
    limits.max_part_header_bytes = 256;
    limits.max_part_headers = 4;
    const result<multipart_form> r = parse_multipart(type, body, limits);
    if (!r) {
        if (r.error().reason.empty()) std::abort();
        return 0;
    }
    if (r->size() > limits.max_parts) std::abort();
    for (const form_part& p : *r) {
        if (!inside(p.data) || p.headers.size() > limits.max_part_headers || p.headers.empty()) std::abort();
        for (const part_header& h : p.headers) {
            if (!inside(h.name) || !inside(h.value)) std::abort();
        }
    }
    return 0;
}
