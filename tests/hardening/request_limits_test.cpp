// Per-request limits that refuse one request but keep the connection:
// --max-conn-requests and --max-requests (FCGI_OVERLOADED), --max-body-size
// (413), and what GET_VALUES reports about them.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;
using fcgid_test::parse_cgi_response;
using fcgid_test::response;

void expect_overloaded(const response& r) {
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(int(r.protocol_status), int(fcgi::overloaded));
    EXPECT_TRUE(r.stdout_data.empty()) << r.stdout_data;
}

std::map<std::string, std::string> get_values(fcgi_connection& conn) {
    conn.send_get_values({"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"});
    const auto rec = conn.read_management_record();
    EXPECT_EQ(rec.type, fcgi::get_values_result);
    const auto pairs = fcgid_test::decode_name_values(rec.content);
    return {pairs.begin(), pairs.end()};
}

// ---- FCGI_OVERLOADED ------------------------------------------------------------------

TEST(RequestLimits, MaxConnRequests2ThirdMultiplexedRequestGetsOverloadedThenTheNextIsServed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-conn-requests", "2"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_request(1, "delay_ms=400", "one", fcgi::keep_conn, "POST");
    conn.send_request(2, "delay_ms=400", "two", fcgi::keep_conn, "POST");
    conn.send_request(3, "", "three", fcgi::keep_conn, "POST");
    const auto third = conn.read_response(3, 2000ms);
    expect_overloaded(third);
    EXPECT_EQ(parse_cgi_response(conn.read_response(1).stdout_data).body, "one");
    EXPECT_EQ(parse_cgi_response(conn.read_response(2).stdout_data).body, "two");
    EXPECT_EQ(echo_post(conn, 3, "four").body, "four") << "connection unusable after OVERLOADED";
    EXPECT_TRUE(t->daemon().wait_for_log("refusing request 3", 1000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, Default256PerConnection300MultiplexedDelayedRequestsGive44Overloaded) {
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    std::string burst;
    for (std::uint16_t id = 1; id <= 300; ++id) {
        burst += encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
                 encode_stream(fcgi::params, id,
                               encode_name_values(fcgid_test::cgi_params("GET", "delay_ms=300"))) +
                 encode_record(fcgi::params, id, {}) + encode_record(fcgi::stdin_, id, {});
    }
    conn.send_raw(burst);
    int served = 0;
    int overloaded = 0;
    for (std::uint16_t id = 1; id <= 300; ++id) {
        const auto r = conn.read_response(id);
        if (r.protocol_status == fcgi::overloaded) ++overloaded;
        else if (parse_cgi_response(r.stdout_data).status == 200) ++served;
    }
    EXPECT_EQ(served, 256);
    EXPECT_EQ(overloaded, 44);
    EXPECT_EQ(echo_post(conn, 1, "after").body, "after");
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, MaxRequests2ThirdRequestOnAThirdConnectionGetsOverloaded) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-requests", "2"});
    fcgi_connection a = t->daemon().connect();
    fcgi_connection b = t->daemon().connect();
    fcgi_connection c = t->daemon().connect();
    a.send_request(1, "delay_ms=400");
    b.send_request(1, "delay_ms=400");
    a.sync();  // both in flight
    b.sync();
    c.send_request(1, "", "x", fcgi::keep_conn, "POST");
    expect_overloaded(c.read_response(1, 2000ms));
    EXPECT_EQ(parse_cgi_response(a.read_response(1).stdout_data).status, 200);
    EXPECT_EQ(parse_cgi_response(b.read_response(1).stdout_data).status, 200);
    EXPECT_EQ(echo_post(c, 1, "now").body, "now") << "the slot was not given back";
    EXPECT_TRUE(t->survived());
}

// ---- 413 ----------------------------------------------------------------------------------

TEST(RequestLimits, MaxBodySize1kBodyOfExactly1024BytesIsEchoed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-body-size", "1k"});
    fcgi_connection conn = t->daemon().connect();
    const std::string body(1024, 'b');
    EXPECT_EQ(echo_post(conn, 1, body).body, body);
}

TEST(RequestLimits, MaxBodySize1kBodyOf2KibGets413AndTheConnectionServesTheNext) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-body-size", "1k"});
    fcgi_connection conn = t->daemon().connect();
    const auto too_big = echo_post(conn, 1, std::string(2048, 'b'));
    EXPECT_EQ(too_big.status, 413);
    EXPECT_TRUE(too_big.body.empty());
    EXPECT_EQ(echo_post(conn, 2, "small").body, "small");
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, MaxBodySize1kBodyOf2KibIn100ByteStdinRecordsGets413Once) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-body-size", "1k"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, fcgid_test::cgi_params("POST", "", 0));  // no CONTENT_LENGTH hint
    conn.send_stdin(1, std::string(2048, 'b'), 100);
    const auto r = conn.read_response(1);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 413);
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_TRUE(stays_quiet(conn, 300ms)) << "more records after the 413";
    EXPECT_EQ(echo_post(conn, 1, "next").body, "next");
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, MaxBodySize1kContentLength2048AnnouncedGets413BeforeAnyStdin) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-body-size", "1k"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, fcgid_test::cgi_params("POST", "", 2048));
    const auto r = conn.read_response(1, 2000ms);  // no STDIN sent yet
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 413);
    // The web server sends the body anyway: it must be dropped, not answered.
    conn.send_stdin(1, std::string(2048, 'b'));
    EXPECT_TRUE(stays_quiet(conn, 300ms));
    EXPECT_EQ(echo_post(conn, 2, "next").body, "next");
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, DefaultMaxBodySizeContentLength64MibPlusOneAnnouncedGets413) {
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, fcgid_test::cgi_params("POST", "", 64 * mib + 1));
    EXPECT_EQ(parse_cgi_response(conn.read_response(1, 2000ms).stdout_data).status, 413);
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, ContentLengthOf20DigitsGets413) {
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    conn.send_params(1, {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "99999999999999999999"}});
    EXPECT_EQ(parse_cgi_response(conn.read_response(1, 2000ms).stdout_data).status, 413);
    EXPECT_TRUE(t->survived());
}

