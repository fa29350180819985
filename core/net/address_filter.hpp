// Which TCP peers may connect: --allow CIDR and FCGI_WEB_SERVER_ADDRS.
// An empty filter allows everyone; unix-socket peers are always allowed
// (file permissions guard those).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace fcgid::net {

class address_filter {
public:
    // Adds "127.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8". Throws
    // std::invalid_argument with a one-line message for anything else.
    void add(std::string_view cidr);

    // Adds every entry of a comma-separated list (FCGI_WEB_SERVER_ADDRS, the
    // libfcgi convention); blanks around entries are ignored.
    void add_list(std::string_view comma_separated);

    bool empty() const noexcept { return networks_.empty(); }

    // IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 networks.
    bool allows(const sockaddr* address) const noexcept;

private:
    struct network {
        bool v6 = false;
        std::array<std::uint8_t, 16> bytes{};
        unsigned prefix = 0;
    };

    static bool matches(const network& n, bool v6, const std::uint8_t* bytes) noexcept;

    std::vector<network> networks_;
};

}  // namespace fcgid::net
