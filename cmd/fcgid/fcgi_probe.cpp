#include "fcgi_probe.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>

#include "fcgi/decoder.hpp"
#include "fcgi/encoder.hpp"
#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"
#include "fcgid/version.h"

namespace fcgid::cmd {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

constexpr std::uint16_t request_id = 1;
// A status page with a row per worker is a few hundred KiB at most; more is
// not an answer to a probe, and a bound keeps the client's memory bounded.
constexpr std::size_t max_answer_bytes = 16 * 1024 * 1024;

std::string request_bytes(const probe_request& request) {
    const std::string uri = request.query.empty() ? request.path : request.path + "?" + request.query;
    // What nginx's fastcgi_params sends for a GET, so that the application
    // (fcgid's --ping-path, PHP-FPM's ping.path) sees an ordinary request.
    const std::pair<std::string_view, std::string_view> params[] = {
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "fcgid-probe/" FCGID_VERSION_STRING},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"SERVER_NAME", "localhost"},
        {"SERVER_ADDR", "127.0.0.1"},
        {"SERVER_PORT", "80"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "0"},
        {"REQUEST_METHOD", "GET"},
        {"REQUEST_URI", uri},
        {"DOCUMENT_URI", request.path},
        {"SCRIPT_NAME", request.path},
        // PHP-FPM matches ping.path and pm.status_path only on a request
        // with a script file (else 404 "File not found."): the path as
        // SCRIPT_FILENAME, as the usual cgi-fcgi health check sends it.
        {"SCRIPT_FILENAME", request.path},
        {"QUERY_STRING", request.query},
        {"CONTENT_LENGTH", ""},
        {"CONTENT_TYPE", ""},
        {"HTTP_HOST", "localhost"},
        {"HTTP_USER_AGENT", "fcgid-probe/" FCGID_VERSION_STRING},
    };
    std::string pairs;
    for (const auto& [name, value] : params) fcgi::append_name_value(pairs, name, value);

    std::string out;
    // No keep_conn: the application closes the connection after answering.
    fcgi::append_begin_request(out, request_id, fcgi::role::responder, 0);
    fcgi::append_stream(out, fcgi::record_type::params, request_id, pairs);
    fcgi::append_stream_end(out, fcgi::record_type::params, request_id);
    fcgi::append_stream_end(out, fcgi::record_type::stdin_, request_id);
    return out;
}

std::string seconds_text(std::chrono::milliseconds timeout) {
    if (timeout.count() % 1000 == 0) return fmt::format("{} s", timeout.count() / 1000);
    return fmt::format("{:g} s", static_cast<double>(timeout.count()) / 1000.0);
}

// An error code as the end of "fcgid: error: ping ADDRESS: ...".
std::string reason_text(const error_code& ec) {
    namespace errc = boost::system::errc;
    if (ec == asio::error::connection_refused) return "connection refused";
    if (ec == errc::no_such_file_or_directory) return "no such socket";
    if (ec == errc::permission_denied) return "permission denied";
    if (ec == asio::error::connection_reset) return "connection reset";
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
        return "cannot resolve the host name";
    std::string text = ec.message();
    if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
    return text;
}

// Runs `io` until the one operation started before completes (it sets
// `done`) or `deadline` passes; then `cancel` aborts it and the timeout is
// reported, naming `what` was under way.
template <class Cancel>
void finish_or_time_out(asio::io_context& io, const bool& done, clock_type::time_point deadline,
                        std::chrono::milliseconds timeout, const char* what, Cancel cancel) {
    io.restart();
    io.run_until(deadline);
    if (done) return;
    cancel();
    io.restart();
    io.run();  // the aborted handler
    throw probe_error(fmt::format("no answer within {} ({})", seconds_text(timeout), what));
}

