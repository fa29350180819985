// core/net/accepted_socket: a descriptor from accept4(SOCK_NONBLOCK) is
// served by Asio without the ioctl(FIONBIO) and the EPOLL_CTL_DEL it adds to
// assign()ed sockets, and still reads, writes and leaves the epoll set on
// close. A socketpair made with SOCK_NONBLOCK stands in for accept4().
#include "net/accepted_socket.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace fcgid::net {
namespace {

namespace asio = boost::asio;

// The descriptors registered in this process's epoll sets, from
// /proc/self/fdinfo: "tfd: FD events: ..." lines.
std::vector<int> epoll_targets() {
    std::vector<int> targets;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fdinfo")) {
        std::ifstream info(entry.path());
        std::string word;
        while (info >> word)
            if (word == "tfd:") {
                int fd = -1;
                info >> fd;
                targets.push_back(fd);
            }
    }
    return targets;
}

bool registered(int fd) {
    for (const int target : epoll_targets())
        if (target == fd) return true;
    return false;
}

struct pair_of_sockets {
    std::array<int, 2> fds{-1, -1};
    pair_of_sockets() {
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()), 0);
    }
    ~pair_of_sockets() {
        if (fds[1] >= 0) ::close(fds[1]);
    }
};

TEST(AcceptedSocket, AsioTakesTheDescriptorAsNonBlockingAndUnshared) {
    asio::io_context io(1);
    pair_of_sockets pair;
    accepted_socket socket(io);
    boost::system::error_code ec;
    socket.adopt(asio::generic::stream_protocol(AF_UNIX, 0), pair.fds[0], ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(socket.asio_sees_non_blocking());
    EXPECT_FALSE(socket.asio_sees_possible_dup());
    EXPECT_TRUE(socket.native_non_blocking());  // Asio's public view of the same flag
    EXPECT_TRUE(registered(pair.fds[0]));

    // A plain assign() for comparison: Asio knows neither.
    pair_of_sockets other;
    accepted_socket assigned(io);
    assigned.assign(asio::generic::stream_protocol(AF_UNIX, 0), other.fds[0], ec);
    ASSERT_FALSE(ec);
    EXPECT_FALSE(assigned.asio_sees_non_blocking());
    EXPECT_TRUE(assigned.asio_sees_possible_dup());
}

TEST(AcceptedSocket, ReadsAndWritesThroughTheLoop) {
    asio::io_context io(1);
    pair_of_sockets pair;
    accepted_socket socket(io);
    boost::system::error_code ec;
    socket.adopt(asio::generic::stream_protocol(AF_UNIX, 0), pair.fds[0], ec);
    ASSERT_FALSE(ec);

    std::array<char, 5> got{};
    std::size_t read_bytes = 0;
    asio::async_read(socket, asio::buffer(got), [&](const boost::system::error_code& e, std::size_t n) {
        EXPECT_FALSE(e) << e.message();
        read_bytes = n;
    });
    io.poll();  // the read waits: nothing sent yet
    EXPECT_EQ(read_bytes, 0U);
    ASSERT_EQ(::write(pair.fds[1], "hello", 5), 5);
    io.run();
    EXPECT_EQ(read_bytes, 5U);
    EXPECT_EQ(std::string(got.data(), 5), "hello");

    io.restart();
    std::size_t written = 0;
    asio::async_write(socket, asio::buffer("world", 5), [&](const boost::system::error_code& e, std::size_t n) {
        EXPECT_FALSE(e) << e.message();
        written = n;
    });
    io.run();
    EXPECT_EQ(written, 5U);
    std::array<char, 5> echo{};
    ASSERT_EQ(::read(pair.fds[1], echo.data(), echo.size()), 5);
    EXPECT_EQ(std::string(echo.data(), 5), "world");
}

TEST(AcceptedSocket, CloseLeavesTheEpollSetWithoutBeingToldTo) {
    asio::io_context io(1);
    pair_of_sockets pair;
    accepted_socket socket(io);
    boost::system::error_code ec;
    const int fd = pair.fds[0];
    socket.adopt(asio::generic::stream_protocol(AF_UNIX, 0), fd, ec);
    ASSERT_FALSE(ec);
    ASSERT_TRUE(registered(fd));
    socket.close(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed
    EXPECT_FALSE(registered(fd));          // and gone from the epoll set with it
}

}  // namespace
}  // namespace fcgid::net
