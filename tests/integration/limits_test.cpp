// Limits, drains and signals (fcgid(1), "Limits and draining" and "SIGNALS";
// packaging/man/fcgid.1).
#include <gtest/gtest.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <string_view>
#include <thread>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using clock_type = std::chrono::steady_clock;

cgi_response ok_echo(fcgi_connection& conn, std::uint16_t id, std::string_view body = "x") {
    response r = conn.round_trip(id, "", body, fcgi::keep_conn, "POST");
    return parse_cgi_response(r.stdout_data);
}

// True once a connect to the daemon's port is refused (the listener is
// closed), polling for at most `timeout`.
bool listener_closed_within(const daemon_process& d, std::chrono::milliseconds timeout) {
    return poll_until([&] { return d.try_connect() == ECONNREFUSED; }, timeout, 20ms);
}

TEST(Limits, RequestLimit3ServesThreeThenClosesKeptConnectionAndExits0) {
    auto d = daemon_process::start(echo_plugin(), {"--request-limit", "3"});
    auto conn = d->connect();
    for (std::uint16_t id = 1; id <= 3; ++id) {
        EXPECT_EQ(ok_echo(conn, id, "n" + std::to_string(id)).body, "n" + std::to_string(id));
    }
    EXPECT_TRUE(conn.wait_closed(3000ms)) << "kept connection not closed by the drain";
    auto code = d->wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << "still running after the request limit; log:\n" << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    std::string log = d->log();
    EXPECT_NE(log.find("draining: request limit reached (3 of 3 requests)"), std::string::npos) << log;
    EXPECT_NE(log.find("exiting: request limit reached (3 of 3 requests); 3 requests served"),
              std::string::npos)
        << log;
}

TEST(Limits, RequestLimit1DrainDeliversTheDelayedRequestInFlight) {
    auto d = daemon_process::start(echo_plugin(), {"--request-limit", "1"});
    auto slow = d->connect();
    auto quick = d->connect();
    // GET_VALUES proves both connections were accepted without counting as requests.
    for (auto* c : {&slow, &quick}) {
        c->send_get_values({"FCGI_MPXS_CONNS"});
        c->read_management_record();
    }
    auto start = clock_type::now();
    slow.send_request(1, "delay_ms=1500&bytes=70000");
    slow.sync();  // in flight: the limit is reached by the quick one
    EXPECT_EQ(ok_echo(quick, 1, "q").body, "q");
    // The limit is reached: the listener closes while the slow request goes on.
    EXPECT_TRUE(listener_closed_within(*d, 1000ms)) << "listener still accepting during the drain";
    EXPECT_LT(clock_type::now() - start, 1400ms) << "test too slow to observe the drain";
    EXPECT_TRUE(quick.wait_closed(2000ms));

    response r = slow.read_response(1, 5000ms);
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body.size(), 70000u);
    EXPECT_TRUE(r.stdout_terminated);
    EXPECT_TRUE(slow.wait_closed(2000ms));
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_NE(d->log().find("request limit reached (1 of 1 requests)"), std::string::npos) << d->log();
    EXPECT_NE(d->log().find("; 2 requests served"), std::string::npos) << d->log();
}

