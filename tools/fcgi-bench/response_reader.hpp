// Reading what a FastCGI server sends back: whole records out of a byte
// stream, and the CGI header block at the front of a request's STDOUT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fcgi_bench {

struct record {
    std::uint8_t type = 0;
    std::uint16_t id = 0;
    std::string_view content;  // borrowed from the input; padding excluded
};

enum class decode_result { ok, need_more, bad_version };

// Decodes the record at the front of `input`; on ok, `used` is its size
// with padding. need_more leaves everything untouched.
decode_result decode_record(std::string_view input, record& out, std::size_t& used);

// The header block ("Status: 200 OK\r\nContent-Type: ...\r\n\r\n") that
// starts a responder's STDOUT, which may arrive split over records.
class response_head {
public:
    static constexpr std::size_t max_head = 16 * 1024;

    void reset();
    // Takes the next STDOUT bytes. False when the header block is longer
    // than max_head bytes: the response is malformed.
    bool feed(std::string_view data);
    bool complete() const noexcept { return complete_; }
    // The Status: header's code; 200 when there is none (CGI/1.1, RFC 3875
    // 6.3.3: PHP-FPM leaves it out for 200); 0 when it does not parse.
    int status() const noexcept { return status_; }
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
    void parse_head(std::string_view head);

    std::string head_;  // keeps its capacity across reset()
    bool complete_ = false;
    int status_ = 0;
    std::uint64_t body_bytes_ = 0;
};

}  // namespace fcgi_bench
