// A web server that breaks the protocol: one log line names the peer, the
// request id and the offending value, and the answers already queued on the
// connection are written before it closes.
#include <gtest/gtest.h>

#include <string>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

// A whole GET for `id` with KEEP_CONN: begin, params, end of params, empty body.
std::string whole_request(std::uint16_t id) {
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_stream(fcgi::params, id, encode_name_values(cgi_params("GET", ""))) +
           encode_record(fcgi::params, id, "") + encode_record(fcgi::stdin_, id, "");
}

TEST(ProtocolErrors, AnswersQueuedBeforeABadRecordAreWrittenThenTheConnectionCloses) {
    auto daemon = daemon_process::start(hello_plugin());
    auto conn = daemon->connect();
    // Two answers become due in the same read as the bad record after them.
    conn.send_raw(whole_request(1) + whole_request(2) +
                  encode_record(fcgi::stdin_, 7, "x\n", 0, /*version=*/2));
    for (std::uint16_t id : {1, 2}) {
        const response r = conn.read_response(id);
        EXPECT_TRUE(r.ended) << "request " << id;
        EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200) << "request " << id;
    }
    EXPECT_TRUE(conn.wait_closed());
    ASSERT_TRUE(daemon->wait_for_log("closing connection: "));
    const std::string log = daemon->log();
    // One line: peer, the error, the request id, and the bad record's fields,
    // its content escaped.
    EXPECT_NE(log.find("127.0.0.1:"), std::string::npos) << log;
    EXPECT_NE(log.find("(request 7): version 2, type 5 (STDIN), request id 7, content length 2, "
                       "content \"x\\x0a\""),
              std::string::npos)
        << log;
    EXPECT_EQ(count_of(log, "closing connection"), 1u) << log;
}

TEST(ProtocolErrors, ABeginForRequestIdZeroNamesTheRecord) {
    auto daemon = daemon_process::start(hello_plugin());
    auto conn = daemon->connect();
    conn.send_raw(encode_begin_request(0, fcgi::responder, fcgi::keep_conn));
    EXPECT_TRUE(conn.wait_closed());
    ASSERT_TRUE(daemon->wait_for_log("closing connection: "));
    EXPECT_NE(daemon->log().find("(request 0): version 1, type 1 (BEGIN_REQUEST), request id 0, "
                                 "content length 8"),
              std::string::npos)
        << daemon->log();
    // The process and other connections are unharmed.
    auto other = daemon->connect();
    EXPECT_TRUE(other.round_trip(1, "").ended);
}

}  // namespace
}  // namespace fcgid_test
