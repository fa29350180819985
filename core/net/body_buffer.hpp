// A request body's bytes: a buffer that grows without zero-filling, so that
// a connection can read a body's bytes from the socket straight into it.
//
// Not a std::string: making room at the end of one to read into zero-fills
// it first (C++20 has no resize_and_overwrite), which would cost as much as
// the copy from the read buffer it saves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace fcgid::net {

class body_buffer {
public:
    body_buffer() noexcept = default;
    body_buffer(body_buffer&& other) noexcept { swap(other); }
    body_buffer& operator=(body_buffer&& other) noexcept {
        body_buffer(std::move(other)).swap(*this);
        return *this;
    }

    // The bytes so far; never a null pointer, also when empty (the plugin
    // ABI promises a valid pointer for an empty body).
    std::string_view view() const noexcept { return {data_ ? data_.get() : "", size_}; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }

    // Room for `bytes` in all, keeping what is there.
    void reserve(std::size_t bytes) {
        if (bytes <= capacity_) return;
        auto bigger = std::make_unique_for_overwrite<char[]>(bytes);
        if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
        data_ = std::move(bigger);
        capacity_ = bytes;
    }
    void append(std::string_view bytes) {
        if (bytes.empty()) return;  // memcpy to a null buffer, even of 0 bytes, is undefined
        if (bytes.size() > capacity_ - size_) reserve(std::max(size_ + bytes.size(), capacity_ * 2));
        std::memcpy(data_.get() + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
    }
    // The free room at the end, for a read into it; commit() what was read.
    std::span<char> tail() noexcept { return {data_.get() + size_, capacity_ - size_}; }
    void commit(std::size_t bytes) noexcept { size_ += bytes; }

    void clear() noexcept { size_ = 0; }
    // Clears, and frees the buffer if it is above `kept_capacity`.
    void clear_keeping(std::size_t kept_capacity) noexcept {
        if (capacity_ > kept_capacity) *this = body_buffer();
        size_ = 0;
    }
    void swap(body_buffer& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }

private:
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace fcgid::net
