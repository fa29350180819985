// FastCGI wire behaviour of the real daemon (README.md, "FastCGI").
// Each test is named after what it sends.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using clock_type = std::chrono::steady_clock;

class Protocol : public ::testing::Test {
protected:
    void SetUp() override { daemon_ = daemon_process::start(echo_plugin()); }

    // A plain echo request on `conn` must still work (connection usable).
    void expect_usable(fcgi_connection& conn, std::uint16_t id = 1) {
        response r = conn.round_trip(id, "", "ping", fcgi::keep_conn, "POST");
        cgi_response http = parse_cgi_response(r.stdout_data);
        EXPECT_EQ(http.status, 200);
        EXPECT_EQ(http.body, "ping");
    }

    std::unique_ptr<daemon_process> daemon_;
};

TEST_F(Protocol, GetValuesForTheThreeStandardNames) {
    auto conn = daemon_->connect();
    conn.send_get_values({"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"});
    record rec = conn.read_management_record();
    EXPECT_EQ(rec.version, fcgi::version_1);
    EXPECT_EQ(rec.type, fcgi::get_values_result);
    EXPECT_EQ(rec.request_id, 0);
    name_value_list values = decode_name_values(rec.content);
    std::map<std::string, std::string> by_name(values.begin(), values.end());
    EXPECT_EQ(by_name.size(), 3u) << ::testing::PrintToString(values);
    EXPECT_EQ(by_name["FCGI_MPXS_CONNS"], "1");
    for (const char* name : {"FCGI_MAX_CONNS", "FCGI_MAX_REQS"}) {
        ASSERT_TRUE(by_name.count(name)) << name;
        const std::string& v = by_name[name];
        EXPECT_FALSE(v.empty()) << name;
        EXPECT_EQ(v.find_first_not_of("0123456789"), std::string::npos) << name << "=" << v;
        if (!v.empty() && v.size() < 10) EXPECT_GT(std::stol(v), 0) << name;
    }
    expect_usable(conn);
}

TEST_F(Protocol, GetValuesWithAnUnknownNameOmitsIt) {
    auto conn = daemon_->connect();
    conn.send_get_values({"NOT_A_FASTCGI_VARIABLE", "FCGI_MPXS_CONNS"});
    record rec = conn.read_management_record();
    EXPECT_EQ(rec.type, fcgi::get_values_result);
    name_value_list values = decode_name_values(rec.content);
    ASSERT_EQ(values.size(), 1u) << ::testing::PrintToString(values);
    EXPECT_EQ(values[0].first, "FCGI_MPXS_CONNS");
}

TEST_F(Protocol, ManagementRecordOfUnknownType42GetsUnknownTypeAndConnectionStays) {
    auto conn = daemon_->connect();
    conn.send_record(42, 0, "whatever");
    record rec = conn.read_management_record();
    EXPECT_EQ(rec.type, fcgi::unknown_type);
    EXPECT_EQ(rec.request_id, 0);
    ASSERT_EQ(rec.content.size(), 8u);
    EXPECT_EQ(static_cast<std::uint8_t>(rec.content[0]), 42);
    EXPECT_EQ(rec.content.substr(1), std::string(7, '\0'));
    expect_usable(conn);
}

TEST_F(Protocol, BeginRequestWithAuthorizerRoleGetsUnknownRole) {
    auto conn = daemon_->connect();
    conn.send_begin(1, fcgi::authorizer, fcgi::keep_conn);
    conn.send_params(1, cgi_params("GET", ""));
    conn.send_stdin(1, "");
    response r = conn.read_response(1);
    EXPECT_EQ(r.protocol_status, fcgi::unknown_role);
    EXPECT_EQ(r.stdout_data, "");
    // PARAMS/STDIN of the refused request are ignored; the id is free again.
    expect_usable(conn, 1);
}

TEST_F(Protocol, BeginRequestWithRole99GetsUnknownRole) {
    auto conn = daemon_->connect();
    conn.send_begin(3, 99, fcgi::keep_conn);
    response r = conn.read_response(3);
    EXPECT_EQ(r.protocol_status, fcgi::unknown_role);
    expect_usable(conn, 4);
}

