#include "service/process_state.hpp"

#include <atomic>

namespace fcgid::service {
namespace {

// Lock-free, so reading it from the metrics thread (or a signal handler)
// never waits on the loop.
std::atomic<process_state> state_{process_state::starting};
static_assert(std::atomic<process_state>::is_always_lock_free);

}  // namespace

void set_process_state(process_state state) noexcept { state_.store(state, std::memory_order_relaxed); }

process_state current_process_state() noexcept { return state_.load(std::memory_order_relaxed); }

const char* process_state_name(process_state state) noexcept {
    switch (state) {
        case process_state::starting: return "starting";
        case process_state::serving: return "serving";
        case process_state::draining: return "draining";
        case process_state::stopping: return "stopping";
    }
    return "unknown";
}

}  // namespace fcgid::service
