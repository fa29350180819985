// Sans-I/O record encoder: appends records to a caller-owned byte buffer.
// Appending to one reused buffer lets a connection batch a whole response
// into a single write without allocating once the buffer has grown.
//
// `Out` is any buffer with append(const char*, std::size_t): a std::string,
// or the connection's output ring (net/byte_ring.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "fcgi/record.hpp"

namespace fcgid::fcgi {

// Appends one 8-byte header.
template <class Out>
void append_header(Out& out, record_type type, std::uint16_t request_id, std::uint16_t content_length,
                   std::uint8_t padding_length = 0) {
    std::uint8_t h[header_size];
    h[0] = protocol_version;
    h[1] = static_cast<std::uint8_t>(type);
    store_u16(h + 2, request_id);
    store_u16(h + 4, content_length);
    h[6] = padding_length;
    h[7] = 0;
    out.append(reinterpret_cast<const char*>(h), header_size);
}

// Appends `data` as STDOUT/STDERR records of at most max_content_length bytes
// each. Empty data appends nothing: the empty record ending a stream is
// append_stream_end's job, so a stream is never ended by accident.
template <class Out>
void append_stream(Out& out, record_type type, std::uint16_t request_id, std::string_view data) {
    while (!data.empty()) {
        const std::size_t chunk = std::min(data.size(), max_content_length);
        append_header(out, type, request_id, static_cast<std::uint16_t>(chunk));
        out.append(data.data(), chunk);
        data.remove_prefix(chunk);
    }
}

// Appends the empty record that ends a stream.
template <class Out>
void append_stream_end(Out& out, record_type type, std::uint16_t request_id) {
    append_header(out, type, request_id, 0);
}

// Appends a BEGIN_REQUEST record: what a client (fcgid ping) sends first.
template <class Out>
void append_begin_request(Out& out, std::uint16_t request_id, role request_role, std::uint8_t flags) {
    append_header(out, record_type::begin_request, request_id, 8);
    std::uint8_t body[8] = {};  // role, flags, 5 reserved bytes
    store_u16(body, static_cast<std::uint16_t>(request_role));
    body[2] = flags;
    out.append(reinterpret_cast<const char*>(body), sizeof body);
}

template <class Out>
void append_end_request(Out& out, std::uint16_t request_id, std::uint32_t app_status, protocol_status status) {
    append_header(out, record_type::end_request, request_id, 8);
    std::uint8_t body[8] = {};
    store_u32(body, app_status);
    body[4] = static_cast<std::uint8_t>(status);
    out.append(reinterpret_cast<const char*>(body), sizeof body);
}

template <class Out>
void append_unknown_type(Out& out, std::uint8_t unknown_type) {
    append_header(out, record_type::unknown_type, management_request_id, 8);
    const char body[8] = {static_cast<char>(unknown_type)};
    out.append(body, sizeof body);
}

// Appends a GET_VALUES_RESULT record whose body `pairs` is already encoded
// name-value pairs (append_name_value). Pairs that would pass
// max_content_length are the caller's to leave out; here they are cut off
// rather than written with a wrapped length.
template <class Out>
void append_get_values_result(Out& out, std::string_view pairs) {
    pairs = pairs.substr(0, max_content_length);
    append_header(out, record_type::get_values_result, management_request_id, static_cast<std::uint16_t>(pairs.size()));
    out.append(pairs.data(), pairs.size());
}

}  // namespace fcgid::fcgi
