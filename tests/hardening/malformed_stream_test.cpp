// Malformed FastCGI streams: each test sends one kind of broken input on a
// connection, checks what the daemon did with that connection, then that the
// daemon itself is unharmed (target::survived).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;

class MalformedStream : public ::testing::Test {
protected:
    void SetUp() override { t_ = target::start(fcgid_test::echo_plugin()); }

    raw_socket open() { return raw_socket::connect(t_->daemon().host(), t_->daemon().port()); }

    // Sends `bytes`, then expects the daemon to hang up within 3 s without
    // sending a single byte, and to log why.
    void expect_closed_silently(std::string_view bytes, std::string_view log_text) {
        raw_socket s = open();
        s.send_some(bytes);
        const read_result r = s.read_until_closed(3000ms);
        EXPECT_TRUE(r.closed) << "the daemon kept the connection open";
        EXPECT_EQ(r.data.size(), 0u) << "the daemon answered a malformed stream";
        EXPECT_TRUE(t_->daemon().wait_for_log(log_text, 2000ms))
            << "no log line with \"" << log_text << "\"; log:\n"
            << t_->daemon().log();
    }

    std::unique_ptr<target> t_;
};

std::string get_request(std::uint16_t id, std::string_view query = {}) {
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_stream(fcgi::params, id, encode_name_values(fcgid_test::cgi_params("GET", query))) +
           encode_record(fcgi::params, id, {}) + encode_record(fcgi::stdin_, id, {});
}

TEST_F(MalformedStream, SixtyFourKibOfRandomGarbageBytes) {
    std::mt19937 rng(20240601);
    std::string garbage(64 * 1024, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    garbage[0] = 'G';  // never a valid version byte
    expect_closed_silently(garbage, "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, HttpRequestLineInsteadOfFastCgi) {
    expect_closed_silently("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, BeginRequestWithVersionByte2) {
    std::string begin = encode_begin_request(1, fcgi::responder, fcgi::keep_conn);
    begin[0] = 2;
    expect_closed_silently(begin, "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, ValidBeginThenParamsRecordWithVersionByte0) {
    expect_closed_silently(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                               encode_record(fcgi::params, 1, "\x01\x01" "ab", 0, /*version=*/0),
                           "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, TruncatedParamsRecordThenClose) {
    raw_socket s = open();
    const std::string params = encode_stream(
        fcgi::params, 1, encode_name_values(fcgid_test::cgi_params("GET", "")));
    s.send_some(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                params.substr(0, params.size() / 2));
    s.close();
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, HeaderClaiming65535ContentBytesWith100SentThenClose) {
    raw_socket s = open();
    std::string header = encode_record(fcgi::stdin_, 1, {});
    header[4] = '\xff';
    header[5] = '\xff';
    s.send_some(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) + header +
                std::string(100, 'x'));
    s.close();
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, HeaderClaiming65535ContentBytesThenResetInTwentyConnections) {
    std::string header = encode_record(fcgi::params, 1, {});
    header[4] = '\xff';
    header[5] = '\xff';
    for (int i = 0; i < 20; ++i) {
        raw_socket s = open();
        s.send_some(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) + header +
                    std::string(65000, 'p'));
        s.reset();
    }
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, OneMibOfStdinBeforeBeginRequestThenAValidRequestOnTheSameConnection) {
    // Records for a request id that was never begun are ignored.
    fcgi_connection conn = t_->daemon().connect();
    conn.send_raw(encode_stream(fcgi::stdin_, 1, std::string(1024 * 1024, 's')) +
                  encode_record(fcgi::stdin_, 1, {}));
    const auto http = echo_post(conn, 1, "the real body");
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body, "the real body");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, ParamsAndStdinForRequestId7WithoutBeginRequest) {
    fcgi_connection conn = t_->daemon().connect();
    conn.send_params(7, fcgid_test::cgi_params("GET", ""));
    conn.send_stdin(7, "orphan");
    EXPECT_TRUE(stays_quiet(conn, 300ms)) << "the daemon answered records of a request never begun";
    const auto http = echo_post(conn, 7, "after");
    EXPECT_EQ(http.body, "after");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, DuplicateBeginRequestForAnActiveId) {
    expect_closed_silently(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                               encode_begin_request(1, fcgi::responder, fcgi::keep_conn),
                           "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, DuplicateBeginRequestWhileTheFirstIsADelayedEchoInFlight) {
    raw_socket s = open();
    s.send_some(get_request(1, "delay_ms=300"));
    ASSERT_TRUE(s.sync()) << "dispatched to echo, which holds it";
    s.send_some(encode_begin_request(1, fcgi::responder, fcgi::keep_conn));
    const read_result r = s.read_until_closed(3000ms);
    EXPECT_TRUE(r.closed);
    for (const auto& rec : split_records(r.data)) {
        ADD_FAILURE() << "record of type " << int(rec.type) << " for request " << rec.request_id;
    }
    fcgid_test::outlast_echo_delays(t_->daemon(), 300ms);  // echo's timer passed the aborted request
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, BeginRequestWithRequestId0) {
    expect_closed_silently(encode_begin_request(0, fcgi::responder, fcgi::keep_conn),
                           "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, BeginRequestWithContentLength3) {
    expect_closed_silently(encode_record(fcgi::begin_request, 1, std::string("\x00\x01\x01", 3)),
                           "closing connection");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, ParamsPairWhoseNameLengthClaims2GiB) {
    raw_socket s = open();
    s.send_some(encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                encode_record(fcgi::params, 1, std::string("\xff\xff\xff\xff\x01" "ab", 7)) +
                encode_record(fcgi::params, 1, {}) + encode_record(fcgi::stdin_, 1, {}));
    const read_result r = s.read_until_closed(3000ms);
    EXPECT_TRUE(r.closed) << "a malformed params pair left the connection open";
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, StdoutAndEndRequestRecordsSentByTheClientAreIgnored) {
    fcgi_connection conn = t_->daemon().connect();
    conn.send_raw(encode_record(fcgi::stdout_, 1, "spoof") +
                  encode_record(fcgi::end_request, 1, std::string(8, '\0')) +
                  encode_record(fcgi::get_values_result, 0, {}));
    EXPECT_EQ(echo_post(conn, 1, "fine").body, "fine");
    EXPECT_TRUE(t_->survived());
}

TEST_F(MalformedStream, TwoHundredConnectionsEachClosedAfterOneByte) {
    for (int i = 0; i < 200; ++i) {
        raw_socket s = open();
        s.send_some("\x01");
        if (i % 2 == 0) s.reset();
    }
    EXPECT_TRUE(t_->survived());
}

}  // namespace
}  // namespace fcgid_hardening
