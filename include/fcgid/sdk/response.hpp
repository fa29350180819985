// fcgid/sdk/response.hpp: the response a handler builds.
//
//     res.status(201).content_type("application/json").send(R"({"id":7})");
//     res.cookie({.name = "session", .value = token, .path = "/", .http_only = true});
//     res.redirect("/login", 303);
//
// HEADERS are kept in the object until the first body byte (or the end), so
// set_header() can still replace one and a handler may set them in any
// order; they live in a buffer inside the object, so a response with a few
// headers allocates nothing.
//
// BODY. write() streams: the first call sends the status and headers. On the
// loop thread (inside a handler) a write never blocks: fcgid takes the bytes,
// and write() returns false once the connection's output buffer is over
// --max-output-buffer, a signal to stop (see fcgid/plugin.h, FCGID_FULL). On
// a plugin thread (a deferred response, a worker_pool task) a write blocks
// that thread while the connection is over --max-output-buffer, so a
// response of any size streams with bounded memory. For HEAD requests the
// body is dropped here (the web server would drop it anyway).
//
// END. send() writes and finishes; finish() ends a streamed body. A handler
// that returns without finishing has its response finished by the app. For
// files on disk, let the web server send them: x_accel_redirect() (nginx)
// or x_sendfile() (Apache mod_xsendfile, lighttpd).
//
// THREADS. One thread at a time; move it (inside a deferred) to another.
#ifndef FCGID_SDK_RESPONSE_HPP
#define FCGID_SDK_RESPONSE_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/cookies.hpp"
#include "fcgid/sdk/host.hpp"

namespace fcgid::sdk {

namespace detail {

// Response headers not sent yet: name/value pairs in an inline buffer, with
// a heap spill only past its size.
class header_buffer {
public:
    static constexpr std::size_t max_headers = 64;

    header_buffer() noexcept = default;
    // Copies only what is in use: the buffers are left uninitialised, so
    // that a response (one per request) does not clear 3.5 KiB first.
    header_buffer(header_buffer&& other) noexcept
        : used_(other.used_), spill_(std::move(other.spill_)), count_(other.count_) {
        std::memcpy(inline_.data(), other.inline_.data(), used_);
        std::copy_n(other.entries_.begin(), count_, entries_.begin());
    }
    header_buffer& operator=(header_buffer&&) = delete;

    void add(std::string_view name, std::string_view value) {
        if (count_ == max_headers) throw std::length_error("more than 64 response headers");
        entry& e = entries_[count_++];
        e.name_at = store(name);
        e.name_size = name.size();
        e.value_at = store(value);
        e.value_size = value.size();
        e.removed = false;
    }
    // Removes every header called `name` (any case) added so far.
    void remove(std::string_view name) noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            if (!entries_[i].removed && ascii::iequals(text(entries_[i].name_at, entries_[i].name_size), name))
                entries_[i].removed = true;
    }
    bool contains(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            if (!entries_[i].removed && ascii::iequals(text(entries_[i].name_at, entries_[i].name_size), name))
                return true;
        return false;
    }
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < count_; ++i)
            if (!entries_[i].removed)
                f(text(entries_[i].name_at, entries_[i].name_size), text(entries_[i].value_at, entries_[i].value_size));
    }
    void clear() noexcept {
        count_ = 0;
        used_ = 0;
        spill_.clear();
    }

private:
    struct entry {
        std::size_t name_at, name_size, value_at, value_size;
        bool removed;
    };

    // Stores `s`; returns where. Positions past the inline buffer are in spill_.
    std::size_t store(std::string_view s) {
        if (spill_.empty() && used_ + s.size() <= inline_.size()) {
            std::memcpy(inline_.data() + used_, s.data(), s.size());
            used_ += s.size();
            return used_ - s.size();
        }
        if (spill_.empty()) spill_.assign(inline_.data(), used_);
        spill_.append(s);
        return spill_.size() - s.size();
    }
    std::string_view text(std::size_t at, std::size_t size) const noexcept {
        return spill_.empty() ? std::string_view(inline_.data() + at, size) : std::string_view(spill_).substr(at, size);
    }

    std::array<char, 1024> inline_;
    std::size_t used_ = 0;
    std::string spill_;
    std::array<entry, max_headers> entries_;
    std::size_t count_ = 0;
};

}  // namespace detail

class response {
public:
    // Headers a response may hold before its body starts.
    static constexpr std::size_t max_headers = detail::header_buffer::max_headers;

