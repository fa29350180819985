// The timer thread behind delay_ms=N: it finishes deferred echo responses
// from a thread of its own, through the host's cross-thread calls.
//
// EXACTLY ONE of finish/fail/release is called per response, even when an
// abort races with the deadline. The rule: whoever removes the entry from
// pending_ (under mutex_) owns the response.
//  - The timer thread takes a due entry out of pending_, unlocks, then writes
//    and finishes. If the abort callback runs meanwhile, it finds nothing and
//    does nothing; the finish is still valid after an abort (plugin.h).
//  - The abort callback (loop thread) takes a still-waiting entry out of
//    pending_, unlocks, then releases. The timer thread later pops a stale
//    deadline whose entry is gone and skips it.
// Host functions are never called with mutex_ held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "echo_query.hpp"
#include "fcgid/plugin.h"

namespace fcgid::echo {

// One deferred request and what to answer. The handles stay valid until the
// response is finished or released.
struct delayed_echo {
    fcgid_request* request = nullptr;
    fcgid_response* response = nullptr;
    echo_query query;
};

class delay_timer {
public:
    explicit delay_timer(const fcgid_host_api* host) noexcept : host_(host) {}
    ~delay_timer() { stop(); }
    delay_timer(const delay_timer&) = delete;
    delay_timer& operator=(const delay_timer&) = delete;

    // Starts the thread (init()). Throws std::system_error if it cannot.
    void start();

    // Stops and joins the thread, then releases any response still waiting
    // (the host aborts those before shutdown(), so normally none). Loop
    // thread; idempotent.
    void stop() noexcept;

    // Loop thread, inside handle(): registers the abort callback and queues
    // `echo` to be answered after `delay`. Returns FCGID_DEFERRED (handle()
    // returns it too), or the host's error with nothing queued:
    // FCGID_EABORTED if the request is already aborted (handle() should then
    // return FCGID_OK, so the host finishes it). Throws std::bad_alloc,
    // leaving nothing queued or registered.
    int schedule(std::chrono::milliseconds delay, delayed_echo echo);

private:
    using clock = std::chrono::steady_clock;

    struct deadline {
        clock::time_point when;
        std::uint64_t seq; // tells a reused response address from the old one
        fcgid_response* response;
        bool operator>(const deadline& other) const noexcept {
            return when != other.when ? when > other.when : seq > other.seq;
        }
    };

    struct pending {
        std::uint64_t seq;
        delayed_echo echo;
    };

    static void on_abort(void* user_data, fcgid_response* response) noexcept;
    void run() noexcept;
    void complete(delayed_echo& echo) noexcept;

    const fcgid_host_api* host_;
    std::mutex mutex_;
    std::condition_variable wake_;
    // Guarded by mutex_. Deadlines of aborted entries stay queued until due
    // and are skipped then (a priority_queue cannot erase from the middle).
    std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
    std::unordered_map<fcgid_response*, pending> pending_;
    std::uint64_t next_seq_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace fcgid::echo