TEST(Limits, TimeLimit1ExitsIdleDaemonAfterOneSecond) {
    auto start = clock_type::now();
    auto d = daemon_process::start(hello_plugin(), {"--time-limit", "1"});
    auto code = d->wait_exit(4000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_GE(clock_type::now() - start, 900ms);
    EXPECT_NE(d->log().find("draining: time limit reached (1 s)"), std::string::npos) << d->log();
    EXPECT_NE(d->log().find("exiting: time limit reached (1 s); 0 requests served"),
              std::string::npos)
        << d->log();
}

TEST(Limits, TimeLimit1WaitsForDelayedRequestInFlight) {
    auto d = daemon_process::start(echo_plugin(), {"--time-limit", "1"});
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=1500&bytes=3");
    response r = conn.read_response(1, 5000ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "abc");
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_NE(d->log().find("exiting: time limit reached (1 s); 1 requests served"),
              std::string::npos)
        << d->log();
}

TEST(Limits, MemoryLimit64mDrainsAfterHoldMb96) {
    // Under AddressSanitizer fcgid starts at 60-80 MiB resident (shadow
    // memory and the instrumented binary): the same test, 64 MiB higher.
    const char* sanitized = std::getenv("FCGID_SANITIZED");
    const bool asan = sanitized != nullptr && std::string_view(sanitized) == "1";
    const std::string limit = asan ? "128m" : "64m";
    auto d = daemon_process::start(echo_plugin(), {"--memory-limit", limit});
    auto conn = d->connect();
    EXPECT_EQ(ok_echo(conn, 1).status, 200);
    // The limit is checked when a request completes: after one, no drain.
    conn.sync();
    ASSERT_TRUE(d->running()) << "drained below the memory limit:\n" << d->log();
    ASSERT_EQ(d->log().find("draining"), std::string::npos) << d->log();

    response r = conn.round_trip(2, asan ? "hold_mb=160" : "hold_mb=96");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
    auto code = d->wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << "no drain 5 s after exceeding the memory limit:\n" << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    // The contract leaves the number format open: "64 MiB" or "64.0 MiB".
    std::regex reason(asan ? R"(memory limit reached \(resident [0-9.]+ MiB, limit 128(\.0+)? MiB\))"
                           : R"(memory limit reached \(resident [0-9.]+ MiB, limit 64(\.0+)? MiB\))");
    EXPECT_TRUE(std::regex_search(d->log(), reason)) << d->log();
}

TEST(Limits, AutoShutdownIgnores404AndDrainsAfterStatus500) {
    auto d = daemon_process::start(echo_plugin(), {"--auto-shutdown"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "status=404").stdout_data).status, 404);
    EXPECT_EQ(ok_echo(conn, 2, "after 404").body, "after 404");
    ASSERT_TRUE(d->running());

    EXPECT_EQ(parse_cgi_response(conn.round_trip(3, "status=500").stdout_data).status, 500);
    EXPECT_TRUE(conn.wait_closed(3000ms));
    auto code = d->wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_NE(d->log().find("auto-shutdown after a 5xx response (status 500)"), std::string::npos)
        << d->log();
}

TEST(Limits, AutoShutdownAfterPluginFailure500) {
    auto d = daemon_process::start(echo_plugin(), {"--auto-shutdown"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "fail=1").stdout_data).status, 500);
    auto code = d->wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0);
}

TEST(Limits, WithoutAutoShutdownStatus500KeepsServing) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "status=500").stdout_data).status, 500);
    EXPECT_EQ(ok_echo(conn, 2, "alive").body, "alive");
    EXPECT_TRUE(d->running());
}

class Signals : public ::testing::TestWithParam<int> {};

TEST_P(Signals, SignalWithDelayedRequestInFlightDeliversItAndExits0) {
    int signo = GetParam();
    std::string name = signo == SIGTERM ? "SIGTERM" : "SIGINT";
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=700&bytes=26");
    conn.sync();
    d->send_signal(signo);
    EXPECT_TRUE(listener_closed_within(*d, 500ms)) << "listener still accepting after " << name;
    response r = conn.read_response(1, 3000ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "abcdefghijklmnopqrstuvwxyz");
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_NE(d->log().find("draining: signal " + name), std::string::npos) << d->log();
    EXPECT_NE(d->log().find("exiting: signal " + name + "; 1 requests served"), std::string::npos)
        << d->log();
}