TEST_F(Protocol, ThreeRequestIdsInterleavedOnOneConnection) {
    auto conn = daemon_->connect();
    // Request 1 is delayed so the responses are interleaved too.
    std::string p1 = encode_name_values(cgi_params("POST", "delay_ms=300", 5));
    std::string p2 = encode_name_values(cgi_params("POST", "", 5));
    std::string p3 = encode_name_values(cgi_params("POST", "status=201", 5));
    std::string wire;
    wire += encode_begin_request(1, fcgi::responder, fcgi::keep_conn);
    wire += encode_begin_request(2, fcgi::responder, fcgi::keep_conn);
    wire += encode_record(fcgi::params, 2, p2.substr(0, 10));
    wire += encode_begin_request(3, fcgi::responder, fcgi::keep_conn);
    wire += encode_record(fcgi::params, 1, p1.substr(0, 17));
    wire += encode_record(fcgi::params, 3, p3);
    wire += encode_record(fcgi::params, 2, p2.substr(10));
    wire += encode_record(fcgi::params, 1, p1.substr(17));
    wire += encode_record(fcgi::params, 3, "");
    wire += encode_record(fcgi::stdin_, 3, "three");
    wire += encode_record(fcgi::params, 1, "");
    wire += encode_record(fcgi::params, 2, "");
    wire += encode_record(fcgi::stdin_, 2, "tw");
    wire += encode_record(fcgi::stdin_, 1, "one..");
    wire += encode_record(fcgi::stdin_, 2, "o..");
    wire += encode_record(fcgi::stdin_, 1, "");
    wire += encode_record(fcgi::stdin_, 3, "");
    wire += encode_record(fcgi::stdin_, 2, "");
    conn.send_raw(wire);

    response r2 = conn.read_response(2);
    response r3 = conn.read_response(3);
    response r1 = conn.read_response(1);
    cgi_response h1 = parse_cgi_response(r1.stdout_data);
    cgi_response h2 = parse_cgi_response(r2.stdout_data);
    cgi_response h3 = parse_cgi_response(r3.stdout_data);
    EXPECT_EQ(h1.body, "one..");
    EXPECT_EQ(h2.body, "two..");
    EXPECT_EQ(h3.body, "three");
    EXPECT_EQ(h1.status, 200);
    EXPECT_EQ(h2.status, 200);
    EXPECT_EQ(h3.status, 201);
    for (const response* r : {&r1, &r2, &r3}) {
        EXPECT_TRUE(r->violations.empty()) << ::testing::PrintToString(r->violations);
        EXPECT_TRUE(r->stdout_terminated);
    }
}

TEST_F(Protocol, FiveSequentialKeepConnRequestsOnOneConnection) {
    auto conn = daemon_->connect();
    for (std::uint16_t id = 1; id <= 5; ++id) {
        std::string body = "request " + std::to_string(id);
        response r = conn.round_trip(id, "", body, fcgi::keep_conn, "POST");
        EXPECT_EQ(parse_cgi_response(r.stdout_data).body, body);
    }
    // Reusing an id after its END_REQUEST is allowed.
    expect_usable(conn, 1);
    EXPECT_TRUE(conn.is_open());
}

TEST_F(Protocol, RequestWithoutKeepConnIsAnsweredThenConnectionClosed) {
    auto conn = daemon_->connect();
    response r = conn.round_trip(1, "", "bye", 0, "POST");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "bye");
    EXPECT_TRUE(conn.wait_closed(3000ms)) << "connection still open 3 s after END_REQUEST";
}

TEST_F(Protocol, AbortRequestForDelayedRequestEndsItAtOnce) {
    auto conn = daemon_->connect();
    conn.send_request(1, "delay_ms=2000");
    conn.sync();  // held by echo now
    auto start = clock_type::now();
    conn.send_abort(1);
    response r = conn.read_response(1, 1500ms);
    EXPECT_LT(clock_type::now() - start, 1000ms);
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    expect_usable(conn, 2);
}

TEST_F(Protocol, AbortedDelayedRequestSendsNothingWhenItsDelayEnds) {
    auto conn = daemon_->connect();
    conn.send_request(1, "delay_ms=500&bytes=100");
    conn.sync();  // held by echo now
    conn.send_abort(1);
    response aborted = conn.read_response(1, 1500ms);
    EXPECT_EQ(aborted.protocol_status, fcgi::request_complete);
    // Once the plugin's timer has passed the aborted request's deadline,
    // reuse id 1: any stray record of the aborted request would show up in
    // this response.
    outlast_echo_delays(*daemon_, 500ms);
    response fresh = conn.round_trip(1, "", "fresh", fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(fresh.stdout_data).body, "fresh");
    EXPECT_TRUE(fresh.violations.empty()) << ::testing::PrintToString(fresh.violations);
    EXPECT_TRUE(daemon_->running());
}

