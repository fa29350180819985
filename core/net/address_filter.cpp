#include "net/address_filter.hpp"

#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace fcgid::net {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

[[noreturn]] void invalid(std::string_view cidr) {
    throw std::invalid_argument("'" + std::string(cidr) +
                                "' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)");
}

}  // namespace

void address_filter::add(std::string_view cidr) {
    const std::string_view text = trim(cidr);
    const auto slash = text.find('/');
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(text.substr(0, slash)), ec);
    if (ec) invalid(cidr);

    network n;
    n.v6 = address.is_v6();
    const unsigned max_prefix = n.v6 ? 128 : 32;
    n.prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n.prefix);
        if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() ||
            n.prefix > max_prefix)
            invalid(cidr);
    }
    if (n.v6) {
        const auto b = address.to_v6().to_bytes();
        std::memcpy(n.bytes.data(), b.data(), 16);
    } else {
        const auto b = address.to_v4().to_bytes();
        std::memcpy(n.bytes.data(), b.data(), 4);
    }
    networks_.push_back(n);
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

bool address_filter::matches(const network& n, bool v6, const std::uint8_t* bytes) noexcept {
    if (n.v6 != v6) return false;
    const unsigned whole = n.prefix / 8;
    const unsigned rest = n.prefix % 8;
    if (std::memcmp(n.bytes.data(), bytes, whole) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (n.bytes[whole] & mask) == (bytes[whole] & mask);
}

bool address_filter::allows(const sockaddr* address) const noexcept {
    if (networks_.empty()) return true;
    const std::uint8_t* bytes = nullptr;
    bool v6 = false;
    if (address->sa_family == AF_INET) {
        bytes = reinterpret_cast<const std::uint8_t*>(
            &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    } else if (address->sa_family == AF_INET6) {
        bytes = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr;
        v6 = true;
        static constexpr std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(bytes, v4_mapped, 12) == 0) {
            bytes += 12;
            v6 = false;
        }
    } else {
        return true;  // unix sockets
    }
    for (const network& n : networks_)
        if (matches(n, v6, bytes)) return true;
    return false;
}

}  // namespace fcgid::net
