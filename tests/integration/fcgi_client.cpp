#include "fcgi_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace fcgid_test {

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

[[noreturn]] void fail_errno(const std::string& what) {
    fail(what + ": " + std::strerror(errno));
}

void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

void put_u32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 24) & 0xff));
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

std::uint8_t byte_at(std::string_view s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

std::uint16_t get_u16(std::string_view s, std::size_t i) {
    return static_cast<std::uint16_t>((byte_at(s, i) << 8) | byte_at(s, i + 1));
}

std::uint32_t get_u32(std::string_view s, std::size_t i) {
    return (std::uint32_t{byte_at(s, i)} << 24) | (std::uint32_t{byte_at(s, i + 1)} << 16) |
           (std::uint32_t{byte_at(s, i + 2)} << 8) | std::uint32_t{byte_at(s, i + 3)};
}

void put_length(std::string& out, std::size_t len) {
    if (len < 128) {
        out.push_back(static_cast<char>(len));
    } else {
        put_u32(out, static_cast<std::uint32_t>(len) | 0x80000000u);
    }
}

int remaining_ms(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until fd is readable (or hung up). False on timeout.
bool wait_readable(int fd, clock_type::time_point deadline) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int rc = ::poll(&p, 1, remaining_ms(deadline));
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) fail_errno("poll");
    }
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string type_name(std::uint8_t type) {
    static const char* const names[] = {"?",           "BEGIN_REQUEST", "ABORT_REQUEST",
                                        "END_REQUEST", "PARAMS",        "STDIN",
                                        "STDOUT",      "STDERR",        "DATA",
                                        "GET_VALUES",  "GET_VALUES_RESULT", "UNKNOWN_TYPE"};
    if (type >= 1 && type <= 11) return names[type];
    return "type " + std::to_string(type);
}

}  // namespace

// ---- Encoding ----------------------------------------------------------------

std::string encode_record(std::uint8_t type, std::uint16_t request_id, std::string_view content,
                          std::uint8_t padding, std::uint8_t version) {
    if (content.size() > fcgi::max_content) fail("encode_record: content longer than 65535");
    std::string out;
    out.reserve(8 + content.size() + padding);
    out.push_back(static_cast<char>(version));
    out.push_back(static_cast<char>(type));
    put_u16(out, request_id);
    put_u16(out, static_cast<std::uint16_t>(content.size()));
    out.push_back(static_cast<char>(padding));
    out.push_back('\0');  // reserved
    out.append(content);
    out.append(padding, '\0');
    return out;
}

std::string encode_begin_request(std::uint16_t request_id, std::uint16_t role, std::uint8_t flags) {
    std::string body;
    put_u16(body, role);
    body.push_back(static_cast<char>(flags));
    body.append(5, '\0');
    return encode_record(fcgi::begin_request, request_id, body);
}

std::string encode_name_value(std::string_view name, std::string_view value) {
    std::string out;
    put_length(out, name.size());
    put_length(out, value.size());
    out.append(name);
    out.append(value);
    return out;
}

std::string encode_name_values(const name_value_list& pairs) {
    std::string out;
    for (const auto& [name, value] : pairs) out += encode_name_value(name, value);
    return out;
}

std::string encode_stream(std::uint8_t type, std::uint16_t request_id, std::string_view stream,
                          std::size_t chunk) {
    if (chunk == 0 || chunk > fcgi::max_content) fail("encode_stream: bad chunk size");
    std::string out;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        out += encode_record(type, request_id, stream.substr(at, chunk));
    }
    return out;
}

name_value_list decode_name_values(std::string_view bytes) {
    name_value_list out;
    std::size_t at = 0;
    auto read_length = [&]() -> std::size_t {
        if (at >= bytes.size()) fail("name-value pair truncated in its length");
        if ((byte_at(bytes, at) & 0x80) == 0) return byte_at(bytes, at++);
        if (at + 4 > bytes.size()) fail("name-value pair truncated in its 4-byte length");
        std::size_t len = get_u32(bytes, at) & 0x7fffffffu;
        at += 4;
        return len;
    };
    while (at < bytes.size()) {
        std::size_t name_len = read_length();
        std::size_t value_len = read_length();
        if (bytes.size() - at < name_len + value_len) fail("name-value pair truncated in its data");
        std::string name(bytes.substr(at, name_len));
        std::string value(bytes.substr(at + name_len, value_len));
        at += name_len + value_len;
        out.emplace_back(std::move(name), std::move(value));
    }
    return out;
}

