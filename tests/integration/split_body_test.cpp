// Large STDIN records split across reads, through the real daemon: fcgid
// takes such a record's content as it arrives, and reads the rest of it
// straight into the request's body when room was made for it (the
// announced CONTENT_LENGTH). Each piece here is its own write with a pause
// after it, so the daemon sees every split: a record's header alone, its
// content in parts, its padding apart, records of two requests in turn.
//
// Then the other way: many records written at once, which the daemon reads
// several at a time, guessing each next record's length from the last
// (stdin_read_plan): records alike, records whose lengths change at every
// turn, records without padding, and two requests' records in turn.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using namespace std::chrono_literals;

// Every byte value, in an order that is not a simple ramp.
std::string binary_body(std::size_t n, unsigned seed = 0) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + i / 256 + seed) & 0xff);
    return out;
}

// Writes `bytes` in pieces cut at `cuts` (offsets), pausing after each so
// that the daemon reads them apart: a deliberate window, the test's subject.
void send_in_pieces(fcgi_connection& conn, std::string_view bytes, std::vector<std::size_t> cuts) {
    std::size_t from = 0;
    cuts.push_back(bytes.size());
    for (const std::size_t to : cuts) {
        if (to <= from) continue;
        conn.send_raw(bytes.substr(from, to - from));
        std::this_thread::sleep_for(3ms);
        from = to;
    }
}

// The STDIN records of `body` (65535 bytes each at most, `padding` after
// each), written with every record cut after its header, after 1000
// content bytes and before its padding.
void send_body_split(fcgi_connection& conn, std::uint16_t id, std::string_view body, std::uint8_t padding) {
    for (std::size_t at = 0; at < body.size(); at += fcgi::max_content) {
        const std::string_view content = body.substr(at, fcgi::max_content);
        const std::string record = encode_record(fcgi::stdin_, id, content, padding);
        send_in_pieces(conn, record, {8, 8 + 1000, 8 + content.size()});
    }
    send_in_pieces(conn, encode_record(fcgi::stdin_, id, {}, padding), {4});
}

void send_head(fcgi_connection& conn, std::uint16_t id, const name_value_list& params) {
    conn.send_begin(id);
    conn.send_params(id, params);
}

std::string echoed(fcgi_connection& conn, std::uint16_t id, int expected_status = 200) {
    const response r = conn.read_response(id);
    const cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, expected_status) << r.stdout_data.substr(0, 200);
    return http.body;
}

TEST(SplitBody, AnAnnouncedBodyInSplitRecordsComesBackByteForByte) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string body = binary_body(3 * fcgi::max_content + 1234);
    send_head(conn, 1, cgi_params("POST", "", body.size()));
    send_body_split(conn, 1, body, 5);
    EXPECT_TRUE(echoed(conn, 1) == body);
    // The connection goes on at the next record boundary.
    EXPECT_EQ(parse_cgi_response(conn.round_trip(2, "", "after", fcgi::keep_conn, "POST").stdout_data).body,
              "after");
}

TEST(SplitBody, ABodyWithoutContentLengthInSplitRecordsComesBackByteForByte) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string body = binary_body(2 * fcgi::max_content + 77, 7);
    name_value_list params = cgi_params("GET", "", 0);  // no CONTENT_LENGTH: no room made ahead
    send_head(conn, 1, params);
    send_body_split(conn, 1, body, 0);
    EXPECT_TRUE(echoed(conn, 1) == body);
}

TEST(SplitBody, ABodyLongerThanAnnouncedComesBackWhole) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string body = binary_body(2 * fcgi::max_content, 3);
    send_head(conn, 1, cgi_params("POST", "", 70000));  // room for 70,000 bytes; more come
    send_body_split(conn, 1, body, 3);
    EXPECT_TRUE(echoed(conn, 1) == body);
}

TEST(SplitBody, TwoRequestsSplitRecordsInTurnEachGetTheirOwnBody) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string first = binary_body(2 * fcgi::max_content + 10, 1);
    const std::string second = binary_body(2 * fcgi::max_content + 20, 2);
    send_head(conn, 1, cgi_params("POST", "", first.size()));
    send_head(conn, 2, cgi_params("POST", "", second.size()));
    for (std::size_t at = 0; at < second.size(); at += fcgi::max_content) {
        for (const auto& [id, body] : {std::pair{1, std::string_view(first)}, std::pair{2, std::string_view(second)}}) {
            if (at >= body.size()) continue;
            const std::string_view content = body.substr(at, fcgi::max_content);
            send_in_pieces(conn, encode_record(fcgi::stdin_, static_cast<std::uint16_t>(id), content, 1),
                           {8, 8 + 5000, 8 + content.size()});
        }
    }
    conn.send_record(fcgi::stdin_, 2, {});
    conn.send_record(fcgi::stdin_, 1, {});
    EXPECT_TRUE(echoed(conn, 2) == second);
    EXPECT_TRUE(echoed(conn, 1) == first);
}

