// Large responses against slow, stalled and vanishing readers: the daemon's
// memory must stay bounded by --max-output-buffer per connection (echo's
// bytes=N streams under backpressure via response_on_writable), and a reader
// that stops for good is cut off by --write-timeout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;
using fcgid_test::parse_cgi_response;

constexpr std::uint64_t fifty_mb = 52'428'800;

std::string get_request(std::uint16_t id, std::string_view query) {
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_stream(fcgi::params, id, encode_name_values(fcgid_test::cgi_params("GET", query))) +
           encode_record(fcgi::params, id, {}) + encode_record(fcgi::stdin_, id, {});
}

TEST(Backpressure, ClientResetsAfter1MibOfA50MBResponse) {
    auto t = target::start(fcgid_test::echo_plugin());
    const std::size_t fds_idle = fcgid_test::open_fds(t->daemon().pid());
    rss_sampler rss(t->daemon().pid());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "bytes=" + std::to_string(fifty_mb)));
    const read_result first = s.read_some(mib, 5000ms);
    EXPECT_EQ(first.data.size(), mib);
    s.reset();
    EXPECT_TRUE(t->daemon().wait_open_fds_at_most(fds_idle, 5000ms)) << "the reset connection is still open";
    rss.stop();
    std::cout << "[ reset    ] peak RSS " << rss.peak() / 1024 << " KiB, baseline "
              << t->baseline() / 1024 << " KiB\n";
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_TRUE(t->survived());
}

TEST(Backpressure, SixteenConnectionsResetWhileReceiving50MBResponses) {
    auto t = target::start(fcgid_test::echo_plugin());
    const std::size_t fds_idle = fcgid_test::open_fds(t->daemon().pid());
    rss_sampler rss(t->daemon().pid());
    std::vector<raw_socket> readers;
    for (int i = 0; i < 16; ++i) {
        readers.push_back(raw_socket::connect(t->daemon().host(), t->daemon().port()));
        readers.back().send_some(get_request(1, "bytes=" + std::to_string(fifty_mb)));
    }
    // Every response is under way: its first bytes arrived.
    for (auto& s : readers) ASSERT_FALSE(s.read_some(1, 5000ms).data.empty());
    for (auto& s : readers) s.reset();
    EXPECT_TRUE(t->daemon().wait_open_fds_at_most(fds_idle, 5000ms)) << "reset connections are still open";
    rss.stop();
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_TRUE(t->survived());
}

TEST(Backpressure, FiftyMBResponseNotReadFor2SecondsKeepsRssBoundedThenArrivesWhole) {
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    rss_sampler rss(t->daemon().pid());
    conn.send_request(1, "bytes=" + std::to_string(fifty_mb));
    ASSERT_TRUE(conn.readable_within(5000ms)) << "the response never began";
    // Deliberate: nothing reads for 2 s, while RSS is sampled; the daemon
    // must wait for the reader rather than buffer the rest.
    std::this_thread::sleep_for(2000ms);
    const std::uint64_t stalled_peak = rss.peak();
    EXPECT_LT(stalled_peak, t->baseline() + rss_growth_bound)
        << "the daemon buffered the response instead of waiting for the reader";
    EXPECT_EQ(read_pattern_response(conn, 1, 0ms), fifty_mb);
    rss.stop();
    std::cout << "[ stalled  ] peak RSS while stalled " << stalled_peak / 1024 << " KiB, overall "
              << rss.peak() / 1024 << " KiB, baseline " << t->baseline() / 1024 << " KiB\n";
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_TRUE(t->survived());
}

TEST(Backpressure, FiftyMBResponseReadSlowlyArrivesByteForByte) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-output-buffer", "256k"});
    fcgi_connection conn = t->daemon().connect();
    rss_sampler rss(t->daemon().pid());
    conn.send_request(1, "bytes=" + std::to_string(fifty_mb));
    EXPECT_EQ(read_pattern_response(conn, 1, 1ms), fifty_mb);
    rss.stop();
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_EQ(echo_post(conn, 2, "after").body, "after");
}

