// --stall-warning and --stall-kill: a thread that watches the loop thread
// for a plugin callback that does not return.
//
// Everything fcgid serves waits while the loop thread is inside plugin code:
// a handle() that spins or blocks stalls every connection of the process.
// The watchdog polls the loop thread's mark (plugin_call_mark.hpp) every
// half --stall-warning: the loop thread pays nothing for it. When the same
// call is still running after --stall-warning, it logs one warning with the
// request (method, URI) and the loop thread's stack (loop_sampler.hpp: no
// ptrace), then "still stalled" at most every 5 s, and a line when the call
// returns. The warning's threshold is met to within half a period: a report
// never comes early, and at most half --stall-warning late.
//
// After --stall-kill seconds in one call, the process ends, without help
// from the loop thread:
//  - with --workers (`reports` set), the watchdog writes a stall report into
//    the memory the master shares (crash_reports.hpp) and kills its own
//    process with SIGKILL; the master logs the report and replaces it at
//    once. Requests the worker had in flight on other connections are lost
//    with it: the kernel closes its sockets.
//  - without, it writes "fcgid: fatal: ..." to stderr and exits with status
//    3, for the process manager to restart it (systemd Restart=on-failure,
//    supervisord autorestart).
// The kill path takes no lock and allocates nothing (write(2), a shared
// memory store, kill(2)): a loop thread stuck holding the logger's or the
// allocator's lock cannot hold it up. The warning path logs through spdlog
// and symbolises, so a loop thread stuck inside the logger (a blocked
// stderr pipe) can hold a warning up, and the kill that would follow it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "service/fatal_signals.hpp"

namespace fcgid::service {

struct stall_settings {
    std::chrono::milliseconds warning{0};  // 0: no warning
    std::chrono::seconds kill{0};          // 0: never
    bool enabled() const noexcept { return warning.count() > 0 || kill.count() > 0; }
};

// The exit status of a process ended by --stall-kill without --workers.
constexpr int stall_exit_status = 3;

class crash_reports;

class stall_watchdog {
public:
    // On the loop thread, the one watched: installs the stack sampler and
    // starts the watchdog's thread. `reports` is null without --workers.
    stall_watchdog(stall_settings settings, describe_request_fn describe, crash_reports* reports);
    ~stall_watchdog();
    stall_watchdog(const stall_watchdog&) = delete;
    stall_watchdog& operator=(const stall_watchdog&) = delete;

    // Stalls warned about in this process since it started.
    static std::uint64_t stalls() noexcept;

    // How often the mark is read: half --stall-warning, a quarter of
    // --stall-kill, between 5 ms and 1 s.
    static std::chrono::milliseconds poll_period(const stall_settings& settings) noexcept;

private:
    void run();
    bool wait_or_stop(std::chrono::milliseconds period);

    stall_settings settings_;
    crash_reports* reports_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace fcgid::service
