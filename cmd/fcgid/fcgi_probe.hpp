// fcgi_probe: the FastCGI client behind `fcgid ping` and `fcgid status`.
// Sends one FCGI_RESPONDER GET request to a running fcgid (or any FastCGI
// application, PHP-FPM included) and returns its CGI answer. Blocking, one
// request per call, bounded by one deadline from connect to the last record:
// a command-line tool, not the serving loop. Records are written and read
// with core's codec (fcgi/encoder, fcgi/decoder, fcgi/name_value).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fcgid::cmd {

// Where to send the request. `unix:/path`, or any text containing '/', is a
// unix socket; `HOST:PORT` and `[IPV6]:PORT` are TCP.
struct probe_address {
    bool unix_socket = false;
    std::string host;  // tcp: a name or numeric address, without brackets
    std::string port;  // tcp: 1 to 65535, as text
    std::string path;  // unix socket
};

// Throws std::invalid_argument with a one-line reason when `text` is neither form.
probe_address parse_probe_address(const std::string& text);

struct probe_request {
    std::string path;   // REQUEST_URI's path part and SCRIPT_NAME, e.g. /ping
    std::string query;  // QUERY_STRING, e.g. json&full; empty for none
    std::chrono::milliseconds timeout{5000};  // connect + send + whole answer
};

struct probe_answer {
    int status = 200;  // the CGI Status: header, 200 when absent
    std::string reason;  // its text after the code ("Not Found"), may be empty
    std::vector<std::pair<std::string, std::string>> headers;  // CGI head, in order
    std::string body;
    std::chrono::steady_clock::duration elapsed{};  // from before connect to END_REQUEST
};

// Why a probe got no answer, as one line for "fcgid: error: ...": "connection
// refused", "no such socket", "no answer within 5 s", "protocol error: ...".
class probe_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Sends the request and reads the answer. Throws probe_error.
probe_answer probe(const probe_address& address, const probe_request& request);

}  // namespace fcgid::cmd
