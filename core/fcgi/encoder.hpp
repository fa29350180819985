// Sans-I/O record encoder: appends records to a caller-owned byte buffer.
// Appending to one reused buffer lets a connection batch a whole response
// into a single write without allocating once the buffer has grown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fcgi/record.hpp"

namespace fcgid::fcgi {

// Appends one 8-byte header.
void append_header(std::string& out, record_type type, std::uint16_t request_id,
                   std::uint16_t content_length, std::uint8_t padding_length = 0);

// Appends `data` as STDOUT/STDERR records of at most max_content_length bytes
// each. Empty data appends nothing: the empty record ending a stream is
// append_stream_end's job, so a stream is never ended by accident.
void append_stream(std::string& out, record_type type, std::uint16_t request_id,
                   std::string_view data);

// Appends the empty record that ends a stream.
void append_stream_end(std::string& out, record_type type, std::uint16_t request_id);

// Appends a BEGIN_REQUEST record: what a client (fcgid ping) sends first.
void append_begin_request(std::string& out, std::uint16_t request_id, role request_role, std::uint8_t flags);

void append_end_request(std::string& out, std::uint16_t request_id, std::uint32_t app_status,
                        protocol_status status);

void append_unknown_type(std::string& out, std::uint8_t unknown_type);

// Appends a GET_VALUES_RESULT record whose body `pairs` is already encoded
// name-value pairs (append_name_value). Pairs that would pass
// max_content_length are the caller's to leave out; here they are cut off
// rather than written with a wrapped length.
void append_get_values_result(std::string& out, std::string_view pairs);

}  // namespace fcgid::fcgi
