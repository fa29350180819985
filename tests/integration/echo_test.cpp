// Every feature of the echo plugin (README.md, "Shipped plugins"), through the real daemon.
#include <gtest/gtest.h>

#include <chrono>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using clock_type = std::chrono::steady_clock;

// Byte i of a bytes=N body.
std::string letters(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 26);
    return out;
}

// Every byte value, in an order that is not a simple ramp.
std::string binary_body(std::size_t n) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
    return out;
}

// Index of the first differing byte, for readable failures on large bodies.
std::string first_difference(const std::string& got, const std::string& want) {
    std::size_t n = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (got[i] != want[i]) return "first difference at byte " + std::to_string(i);
    }
    if (got.size() != want.size()) {
        return "sizes differ: got " + std::to_string(got.size()) + ", want " +
               std::to_string(want.size());
    }
    return "equal";
}

class Echo : public ::testing::Test {
protected:
    void SetUp() override {
        daemon_ = daemon_process::start(echo_plugin());
        conn_.emplace(daemon_->connect());
    }
    fcgi_connection& conn() { return *conn_; }

    std::unique_ptr<daemon_process> daemon_;
    std::optional<fcgi_connection> conn_;
};

TEST_F(Echo, PostWithBodyEchoesItWithMethodAndLengthHeaders) {
    response r = conn().round_trip(1, "", "hello, echo", fcgi::keep_conn, "POST");
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_TRUE(r.stdout_terminated);
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    cgi_response http = parse_cgi_response(r.stdout_data);
    ASSERT_TRUE(http.head_complete) << r.stdout_data;
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.header("Content-Type"), "application/octet-stream");
    EXPECT_EQ(http.header("X-Echo-Method"), "POST");
    EXPECT_EQ(http.header("X-Echo-Length"), "11");
    EXPECT_EQ(http.body, "hello, echo");
}

TEST_F(Echo, GetWithoutBodyEchoesEmptyBodyAndLengthZero) {
    response r = conn().round_trip(1, "");
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.header("X-Echo-Method"), "GET");
    EXPECT_EQ(http.header("X-Echo-Length"), "0");
    EXPECT_EQ(http.body, "");
}

TEST_F(Echo, PutMethodIsReportedInXEchoMethod) {
    response r = conn().round_trip(1, "", "x", fcgi::keep_conn, "PUT");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).header("X-Echo-Method"), "PUT");
}

TEST_F(Echo, OneMebibyteBodyIn997ByteStdinRecordsComesBackByteForByte) {
    std::string body = binary_body(1 << 20);
    conn().send_begin(1);
    conn().send_params(1, cgi_params("POST", "", body.size()));
    conn().send_stdin(1, body, 997);  // 1052 records, none aligned with anything
    response r = conn().read_response(1);
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.header("X-Echo-Length"), std::to_string(body.size()));
    EXPECT_TRUE(http.body == body) << first_difference(http.body, body);
}

TEST_F(Echo, BodyInOneByteStdinRecordsIsReassembled) {
    std::string body = binary_body(3000);
    conn().send_begin(1);
    conn().send_params(1, cgi_params("POST", "", body.size()));
    conn().send_stdin(1, body, 1);
    response r = conn().read_response(1);
    EXPECT_TRUE(parse_cgi_response(r.stdout_data).body == body);
}

TEST_F(Echo, StatusQuerySetsTheResponseStatus) {
    for (int status : {201, 404, 503, 299}) {
        response r = conn().round_trip(1, "status=" + std::to_string(status));
        cgi_response http = parse_cgi_response(r.stdout_data);
        EXPECT_EQ(http.status, status) << r.stdout_data;
        EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    }
}

TEST_F(Echo, ParamsQueryListsEveryParamInTheOrderSent) {
    name_value_list params = cgi_params("GET", "params=1");
    // Long names and values use the 4-byte length form; names repeat on purpose.
    params.emplace_back("HTTP_X_LONG_" + std::string(200, 'N'), std::string(300, 'v'));
    params.emplace_back("EMPTY_VALUE", "");
    params.emplace_back("DUP", "first");
    params.emplace_back("WITH_EQUALS", "a=b=c");
    params.emplace_back("DUP", "second");
    params.emplace_back("A", std::string(127, 'x'));  // longest 1-byte length
    params.emplace_back("B", std::string(128, 'y'));  // shortest 4-byte length
    std::string expected;
    for (const auto& [name, value] : params) expected += name + "=" + value + "\n";

    conn().send_begin(1);
    conn().send_params(1, params);
    conn().send_stdin(1, "");
    response r = conn().read_response(1);
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body, expected);
}

