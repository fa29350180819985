// Where the FastCGI server listens: "HOST:PORT", "[V6]:PORT" or "unix:PATH".
#pragma once

#include <sys/socket.h>

#include <string>

namespace fcgi_bench {

struct endpoint {
    sockaddr_storage address{};
    socklen_t length = 0;
    bool is_unix = false;
    std::string text;  // as given, for messages
};

// Resolves numerically (no DNS: "localhost" is the one name taken, as
// 127.0.0.1). Throws std::invalid_argument naming the problem.
endpoint parse_endpoint(const std::string& text);

// A non-blocking socket with connect() started. Returns the fd (connect may
// still be in progress: EPOLLOUT, then SO_ERROR), or -1 with errno set.
int start_connect(const endpoint& to);

}  // namespace fcgi_bench
