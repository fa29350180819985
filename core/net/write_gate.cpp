#include "net/write_gate.hpp"

namespace fcgid::net {

void write_gate::open(std::size_t room) noexcept {
    const std::lock_guard lock(mutex_);
    posted_ = 0;
    room_ = room;
    full_ = false;
    closed_ = false;
}

void write_gate::posted(std::size_t bytes) noexcept {
    const std::lock_guard lock(mutex_);
    posted_ += bytes;
}

void write_gate::unposted(std::size_t bytes) noexcept {
    {
        const std::lock_guard lock(mutex_);
        posted_ -= bytes;
    }
    // Another writer may have been waiting on these bytes.
    wake_.notify_all();
}

void write_gate::wait() noexcept {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return !over(); });
}

void write_gate::applied(std::size_t bytes, std::size_t room) noexcept {
    {
        const std::lock_guard lock(mutex_);
        // Clamped, though a request is reopened only once no posted write
        // refers to it: a wrapped count would hold its writers for good.
        posted_ -= bytes < posted_ ? bytes : posted_;
        room_ = room;
        full_ = room == 0;
    }
    wake_.notify_all();
}

void write_gate::drained(std::size_t room) noexcept {
    {
        const std::lock_guard lock(mutex_);
        room_ = room;
        full_ = false;
    }
    wake_.notify_all();
}

void write_gate::close() noexcept {
    {
        const std::lock_guard lock(mutex_);
        closed_ = true;
    }
    wake_.notify_all();
}

}  // namespace fcgid::net
