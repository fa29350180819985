#include "net/endpoint_text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace fcgid::net {

std::string endpoint_text(const boost::asio::generic::stream_protocol::endpoint& endpoint) {
    const sockaddr* address = endpoint.data();
    char text[INET6_ADDRSTRLEN] = {};
    switch (address->sa_family) {
        case AF_INET: {
            const auto* in = reinterpret_cast<const sockaddr_in*>(address);
            inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
            return fmt::format("{}:{}", text, ntohs(in->sin_port));
        }
        case AF_INET6: {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
            return fmt::format("[{}]:{}", text, ntohs(in6->sin6_port));
        }
        case AF_UNIX: {
            const auto* un = reinterpret_cast<const sockaddr_un*>(address);
            const std::size_t max = endpoint.size() > offsetof(sockaddr_un, sun_path)
                                        ? endpoint.size() - offsetof(sockaddr_un, sun_path)
                                        : 0;
            return fmt::format("unix:{}", std::string_view(un->sun_path, strnlen(un->sun_path, max)));
        }
        default: return fmt::format("address family {}", address->sa_family);
    }
}

std::string endpoint_text(const boost::asio::generic::stream_protocol::socket& socket) {
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) return "unknown peer";
    return endpoint_text(endpoint);
}

}  // namespace fcgid::net
