// When each step of a request happened, and what it came to: what the
// access log, the slow-request log and the metrics read once its response
// is written.
//
// Steps, on the loop's steady clock:
//   begun      BEGIN_REQUEST arrived
//   dispatched handle() was called (unset for a request answered without
//              the plugin, e.g. 413)
//   returned   handle() returned
//   finished   the response ended (END_REQUEST queued); == returned when the
//              plugin finished inside handle()
//   written    the write holding its END_REQUEST completed
//
// Clock reads: begun and dispatched were read before this existed (read
// timeout, request timeout); returned costs one read per request; finished
// one more only for a request the plugin deferred; written reuses the read
// the connection makes after every write for its write timeout.
#pragma once

#include <chrono>
#include <cstdint>

namespace fcgid::net {

struct request_timing {
    using clock = std::chrono::steady_clock;
    using micros = std::chrono::microseconds;

    clock::time_point begun{};
    clock::time_point dispatched{};
    clock::time_point returned{};
    clock::time_point finished{};
    clock::time_point written{};
    bool deferred = false;  // handle() returned FCGID_DEFERRED and finished later

    // BEGIN_REQUEST to END_REQUEST written: what the web server waited.
    micros total() const noexcept { return between(begun, written); }
    // Inside handle(), on the loop.
    micros in_handle() const noexcept { return between(dispatched, returned); }
    // From handle() returning to the plugin finishing; 0 unless deferred.
    micros deferred_time() const noexcept { return deferred ? between(returned, finished) : micros{0}; }
    // From the response's end to its last byte leaving for the socket.
    micros writing() const noexcept { return between(finished, written); }

private:
    static micros between(clock::time_point from, clock::time_point to) noexcept {
        if (from == clock::time_point{} || to < from) return micros{0};
        return std::chrono::duration_cast<micros>(to - from);
    }
};

// What a request came to, besides its times.
struct request_outcome {
    int status = 0;              // the HTTP status sent
    std::uint64_t bytes_out = 0;  // response body bytes (STDOUT after the head)
    std::uint64_t bytes_in = 0;   // params and body bytes received from the web server
    bool cut_short = false;       // failed after part of the body was sent (app status 1)
};

}  // namespace fcgid::net