INSTANTIATE_TEST_SUITE_P(TermAndInt, Signals, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                             return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

TEST(Limits, SigtermOnIdleDaemonExits0AtOnce) {
    auto d = daemon_process::start(hello_plugin());
    auto start = clock_type::now();
    d->send_signal(SIGTERM);
    auto code = d->wait_exit(2000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_LT(clock_type::now() - start, 1000ms);
    EXPECT_NE(d->log().find("exiting: signal SIGTERM; 0 requests served"), std::string::npos)
        << d->log();
}

TEST(Limits, SigtermClosesIdleKeptConnectionAndExits0) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    conn.round_trip(1, "");  // kept open, now idle
    d->send_signal(SIGTERM);
    EXPECT_TRUE(conn.wait_closed(2000ms)) << "idle kept connection not closed by the drain";
    auto code = d->wait_exit(2000ms);
    ASSERT_TRUE(code.has_value()) << "an idle kept connection holds up the exit:\n" << d->log();
    EXPECT_EQ(*code, 0);
}

TEST(Limits, RequestOnBusyConnectionDuringSigtermDrainIsServed) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=800&bytes=4");
    conn.sync();
    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM", 1000ms)) << d->log();
    response second = conn.round_trip(2, "", "during drain", fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(second.stdout_data).body, "during drain");
    response first = conn.read_response(1, 3000ms);
    EXPECT_EQ(parse_cgi_response(first.stdout_data).body, "abcd");
    EXPECT_TRUE(conn.wait_closed(2000ms));
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_NE(d->log().find("; 2 requests served"), std::string::npos) << d->log();
}

TEST(Limits, SecondSigtermDuringDrainExitsAtOnceWithCode1) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=5000");
    conn.sync();
    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM", 1000ms)) << d->log();
    auto start = clock_type::now();
    d->send_signal(SIGTERM);
    auto code = d->wait_exit(2000ms);
    ASSERT_TRUE(code.has_value()) << "second SIGTERM did not force the exit:\n" << d->log();
    EXPECT_LT(clock_type::now() - start, 1500ms);
    EXPECT_EQ(*code, 1) << d->log();
}

TEST(Limits, ShutdownTimeout1WithDelay10000RequestExitsWithinTwoSeconds) {
    auto d = daemon_process::start(echo_plugin(), {"--shutdown-timeout", "1"});
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=10000");
    conn.sync();
    auto start = clock_type::now();
    d->send_signal(SIGTERM);
    auto code = d->wait_exit(4000ms);
    auto elapsed = clock_type::now() - start;
    ASSERT_TRUE(code.has_value()) << "still running 4 s after SIGTERM with --shutdown-timeout 1:\n"
                                  << d->log();
    EXPECT_GE(elapsed, 900ms) << "did not wait for the shutdown timeout";
    EXPECT_LT(elapsed, 2500ms);
    EXPECT_EQ(*code, 1) << d->log();
}

TEST(Limits, RequestLimit2WithThreeMultiplexedRequestsServesAllThree) {
    auto d = daemon_process::start(echo_plugin(), {"--request-limit", "2"});
    auto conn = d->connect();
    // All three are in flight on an open connection when the limit is hit:
    // each is begun before any is complete, and the three STDIN ends that
    // complete them go in one write.
    conn.send_begin(1);
    conn.send_params(1, cgi_params("GET", "bytes=1"));
    conn.send_begin(2);
    conn.send_params(2, cgi_params("GET", "bytes=2"));
    conn.send_begin(3);
    conn.send_params(3, cgi_params("GET", "delay_ms=300&bytes=3"));
    conn.send_raw(encode_record(fcgi::stdin_, 1, "") + encode_record(fcgi::stdin_, 2, "") +
                  encode_record(fcgi::stdin_, 3, ""));
    EXPECT_EQ(parse_cgi_response(conn.read_response(1).stdout_data).body, "a");
    EXPECT_EQ(parse_cgi_response(conn.read_response(2).stdout_data).body, "ab");
    EXPECT_EQ(parse_cgi_response(conn.read_response(3).stdout_data).body, "abc");
    EXPECT_TRUE(conn.wait_closed(2000ms));
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0);
    EXPECT_NE(d->log().find("; 3 requests served"), std::string::npos) << d->log();
}