name_value_list cgi_params(std::string_view method, std::string_view query,
                           std::size_t content_length) {
    std::string uri = "/app";
    if (!query.empty()) uri += "?" + std::string(query);
    name_value_list p = {
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "fcgid-integration-test"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"SERVER_NAME", "localhost"},
        {"SERVER_PORT", "80"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "40000"},
        {"REQUEST_METHOD", std::string(method)},
        {"SCRIPT_NAME", "/app"},
        {"REQUEST_URI", uri},
        {"QUERY_STRING", std::string(query)},
    };
    if (content_length > 0 || method == "POST" || method == "PUT") {
        p.emplace_back("CONTENT_LENGTH", std::to_string(content_length));
        p.emplace_back("CONTENT_TYPE", "application/octet-stream");
    }
    return p;
}

// ---- CGI head ----------------------------------------------------------------

std::optional<std::string> cgi_response::header(std::string_view name) const {
    std::string wanted = lower(name);
    for (const auto& [n, v] : headers) {
        if (lower(n) == wanted) return v;
    }
    return std::nullopt;
}

std::vector<std::string> cgi_response::headers_named(std::string_view name) const {
    std::vector<std::string> out;
    std::string wanted = lower(name);
    for (const auto& [n, v] : headers) {
        if (lower(n) == wanted) out.push_back(v);
    }
    return out;
}

cgi_response parse_cgi_response(std::string_view data) {
    cgi_response out;
    std::size_t at = 0;
    for (;;) {
        std::size_t eol = data.find("\r\n", at);
        if (eol == std::string_view::npos) {
            // No complete head: everything is left as body for the test to see.
            out.body = std::string(data);
            out.headers.clear();
            out.status = 0;
            return out;
        }
        std::string_view line = data.substr(at, eol - at);
        at = eol + 2;
        if (line.empty()) {
            out.head_complete = true;
            break;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;  // malformed line: ignored, as CGI servers do
        std::string name(line.substr(0, colon));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        if (lower(name) == "status") {
            out.status_line = std::string(value);
            try {
                out.status = std::stoi(out.status_line.substr(0, 3));
            } catch (const std::exception&) {
                out.status = -1;
            }
        } else {
            out.headers.emplace_back(std::move(name), std::string(value));
        }
    }
    out.body = std::string(data.substr(at));
    return out;
}

// ---- Connection ----------------------------------------------------------------

fcgi_connection::fcgi_connection(int fd) : fd_(fd) {}

fcgi_connection::fcgi_connection(fcgi_connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      partial_(std::move(other.partial_)),
      management_(std::move(other.management_)) {}

fcgi_connection& fcgi_connection::operator=(fcgi_connection&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        partial_ = std::move(other.partial_);
        management_ = std::move(other.management_);
    }
    return *this;
}

fcgi_connection::~fcgi_connection() { close(); }

void fcgi_connection::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void fcgi_connection::shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

int fcgi_connection::try_connect_tcp(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
        fail("getaddrinfo(" + host + "): " + ::gai_strerror(rc));
    }
    int last_errno = ECONNREFUSED;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            ::close(fd);
            ::freeaddrinfo(list);
            return 0;
        }
        last_errno = errno;
        ::close(fd);
    }
    ::freeaddrinfo(list);
    return last_errno;
}

fcgi_connection fcgi_connection::connect_tcp(const std::string& host, std::uint16_t port,
                                             milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
        fail("getaddrinfo(" + host + "): " + ::gai_strerror(rc));
    }
    // A blocking connect on loopback completes or fails at once; the timeout
    // only guards the (unexpected) case of a full backlog.
    std::string errors;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            ::freeaddrinfo(list);
            int one = 1;
            // Small records must leave at once, or byte-by-byte tests test nothing.
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fcgi_connection(fd);
        }
        errors += std::string(" ") + std::strerror(errno);
        ::close(fd);
    }
    ::freeaddrinfo(list);
    fail("cannot connect to " + host + ":" + service + ":" + errors);
}