TEST(Backpressure, WriteTimeout1ClosesAConnectionThatNeverReadsA50MBResponse) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--write-timeout", "1"});
    rss_sampler rss(t->daemon().pid());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    s.send_some(get_request(1, "bytes=" + std::to_string(fifty_mb)));
    const auto started = clock_type::now();
    EXPECT_TRUE(t->daemon().wait_for_log("write timeout", 5000ms)) << t->daemon().log();
    EXPECT_LT(clock_type::now() - started, 4000ms);
    const read_result r = s.read_until_closed(5000ms);
    EXPECT_TRUE(r.closed) << "still open after the write timeout";
    EXPECT_LT(r.data.size(), fifty_mb) << "the whole response was delivered after all";
    rss.stop();
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound);
    EXPECT_TRUE(t->survived());
}

TEST(Backpressure, TwoHundredKeptConnectionsIdleAfterOne1MibResponseEach) {
    // The output buffer is for responses in flight: a connection that has
    // delivered its response and sits idle should not keep ~1 MiB (or twice
    // that, double-buffered) of it, or 1024 idle connections hold gigabytes.
    auto t = target::start(fcgid_test::echo_plugin());
    const std::size_t fds_idle = fcgid_test::open_fds(t->daemon().pid());
    std::vector<fcgi_connection> conns;
    for (int i = 0; i < 200; ++i) {
        fcgi_connection& c = conns.emplace_back(t->daemon().connect());
        c.send_request(1, "bytes=1048576");
        EXPECT_EQ(read_pattern_response(c, 1, 0ms), mib);
    }
    // The answer to a later record goes out only after the response's last
    // write completed, which is when the daemon gives its buffer back.
    for (fcgi_connection& c : conns) c.sync();
    const std::uint64_t idle_rss = resident_bytes(t->daemon().pid());
    std::cout << "[ idle     ] 200 idle kept connections after 1 MiB each: RSS " << idle_rss / 1024
              << " KiB, baseline " << t->baseline() / 1024 << " KiB\n";
    EXPECT_LT(idle_rss, t->baseline() + rss_growth_bound)
        << "idle connections keep " << (idle_rss - t->baseline()) / 200 / 1024
        << " KiB each after their response was delivered";
    conns.clear();
    EXPECT_TRUE(t->daemon().wait_open_fds_at_most(fds_idle, 5000ms)) << "closed connections are still open";
    EXPECT_TRUE(t->survived());
}

// full_probe writes 16 KiB chunks inside handle() until FCGID_FULL: FULL
// must come once the buffered output (body, head, record headers) reaches
// --max-output-buffer, so the body written is within one chunk of it.
void expect_full_near(const std::vector<std::string>& extra, std::uint64_t limit) {
    auto t = target::start(fcgid_test::test_plugin("full_probe"), extra);
    fcgi_connection conn = t->daemon().connect();
    const auto r = conn.round_trip(1, "probe");
    const auto http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    const std::string log = t->daemon().log();
    const auto at = log.find("full_probe: FULL after ");
    ASSERT_NE(at, std::string::npos) << "response_write never returned FCGID_FULL; log:\n" << log;
    const std::uint64_t bytes = std::stoull(log.substr(at + 23));
    EXPECT_GE(bytes, limit - 1024) << "FULL too early";
    EXPECT_LT(bytes, limit + 16 * 1024) << "FULL too late";
    EXPECT_EQ(http.body.size(), bytes) << "bytes written before FULL were not all delivered";
    EXPECT_TRUE(t->survived());
}

TEST(Backpressure, MaxOutputBuffer64kWritesReportFullAfterAbout64Kib) {
    expect_full_near({"--max-output-buffer", "64k"}, 64 * 1024);
}

TEST(Backpressure, DefaultMaxOutputBufferWritesReportFullAfterAbout1Mib) {
    expect_full_near({}, mib);
}

}  // namespace
}  // namespace fcgid_hardening
