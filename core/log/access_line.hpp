// One access log line, formatted from plain values: the two formats of
// --access-log-format and the escaping each needs. Pure functions of their
// input (no clock, no I/O), so tests can check every byte.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace fcgid::log {

enum class access_format { combined, json };

// What one line says. Views into the request, valid for the call.
struct access_entry {
    std::string_view time;  // wall-clock text as the format wants it (see wall_clock_text)
    std::string_view remote_addr;
    std::string_view method;
    std::string_view uri;
    std::string_view protocol;
    std::string_view referer;
    std::string_view user_agent;
    std::string_view request_id;
    int status = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t duration_us = 0;  // BEGIN_REQUEST to END_REQUEST written
    std::uint64_t handle_us = 0;
    std::uint64_t deferred_us = 0;
    std::uint64_t writing_us = 0;
    long pid = 0;
};

// Appends the line (ending in '\n') to `out`. Allocates only while `out`
// grows beyond its capacity.
//
// combined: the Apache/nginx combined format, then duration in µs, pid and
// request id:
//   ADDR - - [07/Dec/2026:12:21:26 +0000] "GET /x HTTP/1.1" 200 5 "REFERER" "AGENT" 123 4567 ID
// Inside quotes, '"', '\' and bytes outside printable ASCII are written as
// \xHH (as nginx does), so a hostile URI or agent cannot forge a line or a field.
//
// json: one object per line (JSON Lines); strings escaped per RFC 8259,
// bytes that are not valid UTF-8 replaced by U+FFFD, so every line parses.
void append_access_line(std::string& out, access_format format, const access_entry& entry);

// `text` for inside a combined-format quoted field; "-" when empty.
void append_combined_escaped(std::string& out, std::string_view text);
// `text` as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view text);

// The wall clock as each format writes it, formatted once per second.
// combined: 07/Dec/2026:12:21:26 +0000; json: 2026-12-07T12:21:26.123Z.
// UTC: no time zone file is read, and workers and hosts agree.
class wall_clock_text {
public:
    // The text for `now` (seconds and nanoseconds since the epoch).
    std::string_view at(access_format format, std::time_t seconds, long nanoseconds) noexcept;

private:
    std::time_t second_ = -1;
    char combined_[32] = {};
    char json_[32] = {};
    std::size_t combined_size_ = 0;
    std::size_t json_size_ = 0;  // without the milliseconds and 'Z'
};

}  // namespace fcgid::log
