// Oversized params: floods of tiny pairs, one giant pair, and the
// --max-params-count / --max-params-size limits at their boundaries. Over a
// limit the daemon closes the connection with a warning (README "FastCGI").
#include <gtest/gtest.h>

#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

using fcgid_test::encode_begin_request;
using fcgid_test::encode_name_value;
using fcgid_test::encode_name_values;
using fcgid_test::encode_record;
using fcgid_test::encode_stream;
using fcgid_test::name_value_list;

constexpr std::string_view size_limit_log = "request params exceed the size limit";
constexpr std::string_view count_limit_log = "request has more params than the limit";

// `count` pairs "p"="v" (4 bytes each) as PARAMS records of whole pairs,
// without the terminating empty record.
std::string tiny_params_stream(std::uint16_t id, std::size_t count) {
    const std::string pair = encode_name_value("p", "v");
    const std::size_t per_record = fcgi::max_content / pair.size();
    std::string record_content;
    for (std::size_t i = 0; i < per_record; ++i) record_content += pair;
    std::string out;
    out.reserve(count * pair.size() + count / per_record * 8 + 16);
    for (std::size_t left = count; left > 0;) {
        const std::size_t n = std::min(left, per_record);
        out += encode_record(fcgi::params, id, std::string_view(record_content).substr(0, n * pair.size()));
        left -= n;
    }
    return out;
}

// Sends BEGIN, `params` and the terminators on `conn`.
void send_with_params(fcgi_connection& conn, std::uint16_t id, const name_value_list& params,
                      std::string_view body = {}) {
    conn.send_begin(id);
    conn.send_params(id, params);
    conn.send_stdin(id, body);
}

// Params of a GET for echo's default answer, padded with one X_PAD param so
// that the encoded stream is exactly `stream_size` bytes.
name_value_list params_of_size(std::size_t stream_size) {
    name_value_list p = {{"REQUEST_METHOD", "POST"}, {"QUERY_STRING", ""}};
    const std::size_t base = encode_name_values(p).size();
    // X_PAD with a value of v bytes costs 1 + (v < 128 ? 1 : 4) + 5 + v.
    std::size_t value = stream_size - base - 1 - 4 - 5;
    if (value < 128) value = stream_size - base - 1 - 1 - 5;
    p.emplace_back("X_PAD", std::string(value, 'z'));
    return p;
}

