// core/net/accepted_socket: wait_drained() waits for a drained socket to
// become readable with no system call, where Asio's async_wait() re-arms the
// descriptor with epoll_ctl(EPOLL_CTL_MOD) each time; and the wait still
// wakes for bytes, for the peer's end, and for the socket's close.
//
// The count is real: this file defines epoll_ctl() for the test executable,
// so Asio's calls come here (and go on to the kernel unchanged).
#include "net/accepted_socket.hpp"

#include <gtest/gtest.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace {
std::atomic<int> modify_target{-1};
std::atomic<int> modifies{0};
}  // namespace

extern "C" int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
    if (op == EPOLL_CTL_MOD && fd == modify_target.load()) modifies.fetch_add(1);
    return static_cast<int>(::syscall(SYS_epoll_ctl, epfd, op, fd, event));
}

namespace fcgid::net {
namespace {

namespace asio = boost::asio;

using call_log = std::vector<boost::system::error_code>;

// What a connection would be: the wait's target, kept alive by the wait.
// Its calls go to a log the test keeps, which outlives it.
struct reader {
    explicit reader(call_log& log) : calls(log) {}
    call_log& calls;
    drained_read_wait wait{[](void* self, const boost::system::error_code& ec) {
                               static_cast<reader*>(self)->calls.push_back(ec);
                           },
                           this};
};

struct adopted_pair {
    asio::io_context io{1};
    std::array<int, 2> fds{-1, -1};
    accepted_socket socket{io};
    adopted_pair() {
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()), 0);
        boost::system::error_code ec;
        socket.adopt(asio::generic::stream_protocol(AF_UNIX, 0), fds[0], ec);
        EXPECT_FALSE(ec) << ec.message();
        modify_target = fds[0];
        modifies = 0;
    }
    ~adopted_pair() {
        modify_target = -1;
        if (fds[1] >= 0) ::close(fds[1]);
    }
    void send(const char* bytes, std::size_t n) { ASSERT_EQ(::write(fds[1], bytes, n), static_cast<ssize_t>(n)); }
    // Reads the socket empty, as a connection does before it waits.
    std::size_t drain() {
        std::array<char, 256> buffer{};
        std::size_t total = 0;
        for (;;) {
            const ssize_t got = ::recv(fds[0], buffer.data(), buffer.size(), 0);
            if (got <= 0) return total;
            total += static_cast<std::size_t>(got);
        }
    }
};

TEST(DrainedReadWait, WakesWhenBytesArriveAndCostsNoEpollCall) {
    adopted_pair pair;
    call_log calls;
    auto target = std::make_shared<reader>(calls);
    for (int round = 0; round < 3; ++round) {
        pair.socket.wait_drained(target->wait, target);
        EXPECT_TRUE(target->wait.queued());
        pair.io.restart();
        pair.io.poll();
        ASSERT_EQ(calls.size(), static_cast<std::size_t>(round));  // nothing to read yet
        pair.send("ping", 4);
        pair.io.restart();
        pair.io.run_one();
        ASSERT_EQ(calls.size(), static_cast<std::size_t>(round + 1));
        EXPECT_FALSE(calls.back()) << calls.back().message();
        EXPECT_FALSE(target->wait.queued());
        EXPECT_EQ(pair.drain(), 4U);
    }
    EXPECT_EQ(modifies.load(), 0);
}

TEST(DrainedReadWait, AsioOwnWaitCallsEpollEachTime) {
    // The same rounds with async_wait(), so that the count above can fail.
    adopted_pair pair;
    int woken = 0;
    for (int round = 0; round < 3; ++round) {
        pair.socket.async_wait(accepted_socket::wait_read, [&](const boost::system::error_code&) { ++woken; });
        pair.send("ping", 4);
        pair.io.restart();
        pair.io.run_one();
        EXPECT_EQ(pair.drain(), 4U);
    }
    EXPECT_EQ(woken, 3);
    EXPECT_EQ(modifies.load(), 3);
}

TEST(DrainedReadWait, WakesWhenThePeerCloses) {
    adopted_pair pair;
    call_log calls;
    auto target = std::make_shared<reader>(calls);
    pair.socket.wait_drained(target->wait, target);
    ::close(pair.fds[1]);
    pair.fds[1] = -1;
    pair.io.run_one();
    ASSERT_EQ(calls.size(), 1U);
    EXPECT_FALSE(calls.front());  // the read that follows finds the end
    std::array<char, 8> buffer{};
    EXPECT_EQ(::recv(pair.fds[0], buffer.data(), buffer.size(), 0), 0);
}

TEST(DrainedReadWait, ClosingTheSocketCancelsTheWait) {
    adopted_pair pair;
    call_log calls;
    auto target = std::make_shared<reader>(calls);
    std::weak_ptr<reader> watch = target;
    drained_read_wait& wait = target->wait;
    pair.socket.wait_drained(wait, std::move(target));
    EXPECT_FALSE(watch.expired());  // held by the queued wait alone
    boost::system::error_code ec;
    pair.socket.close(ec);
    pair.io.run();
    ASSERT_EQ(calls.size(), 1U);
    EXPECT_EQ(calls.front(), asio::error::operation_aborted);
    EXPECT_TRUE(watch.expired());  // called, then let go
}

TEST(DrainedReadWait, DestroyingTheLoopLetsTheTargetGoWithoutCallingIt) {
    call_log calls;
    std::weak_ptr<reader> watch;
    {
        adopted_pair pair;
        auto target = std::make_shared<reader>(calls);
        watch = target;
        drained_read_wait& wait = target->wait;
        pair.socket.wait_drained(wait, std::move(target));
        EXPECT_FALSE(watch.expired());
    }
    EXPECT_TRUE(watch.expired());
    EXPECT_TRUE(calls.empty());
}

}  // namespace
}  // namespace fcgid::net
