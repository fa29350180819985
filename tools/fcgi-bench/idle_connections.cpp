#include "idle_connections.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "fcgi_wire.hpp"
#include "response_reader.hpp"

namespace fcgi_bench {
namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(std::size_t index, const std::string& what) {
    throw std::runtime_error("idle connection " + std::to_string(index + 1) + ": " + what);
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, clock_type::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

// One request on a new connection, answered in full; the connection stays open.
void serve_one(int fd, std::size_t index, const std::string& request, double timeout_s) {
    const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                  std::chrono::duration<double>(timeout_s));
    if (!wait_for(fd, POLLOUT, deadline)) fail(index, "connect timed out");
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) fail(index, std::string("connect: ") + std::strerror(error));
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd, POLLOUT, deadline)) fail(index, "send timed out");
        } else {
            fail(index, std::string("send: ") + std::strerror(errno));
        }
    }
    std::string input;
    response_head head;
    char buffer[4096];
    for (;;) {
        record r;
        std::size_t used = 0;
        const auto result = decode_record(input, r, used);
        if (result == decode_result::bad_version) fail(index, "not a FastCGI record");
        if (result == decode_result::ok) {
            if (r.type == wire::stdout_ && !head.feed(r.content)) fail(index, "response head too long");
            if (r.type == wire::end_request) {
                if (!head.complete() || head.status() != 200)
                    fail(index, "answered with status " + std::to_string(head.status()));
                return;
            }
            input.erase(0, used);
            continue;
        }
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            input.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            fail(index, "the server closed the connection");
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(fd, POLLIN, deadline)) fail(index, "no answer in time");
        } else {
            fail(index, std::string("recv: ") + std::strerror(errno));
        }
    }
}

}  // namespace

idle_connections::idle_connections(const endpoint& to, std::size_t count, const param_list& params,
                                   double timeout_s) {
    const std::string request = encode_request(1, true, params);
    fds_.reserve(count);
    try {
        for (std::size_t i = 0; i < count; ++i) {
            const int fd = start_connect(to);
            if (fd < 0) fail(i, std::string("connect: ") + std::strerror(errno));
            fds_.push_back(fd);
            serve_one(fd, i, request, timeout_s);
        }
    } catch (...) {
        for (const int fd : fds_) ::close(fd);
        throw;
    }
}

idle_connections::~idle_connections() {
    for (const int fd : fds_) ::close(fd);
}

std::size_t idle_connections::closed_by_server() const {
    std::size_t closed = 0;
    for (const int fd : fds_) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) ++closed;
    }
    return closed;
}

}  // namespace fcgi_bench
