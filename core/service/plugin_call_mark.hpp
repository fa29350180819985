// Where the loop thread is: inside a plugin callback or not, and which one.
//
// The loop thread marks every call into plugin code it makes (handle(), an
// abort or writable callback, a task queued with call_on_loop) with a
// plugin_call on the stack. Two readers use the mark:
//  - the fatal-signal handler (fatal_signals.hpp), on the loop thread, to
//    name the request a crash in handle() happened in;
//  - the stall watchdog (stall_watchdog.hpp), on a thread of its own, to see
//    the loop thread stay in one call too long. It only compares counts: a
//    call that is still the same call after a while has stalled the loop.
// Relaxed stores of values the loop thread alone writes: no clock read, no
// locked instruction, nothing measurable per request.
#pragma once

#include <atomic>
#include <cstdint>

namespace fcgid::service {

enum class plugin_callback : std::uint8_t { none, handle, abort, writable, loop_task };

// "handle()", "its abort callback", ...: for log lines.
const char* callback_text(plugin_callback callback) noexcept;

namespace plugin_call_state {
// The request of the innermost call, or null (a loop task has none).
inline std::atomic<const void*> request{nullptr};
inline std::atomic<plugin_callback> callback{plugin_callback::none};
// Outermost calls entered plus outermost calls left: odd while the loop
// thread is inside plugin code, and a new value for every call.
inline std::atomic<std::uint64_t> edges{0};
inline int depth = 0;  // the loop thread's alone
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "read from a signal handler");
}  // namespace plugin_call_state

// On the loop thread's stack for the length of one call into the plugin.
class plugin_call {
public:
    plugin_call(plugin_callback kind, const void* of_request) noexcept
        : previous_request_(plugin_call_state::request.load(std::memory_order_relaxed)),
          previous_callback_(plugin_call_state::callback.load(std::memory_order_relaxed)) {
        using namespace plugin_call_state;
        request.store(of_request, std::memory_order_relaxed);
        callback.store(kind, std::memory_order_relaxed);
        // A call made from inside another (should a host function ever call
        // back) belongs to the outer one's time.
        if (depth++ == 0) edges.store(edges.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    ~plugin_call() {
        using namespace plugin_call_state;
        if (--depth == 0) edges.store(edges.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        request.store(previous_request_, std::memory_order_relaxed);
        callback.store(previous_callback_, std::memory_order_relaxed);
    }
    plugin_call(const plugin_call&) = delete;
    plugin_call& operator=(const plugin_call&) = delete;

private:
    const void* previous_request_;
    plugin_callback previous_callback_;
};

}  // namespace fcgid::service