TEST_F(Protocol, AbortRequestBeforeTheBodyEndedEndsTheRequest) {
    auto conn = daemon_->connect();
    conn.send_begin(1);
    conn.send_params(1, cgi_params("POST", "", 100));
    conn.send_record(fcgi::stdin_, 1, "partial body");
    conn.send_abort(1);
    response r = conn.read_response(1, 2000ms);
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    expect_usable(conn, 2);
}

TEST_F(Protocol, AbortRequestForAnUnknownIdIsIgnored) {
    auto conn = daemon_->connect();
    conn.send_abort(77);
    expect_usable(conn);
}

TEST_F(Protocol, WholeRequestSentOneByteAtATime) {
    auto conn = daemon_->connect();
    std::string wire = encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                       encode_stream(fcgi::params, 1,
                                     encode_name_values(cgi_params("POST", "params=1", 3))) +
                       encode_record(fcgi::params, 1, "") + encode_record(fcgi::stdin_, 1, "abc") +
                       encode_record(fcgi::stdin_, 1, "");
    conn.send_byte_by_byte(wire);
    response r = conn.read_response(1);
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_NE(http.body.find("QUERY_STRING=params=1\n"), std::string::npos) << http.body;
    // And the same connection still parses whole records afterwards.
    expect_usable(conn, 2);
}

TEST_F(Protocol, ParamsStreamSplitAtEveryOffsetAcrossTwoParamsRecords) {
    auto conn = daemon_->connect();
    name_value_list params = cgi_params("GET", "params=1");
    params.emplace_back(std::string(130, 'K'), std::string(140, 'V'));  // 4-byte lengths
    params.emplace_back("S", "short");
    std::string stream = encode_name_values(params);
    std::string expected;
    for (const auto& [name, value] : params) expected += name + "=" + value + "\n";
    for (std::size_t split = 1; split < stream.size(); ++split) {
        conn.send_raw(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                      encode_record(fcgi::params, 1, stream.substr(0, split)) +
                      encode_record(fcgi::params, 1, stream.substr(split)) +
                      encode_record(fcgi::params, 1, "") + encode_record(fcgi::stdin_, 1, ""));
        response r = conn.read_response(1);
        ASSERT_EQ(parse_cgi_response(r.stdout_data).body, expected) << "split at " << split;
    }
}

// Params are rewritten in place from the wire form into NUL-terminated
// strings: pairs of every length form (1 and 4 bytes), empty names and
// values, and more params than the first reservation holds all come back.
TEST_F(Protocol, SeventyParamsOfMixedLengthFormsComeBackInOrder) {
    auto conn = daemon_->connect();
    name_value_list params = cgi_params("GET", "params=1");
    params.emplace_back("", "");
    params.emplace_back("EMPTY_VALUE", "");
    params.emplace_back("", "empty name");
    for (int i = 0; params.size() < 70; ++i) {
        const std::size_t name_length = i % 3 == 0 ? 200 : 5;
        const std::size_t value_length = i % 2 == 0 ? 128 : 1;
        params.emplace_back("P" + std::to_string(i) + std::string(name_length, 'n'),
                            std::string(value_length, static_cast<char>('a' + i % 26)));
    }
    std::string expected;
    for (const auto& [name, value] : params) expected += name + "=" + value + "\n";
    for (int round = 0; round < 2; ++round) {  // the second one on a recycled request
        conn.send_begin(1);
        conn.send_params(1, params);
        conn.send_stdin(1, "");
        response r = conn.read_response(1);
        ASSERT_EQ(parse_cgi_response(r.stdout_data).body, expected) << "round " << round;
    }
}

TEST_F(Protocol, ParamValueOf100000BytesSpansTwoParamsRecords) {
    auto conn = daemon_->connect();
    name_value_list params = cgi_params("GET", "params=1");
    params.emplace_back("HTTP_X_BIG", std::string(100000, 'b'));
    std::string expected;
    for (const auto& [name, value] : params) expected += name + "=" + value + "\n";
    conn.send_begin(1);
    conn.send_params(1, params);  // 65535 + rest
    conn.send_stdin(1, "");
    response r = conn.read_response(1);
    EXPECT_TRUE(parse_cgi_response(r.stdout_data).body == expected);
}

TEST_F(Protocol, RecordsWithPaddingBytesAreAccepted) {
    auto conn = daemon_->connect();
    std::string params = encode_name_values(cgi_params("POST", "", 4));
    conn.send_raw(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                  encode_record(fcgi::params, 1, params, 5) + encode_record(fcgi::params, 1, "", 7) +
                  encode_record(fcgi::stdin_, 1, "pad!", 4) + encode_record(fcgi::stdin_, 1, "", 255));
    response r = conn.read_response(1);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "pad!");
}

