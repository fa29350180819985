// Which TCP peers may connect: --allow CIDR and FCGI_WEB_SERVER_ADDRS.
// An empty filter allows everyone; unix-socket peers are always allowed
// (file permissions guard those).
#pragma once

#include <string_view>
#include <vector>

#include <sys/socket.h>

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace fcgid::net {

class address_filter {
public:
    // Adds "127.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8". Throws
    // std::invalid_argument with a one-line message for anything else.
    // Host bits set under the prefix ("10.0.0.1/8") are accepted and
    // cleared: the rule is the network 10.0.0.0/8. An IPv4-mapped rule
    // ("::ffff:10.0.0.0/104") is the IPv4 rule it maps (10.0.0.0/8), since
    // mapped peers are matched as IPv4 peers.
    void add(std::string_view cidr);

    // Adds every entry of a comma-separated list (FCGI_WEB_SERVER_ADDRS, the
    // libfcgi convention); blanks around entries are ignored.
    void add_list(std::string_view comma_separated);

    bool empty() const noexcept { return v4_.empty() && v6_.empty(); }

    // IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 networks. Called
    // on every accept: it allocates nothing.
    bool allows(const sockaddr* address) const noexcept;

private:
    // Canonical (host bits cleared), without an IPv6 scope.
    std::vector<boost::asio::ip::network_v4> v4_;
    std::vector<boost::asio::ip::network_v6> v6_;
};

}  // namespace fcgid::net
