// Plugins that break the rules of plugin.h at run time, and clients that
// abandon deferred requests: the daemon must neither crash nor send anything
// after END_REQUEST, and must keep serving (target::survived).
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <vector>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::parse_cgi_response;

constexpr std::string_view thread_call_failed = "from a plugin thread failed";

// ---- Clients abandoning deferred requests ------------------------------------------------

TEST(PluginMisbehaviour, AbortRequestForADelayedEchoBeforeItFinishes) {
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "delay_ms=500");
    conn.sync();  // held by echo now
    const auto aborted_at = clock_type::now();
    conn.send_abort(1);
    const auto r = conn.read_response(1, 1000ms);
    EXPECT_LT(clock_type::now() - aborted_at, 500ms) << "END_REQUEST waited for the plugin";
    EXPECT_EQ(int(r.protocol_status), int(fcgi::request_complete));
    EXPECT_TRUE(stays_quiet(conn, 700ms)) << "records after the aborted request ended";
    EXPECT_EQ(echo_post(conn, 1, "reused id").body, "reused id");
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, ResetWithHundredDelayedEchoRequestsInFlight) {
    auto t = target::start(fcgid_test::echo_plugin());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    std::string burst;
    for (std::uint16_t id = 1; id <= 100; ++id) {
        burst += fcgid_test::encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
                 fcgid_test::encode_stream(fcgi::params, id,
                                           fcgid_test::encode_name_values(fcgid_test::cgi_params(
                                               "GET", "delay_ms=" + std::to_string(100 + id * 3)))) +
                 fcgid_test::encode_record(fcgi::params, id, {}) +
                 fcgid_test::encode_record(fcgi::stdin_, id, {});
    }
    s.send_some(burst);
    // Some finished (the first answer is here), most still held by echo's timer.
    ASSERT_FALSE(s.read_some(1, 5000ms).data.empty()) << "no answer came";
    s.reset();
    fcgid_test::outlast_echo_delays(t->daemon(), 400ms);  // every delay has ended
    EXPECT_TRUE(t->survived());
}

// ---- finishes_twice -------------------------------------------------------------------------

TEST(PluginMisbehaviour, FinishTwiceInsideHandleGetsEstateAndTheResponseOnce) {
    auto t = target::start(fcgid_test::test_plugin("finishes_twice"));
    fcgi_connection conn = t->daemon().connect();
    const auto r = conn.round_trip(1, "mode=inline");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "first");
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_TRUE(t->daemon().wait_for_log(
        "finishes_twice inline: finish 0, finish again -3, write after -3", 1000ms))
        << t->daemon().log();
    EXPECT_TRUE(stays_quiet(conn, 200ms));
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, FinishTwiceInsideHandleThenReturnDeferred) {
    auto t = target::start(fcgid_test::test_plugin("finishes_twice"));
    fcgi_connection conn = t->daemon().connect();
    const auto r = conn.round_trip(1, "mode=deferred");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
    EXPECT_TRUE(t->daemon().wait_for_log("finishes_twice deferred: finish 0, finish again -3", 1000ms))
        << t->daemon().log();
    EXPECT_TRUE(stays_quiet(conn, 200ms));
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, FinishTwiceFromALoopTaskAfterHandleReturnedDeferred) {
    // plugin.h: "on the loop thread the host can still catch it and returns
    // FCGID_ESTATE". Run a few, so that a freed handle is likely reused.
    auto t = target::start(fcgid_test::test_plugin("finishes_twice"));
    fcgi_connection conn = t->daemon().connect();
    for (std::uint16_t id = 1; id <= 20; ++id) {
        const auto r = conn.round_trip(id, "mode=loop");
        EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
    }
    ASSERT_TRUE(t->daemon().wait_for_log("finishes_twice loop:", 1000ms)) << t->daemon().log();
    const std::string log = t->daemon().log();
    EXPECT_EQ(fcgid_test::count_of(log, "finishes_twice loop: finish 0, finish again -3"), 20u) << log;
    EXPECT_TRUE(t->survived());
}

// ---- finishes_after_abort ---------------------------------------------------------------------