TEST(Limits, SigtermWhileRequestBodyIsStillArrivingServesTheRequest) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_begin(1);
    conn.send_params(1, cgi_params("POST", "", 10));
    conn.send_record(fcgi::stdin_, 1, "first");
    conn.sync();  // the request is begun, its body half read
    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM", 1000ms)) << d->log();
    conn.send_record(fcgi::stdin_, 1, "-last");
    conn.send_record(fcgi::stdin_, 1, "");
    response r = conn.read_response(1, 3000ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "first-last");
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0);
}

TEST(Limits, SigintAfterSigtermForcesExitWithCode1) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=5000");
    conn.sync();
    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM", 1000ms)) << d->log();
    d->send_signal(SIGINT);
    auto code = d->wait_exit(2000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 1);
}

TEST(Limits, AbortedDelayedRequestDoesNotHoldUpSigtermExit) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    conn.send_request(1, "delay_ms=5000");
    conn.sync();
    conn.send_abort(1);
    conn.read_response(1, 1500ms);
    auto start = clock_type::now();
    d->send_signal(SIGTERM);
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << "the aborted request still holds up the exit:\n" << d->log();
    EXPECT_EQ(*code, 0);
    EXPECT_LT(clock_type::now() - start, 1500ms);
}

TEST(Limits, DelayedRequestOfAClosedConnectionDoesNotHoldUpSigtermExit) {
    auto d = daemon_process::start(echo_plugin());
    const std::size_t fds_idle = open_fds(d->pid());
    {
        auto conn = d->connect();
        conn.send_request(1, "delay_ms=5000");
        conn.sync();
    }
    // The daemon has seen the close once it has let go of the connection.
    ASSERT_TRUE(d->wait_open_fds_at_most(fds_idle, 3000ms)) << d->log();
    auto start = clock_type::now();
    d->send_signal(SIGTERM);
    auto code = d->wait_exit(3000ms);
    ASSERT_TRUE(code.has_value()) << "a request of a closed connection holds up the exit:\n"
                                  << d->log();
    EXPECT_EQ(*code, 0);
    EXPECT_LT(clock_type::now() - start, 1500ms);
}

TEST(Limits, HugeTimeLimitDoesNotOverflowIntoAnImmediateDrain) {
    // 10^14 s is 10^23 ns: more than a 64-bit nanosecond clock holds.
    auto d = daemon_process::start(hello_plugin(), {"--time-limit", "99999999999999"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "").stdout_data).status, 200);
    // Deliberate: a time limit that overflowed would fire during this pause.
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(d->running()) << d->log();
    EXPECT_EQ(d->log().find("draining"), std::string::npos) << d->log();
}

TEST(Limits, SigtermRightAfterTheListeningLineDrainsGracefully) {
    // A supervisor may stop fcgid as soon as it said it listens: from then on
    // SIGTERM must drain (exit 0), never kill with the default action.
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto d = std::make_unique<daemon_process>(std::vector<std::string>{
            "run", "--plugin", hello_plugin(), "--host", "127.0.0.1", "--port", "0"});
        // Spin, not poll every few ms: the signal must follow the line closely.
        auto deadline = clock_type::now() + default_timeout;
        while (d->log().find("listening on ") == std::string::npos && d->running()) {
            ASSERT_LT(clock_type::now(), deadline) << d->log();
        }
        d->send_signal(SIGTERM);
        auto code = d->wait_exit(3000ms);
        ASSERT_TRUE(code.has_value()) << d->log();
        ASSERT_EQ(*code, 0) << "attempt " << attempt << ": exit code " << *code
                            << (*code == 128 + SIGTERM ? " (killed by SIGTERM)" : "") << "\nlog:\n"
                            << d->log();
    }
}

}  // namespace
}  // namespace fcgid_test
