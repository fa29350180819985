#include "service/respawn_policy.hpp"

#include <algorithm>

namespace fcgid::service {

void respawn_policy::started(std::size_t slot) noexcept { slots_[slot].running = true; }

respawn_policy::clock::time_point respawn_policy::exited(std::size_t slot, exit_kind kind,
                                                         clock::time_point now) {
    slot_state& s = slots_[slot];
    s.running = false;
    if (kind == exit_kind::failed_start) {
        s.backoff = s.backoff.count() == 0 ? settings_.first_backoff
                                           : std::min(s.backoff * 2, settings_.max_backoff);
        s.due = now + s.backoff;
    } else {
        // It had started fine: its next failed start waits the first backoff again.
        s.backoff = std::chrono::milliseconds(0);
        s.due = now;
    }
    keep_one_trying(now);
    return s.due;
}

std::vector<std::size_t> respawn_policy::take_due(clock::time_point now) {
    std::vector<std::size_t> due;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].running || slots_[i].due > now) continue;
        slots_[i].running = true;
        due.push_back(i);
    }
    return due;
}

std::optional<respawn_policy::clock::time_point> respawn_policy::next_due() const noexcept {
    std::optional<clock::time_point> next;
    for (const slot_state& s : slots_)
        if (!s.running && (!next || s.due < *next)) next = s.due;
    return next;
}

bool respawn_policy::none_running() const noexcept {
    return std::none_of(slots_.begin(), slots_.end(), [](const slot_state& s) { return s.running; });
}

void respawn_policy::keep_one_trying(clock::time_point now) noexcept {
    if (slots_.empty() || !none_running()) return;
    const auto soonest = std::min_element(slots_.begin(), slots_.end(),
                                          [](const slot_state& a, const slot_state& b) { return a.due < b.due; });
    soonest->due = std::min(soonest->due, now + settings_.keep_trying_every);
}

}  // namespace fcgid::service
