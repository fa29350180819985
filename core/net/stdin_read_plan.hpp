// One read for several STDIN records of a large body, straight into it.
//
// A web server sends a body in records of a fixed size (nginx and
// fcgi-bench: 32 KiB), each behind an 8-byte header. Reading the content
// straight into the body, then the padding and the next header alone, costs
// two system calls per record. The plan reads many records at once with
// recvmsg(): the rest of the current record into the body, its padding and
// the next header into a small gap, then the next record's content, guessed
// to be as long as the last one's (or the body's rest, if less), and so on.
// take() then checks each header read against its guess: while they agree,
// the body got its bytes with no copy. At the first header that does not
// (another record type, another request, another length, or the read ended
// inside it), the bytes from that gap on are handed back as input for the
// usual path, which parses them as if they had been read into the shared
// buffer. A wrong guess costs one copy of what was read after it; the body
// bytes before it stand.
//
// Pure: no socket, no connection. The gaps live in the caller's buffer (the
// loop's shared input), which must hold gap_bytes(max_records).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fcgi/record.hpp"

namespace fcgid::net {

class stdin_read_plan {
public:
    // At most this many records' content per read, and this many bytes: a
    // wrong guess then copies at most that much again.
    static constexpr std::size_t max_records = 64;
    static constexpr std::size_t max_bytes = 4 * 1024 * 1024;
    // The most a gap holds: the largest padding and a header.
    static constexpr std::size_t max_gap = 255 + fcgi::header_size;
    static constexpr std::size_t gaps_size = max_records * max_gap;

    // The record being read: its request, content bytes still to come
    // (`left`, > 0) and its padding; and the length and padding its header
    // gave (the guess for the records after it). `room` is where the body's
    // next bytes go, as many as the input budget allows; `gaps` has room for
    // gaps_size bytes.
    struct current_record {
        std::uint16_t id;
        std::size_t left;
        std::size_t padding;
        std::size_t length;
        std::size_t length_padding;
    };
    stdin_read_plan(const current_record& record, std::span<char> room, std::span<char> gaps) noexcept;

    const iovec* iovecs() const noexcept { return iov_.data(); }
    std::size_t iovec_count() const noexcept { return count_; }
    // Bytes the read asks for.
    std::size_t size() const noexcept { return size_; }

    // What a read of `got` bytes (≤ size()) brought.
    struct outcome {
        // Content bytes now at the front of the room, in stream order.
        std::size_t body_bytes = 0;
        // The record being read after them: content and padding still to
        // come. With usual input, 0 content and the padding in front of it.
        std::size_t left = 0;
        std::size_t padding = 0;
        // Bytes for the usual path, after the body bytes: they begin with
        // the padding above, then a header. Empty when the read ended in a
        // record's content or right after it.
        std::string_view usual;
    };
    // `scratch` holds the usual bytes when they were spread over several
    // parts of the read (a header unlike its guess); otherwise unused.
    outcome take(std::size_t got, std::string& scratch) const;

private:
    struct planned_record {
        std::size_t length;   // content bytes to read, guessed but for the first
        std::size_t padding;
        std::size_t gap;      // padding + header bytes read after it (0: none)
        std::size_t gap_at;   // where they go in the gaps buffer
    };

    const current_record first_;
    std::array<planned_record, max_records> records_;  // [0, planned_) in use
    std::size_t planned_ = 0;
    std::array<iovec, 2 * max_records> iov_;  // [0, count_) in use
    std::size_t count_ = 0;
    std::size_t size_ = 0;
    char* gaps_;
};

}  // namespace fcgid::net