// Over --max-body-size in the middle of a split record: 413, the rest of
// the body is dropped, and the connection reads the next request right.
TEST(SplitBody, ABodyOverTheLimitInSplitRecordsIs413AndTheConnectionGoesOn) {
    auto d = daemon_process::start(echo_plugin(), {"--max-body-size", "100k"});
    auto conn = d->connect();
    const std::string body = binary_body(3 * fcgi::max_content);
    send_head(conn, 1, cgi_params("POST", "", 90 * 1024));  // announced within the limit
    send_body_split(conn, 1, body, 2);
    echoed(conn, 1, 413);
    EXPECT_EQ(parse_cgi_response(conn.round_trip(2, "", "next", fcgi::keep_conn, "POST").stdout_data).body,
              "next");
    ASSERT_TRUE(d->wait_for_log("body exceeds")) << d->log();
}

// Padding split from its content, and a header split from its content,
// around a record of an unknown request (dropped, as a whole one is).
TEST(SplitBody, AStdinRecordOfNoRequestIsDroppedAcrossSplits) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string stray = binary_body(20000);
    send_in_pieces(conn, encode_record(fcgi::stdin_, 9, stray, 7), {8, 5000, 8 + stray.size()});
    const std::string body = binary_body(30000, 4);
    send_head(conn, 1, cgi_params("POST", "", body.size()));
    send_body_split(conn, 1, body, 7);
    EXPECT_TRUE(echoed(conn, 1) == body);
}

// The STDIN records of `body` in one buffer, record lengths taken in turn
// from `lengths`, each padded to 8 bytes or not at all, then the empty one.
std::string body_records(std::uint16_t id, std::string_view body, const std::vector<std::size_t>& lengths,
                         bool pad_to_8) {
    std::string out;
    std::size_t turn = 0;
    for (std::size_t at = 0; at < body.size(); ++turn) {
        const std::string_view content = body.substr(at, lengths[turn % lengths.size()]);
        const auto padding = static_cast<std::uint8_t>(pad_to_8 ? (8 - content.size() % 8) % 8 : 0);
        out += encode_record(fcgi::stdin_, id, content, padding);
        at += content.size();
    }
    return out + encode_record(fcgi::stdin_, id, {}, 0);
}

// A body sent whole, in records of `lengths`; the connection then serves
// the next request on it.
void expect_body_sent_whole_comes_back(const std::vector<std::size_t>& lengths, bool pad_to_8) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string body = binary_body(3 * 1024 * 1024 + 1111, 9);
    send_head(conn, 1, cgi_params("POST", "", body.size()));
    conn.send_raw(body_records(1, body, lengths, pad_to_8));
    EXPECT_TRUE(echoed(conn, 1) == body);
    EXPECT_EQ(parse_cgi_response(conn.round_trip(2, "", "after", fcgi::keep_conn, "POST").stdout_data).body,
              "after");
}

TEST(WholeBody, RecordsOf32KiBPaddedTo8ComeBackByteForByte) {
    expect_body_sent_whole_comes_back({32 * 1024}, true);
}

TEST(WholeBody, RecordsOfOddLengthsWithoutPaddingComeBackByteForByte) {
    expect_body_sent_whole_comes_back({fcgi::max_content}, false);
}

TEST(WholeBody, RecordsWhoseLengthChangesEveryTimeComeBackByteForByte) {
    // Every guess of the next length is wrong.
    expect_body_sent_whole_comes_back({32 * 1024, 20000, 65535, 4097, 50000}, true);
}

TEST(WholeBody, TwoRequestsRecordsInTurnSentAtOnceEachGetTheirOwnBody) {
    auto d = daemon_process::start(echo_plugin());
    auto conn = d->connect();
    const std::string first = binary_body(1024 * 1024 + 10, 1);
    const std::string second = binary_body(1024 * 1024 + 20, 2);
    send_head(conn, 1, cgi_params("POST", "", first.size()));
    send_head(conn, 2, cgi_params("POST", "", second.size()));
    std::string records;
    constexpr std::size_t length = 32 * 1024;
    for (std::size_t at = 0; at < second.size(); at += length)
        for (const auto& [id, body] : {std::pair{1, std::string_view(first)}, std::pair{2, std::string_view(second)}})
            if (at < body.size())
                records += encode_record(fcgi::stdin_, static_cast<std::uint16_t>(id), body.substr(at, length), 0);
    records += encode_record(fcgi::stdin_, 2, {}, 0) + encode_record(fcgi::stdin_, 1, {}, 0);
    conn.send_raw(records);
    EXPECT_TRUE(echoed(conn, 2) == second);
    EXPECT_TRUE(echoed(conn, 1) == first);
}

}  // namespace
}  // namespace fcgid_test