    explicit response(fcgid_response* handle, bool head_request = false) noexcept
        : handle_(handle), head_(head_request) {}
    response(response&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)),
          status_(other.status_),
          head_(other.head_),
          headers_sent_(other.headers_sent_),
          finished_(std::exchange(other.finished_, true)),
          headers_(std::move(other.headers_)) {}
    response& operator=(response&&) = delete;
    response(const response&) = delete;
    response& operator=(const response&) = delete;

    fcgid_response* handle() const noexcept { return handle_; }

    // ---- Status and headers (before the first body byte) ----

    response& status(int code) {
        if (code < 100 || code > 999) throw std::invalid_argument("HTTP status " + std::to_string(code) + " is out of range");
        before_body("status");
        status_ = code;
        return *this;
    }
    int status() const noexcept { return status_; }

    // Adds a header (repeatable). The name must be a token, and neither may
    // hold CR or LF: std::invalid_argument otherwise.
    response& header(std::string_view name, std::string_view value) {
        before_body("header");
        if (!ascii::is_token(name) || ascii::iequals(name, "Status"))
            throw std::invalid_argument("bad response header name '" + std::string(name) + "'");
        if (value.find_first_of("\r\n") != std::string_view::npos)
            throw std::invalid_argument("response header '" + std::string(name) + "' holds a line break");
        headers_.add(name, value);
        return *this;
    }
    // Replaces every header called `name` (any case) with this one.
    response& set_header(std::string_view name, std::string_view value) {
        before_body("header");
        headers_.remove(name);
        return header(name, value);
    }
    bool has_header(std::string_view name) const noexcept { return headers_.contains(name); }
    // Forgets the status and every header set so far (before the body):
    // for answering an error instead of what the handler had prepared.
    void reset() {
        before_body("reset");
        status_ = 200;
        headers_.clear();
    }
    response& content_type(std::string_view type) { return set_header("Content-Type", type); }

    // Adds a Set-Cookie header. Throws std::invalid_argument with the reason
    // when the cookie cannot be encoded (a bad name, a value with ';' or a
    // control character, SameSite=None without Secure...).
    response& cookie(const set_cookie& c) {
        result<std::string> line = format_set_cookie(c);
        if (!line) throw std::invalid_argument("cookie '" + std::string(c.name) + "': " + line.error().message());
        return header("Set-Cookie", *line);
    }

    // ---- Body ----

    // Streams `data`. True while more may be written; false when the
    // response was aborted, or (on the loop thread) the output buffer is full.
    bool write(std::string_view data) {
        if (finished_ || handle_ == nullptr) throw std::logic_error("write after the response was finished");
        send_head();
        if (head_ || data.empty()) return !aborted();
        const int rc = fcgid::write(detail::host_table, handle_, data);
        if (rc == FCGID_OK) return true;
        if (rc == FCGID_FULL || rc == FCGID_EABORTED) return false;
        throw std::runtime_error("response_write failed: error " + std::to_string(rc));
    }

    // Writes `body` and finishes.
    void send(std::string_view body) {
        write(body);
        finish();
    }
    // Sets the status and content type, writes `body` and finishes.
    void send(int code, std::string_view body, std::string_view type = "text/plain; charset=utf-8") {
        status(code);
        if (!has_header("Content-Type")) content_type(type);
        send(body);
    }

    // Sets the status, Content-Type: application/json and sends value.dump()
    // (an nlohmann::json with fcgid/sdk/json.hpp, or anything with dump()).
    template <class Json>
    void json(const Json& value, int code = 200) {
        status(code);
        content_type("application/json");
        send(value.dump());
    }

    // Answers with a redirect to `location` (301, 302, 303, 307 or 308).
    void redirect(std::string_view location, int code = 302) {
        if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308)
            throw std::invalid_argument("HTTP status " + std::to_string(code) + " is not a redirect");
        status(code);
        set_header("Location", location);
        finish();
    }

    // Lets nginx send the file at its `internal` location `uri` (X-Accel-Redirect).
    void x_accel_redirect(std::string_view uri) {
        set_header("X-Accel-Redirect", uri);
        finish();
    }
    // Lets Apache (mod_xsendfile) or lighttpd (x-sendfile enabled) send the
    // file at `path` (X-Sendfile).
    void x_sendfile(std::string_view path) {
        set_header("X-Sendfile", path);
        finish();
    }

    // Ends the response (the status and headers go out now if no body did).
    void finish() {
        if (finished_) return;
        send_head();
        finished_ = true;
        host().response_finish(handle_);
    }
    // Ends the response as failed: a 500 with an empty body when nothing was
    // sent yet, else the body is cut short. `reason` goes to fcgid's log.
    void fail(std::string_view reason) noexcept {
        if (finished_) return;
        finished_ = true;
        host().response_fail(handle_, reason.data(), reason.size());
    }

    bool finished() const noexcept { return finished_; }
    bool headers_sent() const noexcept { return headers_sent_; }
    // True once the web server gave up on the request (a hint: any thread).
    bool aborted() const noexcept { return handle_ != nullptr && host().response_is_aborted(handle_) != 0; }

    // Gives the handle up without completing it (after an abort). For deferred.
    void release() noexcept {
        if (finished_) return;
        finished_ = true;
        host().response_release(handle_);
    }

private:
    void before_body(const char* what) const {
        if (headers_sent_) throw std::logic_error(std::string("response ") + what + " after the body started");
        if (finished_) throw std::logic_error(std::string("response ") + what + " after the response was finished");
    }

    void send_head() {
        if (headers_sent_) return;
        headers_sent_ = true;
        if (status_ != 200) host().response_set_status(handle_, status_);
        headers_.for_each([this](std::string_view name, std::string_view value) {
            fcgid::add_header(detail::host_table, handle_, name, value);
        });
    }

    fcgid_response* handle_;
    int status_ = 200;
    bool head_;
    bool headers_sent_ = false;
    bool finished_ = false;
    detail::header_buffer headers_;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_RESPONSE_HPP
