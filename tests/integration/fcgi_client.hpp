// fcgi_client.hpp: a small, blocking FastCGI 1.0 client for the integration tests.
//
// Written from the FastCGI specification on purpose, sharing no code with the
// daemon's core/fcgi codec: a bug made symmetrically in an encoder and its
// decoder would pass a round-trip test, but not this one.
//
// Every read is bounded by a timeout (poll), so a daemon that stops answering
// fails the test with a message instead of hanging it. Errors are thrown as
// std::runtime_error; GoogleTest reports them as failures of the test.
#ifndef FCGID_TESTS_INTEGRATION_FCGI_CLIENT_HPP
#define FCGID_TESTS_INTEGRATION_FCGI_CLIENT_HPP

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fcgid_test {

using namespace std::chrono_literals;
using milliseconds = std::chrono::milliseconds;

// Default bound for any single wait on the daemon.
inline constexpr milliseconds default_timeout{10'000};

// ---- Wire constants, from the FastCGI 1.0 specification -------------------

namespace fcgi {
inline constexpr std::uint8_t version_1 = 1;

inline constexpr std::uint8_t begin_request = 1;
inline constexpr std::uint8_t abort_request = 2;
inline constexpr std::uint8_t end_request = 3;
inline constexpr std::uint8_t params = 4;
inline constexpr std::uint8_t stdin_ = 5;
inline constexpr std::uint8_t stdout_ = 6;
inline constexpr std::uint8_t stderr_ = 7;
inline constexpr std::uint8_t data = 8;
inline constexpr std::uint8_t get_values = 9;
inline constexpr std::uint8_t get_values_result = 10;
inline constexpr std::uint8_t unknown_type = 11;

inline constexpr std::uint16_t responder = 1;
inline constexpr std::uint16_t authorizer = 2;
inline constexpr std::uint16_t filter = 3;

inline constexpr std::uint8_t keep_conn = 1;

inline constexpr std::uint8_t request_complete = 0;
inline constexpr std::uint8_t cant_mpx_conn = 1;
inline constexpr std::uint8_t overloaded = 2;
inline constexpr std::uint8_t unknown_role = 3;

inline constexpr std::size_t max_content = 65535;
}  // namespace fcgi

using name_value_list = std::vector<std::pair<std::string, std::string>>;

// ---- Encoding (pure functions, byte by byte) -------------------------------

// One record: 8-byte header, content, `padding` zero bytes. `version` is a
// parameter so tests can send invalid ones. content.size() must be <= 65535.
std::string encode_record(std::uint8_t type, std::uint16_t request_id, std::string_view content,
                          std::uint8_t padding = 0, std::uint8_t version = fcgi::version_1);

// BEGIN_REQUEST record with its 8-byte body (role, flags, 5 reserved bytes).
std::string encode_begin_request(std::uint16_t request_id, std::uint16_t role, std::uint8_t flags);

// One name-value pair: each length in 1 byte when < 128, else in 4 bytes with
// the high bit set.
std::string encode_name_value(std::string_view name, std::string_view value);
std::string encode_name_values(const name_value_list& pairs);

// Splits `stream` into records of `type` of at most `chunk` content bytes each
// (the last may be shorter). Empty input gives no record: terminators are
// separate on purpose.
std::string encode_stream(std::uint8_t type, std::uint16_t request_id, std::string_view stream,
                          std::size_t chunk = fcgi::max_content);

// Parses a name-value stream (GET_VALUES_RESULT body). Throws on truncation.
name_value_list decode_name_values(std::string_view bytes);

// The params of an ordinary GET/POST for `script` with `query`, as a web server
// sends them.
name_value_list cgi_params(std::string_view method, std::string_view query,
                           std::size_t content_length = 0);

// ---- Decoding ---------------------------------------------------------------

struct record {
    std::uint8_t version = 0;
    std::uint8_t type = 0;
    std::uint16_t request_id = 0;
    std::string content;
};

// Everything the daemon sent for one request id.
struct response {
    std::string stdout_data;
    std::string stderr_data;
    int stdout_records = 0;          // non-empty STDOUT records
    bool stdout_terminated = false;  // an empty STDOUT record was seen
    bool stderr_terminated = false;  // an empty STDERR record was seen
    bool ended = false;              // END_REQUEST was seen
    std::uint32_t app_status = 0;
    std::uint8_t protocol_status = 0xff;
    std::vector<std::string> violations;  // records after END_REQUEST, data after a terminator...
};

// The CGI-style head of a response: "Status: 200 OK\r\nName: value\r\n...\r\n\r\nbody".
struct cgi_response {
    int status = 0;              // 0 when there was no Status line
    std::string status_line;     // the value of the Status header, e.g. "200 OK"
    name_value_list headers;     // in order, Status excluded, names as sent
    std::string body;
    bool head_complete = false;  // the blank line ending the head was found

    // First header with this name (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
    // All headers with this name, in order.
    std::vector<std::string> headers_named(std::string_view name) const;
};

cgi_response parse_cgi_response(std::string_view stdout_data);

// ---- A connection -----------------------------------------------------------

class fcgi_connection {
public:
    // Connects to host:port (numeric or name; tries every address) or to a
    // unix socket. Throws when it cannot connect.
    static fcgi_connection connect_tcp(const std::string& host, std::uint16_t port,
                                       milliseconds timeout = default_timeout);
    static fcgi_connection connect_unix(const std::string& path);
    // Only tries once; returns the errno of a failed connect (0 on success).
    static int try_connect_tcp(const std::string& host, std::uint16_t port);

    fcgi_connection(fcgi_connection&& other) noexcept;
    fcgi_connection& operator=(fcgi_connection&& other) noexcept;
    fcgi_connection(const fcgi_connection&) = delete;
    fcgi_connection& operator=(const fcgi_connection&) = delete;
    ~fcgi_connection();

    // -- Sending (each throws if the bytes cannot be written in time) --
    void send_raw(std::string_view bytes);
    // One byte per write(), with a short pause, so the daemon sees every split.
    void send_byte_by_byte(std::string_view bytes, std::chrono::microseconds pause = 200us);
    void send_record(std::uint8_t type, std::uint16_t request_id, std::string_view content);
    void send_begin(std::uint16_t request_id, std::uint16_t role = fcgi::responder,
                    std::uint8_t flags = fcgi::keep_conn);
    // Params stream in records of at most `chunk` bytes, then the empty PARAMS record.
    void send_params(std::uint16_t request_id, const name_value_list& params,
                     std::size_t chunk = fcgi::max_content);
    // Body in records of at most `chunk` bytes, then the empty STDIN record.
    void send_stdin(std::uint16_t request_id, std::string_view body,
                    std::size_t chunk = fcgi::max_content);
    void send_abort(std::uint16_t request_id);
    void send_get_values(const std::vector<std::string>& names);

    // BEGIN (keep_conn as given), params for `method` + `query`, body, terminators.
    void send_request(std::uint16_t request_id, std::string_view query, std::string_view body = {},
                      std::uint8_t flags = fcgi::keep_conn, std::string_view method = "GET");

    // -- Receiving --
    // The next record, or nullopt when the daemon closed the connection at a
    // record boundary. Throws on timeout or on a connection closed mid-record.
    std::optional<record> read_record(milliseconds timeout = default_timeout);
    // Reads until END_REQUEST for `request_id`. Records of other ids are kept
    // for their own read_response; management records (id 0) go to
    // management_records(). Throws on timeout or when the daemon closes first.
    response read_response(std::uint16_t request_id, milliseconds timeout = default_timeout);
    // Like read_response but returns nullopt when the timeout expires first.
    std::optional<response> try_read_response(std::uint16_t request_id, milliseconds timeout);
    // The next record with request id 0.
    record read_management_record(milliseconds timeout = default_timeout);

    // send_request + read_response.
    response round_trip(std::uint16_t request_id, std::string_view query,
                        std::string_view body = {}, std::uint8_t flags = fcgi::keep_conn,
                        std::string_view method = "GET");

    // Sends an FCGI_GET_VALUES and waits for its result. The daemon handles a
    // connection's records in the order they were sent, so once the result is
    // here, everything sent before it was read and acted on: a request whose
    // STDIN ended is in flight (handed to the plugin, or answered). The wait
    // for "the daemon has it now", with no sleep. Records of requests that
    // arrive meanwhile are kept for their read_response.
    void sync(milliseconds timeout = default_timeout);
    // True once bytes (or an EOF) can be read within `timeout`, without
    // reading them: e.g. the daemon has begun to answer.
    bool readable_within(milliseconds timeout = default_timeout);

    // True when the daemon closes the connection (EOF or reset) within `timeout`
    // with no further bytes; false on timeout. Throws if a record arrives instead.
    bool wait_closed(milliseconds timeout = default_timeout);
    // True if the peer is still connected right now (no EOF pending).
    bool is_open();

    void shutdown_write();
    void close();
    int fd() const { return fd_; }

private:
    explicit fcgi_connection(int fd);
    // Reads exactly n bytes into out. Returns false on EOF before the first
    // byte when eof_ok; throws otherwise.
    bool read_exact(std::string& out, std::size_t n, std::chrono::steady_clock::time_point deadline,
                    bool eof_ok);
    void dispatch(record rec);

    int fd_ = -1;
    std::map<std::uint16_t, response> partial_;
    std::deque<record> management_;
};

}  // namespace fcgid_test

#endif  // FCGID_TESTS_INTEGRATION_FCGI_CLIENT_HPP
