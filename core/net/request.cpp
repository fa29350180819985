#include "net/request.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

#include <spdlog/spdlog.h>

#include "fcgi/error.hpp"
#include "http/status.hpp"
#include "net/output_queue.hpp"
#include "observe/metrics_table.hpp"
#include "plugin/plugin_host.hpp"
#include "service/plugin_call_mark.hpp"

namespace fcgid::net {
namespace {

// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

bool has_line_break(std::string_view value) noexcept {
    return value.find_first_of("\r\n") != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// A recycled request keeps buffers up to request::kept_buffer_bytes; larger
// ones (a big body) are freed rather than held by an idle connection.
void clear_keeping_small(std::string& s) noexcept {
    if (s.capacity() > request::kept_buffer_bytes) std::string().swap(s);
    else s.clear();
}

}  // namespace

request::request(output_queue& output, std::uint16_t id, bool keep_conn)
    : output_(&output), id_(id), keep_conn_(keep_conn) {}

body_buffer request::take_large_body_buffer() noexcept {
    body_buffer taken;
    if (body_.capacity() > kept_buffer_bytes) {
        taken.swap(body_);
        taken.clear();
    }
    return taken;
}

void request::reset(output_queue& output, std::uint16_t id, bool keep_conn) noexcept {
    output_ = &output;
    id_ = id;
    keep_conn_ = keep_conn;
    params_.clear();
    body_.clear_keeping(kept_buffer_bytes);
    params_done_ = body_done_ = dispatched_ = deferred_ = false;
    received_ = 0;
    status_ = 200;
    clear_keeping_small(head_);
    head_sent_ = stderr_sent_ = completed_ = false;
    aborted_.store(false, std::memory_order_relaxed);
    abort_callback_ = nullptr;
    abort_user_data_ = nullptr;
    writable_callback_ = nullptr;
    writable_user_data_ = nullptr;
    waiting_writable_ = false;
    // gate_ is reopened by hand_to_plugin(). Nothing waits on it now: a
    // waiting writer holds a reference, and reset() runs only when none is left.
    timing_ = request_timing{std::chrono::steady_clock::now()};
    bytes_out_ = 0;
    output_end_ = 0;
    cut_short_ = false;
}

// ---- Params ---------------------------------------------------------------------

std::error_code request::end_params(std::size_t max_count) {
    params_done_ = true;
    return params_.end(max_count);
}

bool request::param_at(std::size_t index, std::string_view& name,
                       std::string_view& value) const noexcept {
    return params_.at(index, name, value);
}

bool request::find_param(std::string_view name, std::string_view& value) const noexcept {
    return params_.find(name, value);
}

// ---- Response -------------------------------------------------------------------

int request::set_status(int status) noexcept {
    if (status < 100 || status > 999) return FCGID_EINVAL;
    // Aborted first: an abort also ends the response, and a plugin thread
    // racing it should hear why, as write() tells it.
    if (aborted()) return FCGID_EABORTED;
    if (head_sent_ || completed_) return FCGID_ESTATE;
    status_ = status;
    return FCGID_OK;
}

int request::add_header(std::string_view name, std::string_view value) {
    if (!is_token(name) || has_line_break(value) || iequals(name, "Status")) return FCGID_EINVAL;
    if (aborted()) return FCGID_EABORTED;
    if (head_sent_ || completed_) return FCGID_ESTATE;
    head_.append(name).append(": ").append(value).append("\r\n");
    return FCGID_OK;
}

void request::send_head() {
    // "Status: 200 OK\r\n" + headers + "\r\n", as one STDOUT record with no
    // temporary string: the status line is formatted on the stack.
    char status_line[64];
    std::string_view reason = http::reason_phrase(status_);
    char* p = status_line;
    p = std::copy_n("Status: ", 8, p);
    p = std::to_chars(p, p + 3, status_).ptr;
    *p++ = ' ';
    reason = reason.substr(0, sizeof status_line - (p - status_line) - 2);
    p = std::copy(reason.begin(), reason.end(), p);
    *p++ = '\r';
    *p++ = '\n';
    head_.append("\r\n");
    output_->append_head(id_, std::string_view(status_line, p - status_line), head_);
    head_sent_ = true;
    head_.clear();
}

int request::write(std::string_view data) {
    if (completed_ && !aborted()) return FCGID_ESTATE;
    if (aborted() || output_ == nullptr) return FCGID_EABORTED;
    if (data.empty()) return FCGID_OK;
    if (!head_sent_) send_head();
    output_->append_stream(id_, fcgi::record_type::stdout_, data);
    bytes_out_ += data.size();
    return output_->full() ? FCGID_FULL : FCGID_OK;
}

int request::write_stderr(std::string_view data) {
    if (completed_ && !aborted()) return FCGID_ESTATE;
    if (aborted() || output_ == nullptr) return FCGID_EABORTED;
    if (data.empty()) return FCGID_OK;
    output_->append_stream(id_, fcgi::record_type::stderr_, data);
    stderr_sent_ = true;
    return output_->full() ? FCGID_FULL : FCGID_OK;
}

int request::apply_posted_write(std::string_view data, fcgi::record_type type) {
    int rc = FCGID_ENOMEM;
    try {
        rc = type == fcgi::record_type::stderr_ ? write_stderr(data) : write(data);
    } catch (const std::bad_alloc&) {
        // Reported by the caller; the bytes must still be counted out below,
        // or their writer would wait for them for good.
    }
    const std::size_t room = output_ ? output_->room() : 0;
    gate_.applied(data.size(), room);
    // Full: a writer now waits for the drain, which only notify_writable()
    // reports. Asked for even if none waits yet: one may be about to.
    if (room == 0 && output_ && !completed_ && !aborted()) wait_writable();
    return rc;
}

void request::complete() {
    completed_ = true;
    gate_.close();
    note_finished();
    if (output_ == nullptr) return;
    if (!head_sent_) send_head();
    output_->finish(*this, stderr_sent_, /*app_status=*/0);
    output_end_ = output_->queued_total();
}

void request::note_finished() noexcept {
    // Inside handle() the time is the one dispatched() reads as it returns;
    // right after it (finished for the plugin on OK), that same reading.
    const bool handle_over = timing_.deferred || timing_.dispatched == request_timing::clock::time_point{};
    timing_.finished = handle_over ? request_timing::clock::now() : timing_.returned;
}

void request::complete_with_error(int status) {
    if (!head_sent_) {
        status_ = status;
        head_.clear();  // the plugin's headers belonged to the answer it did not give
        complete();
        return;
    }
    // Part of the body is out: ending the request normally would pass a
    // cut-short body off as whole. Signal the failure in the app status.
    completed_ = true;
    cut_short_ = true;
    gate_.close();
    note_finished();
    if (output_ == nullptr) return;
    output_->finish(*this, stderr_sent_, /*app_status=*/1);
    output_end_ = output_->queued_total();
}

int request::finish() {
    if (!plugin_ref_ && dispatched_) return FCGID_ESTATE;
    if (!completed_ && !aborted()) complete();
    end_plugin_hold();
    return FCGID_OK;
}

int request::fail(std::string_view reason) {
    if (!plugin_ref_ && dispatched_) return FCGID_ESTATE;
    if (!completed_ && !aborted()) {
        spdlog::error("request failed: {} ({})", reason.empty() ? "no reason given" : reason,
                      uri_for_log());
        complete_with_error(500);
    }
    end_plugin_hold();
    return FCGID_OK;
}

int request::release() {
    if (!plugin_ref_ && dispatched_) return FCGID_ESTATE;
    if (!completed_ && !aborted()) return fail("plugin released the response without finishing it");
    end_plugin_hold();
    return FCGID_OK;
}

int request::set_abort_callback(fcgid_abort_callback callback, void* user_data) noexcept {
    if (aborted()) return FCGID_EABORTED;
    abort_callback_ = callback;
    abort_user_data_ = user_data;
    return FCGID_OK;
}

int request::set_writable_callback(fcgid_writable_callback callback, void* user_data) {
    if (aborted() || output_ == nullptr) return FCGID_EABORTED;
    if (completed_) return FCGID_ESTATE;
    writable_callback_ = callback;
    writable_user_data_ = user_data;
    if (callback) wait_writable();
    return FCGID_OK;
}

void request::wait_writable() {
    // Queued once: a callback replaced before it ran, or one registered
    // while plugin threads wait at the gate, shares the one place.
    if (waiting_writable_) return;
    output_->wait_writable(shared_from_this());
    waiting_writable_ = true;
}

void request::notify_writable() {
    waiting_writable_ = false;
    if (output_) gate_.drained(output_->room());
    const auto callback = writable_callback_;
    writable_callback_ = nullptr;
    if (callback && plugin_ref_ && !aborted()) {
        const service::plugin_call in_plugin(service::plugin_callback::writable, this);
        callback(writable_user_data_, as_response());
    }
}

void request::time_out() {
    if (completed_) return;
    spdlog::warn("request timed out: the plugin held it longer than the request timeout ({})",
                 uri_for_log());
    observe::local()[observe::counter_id::request_timeouts].add();
    complete_with_error(504);
    abort();
}

void request::reject(int status) {
    dispatched_ = true;
    status_ = status;
    complete();
}

void request::answer(int status, std::string_view content_type, std::string_view body) {
    dispatched_ = true;
    status_ = status;
    head_.clear();
    head_.append("Content-Type: ").append(content_type).append("\r\nCache-Control: no-store\r\n");
    if (output_ != nullptr && !body.empty()) {
        send_head();
        output_->append_stream(id_, fcgi::record_type::stdout_, body);
    }
    complete();
}

void request::hand_to_plugin(std::shared_ptr<plugin::plugin_host> handler) {
    plugin_ref_ = shared_from_this();
    handler_ = std::move(handler);
    timing_.dispatched = std::chrono::steady_clock::now();
    gate_.open(output_ ? output_->room() : 0);
}

void request::dispatched(int handle_rc) {
    dispatched_ = true;
    // The one clock read this adds to a request finished inside handle().
    timing_.returned = std::chrono::steady_clock::now();
    if (completed_) timing_.finished = timing_.returned;  // finished inside handle()
    if (handle_rc == FCGID_DEFERRED) {  // the plugin keeps plugin_ref_
        timing_.deferred = !completed_;
        if (plugin_ref_) {
            deferred_ = true;
            observe::local()[observe::gauge_id::requests_deferred].add(1);
        }
        return;
    }
    if (!plugin_ref_) return;                 // finished inside handle()
    // FULL from handle() is the result of its last write passed on: the
    // bytes were taken, so it means the same as OK.
    if (handle_rc == FCGID_OK || handle_rc == FCGID_FULL) {
        finish();
        return;
    }
    char reason[64];
    auto end = fmt::format_to_n(reason, sizeof reason, "handler returned {}", handle_rc).out;
    fail(std::string_view(reason, end - reason));
}

void request::abort() noexcept {
    if (aborted_.exchange(true, std::memory_order_acq_rel)) return;
    // Wake writers first: the callback may take a lock of the plugin's that
    // a thread waiting at the gate holds, and the loop must not wait on it.
    gate_.close();
    const auto callback = abort_callback_;
    abort_callback_ = nullptr;
    // Only a plugin still holding the handle has anything to stop.
    if (callback && plugin_ref_) {
        const service::plugin_call in_plugin(service::plugin_callback::abort, this);
        callback(abort_user_data_, as_response());
    }
}

void request::detach() noexcept {
    output_ = nullptr;
    completed_ = true;
    gate_.close();
}

void request::end_plugin_hold() noexcept {
    dispatched_ = true;
    if (deferred_) {
        deferred_ = false;
        observe::local()[observe::gauge_id::requests_deferred].add(-1);
    }
    gate_.close();
    abort_callback_ = nullptr;
    writable_callback_ = nullptr;
    handler_.reset();
    // Move out last: resetting may destroy *this.
    auto self = std::move(plugin_ref_);
}

void request::describe(service::request_description& out) const noexcept {
    out = {};
    find_param("REQUEST_METHOD", out.method);
    find_param("REQUEST_URI", out.uri);
    out.body_size = body_.size();
    out.id = id_;
}

std::string_view request::uri_for_log() const noexcept {
    std::string_view uri;
    if (find_param("REQUEST_URI", uri)) return uri;
    return "no REQUEST_URI";
}

}  // namespace fcgid::net
