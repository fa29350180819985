// A connection's output and the events its requests raise, in one place
// the requests can reach without calling their connection.
//
// Requests append response records here and report that they finished;
// plugins ask here to hear when the output has drained. None of these calls
// reaches the connection: each is noted, and the connection handles what was
// noted when it settles, after the call that raised it has returned (at the
// end of its own turn, or on a turn of the loop it is woken for). So no
// request re-enters its connection, and none can close it from below.
//
// Output is one ring buffer (byte_ring): requests append at its back while
// the writer takes a batch from its front, and the buffer is reused around,
// so a response streaming through it needs about --max-output-buffer of
// memory, not twice that, and steady state allocates nothing.
//
// Loop thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fcgi/record.hpp"
#include "net/byte_ring.hpp"

namespace fcgid::net {

class request;

class output_queue {
public:
    // The ring grows to about the limit and no further (see byte_ring).
    explicit output_queue(std::uint64_t limit) noexcept
        : limit_(limit), ring_(static_cast<std::size_t>(std::min<std::uint64_t>(limit, SIZE_MAX))) {}
    output_queue(const output_queue&) = delete;
    output_queue& operator=(const output_queue&) = delete;

    // How the connection is woken when something is noted while it is not
    // already in a turn: `wake` must post, never call back directly.
    void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }
    // The connection is in a turn and settles before it returns: noting
    // needs no wake until settled().
    void in_turn() noexcept { awake_ = true; }
    // The connection settled. Wakes it again if something is still due
    // (writers that asked again while they were being told).
    void settled();

    // ---- Records ----

    // The CGI head of a response: status line then header block, one record.
    void append_head(std::uint16_t id, std::string_view status_line, std::string_view headers);
    void append_stream(std::uint16_t id, fcgi::record_type type, std::string_view data);
    void append_end_request(std::uint16_t id, std::uint32_t app_status, fcgi::protocol_status status);
    // Records the connection answers itself (GET_VALUES_RESULT, UNKNOWN_TYPE).
    byte_ring& raw() noexcept { return ring_; }

    // Ends `r`'s streams, queues END_REQUEST, and notes that a request
    // finished (the connection finds which: those completed among its own).
    void finish(const request& r, bool stderr_used, std::uint32_t app_status);
    // Whether any request finished since the last call. No list is kept, so
    // finishing allocates nothing.
    bool take_finished() noexcept { return std::exchange(finished_, 0) != 0; }

    // ---- Room ----

    // True when buffered output has reached the limit (--max-output-buffer).
    bool full() const noexcept { return buffered() >= limit_; }
    // Bytes that may still be buffered before full(); 0 once it is.
    std::size_t room() const noexcept;
    // Down to half the limit: writers may go on.
    bool writable() const noexcept { return buffered() <= limit_ / 2; }
    // Notes `r` to be told (request::notify_writable) once writable().
    void wait_writable(std::shared_ptr<request> r);
    // Moves the waiters to tell now into `into` (cleared first), if
    // writable(); each is told once, and may ask again while it is told.
    void take_writable_waiters(std::vector<std::shared_ptr<request>>& into) noexcept;

    // ---- The wire (the connection's writer) ----

    // Starts a batch on the wire: everything queued now. False when there
    // is nothing to write or a batch is still going out.
    bool begin_write() noexcept;
    bool writing() const noexcept { return writing_; }
    // What is still to be written of the batch, in at most two parts (the
    // second when the batch wraps around the ring).
    std::string_view unwritten() const noexcept;
    std::string_view unwritten_second() const noexcept;
    // `bytes` were written; true once the batch is all out.
    bool wrote(std::size_t bytes) noexcept;
    bool empty() const noexcept { return ring_.empty(); }
    // Frees buffer capacity beyond a typical response's worth. The buffer
    // keeps its size while output flows, so a large response streamed
    // through it is not copied into fresh memory at every write; the
    // connection calls this once it has nothing in flight or buffered, so an
    // idle connection holds no large buffer.
    void release_spare() noexcept;
    // Bytes the buffer has room for (its capacity), in use or not.
    std::size_t capacity() const noexcept { return ring_.capacity(); }
    // Positions in the stream of bytes this connection sends: all bytes
    // written so far, and that plus what is buffered. A request that ended
    // at queued_total() is on the wire once written_total() reaches it.
    std::uint64_t written_total() const noexcept { return written_total_; }
    std::uint64_t queued_total() const noexcept { return written_total_ + buffered(); }
    // Drops what is not on the wire: the connection closed.
    void clear() noexcept;

private:
    std::size_t buffered() const noexcept { return ring_.size(); }
    void note();

    std::uint64_t limit_;
    byte_ring ring_;
    std::size_t batch_left_ = 0;  // bytes of the batch on the wire not written yet
    std::uint64_t written_total_ = 0;
    bool writing_ = false;
    std::size_t finished_ = 0;  // requests finished since take_finished()
    std::vector<std::shared_ptr<request>> writable_waiters_;
    std::function<void()> wake_;
    bool awake_ = false;  // in a turn, or a wake is posted
};

}  // namespace fcgid::net
