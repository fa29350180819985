#include "fcgi/encoder.hpp"

#include <algorithm>

namespace fcgid::fcgi {

void append_header(std::string& out, record_type type, std::uint16_t request_id,
                   std::uint16_t content_length, std::uint8_t padding_length) {
    std::uint8_t h[header_size];
    h[0] = protocol_version;
    h[1] = static_cast<std::uint8_t>(type);
    store_u16(h + 2, request_id);
    store_u16(h + 4, content_length);
    h[6] = padding_length;
    h[7] = 0;
    out.append(reinterpret_cast<const char*>(h), header_size);
}

void append_stream(std::string& out, record_type type, std::uint16_t request_id,
                   std::string_view data) {
    while (!data.empty()) {
        const std::size_t chunk = std::min(data.size(), max_content_length);
        append_header(out, type, request_id, static_cast<std::uint16_t>(chunk));
        out.append(data.data(), chunk);
        data.remove_prefix(chunk);
    }
}

void append_stream_end(std::string& out, record_type type, std::uint16_t request_id) {
    append_header(out, type, request_id, 0);
}

void append_begin_request(std::string& out, std::uint16_t request_id, role request_role, std::uint8_t flags) {
    append_header(out, record_type::begin_request, request_id, 8);
    std::uint8_t body[8] = {};  // role, flags, 5 reserved bytes
    store_u16(body, static_cast<std::uint16_t>(request_role));
    body[2] = flags;
    out.append(reinterpret_cast<const char*>(body), sizeof body);
}

void append_end_request(std::string& out, std::uint16_t request_id, std::uint32_t app_status,
                        protocol_status status) {
    append_header(out, record_type::end_request, request_id, 8);
    std::uint8_t body[8] = {};
    store_u32(body, app_status);
    body[4] = static_cast<std::uint8_t>(status);
    out.append(reinterpret_cast<const char*>(body), sizeof body);
}

void append_unknown_type(std::string& out, std::uint8_t unknown_type) {
    append_header(out, record_type::unknown_type, management_request_id, 8);
    char body[8] = {static_cast<char>(unknown_type)};
    out.append(body, sizeof body);
}

void append_get_values_result(std::string& out, std::string_view pairs) {
    pairs = pairs.substr(0, max_content_length);
    append_header(out, record_type::get_values_result, management_request_id,
                  static_cast<std::uint16_t>(pairs.size()));
    out.append(pairs);
}

}  // namespace fcgid::fcgi
