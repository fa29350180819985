// core/net/endpoint_text: how peers are named in log lines.
#include "net/endpoint_text.hpp"

#include <gtest/gtest.h>

#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

namespace fcgid::net {
namespace {

using generic_endpoint = boost::asio::generic::stream_protocol::endpoint;

generic_endpoint tcp(const std::string& address, unsigned short port) {
    const boost::asio::ip::tcp::endpoint e(boost::asio::ip::make_address(address), port);
    return generic_endpoint(e.data(), e.size());
}

// A unix endpoint of `length` bytes, as accept() or getsockname() report it.
generic_endpoint unix_socket(const std::string& path, std::size_t length) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), std::min(path.size(), sizeof un.sun_path));
    return generic_endpoint(&un, length);
}

TEST(EndpointText, V4IsAddressColonPort) {
    EXPECT_EQ(endpoint_text(tcp("127.0.0.1", 5000)), "127.0.0.1:5000");
    EXPECT_EQ(endpoint_text(tcp("203.0.113.255", 65535)), "203.0.113.255:65535");
    EXPECT_EQ(endpoint_text(tcp("0.0.0.0", 0)), "0.0.0.0:0");
}

TEST(EndpointText, V6IsBracketed) {
    EXPECT_EQ(endpoint_text(tcp("::1", 5000)), "[::1]:5000");
    EXPECT_EQ(endpoint_text(tcp("2001:db8::7", 80)), "[2001:db8::7]:80");
    EXPECT_EQ(endpoint_text(tcp("::ffff:127.0.0.1", 9000)), "[::ffff:127.0.0.1]:9000");
}

TEST(EndpointText, UnixIsItsPath) {
    const std::string path = "/run/fcgid.sock";
    EXPECT_EQ(endpoint_text(unix_socket(path, offsetof(sockaddr_un, sun_path) + path.size() + 1)),
              "unix:/run/fcgid.sock");
    // Linux may report the length without the terminating NUL.
    EXPECT_EQ(endpoint_text(unix_socket(path, offsetof(sockaddr_un, sun_path) + path.size())),
              "unix:/run/fcgid.sock");
}

TEST(EndpointText, UnixPathFillingTheWholeFieldIsNotReadPastIt) {
    // A sun_path with no NUL: the text stops at the endpoint's length.
    const std::string path(sizeof(sockaddr_un::sun_path), 'x');
    EXPECT_EQ(endpoint_text(unix_socket(path, sizeof(sockaddr_un))), "unix:" + path);
}

TEST(EndpointText, UnnamedUnixPeerIsUnixColon) {
    // A client socket that was never bound: accept() reports the family only.
    EXPECT_EQ(endpoint_text(unix_socket("", offsetof(sockaddr_un, sun_path))), "unix:");
}

TEST(EndpointText, OtherFamiliesAreNamedByNumber) {
    sockaddr address{};
    address.sa_family = AF_APPLETALK;
    EXPECT_EQ(endpoint_text(generic_endpoint(&address, sizeof address)),
              "address family " + std::to_string(AF_APPLETALK));
}

TEST(EndpointText, SocketWithoutAPeerIsUnknown) {
    boost::asio::io_context io;
    const boost::asio::generic::stream_protocol::socket never_connected(io);
    EXPECT_EQ(endpoint_text(never_connected), "unknown peer");
}

TEST(EndpointName, FormatsAsTheEndpointText) {
    const endpoint_name name{tcp("127.0.0.2", 8080)};
    EXPECT_EQ(fmt::format("refused {}", name), "refused 127.0.0.2:8080");
    EXPECT_EQ(fmt::format("[{:>16}]", name), "[  127.0.0.2:8080]") << "format specs apply to the text";
}

}  // namespace
}  // namespace fcgid::net