class EchoBytes : public Echo, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(EchoBytes, BytesQueryReturnsExactlyNLetters) {
    std::size_t n = GetParam();
    response r = conn().round_trip(1, "bytes=" + std::to_string(n));
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_TRUE(r.stdout_terminated);
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    std::string want = letters(n);
    EXPECT_TRUE(http.body == want) << first_difference(http.body, want);
    // Records carry at most 65535 bytes, so this many are needed at least.
    EXPECT_GE(static_cast<std::size_t>(r.stdout_records), r.stdout_data.size() / 65535);
}

INSTANTIATE_TEST_SUITE_P(Sizes, EchoBytes,
                         ::testing::Values(0, 1, 65535, 65536, 5 * 1024 * 1024),
                         [](const auto& info) { return "N" + std::to_string(info.param); });

TEST_F(Echo, DelayMsRequestDoesNotBlockARequestOnAnotherConnection) {
    auto start = clock_type::now();
    conn().send_request(1, "delay_ms=1000");
    auto other = daemon_->connect();
    response quick = other.round_trip(1, "", "quick", fcgi::keep_conn, "POST");
    auto quick_elapsed = clock_type::now() - start;
    EXPECT_EQ(parse_cgi_response(quick.stdout_data).body, "quick");
    EXPECT_LT(quick_elapsed, 600ms) << "the loop was blocked by the delayed request";
    // The delayed one is not answered early...
    EXPECT_FALSE(conn().try_read_response(1, 100ms).has_value());
    // ...but is answered, complete, after its delay.
    response slow = conn().read_response(1);
    auto slow_elapsed = clock_type::now() - start;
    EXPECT_EQ(parse_cgi_response(slow.stdout_data).status, 200);
    EXPECT_TRUE(slow.stdout_terminated);
    EXPECT_GE(slow_elapsed, 950ms);
    EXPECT_LT(slow_elapsed, 5000ms);
}

TEST_F(Echo, DelayMsRequestsOnOneConnectionFinishInDelayOrder) {
    conn().send_request(1, "delay_ms=600&bytes=10");
    conn().send_request(2, "delay_ms=100&bytes=20");
    // Request 2 must not wait for request 1: read 2 first with a bound that 1 would break.
    auto start = clock_type::now();
    response r2 = conn().read_response(2, 500ms);
    EXPECT_LT(clock_type::now() - start, 500ms);
    response r1 = conn().read_response(1);
    EXPECT_EQ(parse_cgi_response(r2.stdout_data).body, letters(20));
    EXPECT_EQ(parse_cgi_response(r1.stdout_data).body, letters(10));
}

TEST_F(Echo, FailQueryGives500WithEmptyBodyAndTheNextRequestIsFine) {
    response failed = conn().round_trip(1, "fail=1");
    EXPECT_EQ(failed.stdout_data, "Status: 500 Internal Server Error\r\n\r\n");
    EXPECT_TRUE(failed.stdout_terminated);
    EXPECT_EQ(failed.protocol_status, fcgi::request_complete);

    response next = conn().round_trip(2, "", "still here", fcgi::keep_conn, "POST");
    cgi_response http = parse_cgi_response(next.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body, "still here");
}

TEST_F(Echo, StderrQuerySendsPercentDecodedTextAsFcgiStderr) {
    response r = conn().round_trip(1, "stderr=disk%20almost%20full%2C%2099%25");
    EXPECT_EQ(r.stderr_data, "disk almost full, 99%");
    EXPECT_TRUE(r.stderr_terminated) << "no empty STDERR record after the STDERR text";
    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
}

TEST_F(Echo, ResponseWithoutStderrTextSendsNoStderrRecords) {
    response r = conn().round_trip(1, "");
    EXPECT_EQ(r.stderr_data, "");
    EXPECT_FALSE(r.stderr_terminated) << "empty STDERR record sent although no text was";
}

TEST_F(Echo, HoldMbQueryAllocatesAndStillAnswers) {
    response r = conn().round_trip(1, "hold_mb=16");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
    response again = conn().round_trip(2, "", "after hold", fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(again.stdout_data).body, "after hold");
}

TEST_F(Echo, SeveralQueryKeysCombine) {
    response r = conn().round_trip(1, "status=202&bytes=5&stderr=note");
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 202);
    EXPECT_EQ(http.body, "abcde");
    EXPECT_EQ(r.stderr_data, "note");
}

}  // namespace
}  // namespace fcgid_test
