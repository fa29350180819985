#include "net/output_queue.hpp"

#include "fcgi/encoder.hpp"
#include "net/request.hpp"

namespace fcgid::net {
namespace {

// Wire buffer capacity kept between responses: a typical response's worth.
// A big response's megabyte goes back, or idle keep-alive connections hoard it.
constexpr std::size_t kept_output_capacity = 64 * 1024;

// Room made at once for a response: a small one (hello's is 130 bytes of
// records) then fits without the string growing three times on the way,
// which was most of what a connection per request allocated.
constexpr std::size_t first_output_capacity = 256;

void make_first_room(byte_ring& ring) {
    if (ring.capacity() < first_output_capacity) ring.reserve(first_output_capacity);
}

}  // namespace

void output_queue::note() {
    if (awake_ || !wake_) return;
    awake_ = true;
    wake_();
}

void output_queue::settled() {
    awake_ = false;
    if (finished_ != 0 || (!writable_waiters_.empty() && writable())) note();
}

void output_queue::append_head(std::uint16_t id, std::string_view status_line,
                               std::string_view headers) {
    make_first_room(ring_);
    const std::size_t size = status_line.size() + headers.size();
    if (size <= fcgi::max_content_length) {
        fcgi::append_header(ring_, fcgi::record_type::stdout_, id, static_cast<std::uint16_t>(size));
        ring_.append(status_line);
        ring_.append(headers);
    } else {
        fcgi::append_stream(ring_, fcgi::record_type::stdout_, id, status_line);
        fcgi::append_stream(ring_, fcgi::record_type::stdout_, id, headers);
    }
    note();
}

void output_queue::append_stream(std::uint16_t id, fcgi::record_type type, std::string_view data) {
    make_first_room(ring_);
    fcgi::append_stream(ring_, type, id, data);
    note();
}

void output_queue::append_end_request(std::uint16_t id, std::uint32_t app_status,
                                      fcgi::protocol_status status) {
    make_first_room(ring_);
    fcgi::append_end_request(ring_, id, app_status, status);
    note();
}

void output_queue::finish(const request& r, bool stderr_used, std::uint32_t app_status) {
    make_first_room(ring_);
    fcgi::append_stream_end(ring_, fcgi::record_type::stdout_, r.id());
    if (stderr_used) fcgi::append_stream_end(ring_, fcgi::record_type::stderr_, r.id());
    fcgi::append_end_request(ring_, r.id(), app_status, fcgi::protocol_status::request_complete);
    ++finished_;
    note();
}

std::size_t output_queue::room() const noexcept {
    const std::size_t used = buffered();
    return used < limit_ ? static_cast<std::size_t>(limit_ - used) : 0;
}

void output_queue::wait_writable(std::shared_ptr<request> r) {
    writable_waiters_.push_back(std::move(r));
    if (writable()) note();
}

void output_queue::take_writable_waiters(std::vector<std::shared_ptr<request>>& into) noexcept {
    into.clear();
    if (writable()) into.swap(writable_waiters_);
}

bool output_queue::begin_write() noexcept {
    if (writing_ || ring_.empty()) return false;
    batch_left_ = ring_.size();
    writing_ = true;
    return true;
}

std::string_view output_queue::unwritten() const noexcept {
    const std::string_view front = ring_.front();
    return front.substr(0, std::min(front.size(), batch_left_));
}

std::string_view output_queue::unwritten_second() const noexcept {
    const std::size_t first = ring_.front().size();
    if (batch_left_ <= first) return {};
    return ring_.second().substr(0, batch_left_ - first);
}

bool output_queue::wrote(std::size_t bytes) noexcept {
    ring_.consume(bytes);
    batch_left_ -= bytes;
    written_total_ += bytes;
    if (batch_left_ > 0) return false;
    writing_ = false;
    return true;
}

void output_queue::release_spare() noexcept {
    if (!writing_) ring_.release_above(kept_output_capacity);
}

void output_queue::clear() noexcept {
    // Nothing is on the wire once the connection closed: writes are
    // synchronous send() calls from a turn, never left pending.
    ring_.clear();
    ring_.release_above(0);
    batch_left_ = 0;
    writing_ = false;
    finished_ = 0;
    writable_waiters_.clear();
}

}  // namespace fcgid::net
