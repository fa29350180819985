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

void make_first_room(std::string& pending) {
    if (pending.capacity() < first_output_capacity) pending.reserve(first_output_capacity);
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
    make_first_room(pending_);
    const std::size_t size = status_line.size() + headers.size();
    if (size <= fcgi::max_content_length) {
        fcgi::append_header(pending_, fcgi::record_type::stdout_, id, static_cast<std::uint16_t>(size));
        pending_.append(status_line).append(headers);
    } else {
        fcgi::append_stream(pending_, fcgi::record_type::stdout_, id, status_line);
        fcgi::append_stream(pending_, fcgi::record_type::stdout_, id, headers);
    }
    note();
}

void output_queue::append_stream(std::uint16_t id, fcgi::record_type type, std::string_view data) {
    make_first_room(pending_);
    fcgi::append_stream(pending_, type, id, data);
    note();
}

void output_queue::append_end_request(std::uint16_t id, std::uint32_t app_status,
                                      fcgi::protocol_status status) {
    make_first_room(pending_);
    fcgi::append_end_request(pending_, id, app_status, status);
    note();
}

void output_queue::finish(const request& r, bool stderr_used, std::uint32_t app_status) {
    make_first_room(pending_);
    fcgi::append_stream_end(pending_, fcgi::record_type::stdout_, r.id());
    if (stderr_used) fcgi::append_stream_end(pending_, fcgi::record_type::stderr_, r.id());
    fcgi::append_end_request(pending_, r.id(), app_status, fcgi::protocol_status::request_complete);
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
    if (writing_ || pending_.empty()) return false;
    std::swap(pending_, writing_buffer_);
    written_ = 0;
    writing_ = true;
    return true;
}

std::string_view output_queue::unwritten() const noexcept {
    return std::string_view(writing_buffer_).substr(written_);
}

bool output_queue::wrote(std::size_t bytes) noexcept {
    written_ += bytes;
    written_total_ += bytes;
    if (written_ < writing_buffer_.size()) return false;
    writing_ = false;
    writing_buffer_.clear();
    written_ = 0;
    return true;
}

void output_queue::release_spare() noexcept {
    if (writing_) return;
    if (writing_buffer_.capacity() > kept_output_capacity) std::string().swap(writing_buffer_);
    if (pending_.empty() && pending_.capacity() > kept_output_capacity) std::string().swap(pending_);
}

void output_queue::clear() noexcept {
    // The wire buffer stays as it is: a write still in progress points into
    // it until the closed socket cancels that write.
    pending_.clear();
    finished_ = 0;
    writable_waiters_.clear();
}

}  // namespace fcgid::net