TEST_F(Protocol, StdinForARequestIdNeverBegunIsIgnored) {
    auto conn = daemon_->connect();
    conn.send_record(fcgi::stdin_, 9, "stray");
    conn.send_record(fcgi::params, 9, encode_name_value("A", "B"));
    expect_usable(conn);
}

TEST_F(Protocol, RecordWithVersion2ClosesOnlyThatConnection) {
    auto bad = daemon_->connect();
    auto good = daemon_->connect();
    expect_usable(good);
    bad.send_raw(encode_record(fcgi::begin_request, 1, std::string("\0\1\1\0\0\0\0\0", 8), 0, 2));
    EXPECT_TRUE(bad.wait_closed(3000ms)) << "connection with a version-2 record left open";
    expect_usable(good, 2);
    EXPECT_TRUE(daemon_->running());
    EXPECT_TRUE(daemon_->wait_for_log("[warning]", 2000ms)) << "no warning logged:\n" << daemon_->log();
    auto fresh = daemon_->connect();
    expect_usable(fresh);
}

TEST_F(Protocol, BeginRequestWithContentLength7ClosesTheConnection) {
    auto bad = daemon_->connect();
    bad.send_raw(encode_record(fcgi::begin_request, 1, std::string("\0\1\1\0\0\0\0", 7)));
    EXPECT_TRUE(bad.wait_closed(3000ms));
    auto fresh = daemon_->connect();
    expect_usable(fresh);
}

TEST_F(Protocol, DuplicateBeginRequestForAnActiveIdClosesTheConnection) {
    auto bad = daemon_->connect();
    bad.send_begin(1);
    bad.send_begin(1);
    EXPECT_TRUE(bad.wait_closed(3000ms));
    auto fresh = daemon_->connect();
    expect_usable(fresh);
}

TEST_F(Protocol, ClientClosingMidParamsDoesNotDisturbOthers) {
    {
        auto quitter = daemon_->connect();
        quitter.send_begin(1);
        quitter.send_raw(encode_record(fcgi::params, 1, "\x05"));  // half a pair
        quitter.send_raw(std::string("\x01\x06\x00", 3));           // half a header
    }
    auto conn = daemon_->connect();
    expect_usable(conn);
    EXPECT_TRUE(daemon_->running());
}

TEST_F(Protocol, ClientClosingWhileDelayedRequestInFlightDoesNotDisturbOthers) {
    {
        auto quitter = daemon_->connect();
        quitter.send_request(1, "delay_ms=300");
        quitter.sync();  // held by echo now
    }
    // The orphaned request's delay ends after the connection is gone.
    outlast_echo_delays(*daemon_, 300ms);
    auto conn = daemon_->connect();
    expect_usable(conn);
    EXPECT_TRUE(daemon_->running());
}

TEST_F(Protocol, GetValuesWithEmptyBodyGetsEmptyResult) {
    auto conn = daemon_->connect();
    conn.send_record(fcgi::get_values, 0, "");
    record rec = conn.read_management_record();
    EXPECT_EQ(rec.type, fcgi::get_values_result);
    EXPECT_EQ(rec.content, "");
    expect_usable(conn);
}

// FCGI_MAX_REQS as the daemon advertises it (capped at `cap` to keep tests short).
std::uint16_t advertised_max_reqs(fcgi_connection& conn, std::uint16_t cap) {
    conn.send_get_values({"FCGI_MAX_REQS"});
    for (const auto& [name, value] : decode_name_values(conn.read_management_record().content)) {
        if (name == "FCGI_MAX_REQS") {
            unsigned long n = std::stoul(value);
            return static_cast<std::uint16_t>(n < cap ? n : cap);
        }
    }
    throw std::runtime_error("no FCGI_MAX_REQS in GET_VALUES_RESULT");
}

// BEGIN..STDIN end of an echo request for `query`, as one string.
std::string whole_request(std::uint16_t id, const std::string& query) {
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_record(fcgi::params, id, encode_name_values(cgi_params("GET", query))) +
           encode_record(fcgi::params, id, "") + encode_record(fcgi::stdin_, id, "");
}

