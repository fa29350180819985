// --idle-timeout, --read-timeout and --request-timeout. Timeouts are checked
// by a sweep once a second, so a 1 s timeout fires between 1 and about 2 s;
// the bounds below allow 2.5 s.
#include <gtest/gtest.h>

#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;
using fcgid_test::parse_cgi_response;

constexpr auto sweep_slack = 2500ms;

// Seconds (as a double) since `since`, for messages.
double seconds_since(clock_type::time_point since) {
    return std::chrono::duration<double>(clock_type::now() - since).count();
}

// ---- Idle ------------------------------------------------------------------------------

TEST(Timeouts, IdleTimeout1ClosesAKeptConnectionIdleAfterItsRequest) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--idle-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    EXPECT_EQ(echo_post(conn, 1, "before idling").body, "before idling");
    const auto idle_since = clock_type::now();
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms)) << "still open";
    EXPECT_GE(clock_type::now() - idle_since, 900ms) << "closed before the idle timeout";
    EXPECT_LE(clock_type::now() - idle_since, sweep_slack) << seconds_since(idle_since) << " s";
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, IdleTimeout1ClosesAConnectionThatNeverSendsAByte) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--idle-timeout", "1"});
    const auto opened = clock_type::now();
    fcgi_connection conn = t->daemon().connect();
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms));
    EXPECT_LE(clock_type::now() - opened, sweep_slack) << seconds_since(opened) << " s";
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, IdleTimeout1KeepsAConnectionWithADelay3000RequestInFlight) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--idle-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    const auto sent = clock_type::now();
    conn.send_request(1, "delay_ms=3000", "slow", fcgi::keep_conn, "POST");
    const auto r = conn.read_response(1, 6000ms);  // throws if closed first
    EXPECT_GE(clock_type::now() - sent, 2900ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "slow");
    // Idle from now on: closed by the idle timeout after all.
    const auto idle_since = clock_type::now();
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms));
    EXPECT_LE(clock_type::now() - idle_since, sweep_slack);
    EXPECT_TRUE(t->survived());
}

// ---- Read ------------------------------------------------------------------------------

TEST(Timeouts, ReadTimeout1ClosesAfterHalfARecordHeaderThenSilence) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_raw(encode_begin_request(1, fcgi::responder, fcgi::keep_conn).substr(0, 4));
    const auto stalled = clock_type::now();
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms));
    EXPECT_GE(clock_type::now() - stalled, 900ms);
    EXPECT_LE(clock_type::now() - stalled, sweep_slack) << seconds_since(stalled) << " s";
    EXPECT_TRUE(t->daemon().wait_for_log("read timeout", 1000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, ReadTimeout1ClosesARequestStalledAfterWholeParamsRecords) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_raw(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                  encode_stream(fcgi::params, 1,
                                encode_name_values(fcgid_test::cgi_params("GET", ""))));
    const auto stalled = clock_type::now();
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms));
    EXPECT_LE(clock_type::now() - stalled, sweep_slack) << seconds_since(stalled) << " s";
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, ReadTimeout1ClosesABodyThatStopsHalfway) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, fcgid_test::cgi_params("POST", "", 2000));
    conn.send_raw(encode_record(fcgi::stdin_, 1, std::string(1000, 'b')));
    EXPECT_TRUE(conn.wait_closed(sweep_slack + 500ms));
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, ReadTimeout1ClosesABodyTrickledOneByteEvery200Ms) {
    // Slowloris: every byte resets nothing. The request's input must be whole
    // within the timeout of its BEGIN_REQUEST, however steadily it trickles.
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, fcgid_test::cgi_params("POST", "", 100));
    const auto began = clock_type::now();
    const std::string record = encode_record(fcgi::stdin_, 1, std::string(100, 'b'));
    bool closed = false;
    for (std::size_t i = 0; i < record.size() && !closed; ++i) {
        try {
            conn.send_raw(record.substr(i, 1));
        } catch (const std::exception&) {
            closed = true;  // the daemon hung up mid-trickle
        }
        closed = closed || conn.wait_closed(200ms);
    }
    EXPECT_TRUE(closed) << "still open after trickling " << seconds_since(began) << " s";
    EXPECT_LE(clock_type::now() - began, sweep_slack + 500ms) << seconds_since(began) << " s";
    EXPECT_TRUE(t->survived());
}

TEST(Timeouts, ReadTimeout1DoesNotCloseAKeptConnectionBetweenRequests) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    EXPECT_EQ(echo_post(conn, 1, "a").body, "a");
    EXPECT_TRUE(stays_quiet(conn, 2500ms)) << "closed by the read timeout while idle";
    EXPECT_EQ(echo_post(conn, 1, "b").body, "b");
}

TEST(Timeouts, ReadTimeout1DoesNotCloseADelayedRequestWaitingForThePlugin) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--read-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "delay_ms=2500", "waited", fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(conn.read_response(1, 5000ms).stdout_data).body, "waited");
}

// ---- Request ---------------------------------------------------------------------------

TEST(Timeouts, RequestTimeout1EchoDelay2500Gets504AndNothingMoreWhenTheDelayEnds) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--request-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    const auto sent = clock_type::now();
    conn.send_request(1, "delay_ms=2500");
    const auto r = conn.read_response(1, 4000ms);
    EXPECT_LE(clock_type::now() - sent, sweep_slack + 500ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 504);
    EXPECT_TRUE(stays_quiet(conn, 2000ms)) << "records after the 504";
    EXPECT_EQ(echo_post(conn, 1, "next").body, "next");
    EXPECT_TRUE(t->survived());
}

}  // namespace
}  // namespace fcgid_hardening
