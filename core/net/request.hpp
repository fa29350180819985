// One FastCGI request and its response: the object behind the plugin ABI's
// opaque fcgid_request and fcgid_response handles.
//
// Lifetime: the connection owns a request while it is in flight; while the
// plugin holds the handle (from handle() until it finishes or releases the
// response) the request also owns itself through plugin_ref_. So a request
// may outlive its connection (the connection then detaches it) and a plugin
// never touches freed memory, whichever side ends first.
//
// A request never calls its connection: its output and its end go to the
// connection's output_queue, which the connection reads after the call that
// produced them has returned (see output_queue.hpp).
//
// Threading: every member function runs on the loop thread. Reads of params
// and body from other threads are safe because both are immutable once the
// plugin has been called. host_api.cpp hops other calls onto the loop; a
// write from a plugin thread then waits at gate() (see write_gate.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fcgi/record.hpp"
#include "fcgid/plugin.h"
#include "net/body_buffer.hpp"
#include "net/request_params.hpp"
#include "net/request_timing.hpp"
#include "net/write_gate.hpp"
#include "service/quarantine.hpp"

namespace fcgid::plugin {
class plugin_host;
}  // namespace fcgid::plugin

namespace fcgid::net {

class output_queue;

class request : public std::enable_shared_from_this<request> {
public:
    request(output_queue& output, std::uint16_t id, bool keep_conn);

    // Makes a finished request new again for `id` on the connection that
    // owns `output` (any connection: see request_pool), keeping its
    // buffers' capacity (up to a bound), so steady-state serving allocates
    // nothing. Only when nothing else holds it (use_count() == 1).
    void reset(output_queue& output, std::uint16_t id, bool keep_conn) noexcept;

    std::uint16_t id() const noexcept { return id_; }
    // When its BEGIN_REQUEST arrived, for the read timeout.
    std::chrono::steady_clock::time_point begun_at() const noexcept { return timing_.begun; }
    bool keep_conn() const noexcept { return keep_conn_; }

    // ---- Input, fed by the connection (which checks the sizes first) ----

    // Appends part of the PARAMS stream.
    void append_params(std::string_view data) {
        params_.append(data);
        received_ += data.size();
    }
    // The empty PARAMS record arrived: index the pairs. Fails on malformed
    // pairs, or more than `max_count` of them.
    std::error_code end_params(std::size_t max_count);
    // Appends part of the body.
    void append_body(std::string_view data) {
        body_.append(data);
        received_ += data.size();
    }
    // Makes room for a body of `bytes` at once, so that a large body is
    // copied in once rather than moved by every doubling of its buffer (each
    // move of a large buffer also faults in fresh pages).
    void reserve_body(std::size_t bytes) { body_.reserve(bytes); }
    // Before the first body bytes: swaps the body's buffer with `room` (an
    // empty buffer kept from an earlier request, see request_pool), which
    // gets this request's former one.
    void swap_body_buffer(body_buffer& room) noexcept { body_.swap(room); }
    // A buffer above what reset() keeps (kept_buffer_bytes), taken out of a
    // finished request that nothing else holds; one without a buffer if it
    // had none.
    body_buffer take_large_body_buffer() noexcept;
    // A read straight into the body: the free room at its end (made by
    // reserve_body), then how much of it the read filled. The bytes count as
    // appended; the caller asked the input budget for them first.
    std::span<char> body_room() noexcept { return body_.tail(); }
    void body_read(std::size_t bytes) noexcept {
        body_.commit(bytes);
        received_ += bytes;
    }
    // reset() keeps each buffer up to this capacity; larger ones (a big
    // body) are freed, or taken by request_pool first.
    static constexpr std::size_t kept_buffer_bytes = 16 * 1024;
    void end_body() noexcept { body_done_ = true; }
    // The PARAMS stream received so far (before end_params()).
    std::uint64_t params_bytes() const noexcept { return params_.received(); }
    std::uint64_t body_bytes() const noexcept { return body_.size(); }
    // Params and body bytes taken in so far: what this request holds in memory.
    std::uint64_t received_bytes() const noexcept { return received_; }

    bool params_done() const noexcept { return params_done_; }
    bool body_done() const noexcept { return body_done_; }
    bool ready() const noexcept { return params_done_ && body_done_ && !dispatched_; }
    // Still waiting for params or body from the web server.
    bool receiving() const noexcept { return !params_done_ || !body_done_; }

    // ---- What the plugin reads (any thread once dispatched) ----

    std::size_t param_count() const noexcept { return params_.count(); }
    // False past the end. Views are NUL-terminated.
    bool param_at(std::size_t index, std::string_view& name, std::string_view& value) const noexcept;
    bool find_param(std::string_view name, std::string_view& value) const noexcept;
    std::string_view body() const noexcept { return body_.view(); }
    // What the crash handler and the quarantine know it by: its method, URI
    // and body size, as views into it. Only reads memory, so a signal
    // handler may call it.
    void describe(service::request_description& out) const noexcept;

    // ---- The response (loop thread), each returns an FCGID_* code ----

