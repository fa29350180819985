#include "net/request_pool.hpp"

#include <algorithm>
#include <utility>

#include "net/request.hpp"

namespace fcgid::net {

namespace {

// Large body buffers kept at most, whatever their size: a few uploads at once.
constexpr std::size_t max_spare_bodies = 8;

}  // namespace

request_pool::request_pool(std::size_t capacity, std::size_t body_bytes)
    : capacity_(capacity), body_bytes_limit_(body_bytes) {
    spare_.reserve(capacity);
    spare_bodies_.reserve(max_spare_bodies);
}

request_pool::~request_pool() = default;

std::shared_ptr<request> request_pool::take(output_queue& output, std::uint16_t id, bool keep_conn) {
    // From the most recently given back: its memory is the likeliest in cache.
    for (std::size_t i = spare_.size(); i-- > 0;) {
        if (spare_[i].use_count() != 1) continue;
        std::shared_ptr<request> r = std::move(spare_[i]);
        spare_[i] = std::move(spare_.back());
        spare_.pop_back();
        keep_body_of(*r);  // if it was still held when given back
        r->reset(output, id, keep_conn);
        return r;
    }
    return std::make_shared<request>(output, id, keep_conn);
}

void request_pool::give_back(std::shared_ptr<request> r) {
    // Only when nothing else holds it: a plugin may still read a held body.
    if (r.use_count() == 1) keep_body_of(*r);
    if (spare_.size() < capacity_) spare_.push_back(std::move(r));
}

void request_pool::keep_body_of(request& r) noexcept {
    body_buffer buffer = r.take_large_body_buffer();
    if (buffer.capacity() <= request::kept_buffer_bytes) return;  // it had none
    if (spare_bodies_.size() == max_spare_bodies || body_bytes_ + buffer.capacity() > body_bytes_limit_)
        return;  // freed here
    body_bytes_ += buffer.capacity();
    spare_bodies_.push_back(std::move(buffer));  // within the reserved capacity
    bodies_used_ = true;
}

void request_pool::reserve_body(request& r, std::size_t bytes) {
    if (bytes > request::kept_buffer_bytes) {
        // The smallest that fits, and not one far larger than the body.
        auto best = spare_bodies_.end();
        for (auto it = spare_bodies_.begin(); it != spare_bodies_.end(); ++it) {
            const std::size_t room = it->capacity();
            if (room >= bytes && room / 2 <= bytes && (best == spare_bodies_.end() || room < best->capacity()))
                best = it;
        }
        if (best != spare_bodies_.end()) {
            body_bytes_ -= best->capacity();
            r.swap_body_buffer(*best);  // *best now holds the request's small buffer: freed below
            spare_bodies_.erase(best);
            bodies_used_ = true;
            return;
        }
    }
    r.reserve_body(bytes);
}

void request_pool::release_unused_bodies() noexcept {
    if (!bodies_used_) {
        spare_bodies_.clear();
        body_bytes_ = 0;
    }
    bodies_used_ = false;
}

}  // namespace fcgid::net
