#include "endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace fcgi_bench {
namespace {

std::uint16_t parse_port(const std::string& text, const std::string& whole) {
    unsigned port = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || port == 0 ||
        port > 65535)
        throw std::invalid_argument("'" + whole + "': '" + text + "' is not a port");
    return static_cast<std::uint16_t>(port);
}

}  // namespace

endpoint parse_endpoint(const std::string& text) {
    endpoint e;
    e.text = text;
    if (text.rfind("unix:", 0) == 0) {
        const std::string path = text.substr(5);
        sockaddr_un un{};
        if (path.empty() || path.size() >= sizeof un.sun_path)
            throw std::invalid_argument("'" + text + "': the socket path is empty or too long");
        un.sun_family = AF_UNIX;
        std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
        std::memcpy(&e.address, &un, sizeof un);
        e.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        e.is_unix = true;
        return e;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("'" + text + "' is not HOST:PORT, [V6]:PORT or unix:PATH");
    std::string host = text.substr(0, colon);
    const std::uint16_t port = parse_port(text.substr(colon + 1), text);
    if (host == "localhost") host = "127.0.0.1";
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6.sin6_addr) != 1)
            throw std::invalid_argument("'" + text + "': '" + host + "' is not an IPv6 address");
        std::memcpy(&e.address, &in6, sizeof in6);
        e.length = sizeof in6;
        return e;
    }
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &in.sin_addr) != 1)
        throw std::invalid_argument("'" + text + "': '" + host + "' is not an IPv4 address");
    std::memcpy(&e.address, &in, sizeof in);
    e.length = sizeof in;
    return e;
}

int start_connect(const endpoint& to) {
    const int fd = ::socket(to.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (!to.is_unix) {
        // Requests are small and answered one by one: no Nagle delay.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.address), to.length) == 0 ||
        errno == EINPROGRESS)
        return fd;
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
}

}  // namespace fcgi_bench
