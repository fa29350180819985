// When the --workers master starts a worker again: the decisions alone, with
// no processes and no clock of their own (time is passed in), so that they
// are unit-tested as plain values.
//
// The rule tells a bad request from a bad build:
//  - a worker that exits cleanly (a limit recycled it) or dies after it had
//    reported ready (a crash while serving, or --stall-kill ending a plugin
//    call that did not return) is replaced at once: the plugin
//    started fine, and the host needs the capacity back now;
//  - a worker that dies before it is ready (the plugin fails to load, or
//    crashes in init) waits before its next try, doubling per slot from
//    100 ms to 10 s, so a broken build does not spin;
//  - while every slot is waiting, one slot is tried at least once a second:
//    the listening socket stays open, so the host must keep trying to serve
//    it (a plugin whose init failed on a passing outage recovers within a
//    second, and the connections in the listen queue are not lost).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace fcgid::service {

class respawn_policy {
public:
    using clock = std::chrono::steady_clock;

    struct settings {
        std::chrono::milliseconds first_backoff{100};
        std::chrono::milliseconds max_backoff{10'000};
        // With every slot waiting: the longest the host goes without a try.
        std::chrono::milliseconds keep_trying_every{1'000};
    };

    enum class exit_kind {
        recycled,      // exited 0: a limit recycled it, or it drained
        crashed,       // died after it had reported ready
        stalled,       // killed by its stall watchdog (--stall-kill): a stall while serving
        failed_start,  // died (or could not be forked) before it was ready
    };

    explicit respawn_policy(std::size_t slots) : respawn_policy(slots, settings{}) {}
    respawn_policy(std::size_t slots, settings s) : settings_(s), slots_(slots) {}

    // The worker of `slot` was forked.
    void started(std::size_t slot) noexcept;
    // The worker of `slot` exited: when its replacement is due.
    clock::time_point exited(std::size_t slot, exit_kind kind, clock::time_point now);

    // Slots whose replacement is due at `now`; each counts as started.
    std::vector<std::size_t> take_due(clock::time_point now);
    // When the next replacement is due, if any slot is waiting.
    std::optional<clock::time_point> next_due() const noexcept;
    // True when no slot has a worker: every one is waiting for its next try.
    bool none_running() const noexcept;
    std::chrono::milliseconds backoff(std::size_t slot) const noexcept { return slots_[slot].backoff; }
    const settings& config() const noexcept { return settings_; }

private:
    struct slot_state {
        bool running = true;  // a worker is starting or serving in it
        clock::time_point due{};  // while not running: when to start one
        std::chrono::milliseconds backoff{0};  // the last wait after a failed start
    };

    // With every slot waiting, bring the soonest within keep_trying_every.
    void keep_one_trying(clock::time_point now) noexcept;

    settings settings_;
    std::vector<slot_state> slots_;
};

}  // namespace fcgid::service