TEST_F(Protocol, FcgiMaxReqsDelayedRequestsMultiplexedOnOneConnection) {
    auto conn = daemon_->connect();
    const std::uint16_t n = advertised_max_reqs(conn, 300);
    ASSERT_GE(n, 2) << "FCGI_MPXS_CONNS=1 but FCGI_MAX_REQS < 2";
    std::string wire;
    for (std::uint16_t id = 1; id <= n; ++id) {
        wire += whole_request(id, "delay_ms=" + std::to_string(100 + id % 7 * 20) +
                                      "&bytes=" + std::to_string(id));
    }
    auto start = clock_type::now();
    conn.send_raw(wire);
    for (std::uint16_t id = n; id >= 1; --id) {
        response r = conn.read_response(id, 5000ms);
        EXPECT_EQ(r.protocol_status, fcgi::request_complete) << "request " << id;
        ASSERT_EQ(parse_cgi_response(r.stdout_data).body.size(), id) << "request " << id;
    }
    // Served concurrently, not one delay after the other.
    EXPECT_LT(clock_type::now() - start, 3000ms);
}

TEST_F(Protocol, OneRequestMoreThanFcgiMaxReqsIsAnsweredOrRefusedButNotLost) {
    auto conn = daemon_->connect();
    const std::uint16_t n = advertised_max_reqs(conn, 200);
    if (n >= 200) GTEST_SKIP() << "FCGI_MAX_REQS too large to exceed in a short test";
    std::string wire;
    for (std::uint16_t id = 1; id <= n + 1; ++id) wire += whole_request(id, "delay_ms=100&bytes=3");
    conn.send_raw(wire);
    for (std::uint16_t id = 1; id <= n + 1; ++id) {
        response r = conn.read_response(id, 5000ms);
        if (id <= n) {
            EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "abc") << "request " << id;
        } else {
            // The spec's answer to one request too many is FCGI_OVERLOADED.
            EXPECT_TRUE(r.protocol_status == fcgi::overloaded ||
                        r.protocol_status == fcgi::request_complete)
                << "protocol status " << int(r.protocol_status);
        }
    }
    expect_usable(conn, 1);
}

TEST_F(Protocol, DelayedRequestWithoutKeepConnIsAnsweredThenConnectionClosed) {
    auto conn = daemon_->connect();
    response r = conn.round_trip(1, "delay_ms=100&bytes=7", {}, 0);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "abcdefg");
    EXPECT_TRUE(conn.wait_closed(3000ms)) << "connection still open 3 s after END_REQUEST";
}

TEST_F(Protocol, SlowReaderOf20MiBDoesNotBlockOtherConnections) {
    auto slow = daemon_->connect();
    slow.send_request(1, "bytes=20971520");  // 20 MiB, far more than the socket buffers
    // Once the answer has begun, the daemon is stuck writing to `slow`.
    ASSERT_TRUE(slow.readable_within(5000ms)) << "no answer began";
    auto other = daemon_->connect();
    auto start = clock_type::now();
    expect_usable(other);
    EXPECT_LT(clock_type::now() - start, 1000ms) << "a full socket blocked the loop";
    response r = slow.read_response(1, 20000ms);
    cgi_response http = parse_cgi_response(r.stdout_data);
    ASSERT_EQ(http.body.size(), 20971520u);
    for (std::size_t i = 0; i < http.body.size(); i += 4099) {
        ASSERT_EQ(http.body[i], static_cast<char>('a' + i % 26)) << "byte " << i;
    }
}

TEST_F(Protocol, ClientClosingWithLargeResponsePendingDoesNotDisturbOthers) {
    const std::size_t fds_idle = open_fds(daemon_->pid());
    {
        auto quitter = daemon_->connect();
        quitter.send_request(1, "bytes=20971520");
        ASSERT_TRUE(quitter.readable_within(5000ms)) << "no answer began";
    }
    // The daemon has let go of the connection (it met the close while writing).
    EXPECT_TRUE(daemon_->wait_open_fds_at_most(fds_idle, 5000ms)) << daemon_->log();
    auto conn = daemon_->connect();
    expect_usable(conn);
    EXPECT_TRUE(daemon_->running());
}

TEST_F(Protocol, DelayedRequestWithoutKeepConnPlusAMultiplexedOneBothAnsweredThenClosed) {
    auto conn = daemon_->connect();
    conn.send_request(1, "delay_ms=300&bytes=1", {}, 0);  // KEEP_CONN clear
    conn.sync();  // request 1 is in flight before request 2 is sent
    conn.send_request(2, "bytes=2");
    response r2 = conn.read_response(2);
    response r1 = conn.read_response(1);
    EXPECT_EQ(parse_cgi_response(r2.stdout_data).body, "ab");
    EXPECT_EQ(parse_cgi_response(r1.stdout_data).body, "a");
    EXPECT_TRUE(conn.wait_closed(3000ms)) << "open after END_REQUEST of the KEEP_CONN-clear request";
}

}  // namespace
}  // namespace fcgid_test