// The CGI head of the STDOUT stream: its headers and Status (RFC 3875 6.3).
void parse_cgi_head(std::string_view stdout_data, probe_answer& answer) {
    std::size_t head_end = std::string_view::npos;
    std::size_t body_start = 0;
    for (const std::string_view blank : {std::string_view("\r\n\r\n"), std::string_view("\n\n")}) {
        const std::size_t at = stdout_data.find(blank);
        if (at != std::string_view::npos && at < head_end) {
            head_end = at;
            body_start = at + blank.size();
        }
    }
    if (head_end == std::string_view::npos)
        throw probe_error("protocol error: the answer has no CGI header block");
    std::string_view head = stdout_data.substr(0, head_end);
    answer.body.assign(stdout_data.substr(body_start));
    while (!head.empty()) {
        const std::size_t eol = head.find('\n');
        std::string_view line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            throw probe_error(fmt::format("protocol error: bad CGI header line '{}'", line));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        answer.headers.emplace_back(line.substr(0, colon), value);
    }
    for (const auto& [name, value] : answer.headers) {
        if (name.size() != 6 || !std::equal(name.begin(), name.end(), "status", [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
            continue;
        int code = 0;
        const auto r = std::from_chars(value.data(), value.data() + value.size(), code);
        if (r.ec != std::errc() || r.ptr - value.data() != 3 || code < 100 || code > 999)
            throw probe_error(fmt::format("protocol error: bad Status header '{}'", value));
        answer.status = code;
        std::string_view reason(r.ptr, static_cast<std::size_t>(value.data() + value.size() - r.ptr));
        while (!reason.empty() && reason.front() == ' ') reason.remove_prefix(1);
        answer.reason.assign(reason);
        break;
    }
}

// fcgid closes a connection from a peer --allow does not list at once: the
// client sees an end of file, or a reset when its request was still unread.
constexpr const char* closed_without_answer =
    "the connection was closed without an answer (is this host allowed to connect?)";

bool closed_by_peer(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

// Sends the request on a connected socket and reads records until this
// request's END_REQUEST.
template <class Socket>
probe_answer exchange(asio::io_context& io, Socket& socket, const probe_request& request,
                      clock_type::time_point deadline) {
    const auto close = [&socket] {
        error_code ignored;
        socket.close(ignored);
    };
    const std::string out = request_bytes(request);
    bool done = false;
    error_code result;
    asio::async_write(socket, asio::buffer(out), [&](const error_code& ec, std::size_t) {
        result = ec;
        done = true;
    });
    finish_or_time_out(io, done, deadline, request.timeout, "sending the request", close);
    if (closed_by_peer(result)) throw probe_error(closed_without_answer);
    if (result) throw probe_error(reason_text(result));

    std::string input;         // bytes read and not decoded yet
    std::string stdout_data;   // the STDOUT stream so far
    std::array<char, 16384> chunk;
    bool nothing_read = true;
    for (;;) {
        // Decode every whole record already here.
        std::size_t used = 0;
        for (;;) {
            fcgi::record_view record;
            std::error_code decode_ec;
            const std::size_t size = fcgi::decode_record(std::string_view(input).substr(used), record, decode_ec);
            if (decode_ec == fcgi::errc::need_more) break;
            if (decode_ec) throw probe_error("protocol error: " + decode_ec.message());
            used += size;
            if (record.header.request_id != request_id) continue;  // management records
            if (record.header.type == fcgi::record_type::stdout_) {
                stdout_data.append(record.content);
                if (stdout_data.size() > max_answer_bytes)
                    throw probe_error("protocol error: the answer is larger than 16 MiB");
            } else if (record.header.type == fcgi::record_type::end_request) {
                if (record.content.size() < 8) throw probe_error("protocol error: short END_REQUEST record");
                const auto status = static_cast<fcgi::protocol_status>(record.content[4]);
                if (status == fcgi::protocol_status::overloaded)
                    throw probe_error("the application is overloaded (FCGI_OVERLOADED)");
                if (status != fcgi::protocol_status::request_complete)
                    throw probe_error(fmt::format("the application refused the request (protocol status {})",
                                                  static_cast<int>(status)));
                probe_answer answer;
                parse_cgi_head(stdout_data, answer);
                return answer;
            }
            // STDERR is the application's log, not the answer: left out.
        }
        input.erase(0, used);

        done = false;
        std::size_t got = 0;
        socket.async_read_some(asio::buffer(chunk), [&](const error_code& ec, std::size_t n) {
            result = ec;
            got = n;
            done = true;
        });
        finish_or_time_out(io, done, deadline, request.timeout, "waiting for the answer", close);
        if (closed_by_peer(result) && nothing_read) throw probe_error(closed_without_answer);
        if (result == asio::error::eof)
            throw probe_error("protocol error: the connection closed before the answer ended");
        nothing_read = false;
        if (result) throw probe_error(reason_text(result));
        input.append(chunk.data(), got);
    }
}

}  // namespace

probe_address parse_probe_address(const std::string& text) {
    probe_address address;
    if (text.rfind("unix:", 0) == 0 || text.find('/') != std::string::npos) {
        address.unix_socket = true;
        address.path = text.rfind("unix:", 0) == 0 ? text.substr(5) : text;
        if (address.path.empty()) throw std::invalid_argument("'" + text + "' names no socket path");
        // sockaddr_un's sun_path: 108 bytes with the terminating zero.
        if (address.path.size() > 107)
            throw std::invalid_argument("'" + text + "': a unix socket path is at most 107 bytes");
        return address;
    }
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("'" + text + "' is not HOST:PORT, [IPV6]:PORT or unix:PATH");
    address.host = text.substr(0, colon);
    address.port = text.substr(colon + 1);
    if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']')
        address.host = address.host.substr(1, address.host.size() - 2);
    else if (address.host.find(':') != std::string::npos)
        throw std::invalid_argument("'" + text + "': write an IPv6 address in brackets, e.g. [::1]:9000");
    unsigned port = 0;
    const auto r = std::from_chars(address.port.data(), address.port.data() + address.port.size(), port);
    if (address.host.empty() || r.ec != std::errc() || r.ptr != address.port.data() + address.port.size() ||
        port == 0 || port > 65535)
        throw std::invalid_argument("'" + text + "' is not HOST:PORT with a port from 1 to 65535");
    return address;
}

// Starts a connect on `socket` with `start_connect(handler)`, waits for it
// within the deadline, then exchanges the request and answer over it.
template <class Socket, class StartConnect>
probe_answer connect_and_exchange(asio::io_context& io, Socket& socket, const probe_request& request,
                                  clock_type::time_point deadline, StartConnect start_connect) {
    bool done = false;
    error_code result;
    start_connect([&result, &done](const error_code& ec) {
        result = ec;
        done = true;
    });
    finish_or_time_out(io, done, deadline, request.timeout, "connecting", [&socket] {
        error_code ignored;
        socket.close(ignored);
    });
    if (result) throw probe_error(reason_text(result));
    return exchange(io, socket, request, deadline);
}

probe_answer probe(const probe_address& address, const probe_request& request) {
    const auto start = clock_type::now();
    const auto deadline = start + request.timeout;
    asio::io_context io(1);
    probe_answer answer;
    if (address.unix_socket) {
        asio::local::stream_protocol::socket socket(io);
        answer = connect_and_exchange(io, socket, request, deadline, [&](auto connected) {
            socket.async_connect(asio::local::stream_protocol::endpoint(address.path), connected);
        });
    } else {
        asio::ip::tcp::resolver resolver(io);
        asio::ip::tcp::resolver::results_type endpoints;
        error_code numeric_ec;
        const auto numeric = asio::ip::make_address(address.host, numeric_ec);
        if (!numeric_ec) {
            // A numeric address needs no resolver (and its helper thread).
            endpoints = asio::ip::tcp::resolver::results_type::create(
                asio::ip::tcp::endpoint(numeric, static_cast<std::uint16_t>(std::stoul(address.port))),
                address.host, address.port);
        } else {
            bool done = false;
            error_code result;
            resolver.async_resolve(address.host, address.port,
                                   [&](const error_code& ec, asio::ip::tcp::resolver::results_type found) {
                                       result = ec;
                                       endpoints = std::move(found);
                                       done = true;
                                   });
            finish_or_time_out(io, done, deadline, request.timeout, "resolving the host name",
                               [&resolver] { resolver.cancel(); });
            if (result) throw probe_error(reason_text(result));
        }
        asio::ip::tcp::socket socket(io);
        answer = connect_and_exchange(io, socket, request, deadline, [&](auto connected) {
            asio::async_connect(socket, endpoints,
                                [connected](const error_code& ec, const asio::ip::tcp::endpoint&) { connected(ec); });
        });
    }
    answer.elapsed = clock_type::now() - start;
    return answer;
}

}  // namespace fcgid::cmd
