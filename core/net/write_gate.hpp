// Holds back a plugin thread that writes a response faster than the web
// server reads it.
//
// A write from a plugin thread is copied and posted to the loop. Without a
// bound, a thread streaming a large response would make the daemon buffer
// all of it, since such a write cannot return FCGID_FULL in time to matter
// (and ABI 1.0 plugins may ignore FULL anyway). So the gate counts the bytes
// posted but not yet applied by the loop, and what the loop last saw of the
// connection's output buffer: the room left under --max-output-buffer, and
// whether it was full. A writing thread waits while it is full, or while the
// posted bytes fill the room. The loop refreshes both when it applies a
// posted write and when the connection drains to half the limit (where
// response_on_writable callbacks run too), and closes the gate for good when
// the response can take no more output (aborted, completed, released, or its
// connection gone), which wakes every writer.
//
// So the daemon holds about --max-output-buffer per connection, plus at most
// one chunk per writing thread (a chunk larger than the limit is accepted
// whole, then its thread waits for it to drain).
//
// Threading: posted(), unposted() and wait() are for plugin threads, the
// rest for the loop thread. One mutex guards everything; the loop holds it
// only for a few instructions and never waits on it for a plugin thread's
// sake, since no writer holds it while it waits.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace fcgid::net {

class write_gate {
public:
    // Loop thread, before the plugin gets the response: a new response
    // begins; its connection has `room` bytes left before it is full.
    void open(std::size_t room) noexcept;

    // Plugin thread, BEFORE posting a write of `bytes` (so that the loop
    // never counts out bytes not yet counted in), and after a post that
    // failed, to take them back.
    void posted(std::size_t bytes) noexcept;
    void unposted(std::size_t bytes) noexcept;
    // Plugin thread, after posting: returns once the output is under the
    // limit again, or at once if the gate is closed.
    void wait() noexcept;

    // Loop thread: a posted write of `bytes` was applied (or failed); the
    // connection now has `room` bytes left, 0 when full. When it is full the
    // caller must arrange for drained() to be called.
    void applied(std::size_t bytes, std::size_t room) noexcept;
    // Loop thread: the connection drained to half the limit; `room` left.
    void drained(std::size_t room) noexcept;
    // Loop thread: the response takes no more output. Wakes every writer,
    // and none waits again until open().
    void close() noexcept;

private:
    // Under mutex_.
    bool over() const noexcept { return !closed_ && (full_ || (posted_ > 0 && posted_ >= room_)); }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::size_t posted_ = 0;  // bytes posted by plugin threads, not yet applied
    std::size_t room_ = 0;    // what the loop last saw left under the limit
    bool full_ = false;       // the last applied write filled the connection's output
    bool closed_ = true;      // never opened, or ended: no writer waits
};

}  // namespace fcgid::net
