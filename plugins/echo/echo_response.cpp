#include "echo_response.hpp"

#include <array>
#include <charconv>
#include <cstddef>
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

// Streams `count` bytes of the pattern, one chunk per write, so that
// bytes=N never needs an N-byte buffer.
int write_pattern(const fcgid_host_api* host, fcgid_response* response, std::uint64_t count) {
    while (count > 0) {
        // Off the loop thread writes only queue up; stop early once the web
        // server is gone instead of queueing the rest for nothing.
        if (host->response_is_aborted(response) != 0) {
            return FCGID_EABORTED;
        }
        const std::size_t n = count < pattern.size() ? static_cast<std::size_t>(count)
                                                     : pattern.size();
        if (const int rc = host->response_write(response, pattern.data(), n); rc != FCGID_OK) {
            return rc;
        }
        count -= n;
    }
    return FCGID_OK;
}

// "NAME=VALUE\n" per param, in the order received, written at once.
int write_params(const fcgid_host_api* host, const fcgid_request* request,
                 fcgid_response* response) {
    std::string listing;
    fcgid::for_each_param(host, request, [&](std::string_view name, std::string_view value) {
        // May throw std::bad_alloc: it reaches handle()'s guard through
        // for_each_param, which passes on what its callable throws.
        listing.append(name).append(1, '=').append(value).append(1, '\n');
    });
    return fcgid::write(host, response, listing);
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
    return fcgid::write(host, response, body);
}

} // namespace fcgid::echo
