// A byte queue in one buffer used as a ring: bytes are appended at the back
// and taken from the front, and the buffer is reused around, so a stream
// that keeps it busy (a large response while the web server reads) needs
// one buffer of about what is queued at most, and copies nothing but the
// appends. Two buffers swapped in turn would each grow to that size.
//
// It grows when an append does not fit: doubling while small (64 KiB),
// then at once to a step (64 KiB) past `grow_limit`, then to what is needed
// plus a step (a caller that queues past its own limit). So the buffer
// stays about as large as the most ever queued, and a large response grows
// it once. Growing copies what is queued into the new buffer, in order.
//
// Loop thread only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace fcgid::net {

class byte_ring {
public:
    explicit byte_ring(std::size_t grow_limit) noexcept : grow_limit_(grow_limit) {}
    byte_ring(const byte_ring&) = delete;
    byte_ring& operator=(const byte_ring&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return capacity_; }

    // Makes room for `bytes` more at once: a small response then fits
    // without growing on the way.
    void reserve(std::size_t bytes) {
        if (size_ + bytes > capacity_) grow(size_ + bytes);
    }

    void append(std::string_view bytes) {
        if (bytes.empty()) return;
        reserve(bytes.size());
        std::size_t back = head_ + size_;
        if (back >= capacity_) back -= capacity_;
        const std::size_t first = std::min(bytes.size(), capacity_ - back);
        std::memcpy(data_.get() + back, bytes.data(), first);
        std::memcpy(data_.get(), bytes.data() + first, bytes.size() - first);
        size_ += bytes.size();
    }

    void append(const char* data, std::size_t bytes) { append(std::string_view(data, bytes)); }

    // The queued bytes in at most two parts, front first (the second empty
    // unless they wrap around the end of the buffer).
    std::string_view front() const noexcept {
        return {data_.get() + head_, std::min(size_, capacity_ - head_)};
    }
    std::string_view second() const noexcept {
        const std::size_t first = std::min(size_, capacity_ - head_);
        return {data_.get(), size_ - first};
    }

    // Drops `bytes` (≤ size()) from the front.
    void consume(std::size_t bytes) noexcept {
        size_ -= bytes;
        head_ = size_ == 0 ? 0 : (head_ + bytes) % capacity_;
    }
    void clear() noexcept { head_ = size_ = 0; }

    // Frees the buffer when nothing is queued and it is larger than `keep`.
    void release_above(std::size_t keep) noexcept {
        if (size_ != 0 || capacity_ <= keep) return;
        data_.reset();
        capacity_ = 0;
        head_ = 0;
    }

private:
    void grow(std::size_t needed) {
        // Small (a typical response): doubling. Past that, straight to a
        // step past the limit: a large response would reach it anyway, and
        // each doubling on the way would copy all that is queued and leave
        // a block behind. Past that too, a step of room more than needed, so
        // that the records following a write past the limit need no growth.
        const std::size_t ceiling = grow_limit_ + past_limit_step;
        std::size_t bigger = std::max(needed, capacity_ * 2);
        if (bigger > small_size) bigger = std::max(bigger, ceiling);
        if (needed > ceiling) bigger = needed + past_limit_step;
        auto fresh = std::make_unique_for_overwrite<char[]>(bigger);
        const std::string_view a = front(), b = second();
        if (!a.empty()) std::memcpy(fresh.get(), a.data(), a.size());
        if (!b.empty()) std::memcpy(fresh.get() + a.size(), b.data(), b.size());
        data_ = std::move(fresh);
        capacity_ = bigger;
        head_ = 0;
    }

    static constexpr std::size_t small_size = 64 * 1024;
    static constexpr std::size_t past_limit_step = 64 * 1024;

    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    const std::size_t grow_limit_;
};

}  // namespace fcgid::net
