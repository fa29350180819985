// Responses written from a plugin's own thread (thread_streamer.so, which
// ignores backpressure like an ABI 1.0 plugin may): the write blocks that
// thread while the connection's output is over --max-output-buffer, so the
// daemon's memory stays bounded however much the thread writes, and every
// way a response can end (the web server closes or aborts, --write-timeout,
// --request-timeout, SIGTERM and --shutdown-timeout) wakes the blocked
// thread with FCGID_EABORTED, or lets it finish.
#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;

constexpr std::uint64_t half_gib = 512 * mib;
constexpr std::string_view stopped = "thread_streamer: stopped: aborted after ";

std::string streamer() { return fcgid_test::test_plugin("thread_streamer"); }

std::string get_request(std::uint16_t id, std::string_view query) {
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_stream(fcgi::params, id, encode_name_values(fcgid_test::cgi_params("GET", query))) +
           encode_record(fcgi::params, id, {}) + encode_record(fcgi::stdin_, id, {});
}

// The N of the plugin's "stopped: aborted after N bytes" line; -1 if absent.
long long bytes_before_abort(const std::string& log) {
    const auto at = log.find(stopped);
    return at == std::string::npos ? -1 : std::stoll(log.substr(at + stopped.size()));
}

// Waits until the plugin's writing thread (named after the plugin) is blocked
// in a write: it filled the connection's output and waits for room.
::testing::AssertionResult writer_blocked(target& t) {
    if (wait_thread_blocked(t.daemon().pid(), "thread_streamer")) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the writing thread was never held back; log:\n"
                                         << t.daemon().log();
}

TEST(ThreadWrites, HalfGibFromAThreadNotReadWhileItsWriterIsBlockedKeepsRssBoundedThenArrivesWhole) {
    auto t = target::start(streamer());
    fcgi_connection conn = t->daemon().connect();
    rss_sampler rss(t->daemon().pid());
    conn.send_request(1, "mib=512");
    ASSERT_TRUE(writer_blocked(*t));
    // Deliberate: the writer stays blocked and nothing more is buffered while
    // nobody reads; RSS is sampled through this second.
    std::this_thread::sleep_for(1000ms);
    const std::uint64_t stalled_peak = rss.peak();
    std::cout << "[ stalled  ] peak RSS while not reading " << stalled_peak / 1024 << " KiB, baseline "
              << t->baseline() / 1024 << " KiB\n";
    EXPECT_LT(stalled_peak, t->baseline() + rss_growth_bound)
        << "the daemon buffered the thread's writes instead of blocking it";
    EXPECT_EQ(read_pattern_response(conn, 1, 0ms), half_gib);
    rss.stop();
    std::cout << "[ read     ] peak RSS overall " << rss.peak() / 1024 << " KiB\n";
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_TRUE(t->survived());
}

TEST(ThreadWrites, ClientClosesAfter1MibOfHalfGibAndTheBlockedWriterStopsWithEaborted) {
    auto t = target::start(streamer());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "mib=512"));
    EXPECT_EQ(s.read_some(mib, 5000ms).data.size(), mib);
    ASSERT_TRUE(writer_blocked(*t));
    s.close();
    ASSERT_TRUE(t->daemon().wait_for_log(stopped, 5000ms))
        << "the writing thread was not woken; log:\n" << t->daemon().log();
    const long long written = bytes_before_abort(t->daemon().log());
    EXPECT_GE(written, static_cast<long long>(mib));
    EXPECT_LT(written, static_cast<long long>(half_gib)) << "the thread was never held back";
    EXPECT_TRUE(t->survived());
}

TEST(ThreadWrites, AbortRequestRecordWakesTheBlockedWriterAndTheConnectionServesOn) {
    auto t = target::start(streamer());
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "mib=512");
    ASSERT_TRUE(writer_blocked(*t));
    conn.send_abort(1);
    // What was buffered before the abort comes first, then END_REQUEST.
    EXPECT_EQ(int(conn.read_response(1).protocol_status), int(fcgi::request_complete));
    EXPECT_TRUE(t->daemon().wait_for_log(stopped, 5000ms)) << t->daemon().log();
    EXPECT_EQ(echo_post(conn, 2, "next").body, "next");
    EXPECT_TRUE(t->survived());
}

TEST(ThreadWrites, WriteTimeout1WakesTheWriterBlockedOnAReaderThatNeverReads) {
    auto t = target::start(streamer(), {"--write-timeout", "1"});
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "mib=512"));
    EXPECT_TRUE(t->daemon().wait_for_log("write timeout", 5000ms)) << t->daemon().log();
    EXPECT_TRUE(t->daemon().wait_for_log(stopped, 5000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ThreadWrites, RequestTimeout1WakesTheWriterBlockedOnAReaderThatNeverReads) {
    auto t = target::start(streamer(), {"--request-timeout", "1"});
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "mib=512"));
    EXPECT_TRUE(t->daemon().wait_for_log("request timed out", 5000ms)) << t->daemon().log();
    EXPECT_TRUE(t->daemon().wait_for_log(stopped, 5000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ThreadWrites, SigtermWhileTheWriterIsBlockedDrainsTheWhole64MibThenExits0) {
    auto t = target::start(streamer());
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "mib=64");
    ASSERT_TRUE(writer_blocked(*t));
    t->daemon().send_signal(SIGTERM);
    EXPECT_EQ(read_pattern_response(conn, 1, 0ms), 64 * mib);
    const auto code = t->daemon().wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << "still running after the drain; log:\n" << t->daemon().log();
    EXPECT_EQ(*code, 0) << t->daemon().log();
}

TEST(ThreadWrites, SigtermWithShutdownTimeout1AndAReaderThatNeverReadsWakesTheWriterAndExits) {
    auto t = target::start(streamer(), {"--shutdown-timeout", "1"});
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "mib=512"));
    ASSERT_TRUE(writer_blocked(*t));
    t->daemon().send_signal(SIGTERM);
    // The plugin's shutdown() joins the thread: it returns only if the
    // thread was woken.
    const auto code = t->daemon().wait_exit(6000ms);
    ASSERT_TRUE(code.has_value()) << "never exited; log:\n" << t->daemon().log();
    EXPECT_EQ(*code, 1) << "work was cut: exit code 1 expected; log:\n" << t->daemon().log();
    EXPECT_NE(t->daemon().log().find(stopped), std::string::npos) << t->daemon().log();
}

}  // namespace
}  // namespace fcgid_hardening
