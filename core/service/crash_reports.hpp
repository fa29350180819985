// What --workers workers tell their master about how they died, in memory
// the master maps before forking them: which request a worker was serving
// when it crashed, and the poison-request quarantine (quarantine.hpp).
//
// A dying worker writes its report from its fatal-signal handler
// (fatal_signals.hpp), before the kernel closes its connections, so the
// strike is counted before the web server can retry the request on another
// worker. The master reads the report after reaping the worker, to log which
// request to reproduce. A worker killed from outside (SIGKILL, the OOM
// killer) writes nothing: the master logs the signal alone.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "service/plugin_call_mark.hpp"
#include "service/quarantine.hpp"

namespace fcgid::service {

// The master's copy of one report.
struct crash_report {
    int signal_number = 0;
    bool serving = false;  // a request was inside the plugin on the loop thread
    std::string method;
    std::string uri;       // cut to crash_reports::uri_room bytes
    std::uint64_t body_size = 0;
    std::uint16_t request_id = 0;
    strike_result strike;
    // Killed by its own stall watchdog (--stall-kill, stall_watchdog.hpp):
    // the plugin had not returned from `stalled_in` for `stalled`.
    bool stall_killed = false;
    plugin_callback stalled_in = plugin_callback::none;
    std::chrono::milliseconds stalled{0};
};

// The part of the master's log line that says what a worker died on:
// " while the plugin handled GET /x (request id 1, body 0 bytes); strike 1
// of 2 for that request", or ", outside any request's handle()" for a crash
// in init, on a plugin thread or in a callback; for a stall: " by its stall
// watchdog: the plugin had not returned from handle() for 3.0 s, serving
// GET /x (request id 1)". Control characters in the URI are shown as '?'.
std::string describe(const crash_report& report, const quarantine_settings& settings);

class crash_reports {
public:
    // Reports held at once: one per worker dying at the same moment.
    static constexpr std::size_t capacity = 64;
    static constexpr std::size_t uri_room = 256;
    static constexpr std::size_t method_room = 16;

    // Maps the shared memory. Call in the master, before forking any worker.
    // Throws std::system_error when the mapping fails.
    static std::unique_ptr<crash_reports> create(quarantine_settings settings);
    ~crash_reports();
    crash_reports(const crash_reports&) = delete;
    crash_reports& operator=(const crash_reports&) = delete;

    quarantine_table& quarantine() noexcept { return quarantine_; }

    // In a dying worker's signal handler: records the crash (and the request,
    // when `request` is not null) and counts a strike for it. Async-signal-safe.
    void record(pid_t pid, int signal_number, const request_description* request,
                monotonic_time now) noexcept;

    // In a worker's stall watchdog, before it kills its own process with
    // SIGKILL: the plugin has not returned from `callback` for `stalled`,
    // serving `request` (null: none, or not known). Counts a stall kill; no
    // quarantine strike (a stall is not a crash). Async-signal-safe.
    void record_stall(pid_t pid, plugin_callback callback, const request_description* request,
                      std::chrono::milliseconds stalled) noexcept;
    // Workers killed by their stall watchdog since the master started.
    std::uint64_t stall_kills() const noexcept {
        return shared_->stall_kills.load(std::memory_order_relaxed);
    }

    // In the master, after reaping `pid`: its report, if it wrote one. Frees it.
    std::optional<crash_report> take(pid_t pid) noexcept;

private:
    struct record_slot {
        std::atomic<pid_t> owner;     // 0: free
        std::atomic<bool> complete;   // written in full
        int signal_number;
        bool serving;
        std::uint16_t request_id;
        std::uint64_t body_size;
        std::uint32_t strikes;
        bool quarantined;
        bool strike_recorded;
        std::uint16_t method_length;
        std::uint16_t uri_length;
        char method[method_room];
        char uri[uri_room];
        bool stall_killed;
        plugin_callback stalled_in;
        std::uint64_t stalled_ms;
    };
    struct shared_memory {
        quarantine_table::shared_state quarantine;
        record_slot records[capacity];
        std::atomic<std::uint64_t> stall_kills;
    };

    // Takes a free slot for `pid` and writes `request` into it; null if none is free.
    record_slot* claim(pid_t pid, const request_description* request) noexcept;

    crash_reports(shared_memory* shared, quarantine_settings settings) noexcept
        : shared_(shared), quarantine_(shared->quarantine, settings) {}

    shared_memory* shared_;
    quarantine_table quarantine_;
};

}  // namespace fcgid::service