TEST(PluginMisbehaviour, PluginThreadFinishesAfterAbortRequest) {
    auto t = target::start(fcgid_test::test_plugin("finishes_after_abort"));
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "delay_ms=400");
    ASSERT_TRUE(t->daemon().wait_for_log("finishes_after_abort: holding /app?delay_ms=400", 5000ms))
        << t->daemon().log();
    conn.send_abort(1);
    EXPECT_EQ(int(conn.read_response(1, 1000ms).protocol_status), int(fcgi::request_complete));
    EXPECT_TRUE(t->daemon().wait_for_log("abort callback ran and did nothing", 1000ms));
    EXPECT_TRUE(t->daemon().wait_for_log("finished /app?delay_ms=400 from the thread", 2000ms))
        << t->daemon().log();
    EXPECT_TRUE(stays_quiet(conn, 300ms)) << "the late write or finish reached the web server";
    EXPECT_EQ(t->daemon().log().find(thread_call_failed), std::string::npos) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, PluginThreadFinishesAfterTheConnectionWasReset) {
    auto t = target::start(fcgid_test::test_plugin("finishes_after_abort"));
    for (int i = 0; i < 10; ++i) {
        raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
        s.send_some(fcgid_test::encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                    fcgid_test::encode_stream(
                        fcgi::params, 1,
                        fcgid_test::encode_name_values(fcgid_test::cgi_params("GET", "delay_ms=300"))) +
                    fcgid_test::encode_record(fcgi::params, 1, {}) +
                    fcgid_test::encode_record(fcgi::stdin_, 1, {}));
        ASSERT_TRUE(t->daemon().wait_for_log_count("finishes_after_abort: holding", i + 1, 5000ms))
            << t->daemon().log();
        s.reset();
    }
    EXPECT_TRUE(t->daemon().wait_for_log_count("from the thread", 10, 5000ms)) << t->daemon().log();
    EXPECT_EQ(fcgid_test::count_of(t->daemon().log(), "from the thread"), 10u) << t->daemon().log();
    EXPECT_EQ(t->daemon().log().find(thread_call_failed), std::string::npos) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, PluginThreadFinishesAfterRequestTimeout1Answered504) {
    auto t = target::start(fcgid_test::test_plugin("finishes_after_abort"), {"--request-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "delay_ms=2500");
    const auto r = conn.read_response(1, 4000ms);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 504);
    EXPECT_TRUE(t->daemon().wait_for_log("abort callback ran and did nothing", 1000ms))
        << "the plugin was not told of the timeout; log:\n" << t->daemon().log();
    EXPECT_TRUE(t->daemon().wait_for_log("from the thread", 3000ms)) << t->daemon().log();
    EXPECT_TRUE(stays_quiet(conn, 300ms)) << "the late write or finish reached the web server";
    EXPECT_EQ(t->daemon().log().find(thread_call_failed), std::string::npos) << t->daemon().log();
    EXPECT_EQ(echo_post(conn, 1, "next").body, "next");
    EXPECT_TRUE(t->survived());
}

// ---- never_finishes ---------------------------------------------------------------------------

TEST(PluginMisbehaviour, NeverFinishesWithRequestTimeout1Gets504Within3sAndThePluginIsTold) {
    auto t = target::start(fcgid_test::test_plugin("never_finishes"), {"--request-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    const auto sent = clock_type::now();
    conn.send_request(1, "hang");
    const auto r = conn.read_response(1, 5000ms);
    const auto took = clock_type::now() - sent;
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 504);
    EXPECT_GE(took, 900ms);
    EXPECT_LE(took, 3000ms);
    EXPECT_TRUE(t->daemon().wait_for_log("never_finishes: told of the abort of /app?hang", 1000ms))
        << t->daemon().log();
    EXPECT_TRUE(t->daemon().wait_for_log("request timed out", 500ms)) << t->daemon().log();
    EXPECT_EQ(echo_post(conn, 2, "next").body, "next") << "connection unusable after the 504";
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, NeverFinishesAbortRequestEndsItAtOnceAndThePluginIsTold) {
    auto t = target::start(fcgid_test::test_plugin("never_finishes"));
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "hang");
    EXPECT_TRUE(stays_quiet(conn, 300ms));
    conn.send_abort(1);
    EXPECT_EQ(int(conn.read_response(1, 1000ms).protocol_status), int(fcgi::request_complete));
    EXPECT_TRUE(t->daemon().wait_for_log("never_finishes: told of the abort of /app?hang", 1000ms))
        << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(PluginMisbehaviour, NeverFinishesFiftyHeldRequestsThenSigtermWithShutdownTimeout1) {
    auto t = target::start(fcgid_test::test_plugin("never_finishes"), {"--shutdown-timeout", "1"});
    fcgi_connection conn = t->daemon().connect();
    for (std::uint16_t id = 1; id <= 50; ++id) conn.send_request(id, "hang");
    EXPECT_TRUE(stays_quiet(conn, 300ms));
    EXPECT_TRUE(t->survived());
    const auto signalled = clock_type::now();
    t->daemon().send_signal(SIGTERM);
    const auto code = t->daemon().wait_exit(4000ms);
    ASSERT_TRUE(code.has_value()) << "never exited; log:\n" << t->daemon().log();
    EXPECT_EQ(*code, 1) << "work was cut: exit code 1 expected; log:\n" << t->daemon().log();
    EXPECT_LT(clock_type::now() - signalled, 2500ms);
    EXPECT_EQ(fcgid_test::count_of(t->daemon().log(), "never_finishes: told of the abort"), 50u)
        << t->daemon().log();
}

}  // namespace
}  // namespace fcgid_hardening
