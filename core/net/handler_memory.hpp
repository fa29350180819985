// Per-connection memory for Asio's completion handlers, so that a read or a
// write costs no heap allocation in steady state.
//
// Asio allocates each pending operation (the handler plus its state) through
// the handler's associated allocator. Boost 1.74's default keeps only one
// recycled block per thread, which a read and a write in turn keep taking
// from each other. A connection has at most one wait for reading and one for
// writing pending, so one small arena for each is enough; an operation that
// does not fit (or a second one at once) falls back to the heap. A
// connection's wait with its handler takes 128 bytes in Boost 1.74; every
// idle connection holds two arenas, so they are no bigger than that needs.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace fcgid::net {

class handler_memory {
public:
    handler_memory() = default;
    handler_memory(const handler_memory&) = delete;
    handler_memory& operator=(const handler_memory&) = delete;

    void* allocate(std::size_t size) {
        if (!in_use_ && size <= sizeof storage_) {
            in_use_ = true;
            return &storage_;
        }
        return ::operator new(size);
    }

    void deallocate(void* pointer) noexcept {
        if (pointer == &storage_) in_use_ = false;
        else ::operator delete(pointer);
    }

private:
    std::aligned_storage_t<160, alignof(std::max_align_t)> storage_;
    bool in_use_ = false;
};

// A minimal standard allocator over a handler_memory.
template <typename T>
class handler_allocator {
public:
    using value_type = T;

    explicit handler_allocator(handler_memory& memory) noexcept : memory_(&memory) {}
    template <typename U>
    handler_allocator(const handler_allocator<U>& other) noexcept : memory_(other.memory_) {}

    T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
    void deallocate(T* pointer, std::size_t) noexcept { memory_->deallocate(pointer); }

    template <typename U>
    bool operator==(const handler_allocator<U>& other) const noexcept { return memory_ == other.memory_; }

private:
    template <typename>
    friend class handler_allocator;
    handler_memory* memory_;
};

// Wraps a completion handler so that Asio allocates its operation from `memory`.
template <typename Handler>
class handler_with_memory {
public:
    using allocator_type = handler_allocator<Handler>;

    handler_with_memory(handler_memory& memory, Handler handler)
        : memory_(memory), handler_(std::move(handler)) {}

    allocator_type get_allocator() const noexcept { return allocator_type(memory_); }

    template <typename... Args>
    void operator()(Args&&... args) {
        handler_(std::forward<Args>(args)...);
    }

private:
    handler_memory& memory_;
    Handler handler_;
};

template <typename Handler>
handler_with_memory<std::decay_t<Handler>> with_memory(handler_memory& memory, Handler&& handler) {
    return handler_with_memory<std::decay_t<Handler>>(memory, std::forward<Handler>(handler));
}

}  // namespace fcgid::net
