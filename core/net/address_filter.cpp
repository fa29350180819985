#include "net/address_filter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace fcgid::net {
namespace {

namespace ip = boost::asio::ip;

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

[[noreturn]] void invalid(std::string_view cidr) {
    throw std::invalid_argument("'" + std::string(cidr) +
                                "' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)");
}

// The digits after '/', at most `max`. Read here rather than through
// ip::make_network_v4/v6, which take the length with atoi: "10.0.0.0/4294967304"
// wraps to a /8 there instead of being refused. Leading zeros pass ("/08"),
// as they always have.
bool parse_prefix(std::string_view digits, unsigned max, unsigned short& prefix) noexcept {
    unsigned value = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() || value > max)
        return false;
    prefix = static_cast<unsigned short>(value);
    return true;
}

// A rule or a peer without its scope ("fe80::1%eth0"): the filter compares
// addresses only, and address_v6's == would tell scopes apart.
ip::address_v6 unscoped(const ip::address_v6& a) { return ip::address_v6(a.to_bytes()); }

// The peer's network of the rule's length is the rule. (is_subnet_of() would
// say the same but is true only for a proper subnet, so a host is not in a
// /32 rule; and it builds and masks both networks again on every call.)
template <typename Network, typename Address>
bool contains(const Network& rule, const Address& peer) noexcept {
    return Network(peer, rule.prefix_length()).canonical() == rule;
}

}  // namespace

void address_filter::add(std::string_view cidr) {
    const std::string_view text = trim(cidr);
    const auto slash = text.find('/');
    boost::system::error_code ec;
    const ip::address address = ip::make_address(std::string(text.substr(0, slash)), ec);
    if (ec) invalid(cidr);

    const unsigned short longest = address.is_v6() ? 128 : 32;
    unsigned short prefix = longest;  // a bare address is one host
    if (slash != std::string_view::npos && !parse_prefix(text.substr(slash + 1), longest, prefix))
        invalid(cidr);

    if (address.is_v4()) {
        v4_.push_back(ip::network_v4(address.to_v4(), prefix).canonical());
        return;
    }
    const ip::address_v6 v6 = unscoped(address.to_v6());
    if (v6.is_v4_mapped() && prefix >= 96) {
        v4_.push_back(ip::network_v4(ip::make_address_v4(ip::v4_mapped, v6),
                                     static_cast<unsigned short>(prefix - 96))
                          .canonical());
        return;
    }
    // A shorter mapped rule (::/0) stays IPv6: it covers native IPv6 peers
    // only, since a mapped peer is matched as the IPv4 peer it is.
    v6_.push_back(ip::network_v6(v6, prefix).canonical());
}

void address_filter::add_list(std::string_view comma_separated) {
    while (!comma_separated.empty()) {
        const auto comma = comma_separated.find(',');
        const std::string_view entry = trim(comma_separated.substr(0, comma));
        if (!entry.empty()) add(entry);
        if (comma == std::string_view::npos) break;
        comma_separated.remove_prefix(comma + 1);
    }
}

bool address_filter::allows(const sockaddr* address) const noexcept {
    if (empty()) return true;
    ip::address_v4 v4;
    if (address->sa_family == AF_INET) {
        v4 = ip::address_v4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
    } else if (address->sa_family == AF_INET6) {
        ip::address_v6::bytes_type bytes;
        const auto& in6 = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
        std::copy(std::begin(in6.s6_addr), std::end(in6.s6_addr), bytes.begin());
        const ip::address_v6 v6(bytes);
        if (!v6.is_v4_mapped())
            return std::any_of(v6_.begin(), v6_.end(),
                               [&](const ip::network_v6& rule) { return contains(rule, v6); });
        v4 = ip::make_address_v4(ip::v4_mapped, v6);
    } else {
        return true;  // unix sockets
    }
    return std::any_of(v4_.begin(), v4_.end(),
                       [&](const ip::network_v4& rule) { return contains(rule, v4); });
}

}  // namespace fcgid::net
