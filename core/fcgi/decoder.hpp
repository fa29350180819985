// Sans-I/O record decoder: finds whole records at the front of a byte buffer.
//
// The caller keeps unconsumed bytes and calls again with more appended, as a
// Beast parser's put() is used: running out of input is errc::need_more, a
// resumable condition, not a failure. Because a record is at most
// max_record_size bytes, a caller's buffer of that size always suffices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "fcgi/record.hpp"

namespace fcgid::fcgi {

struct record_view {
    record_header header;
    // Borrowed from the input passed to decode_record; padding excluded.
    std::string_view content;
};

// Decodes the 8-byte header at the front of `input` (at least header_size bytes).
record_header decode_header(std::string_view input) noexcept;

// Decodes one whole record from the front of `input`.
// Returns the bytes it spans (header + content + padding) and sets `ec` clear;
// or returns 0 with ec == errc::need_more when `input` ends inside the record,
// or 0 with ec == errc::bad_version. Nothing else is validated here: record
// types and request ids are the caller's business.
std::size_t decode_record(std::string_view input, record_view& out, std::error_code& ec) noexcept;

struct begin_request_body {
    role request_role = role::responder;
    std::uint8_t flags = 0;

    bool keep_conn() const noexcept { return (flags & flag_keep_conn) != 0; }
};

// Decodes a BEGIN_REQUEST record's content; errc::bad_begin_request unless it is 8 bytes.
begin_request_body decode_begin_request(std::string_view content, std::error_code& ec) noexcept;

}  // namespace fcgid::fcgi
