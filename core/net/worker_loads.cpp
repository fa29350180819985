#include "net/worker_loads.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <new>
#include <system_error>

namespace fcgid::net {

std::unique_ptr<worker_loads> worker_loads::create() {
    // Anonymous and shared: the workers forked after this see the same pages.
    void* memory = ::mmap(nullptr, sizeof(table), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap of the worker table");
    auto* shared = new (memory) table{};
    return std::unique_ptr<worker_loads>(new worker_loads(shared));
}

// Each process unmaps its own view; the atomics need no destruction.
worker_loads::~worker_loads() { ::munmap(table_, sizeof(table)); }

bool worker_loads::join() noexcept {
    const pid_t self = ::getpid();
    for (std::uint32_t i = 0; i < max_workers; ++i) {
        entry& candidate = table_->entries[i];
        pid_t free = 0;
        if (!candidate.owner.compare_exchange_strong(free, self)) continue;
        candidate.connections.store(0, std::memory_order_relaxed);
        // Raise the scan limit to cover this entry (a failed exchange
        // reloads in_use: retry until it covers the entry either way).
        std::uint32_t in_use = table_->in_use.load();
        while (in_use < i + 1 && !table_->in_use.compare_exchange_weak(in_use, i + 1)) continue;
        mine_ = &candidate;
        return true;
    }
    return false;
}

void worker_loads::publish(std::size_t connections) noexcept {
    if (mine_ == nullptr) return;
    const auto capped = std::min<std::size_t>(connections, std::numeric_limits<std::uint32_t>::max());
    mine_->connections.store(static_cast<std::uint32_t>(capped), std::memory_order_relaxed);
}

void worker_loads::leave() noexcept {
    if (mine_ == nullptr) return;
    mine_->connections.store(0, std::memory_order_relaxed);
    mine_->owner.store(0, std::memory_order_release);
    mine_ = nullptr;
}

bool worker_loads::ahead_of_least_loaded() const noexcept {
    if (mine_ == nullptr) return false;
    const std::uint32_t own = mine_->connections.load(std::memory_order_relaxed);
    const std::uint32_t in_use = table_->in_use.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < in_use; ++i) {
        const entry& other = table_->entries[i];
        if (&other == mine_ || other.owner.load(std::memory_order_relaxed) == 0) continue;
        if (other.connections.load(std::memory_order_relaxed) < own) return true;
    }
    return false;
}

void worker_loads::forget(pid_t pid) noexcept {
    const std::uint32_t in_use = table_->in_use.load();
    for (std::uint32_t i = 0; i < in_use; ++i) {
        pid_t owner = pid;
        table_->entries[i].owner.compare_exchange_strong(owner, 0);
    }
}

}  // namespace fcgid::net