fcgi_connection fcgi_connection::connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) fail("unix socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket(AF_UNIX)");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        fail_errno("cannot connect to unix:" + path);
    }
    return fcgi_connection(fd);
}

void fcgi_connection::send_raw(std::string_view bytes) {
    auto deadline = clock_type::now() + default_timeout;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            int rc = ::poll(&p, 1, remaining_ms(deadline));
            if (rc == 0) fail("send: daemon did not read our bytes within the timeout");
            if (rc < 0 && errno != EINTR) fail_errno("poll");
            continue;
        }
        fail_errno("send");
    }
}

void fcgi_connection::send_byte_by_byte(std::string_view bytes, std::chrono::microseconds pause) {
    for (char c : bytes) {
        send_raw(std::string_view(&c, 1));
        // Part of what is tested: each byte must arrive in a read of its own.
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
}

void fcgi_connection::send_record(std::uint8_t type, std::uint16_t request_id,
                                  std::string_view content) {
    send_raw(encode_record(type, request_id, content));
}

void fcgi_connection::send_begin(std::uint16_t request_id, std::uint16_t role, std::uint8_t flags) {
    send_raw(encode_begin_request(request_id, role, flags));
}

void fcgi_connection::send_params(std::uint16_t request_id, const name_value_list& params,
                                  std::size_t chunk) {
    send_raw(encode_stream(fcgi::params, request_id, encode_name_values(params), chunk) +
             encode_record(fcgi::params, request_id, {}));
}

void fcgi_connection::send_stdin(std::uint16_t request_id, std::string_view body,
                                 std::size_t chunk) {
    send_raw(encode_stream(fcgi::stdin_, request_id, body, chunk) +
             encode_record(fcgi::stdin_, request_id, {}));
}

void fcgi_connection::send_abort(std::uint16_t request_id) {
    send_record(fcgi::abort_request, request_id, {});
}

void fcgi_connection::send_get_values(const std::vector<std::string>& names) {
    name_value_list pairs;
    for (const auto& n : names) pairs.emplace_back(n, "");
    send_record(fcgi::get_values, 0, encode_name_values(pairs));
}

void fcgi_connection::send_request(std::uint16_t request_id, std::string_view query,
                                   std::string_view body, std::uint8_t flags,
                                   std::string_view method) {
    // One write for the whole request, as web servers usually do.
    send_raw(encode_begin_request(request_id, fcgi::responder, flags) +
             encode_stream(fcgi::params, request_id,
                           encode_name_values(cgi_params(method, query, body.size()))) +
             encode_record(fcgi::params, request_id, {}) +
             encode_stream(fcgi::stdin_, request_id, body) +
             encode_record(fcgi::stdin_, request_id, {}));
}

bool fcgi_connection::read_exact(std::string& out, std::size_t n, clock_type::time_point deadline,
                                 bool eof_ok) {
    out.clear();
    out.resize(n);
    std::size_t got = 0;
    while (got < n) {
        if (!wait_readable(fd_, deadline)) {
            fail("timed out waiting for the daemon (" + std::to_string(got) + " of " +
                 std::to_string(n) + " bytes read)");
        }
        ssize_t r = ::recv(fd_, out.data() + got, n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += static_cast<std::size_t>(r);
            continue;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        bool closed = r == 0 || errno == ECONNRESET;
        if (closed && got == 0 && eof_ok) return false;
        if (closed) {
            fail("daemon closed the connection in the middle of a record (" + std::to_string(got) +
                 " of " + std::to_string(n) + " bytes)");
        }
        fail_errno("recv");
    }
    return true;
}

std::optional<record> fcgi_connection::read_record(milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    std::string header;
    if (!read_exact(header, 8, deadline, true)) return std::nullopt;
    record rec;
    rec.version = byte_at(header, 0);
    rec.type = byte_at(header, 1);
    rec.request_id = get_u16(header, 2);
    std::size_t content_length = get_u16(header, 4);
    std::size_t padding = byte_at(header, 6);
    if (content_length > 0) read_exact(rec.content, content_length, deadline, false);
    if (padding > 0) {
        std::string pad;
        read_exact(pad, padding, deadline, false);
    }
    return rec;
}

void fcgi_connection::dispatch(record rec) {
    if (rec.request_id == 0) {
        management_.push_back(std::move(rec));
        return;
    }
    response& r = partial_[rec.request_id];
    std::string where = type_name(rec.type) + " for request " + std::to_string(rec.request_id);
    if (rec.version != fcgi::version_1) {
        r.violations.push_back(where + " has version " + std::to_string(rec.version));
    }
    if (r.ended) r.violations.push_back(where + " after its END_REQUEST");
    switch (rec.type) {
    case fcgi::stdout_:
        if (rec.content.empty()) {
            if (r.stdout_terminated) r.violations.push_back("second empty STDOUT record");
            r.stdout_terminated = true;
        } else {
            if (r.stdout_terminated) r.violations.push_back("STDOUT data after the empty STDOUT record");
            r.stdout_data += rec.content;
            ++r.stdout_records;
        }
        break;
    case fcgi::stderr_:
        if (rec.content.empty()) {
            r.stderr_terminated = true;
        } else {
            if (r.stderr_terminated) r.violations.push_back("STDERR data after the empty STDERR record");
            r.stderr_data += rec.content;
        }
        break;
    case fcgi::end_request:
        if (rec.content.size() != 8) {
            r.violations.push_back("END_REQUEST with content length " +
                                   std::to_string(rec.content.size()));
        }
        if (rec.content.size() >= 5) {
            r.app_status = get_u32(rec.content, 0);
            r.protocol_status = byte_at(rec.content, 4);
        }
        r.ended = true;
        break;
    default:
        r.violations.push_back("unexpected " + where);
    }
}

std::optional<response> fcgi_connection::try_read_response(std::uint16_t request_id,
                                                           milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        auto it = partial_.find(request_id);
        if (it != partial_.end() && it->second.ended) {
            response done = std::move(it->second);
            partial_.erase(it);
            return done;
        }
        if (!wait_readable(fd_, deadline)) return std::nullopt;
        // A record has started to arrive: give it the full timeout to complete.
        auto rec = read_record(std::max(milliseconds(remaining_ms(deadline)), default_timeout));
        if (!rec) {
            const response* sofar = it != partial_.end() ? &it->second : nullptr;
            fail("daemon closed the connection before END_REQUEST for request " +
                 std::to_string(request_id) + (sofar ? " (stdout so far: " +
                 std::to_string(sofar->stdout_data.size()) + " bytes)" : " (nothing received)"));
        }
        dispatch(std::move(*rec));
    }
}

response fcgi_connection::read_response(std::uint16_t request_id, milliseconds timeout) {
    auto r = try_read_response(request_id, timeout);
    if (!r) {
        fail("no END_REQUEST for request " + std::to_string(request_id) + " within " +
             std::to_string(timeout.count()) + " ms");
    }
    return std::move(*r);
}

record fcgi_connection::read_management_record(milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (management_.empty()) {
        auto rec = read_record(milliseconds(remaining_ms(deadline)));
        if (!rec) fail("daemon closed the connection while a management record was awaited");
        dispatch(std::move(*rec));
    }
    record rec = std::move(management_.front());
    management_.pop_front();
    return rec;
}

response fcgi_connection::round_trip(std::uint16_t request_id, std::string_view query,
                                     std::string_view body, std::uint8_t flags,
                                     std::string_view method) {
    send_request(request_id, query, body, flags, method);
    return read_response(request_id);
}

bool fcgi_connection::wait_closed(milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    if (!wait_readable(fd_, deadline)) return false;
    char c;
    ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) return true;
    if (r > 0) {
        auto rec = read_record();
        fail("expected the daemon to close the connection, got a " +
             (rec ? type_name(rec->type) + " record for request " +
                        std::to_string(rec->request_id)
                  : std::string("close mid-record")));
    }
    fail_errno("recv");
}

void fcgi_connection::sync(milliseconds timeout) {
    send_get_values({"FCGI_MPXS_CONNS"});
    const record rec = read_management_record(timeout);
    if (rec.type != fcgi::get_values_result) {
        fail("sync: expected GET_VALUES_RESULT, got a " + type_name(rec.type) + " record");
    }
}

bool fcgi_connection::readable_within(milliseconds timeout) {
    return wait_readable(fd_, clock_type::now() + timeout);
}

bool fcgi_connection::is_open() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return true;
    char c;
    ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

}  // namespace fcgid_test
