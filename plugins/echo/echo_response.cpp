#include "echo_response.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <new>
#include <string>
#include <string_view>

#include "fcgid/plugin.hpp"

namespace fcgid::echo {
namespace {

// 2520 whole alphabets: every chunk of bytes=N starts with 'a', so one static
// buffer serves every offset. 65520 bytes also fits one FastCGI record.
constexpr std::size_t pattern_size = 26 * 2520;
constexpr std::array<char, pattern_size> pattern = [] {
    std::array<char, pattern_size> a{};
    for (std::size_t i = 0; i < a.size(); ++i) {
        a[i] = static_cast<char>('a' + i % 26);
    }
    return a;
}();

// bytes=N being streamed under backpressure: what is left to write. Owned by
// the response's callbacks, which all run on the loop thread; exactly one of
// them (writable-and-done, or abort) ends the response and frees this.
struct pattern_stream {
    const fcgid_host_api* host;
    fcgid_response* response;
    std::uint64_t remaining;
};

// Writes pattern chunks until done, or until the host says its buffer is
// FULL (the bytes were taken; continue when writable). Never needs an N-byte
// buffer: every chunk comes from the one static pattern.
int pump_pattern(const fcgid_host_api* host, fcgid_response* response, std::uint64_t& remaining) {
    while (remaining > 0) {
        const std::size_t n = remaining < pattern.size() ? static_cast<std::size_t>(remaining)
                                                         : pattern.size();
        const int rc = host->response_write(response, pattern.data(), n);
        if (rc < 0) {
            return rc;
        }
        remaining -= n;
        if (rc == FCGID_FULL && remaining > 0) {
            return FCGID_FULL;
        }
        // Off the loop thread writes only queue up; stop early once the web
        // server is gone instead of queueing the rest for nothing.
        if (host->response_is_aborted(response) != 0) {
            return FCGID_EABORTED;
        }
    }
    return FCGID_OK;
}

void on_stream_abort(void* user_data, fcgid_response* response) noexcept {
    auto* stream = static_cast<pattern_stream*>(user_data);
    stream->host->response_release(response);
    delete stream;
}

void on_stream_writable(void* user_data, fcgid_response* response) noexcept {
    auto* stream = static_cast<pattern_stream*>(user_data);
    const int rc = pump_pattern(stream->host, response, stream->remaining);
    if (rc == FCGID_FULL &&
        stream->host->response_on_writable(response, on_stream_writable, stream) == FCGID_OK) {
        return;  // more when the web server has read some
    }
    if (rc == FCGID_OK) {
        stream->host->response_finish(response);
    } else {
        stream->host->response_fail(response, "echo: writing bytes= failed", 27);
    }
    delete stream;
}

// Streams `count` bytes of the pattern. On the loop thread a full output
// buffer hands the rest to the writable callback and returns FCGID_DEFERRED:
// the daemon's memory stays bounded however large N is.
int write_pattern(const fcgid_host_api* host, fcgid_response* response, std::uint64_t count) {
    const int rc = pump_pattern(host, response, count);
    if (rc != FCGID_FULL) {
        return rc;
    }
    auto* stream = new (std::nothrow) pattern_stream{host, response, count};
    if (stream == nullptr) {
        return FCGID_ENOMEM;
    }
    if (host->response_on_abort(response, on_stream_abort, stream) != FCGID_OK ||
        host->response_on_writable(response, on_stream_writable, stream) != FCGID_OK) {
        host->response_on_abort(response, nullptr, nullptr);
        delete stream;
        return FCGID_EABORTED;
    }
    return FCGID_DEFERRED;
}

// After the last write: FULL only says the buffer is full, and the bytes
// were taken, so the answer is complete.
int done_writing(int rc) noexcept { return rc == FCGID_FULL ? FCGID_OK : rc; }

// "NAME=VALUE\n" per param, in the order received, written at once.
int write_params(const fcgid_host_api* host, const fcgid_request* request,
                 fcgid_response* response) {
    std::string listing;
    fcgid::for_each_param(host, request, [&](std::string_view name, std::string_view value) {
        // May throw std::bad_alloc: it reaches handle()'s guard through
        // for_each_param, which passes on what its callable throws.
        listing.append(name).append(1, '=').append(value).append(1, '\n');
    });
    return done_writing(fcgid::write(host, response, listing));
}

int add_headers(const fcgid_host_api* host, const fcgid_request* request,
                fcgid_response* response, std::size_t body_length) {
    int rc = fcgid::add_header(host, response, "Content-Type", "application/octet-stream");
    if (rc != FCGID_OK) {
        return rc;
    }
    if (const auto method = fcgid::param(host, request, "REQUEST_METHOD")) {
        if (rc = fcgid::add_header(host, response, "X-Echo-Method", *method); rc != FCGID_OK) {
            return rc;
        }
    }
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body_length);
    (void)ec; // 24 digits hold any size_t
    return fcgid::add_header(host, response, "X-Echo-Length",
                             std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

} // namespace

int write_echo_response(const fcgid_host_api* host, const fcgid_request* request,
                        fcgid_response* response, const echo_query& q) {
    // FCGI_STDERR is not part of the HTTP response, so it goes out even with
    // fail=1: a test can check both the 500 and the error-log text.
    if (!q.stderr_text.empty()) {
        if (const int rc = fcgid::write_stderr(host, response, q.stderr_text); rc != FCGID_OK) {
            return rc;
        }
    }
    if (q.fail) {
        return FCGID_EFAIL;
    }
    if (q.status != 200) {
        if (const int rc = host->response_set_status(response, q.status); rc != FCGID_OK) {
            return rc;
        }
    }
    const std::string_view body = fcgid::body(host, request);
    if (const int rc = add_headers(host, request, response, body.size()); rc != FCGID_OK) {
        return rc;
    }
    if (q.params) {
        return write_params(host, request, response);
    }
    if (q.bytes) {
        return write_pattern(host, response, *q.bytes);
    }
    return done_writing(fcgid::write(host, response, body));
}

} // namespace fcgid::echo
