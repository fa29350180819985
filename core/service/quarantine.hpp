// Poison-request quarantine (--workers): a request that has crashed workers
// --quarantine-after times within --quarantine-window is answered 500 by the
// workers themselves, without calling the plugin, until the window passes.
//
// Why: a web server retries a request whose connection broke on its other
// connections (nginx does so for every kept-alive one), and a load balancer
// moves it to the next host. Without this, one request that crashes the
// plugin kills every worker it reaches, and then every host.
//
// The table lives in memory shared by the master and every worker. A worker
// records a strike from its fatal-signal handler, so every member used there
// is async-signal-safe: lock-free atomics, no allocation, time passed in.
// Concurrent crashes are counted best effort (two workers dying on the same
// new request at once may take two entries); the worst outcome is one strike
// more before the quarantine starts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fcgid::service {

// Identifies a request across workers: a hash of its method, URI and body size.
using request_signature = std::uint64_t;

// Time as CLOCK_MONOTONIC (std::chrono::steady_clock) reads it, since its epoch.
using monotonic_time = std::chrono::nanoseconds;

struct quarantine_settings {
    unsigned strikes = 2;                  // crashes that start a quarantine; 0: never
    std::chrono::seconds window{60};       // strikes count within it; a quarantine lasts it
};

struct strike_result {
    unsigned strikes = 0;      // crashes by this signature within the window, this one included
    bool quarantined = false;  // this strike started (or renewed) a quarantine
    bool recorded = true;      // false when every entry is taken by a live signature
};

class quarantine_table {
public:
    // Signatures tracked at once. A crash whose signature finds no entry is
    // logged but cannot count towards a quarantine.
    static constexpr std::size_t capacity = 64;

    struct entry {
        std::atomic<std::uint64_t> signature;  // 0: free
        std::atomic<std::int64_t> window_start;  // ns; strikes before it are forgotten
        std::atomic<std::uint32_t> strikes;
        std::atomic<std::int64_t> until;  // ns; quarantined while now < until
    };
    // Placed in shared memory (or, in tests, anywhere) zero-initialised.
    struct shared_state {
        // The latest `until` of any entry: one load tells a worker that
        // nothing is quarantined, so the check costs nothing per request.
        std::atomic<std::int64_t> latest_until;
        entry entries[capacity];
    };
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                      std::atomic<std::int64_t>::is_always_lock_free,
                  "shared between processes and used in signal handlers: no hidden locks");

    quarantine_table(shared_state& state, quarantine_settings settings) noexcept
        : state_(&state), settings_(settings) {}

    bool enabled() const noexcept { return settings_.strikes > 0; }
    const quarantine_settings& settings() const noexcept { return settings_; }

    // A worker died serving a request with `signature`. Async-signal-safe.
    strike_result strike(request_signature signature, monotonic_time now) noexcept;

    // True if nothing is quarantined at `now` (no signature needs computing).
    bool none_at(monotonic_time now) const noexcept {
        return state_->latest_until.load(std::memory_order_acquire) <= now.count();
    }
    // True if nothing has been quarantined since start: one load, no clock.
    bool never_used() const noexcept {
        return state_->latest_until.load(std::memory_order_relaxed) == 0;
    }
    bool quarantined(request_signature signature, monotonic_time now) const noexcept;

private:
    entry* find(request_signature signature) noexcept;
    entry* claim(request_signature signature, monotonic_time now) noexcept;
    bool stale(const entry& e, monotonic_time now) const noexcept;

    shared_state* state_;
    quarantine_settings settings_;
};

// What a request is, for the quarantine and for the crash log line: views
// into the request's own memory, valid while it lives.
struct request_description {
    std::string_view method;  // REQUEST_METHOD
    std::string_view uri;     // REQUEST_URI (the path and query as the client sent them)
    std::uint64_t body_size = 0;
    std::uint16_t id = 0;     // the FastCGI request id, for the log only
};

// A hash (FNV-1a) of the method, the URI and the body size; never 0, which
// marks a free entry. Async-signal-safe.
request_signature signature_of(const request_description& request) noexcept;

}  // namespace fcgid::service