TEST(RequestLimits, TwoHundredFiftySixMultiplexedRequestsEachSending1000KibUnderMaxBodySize1m) {
    // Each body alone is within the limit; together they are 250 MiB. The
    // connection as a whole must not buffer all of it.
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-body-size", "1m"});
    rss_sampler rss(t->daemon().pid());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    constexpr std::uint16_t count = 256;
    std::string opening;
    for (std::uint16_t id = 1; id <= count; ++id) {
        opening += encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
                   encode_stream(fcgi::params, id,
                                 encode_name_values(fcgid_test::cgi_params("POST", "", 1000 * 1024))) +
                   encode_record(fcgi::params, id, {});
    }
    std::size_t sent = s.send_some(opening).sent;
    const std::string chunk(50 * 1024, 'c');  // 20 rounds of 50 KiB = 1000 KiB per request
    bool stopped = false;
    for (int round = 0; round < 20 && !stopped; ++round) {
        std::string records;
        for (std::uint16_t id = 1; id <= count; ++id) records += encode_record(fcgi::stdin_, id, chunk);
        const send_result r = s.send_some(records, 10'000ms);
        sent += r.sent;
        stopped = r.error != 0 || r.timed_out;
    }
    std::string ends;
    for (std::uint16_t id = 1; id <= count; ++id) ends += encode_record(fcgi::stdin_, id, {});
    if (!stopped) s.send_some(ends);
    s.read_until_closed(1000ms);  // drain whatever came back
    rss.stop();
    std::cout << "[ mux body ] sent " << sent / mib << " MiB; peak RSS " << rss.peak() / mib
              << " MiB (baseline " << t->baseline() / mib << " MiB)\n";
    EXPECT_LT(rss.peak(), t->baseline() + rss_growth_bound)
        << "a connection buffered " << (rss.peak() - t->baseline()) / mib << " MiB of bodies";
    s.close();
    EXPECT_TRUE(t->survived());
}

// ---- GET_VALUES -------------------------------------------------------------------------

TEST(RequestLimits, GetValuesWithDefaultsReportsMaxConns1024AndMaxReqs256) {
    // FCGI_MAX_REQS is the smaller of --max-requests (1024) and
    // --max-conn-requests (256): what one connection can really have in flight.
    auto t = target::start(fcgid_test::echo_plugin());
    fcgi_connection conn = t->daemon().connect();
    auto v = get_values(conn);
    EXPECT_EQ(v["FCGI_MAX_CONNS"], "1024");
    EXPECT_EQ(v["FCGI_MAX_REQS"], "256");
    EXPECT_EQ(v["FCGI_MPXS_CONNS"], "1");
}

TEST(RequestLimits, GetValuesWithMaxConnections7AndMaxRequests13Reports7And13) {
    auto t = target::start(fcgid_test::echo_plugin(),
                           {"--max-connections", "7", "--max-requests", "13"});
    fcgi_connection conn = t->daemon().connect();
    auto v = get_values(conn);
    EXPECT_EQ(v["FCGI_MAX_CONNS"], "7");
    EXPECT_EQ(v["FCGI_MAX_REQS"], "13");
    EXPECT_EQ(v["FCGI_MPXS_CONNS"], "1");
}

TEST(RequestLimits, GetValuesWithMaxRequests13AndMaxConnRequests3ReportsMaxReqs3) {
    // A web server may multiplex everything on one connection, so the
    // per-connection limit caps what is advertised.
    auto t = target::start(fcgid_test::echo_plugin(),
                           {"--max-requests", "13", "--max-conn-requests", "3"});
    fcgi_connection conn = t->daemon().connect();
    auto v = get_values(conn);
    EXPECT_EQ(v["FCGI_MAX_CONNS"], "1024");
    EXPECT_EQ(v["FCGI_MAX_REQS"], "3");
}

}  // namespace
}  // namespace fcgid_hardening
