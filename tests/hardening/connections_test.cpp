// Many connections: a thousand idle ones, --max-connections, running out of
// file descriptors, and a drain that idle keep-alive connections must not
// hold up.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <vector>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

std::size_t open_fds(pid_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

// GET_VALUES and its answer: proves the daemon accepted and serves `conn`.
void ping(fcgi_connection& conn, milliseconds timeout = fcgid_test::default_timeout) {
    conn.send_get_values({"FCGI_MPXS_CONNS"});
    conn.read_management_record(timeout);
}

TEST(Connections, ThousandIdleConnectionsThenARequestOnANewOne) {
    // 1000 sockets here and 1000 in the daemon (which inherits this limit).
    const rlim_t limit = raise_fd_limit(4096);
    if (limit < 1100) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit << " is below 1100";
    auto t = target::start(fcgid_test::echo_plugin());
    std::vector<fcgi_connection> idle;
    idle.reserve(1000);
    for (int i = 0; i < 1000; ++i) idle.push_back(t->daemon().connect());
    // Accepts are in order: once a newer connection is served, all were accepted.
    EXPECT_TRUE(t->survived());
    EXPECT_GE(open_fds(t->daemon().pid()), 1000u) << "the daemon did not accept them all";
    int still_open = 0;
    for (auto& c : idle) still_open += c.is_open() ? 1 : 0;
    EXPECT_EQ(still_open, 1000) << "idle connections closed below every limit";
    for (std::size_t i = 0; i < idle.size(); i += 100) {
        EXPECT_EQ(echo_post(idle[i], 1, "idle " + std::to_string(i)).body, "idle " + std::to_string(i));
    }
    idle.clear();
    EXPECT_TRUE(t->survived());
}

TEST(Connections, MaxConnections5SixthIsServedOnlyAfterOneCloses) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-connections", "5"});
    std::vector<fcgi_connection> five;
    for (int i = 0; i < 5; ++i) {
        five.push_back(t->daemon().connect());
        ping(five.back());
    }
    // The kernel completes the handshake (backlog); the daemon must not serve it.
    fcgi_connection sixth = t->daemon().connect();
    sixth.send_get_values({"FCGI_MPXS_CONNS"});
    EXPECT_TRUE(stays_quiet(sixth, 1000ms)) << "a 6th connection was served with --max-connections 5";
    EXPECT_TRUE(t->daemon().wait_for_log("connection limit reached (5)", 500ms)) << t->daemon().log();
    five[0].close();
    const auto started = clock_type::now();
    EXPECT_NO_THROW(sixth.read_management_record(3000ms)) << "6th not served after one closed";
    EXPECT_LT(clock_type::now() - started, 1500ms);
    EXPECT_EQ(echo_post(sixth, 1, "sixth").body, "sixth");
    five[1].close();  // room for the survival probe
    EXPECT_TRUE(t->survived());
}

TEST(Connections, MaxConnections5TwentyConnectionsQueuedAreAllServedInTurn) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-connections", "5"});
    std::vector<fcgi_connection> conns;
    for (int i = 0; i < 20; ++i) {
        conns.push_back(t->daemon().connect());
        conns.back().send_request(1, "", "n" + std::to_string(i), 0, "POST");  // no KEEP_CONN
    }
    for (int i = 0; i < 20; ++i) {
        const auto r = conns[i].read_response(1, 5000ms);
        EXPECT_EQ(fcgid_test::parse_cgi_response(r.stdout_data).body, "n" + std::to_string(i));
        EXPECT_TRUE(conns[i].wait_closed(2000ms));
    }
    EXPECT_TRUE(t->survived());
}

TEST(Connections, FdLimit40With60ConnectionsBacksOffLoggingOnceThenRecovers) {
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 40;  // inherited by the daemon only: restored right after the start
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::unique_ptr<target> t;
    try {
        t = target::start(fcgid_test::echo_plugin());
    } catch (...) {
        ::setrlimit(RLIMIT_NOFILE, &saved);
        throw;
    }
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

    std::vector<fcgi_connection> conns;
    for (int i = 0; i < 60; ++i) conns.push_back(t->daemon().connect());
    ASSERT_TRUE(t->daemon().wait_for_log("backing off", 3000ms)) << t->daemon().log();
    // Deliberate: ten backoff periods pass, and the warning must not repeat.
    std::this_thread::sleep_for(1000ms);
    EXPECT_EQ(fcgid_test::count_of(t->daemon().log(), "backing off"), 1u) << t->daemon().log();
    EXPECT_EQ(echo_post(conns[0], 1, "first").body, "first") << "accepted connections stopped working";
    conns.clear();
    EXPECT_TRUE(t->survived());
    EXPECT_TRUE(t->daemon().wait_for_log("accepting connections again", 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->daemon().running());
}

TEST(Connections, SigtermWith50IdleKeepAliveConnectionsExits0WithinOneSecond) {
    auto t = target::start(fcgid_test::echo_plugin());
    std::vector<fcgi_connection> conns;
    for (int i = 0; i < 50; ++i) {
        conns.push_back(t->daemon().connect());
        ASSERT_EQ(echo_post(conns.back(), 1, "kept").body, "kept");
    }
    const auto started = clock_type::now();
    t->daemon().send_signal(SIGTERM);
    const auto code = t->daemon().wait_exit(3000ms);
    const auto took = clock_type::now() - started;
    ASSERT_TRUE(code.has_value()) << "still running 3 s after SIGTERM; log:\n" << t->daemon().log();
    EXPECT_EQ(*code, 0) << t->daemon().log();
    EXPECT_LT(took, 1000ms) << "idle connections held up the drain";
    for (auto& c : conns) EXPECT_TRUE(c.wait_closed(500ms));
    EXPECT_NE(t->daemon().log().find("exiting: signal SIGTERM; 51 requests served"), std::string::npos)
        << t->daemon().log();
}

}  // namespace
}  // namespace fcgid_hardening