    int set_status(int status) noexcept;
    int add_header(std::string_view name, std::string_view value);
    int write(std::string_view data);
    int write_stderr(std::string_view data);
    // A write a plugin thread posted (stdout_ or stderr_): applied like the
    // above, and counted out at the gate, which learns the room left.
    int apply_posted_write(std::string_view data, fcgi::record_type type);
    int finish();
    int fail(std::string_view reason);
    int release();
    int set_abort_callback(fcgid_abort_callback callback, void* user_data) noexcept;
    int set_writable_callback(fcgid_writable_callback callback, void* user_data);
    bool aborted() const noexcept { return aborted_.load(std::memory_order_acquire); }
    // Where plugin threads that write wait for the output to drain. Any thread.
    write_gate& gate() noexcept { return gate_; }

    // ---- Driven by the connection and the dispatcher ----

    // Called just before handle(): from now on `handler` holds the handles.
    // A plugin retired by a reload is shut down once none holds it.
    void hand_to_plugin(std::shared_ptr<plugin::plugin_host> handler);
    // handle() returned `handle_rc`: finish, fail or keep waiting (deferred).
    void dispatched(int handle_rc);
    // The web server aborted, or the connection is gone: tell the plugin once.
    void abort() noexcept;
    // The connection's output drained: let waiting writers on, then run the
    // writable callback, if any.
    void notify_writable();
    // The plugin held the response past --request-timeout: answer 504 (or cut
    // the output short), then tell the plugin as for an abort.
    void time_out();
    // When handle() was called, for --request-timeout.
    std::chrono::steady_clock::time_point dispatched_at() const noexcept { return timing_.dispatched; }
    // The connection is gone; the response can no longer be delivered.
    void detach() noexcept;
    // Answers with `status` and an empty body at once (e.g. 413), bypassing the plugin.
    void reject(int status);
    // Answers with `status`, `content_type` and `body` at once, bypassing the
    // plugin (the status and ping paths); marked never to be cached.
    void answer(int status, std::string_view content_type, std::string_view body);
    // True while the plugin holds the handle.
    bool held_by_plugin() const noexcept { return plugin_ref_ != nullptr; }
    int status() const noexcept { return status_; }
    // Its END_REQUEST is queued, or nothing more can be sent (detached).
    bool completed() const noexcept { return completed_; }

    // ---- What it came to, for the logs and the metrics ----

    // Its steps' times; `written` is the connection's to fill in.
    const request_timing& timing() const noexcept { return timing_; }
    void written_at(request_timing::clock::time_point when) noexcept { timing_.written = when; }
    request_outcome outcome() const noexcept {
        return {status_, bytes_out_, received_, cut_short_};
    }
    // Where its END_REQUEST ends in the connection's output stream (see
    // output_queue::queued_total): written once written_total() reaches it.
    std::uint64_t output_end() const noexcept { return output_end_; }

    fcgid_request* as_request() noexcept { return reinterpret_cast<fcgid_request*>(this); }
    fcgid_response* as_response() noexcept { return reinterpret_cast<fcgid_response*>(this); }
    static request& from(const fcgid_request* r) noexcept {
        return *reinterpret_cast<request*>(const_cast<fcgid_request*>(r));
    }
    static request& from(const fcgid_response* r) noexcept {
        return *reinterpret_cast<request*>(const_cast<fcgid_response*>(r));
    }

private:
    void send_head();
    void complete();
    // Ends the response as failed: `status` with an empty body if nothing was
    // sent yet, else the output is cut short with a non-zero app status.
    void complete_with_error(int status);
    // The plugin gave the handle back; drop its reference last.
    void end_plugin_hold() noexcept;
    // Notes when the response ended, reading the clock only if handle() has
    // returned already (deferred, or never called).
    void note_finished() noexcept;
    std::string_view uri_for_log() const noexcept;
    // Asks the output queue for one notify_writable() once it drains,
    // unless one is pending already.
    void wait_writable();

    output_queue* output_;  // nullptr once detached
    std::uint16_t id_;
    bool keep_conn_;

    request_params params_;
    body_buffer body_;
    bool params_done_ = false;
    bool body_done_ = false;
    bool dispatched_ = false;
    bool deferred_ = false;  // counted in the metrics' deferred requests
    std::uint64_t received_ = 0;

    int status_ = 200;
    std::string head_;  // header lines added so far, each ending in CRLF
    bool head_sent_ = false;
    bool stderr_sent_ = false;
    bool completed_ = false;  // END_REQUEST queued, or nothing more can be sent
    std::atomic<bool> aborted_{false};
    fcgid_abort_callback abort_callback_ = nullptr;
    void* abort_user_data_ = nullptr;
    fcgid_writable_callback writable_callback_ = nullptr;
    void* writable_user_data_ = nullptr;
    bool waiting_writable_ = false;  // in the connection's writable waiters
    // Opened in hand_to_plugin(), closed when the response takes no more
    // output; a member, so the usual request, written only from handle(),
    // allocates nothing for it.
    write_gate gate_;
    request_timing timing_{std::chrono::steady_clock::now()};
    std::uint64_t bytes_out_ = 0;    // response body bytes
    std::uint64_t output_end_ = 0;   // see output_end()
    bool cut_short_ = false;
    std::shared_ptr<request> plugin_ref_;
    std::shared_ptr<plugin::plugin_host> handler_;  // while plugin_ref_ is set
};

}  // namespace fcgid::net