TEST(ParamsFlood, MillionTinyParamsWithoutTerminatorSentAsFastAsPossible) {
    auto t = target::start(fcgid_test::echo_plugin());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    const std::string flood = encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                              tiny_params_stream(1, 1'000'000);
    const auto started = clock_type::now();
    // The daemon hangs up at 256 KiB: sending may fail long before the end.
    const send_result sent = s.send_some(flood, 10'000ms);
    const read_result r = s.read_until_closed(5000ms);
    const auto took = clock_type::now() - started;
    EXPECT_TRUE(r.closed) << "connection still open after " << sent.sent << " of " << flood.size()
                          << " bytes; log:\n"
                          << t->daemon().log();
    EXPECT_FALSE(sent.timed_out) << "the daemon stopped reading without closing";
    EXPECT_EQ(r.data.size(), 0u);
    EXPECT_LT(took, 8s);
    EXPECT_TRUE(t->daemon().wait_for_log(size_limit_log, 2000ms)) << t->daemon().log();
    std::cout << "[ flood    ] sent " << sent.sent << " of " << flood.size()
              << " bytes; errno " << sent.error << " (0: all fitted in socket buffers)\n";
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MillionTinyParamsWithTerminatorUnderMaxParamsSize64m) {
    // The size limit is out of the way: the count limit (1000) must close it.
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-size", "64m"});
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    const std::string flood = encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                              tiny_params_stream(1, 1'000'000) +
                              encode_record(fcgi::params, 1, {}) + encode_record(fcgi::stdin_, 1, {});
    s.send_some(flood, 10'000ms);
    const read_result r = s.read_until_closed(5000ms);
    EXPECT_TRUE(r.closed) << t->daemon().log();
    EXPECT_EQ(r.data.size(), 0u) << "the daemon answered a request with a million params";
    EXPECT_TRUE(t->daemon().wait_for_log(count_limit_log, 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, OneParamWith10MibValueWithoutTerminator) {
    auto t = target::start(fcgid_test::echo_plugin());
    raw_socket s = raw_socket::connect(t->daemon().host(), t->daemon().port());
    const std::string giant = encode_begin_request(1, fcgi::responder, fcgi::keep_conn) +
                              encode_stream(fcgi::params, 1,
                                            encode_name_value("HUGE", std::string(10 * mib, 'h')));
    const send_result sent = s.send_some(giant, 10'000ms);
    const read_result r = s.read_until_closed(5000ms);
    EXPECT_TRUE(r.closed) << "connection still open after " << sent.sent << " bytes";
    EXPECT_EQ(r.data.size(), 0u);
    EXPECT_TRUE(t->daemon().wait_for_log(size_limit_log, 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, OneParamWith10MibValueUnderMaxParamsSize16mIsServed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-size", "16m"});
    fcgi_connection conn = t->daemon().connect();
    name_value_list p = fcgid_test::cgi_params("POST", "", 4);
    p.emplace_back("HUGE", std::string(10 * mib, 'h'));
    send_with_params(conn, 1, p, "body");
    const auto http = fcgid_test::parse_cgi_response(conn.read_response(1).stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body, "body");
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MaxParamsCount10WithExactly10ParamsIsServed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-count", "10"});
    fcgi_connection conn = t->daemon().connect();
    name_value_list p = {{"REQUEST_METHOD", "POST"}, {"QUERY_STRING", ""}};
    for (int i = 0; p.size() < 10; ++i) p.emplace_back("X_" + std::to_string(i), "v");
    send_with_params(conn, 1, p, "ten");
    EXPECT_EQ(fcgid_test::parse_cgi_response(conn.read_response(1).stdout_data).body, "ten");
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MaxParamsCount10With11ParamsClosesTheConnection) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-count", "10"});
    fcgi_connection conn = t->daemon().connect();
    name_value_list p = {{"REQUEST_METHOD", "POST"}, {"QUERY_STRING", ""}};
    for (int i = 0; p.size() < 11; ++i) p.emplace_back("X_" + std::to_string(i), "v");
    send_with_params(conn, 1, p, "eleven");
    EXPECT_TRUE(conn.wait_closed(3000ms));
    EXPECT_TRUE(t->daemon().wait_for_log(count_limit_log, 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MaxParamsSize1kWithA1024ByteParamsStreamIsServed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-size", "1k"});
    const name_value_list p = params_of_size(1024);
    ASSERT_EQ(encode_name_values(p).size(), 1024u);
    fcgi_connection conn = t->daemon().connect();
    send_with_params(conn, 1, p, "fits");
    EXPECT_EQ(fcgid_test::parse_cgi_response(conn.read_response(1).stdout_data).body, "fits");
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MaxParamsSize1kWithA1025ByteParamsStreamClosesTheConnection) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-size", "1k"});
    const name_value_list p = params_of_size(1025);
    ASSERT_EQ(encode_name_values(p).size(), 1025u);
    fcgi_connection conn = t->daemon().connect();
    send_with_params(conn, 1, p, "too big");
    EXPECT_TRUE(conn.wait_closed(3000ms));
    EXPECT_TRUE(t->daemon().wait_for_log(size_limit_log, 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

TEST(ParamsFlood, MaxParamsSize1kWith2000BytesInOneByteParamsRecords) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--max-params-size", "1k"});
    fcgi_connection conn = t->daemon().connect();
    conn.send_begin(1);
    try {
        conn.send_raw(encode_stream(fcgi::params, 1, encode_name_values(params_of_size(2000)), 1));
    } catch (const std::exception&) {
        // The daemon may hang up while we still write: that is the point.
    }
    EXPECT_TRUE(conn.wait_closed(3000ms));
    EXPECT_TRUE(t->daemon().wait_for_log(size_limit_log, 2000ms)) << t->daemon().log();
    EXPECT_TRUE(t->survived());
}

}  // namespace
}  // namespace fcgid_hardening
