#include "hardening_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <utility>

namespace fcgid_hardening {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

int remaining_ms(clock_type::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

// The end of the log: enough to see what happened, short enough to read.
std::string log_tail(const daemon_process& d) {
    std::string log = d.log();
    constexpr std::size_t keep = 6000;
    if (log.size() > keep) log = "[...]\n" + log.substr(log.size() - keep);
    return log;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The probe's params: few, so that it passes even --max-params-count 10.
fcgid_test::name_value_list probe_params(std::size_t content_length) {
    return {{"REQUEST_METHOD", "POST"},
            {"REQUEST_URI", "/probe"},
            {"QUERY_STRING", ""},
            {"CONTENT_LENGTH", std::to_string(content_length)}};
}

}  // namespace

// ---- Process facts ---------------------------------------------------------------

std::uint64_t resident_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "... kB"
    }
    return 0;
}

rlim_t raise_fd_limit(rlim_t wanted) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) fail("getrlimit(RLIMIT_NOFILE) failed");
    if (lim.rlim_cur >= wanted) return lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > wanted ? wanted : lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) fail("setrlimit(RLIMIT_NOFILE) failed");
    return lim.rlim_cur;
}

std::string local_endpoint(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sin_family != AF_INET)
        return "?";
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

// ---- rss_sampler -------------------------------------------------------------------

rss_sampler::rss_sampler(pid_t pid, milliseconds period)
    : thread_([this, pid, period] {
          while (!stop_.load()) {
              const std::uint64_t rss = resident_bytes(pid);
              std::uint64_t peak = peak_.load();
              while (rss > peak && !peak_.compare_exchange_weak(peak, rss)) {
              }
              ++samples_;
              std::this_thread::sleep_for(period);  // the sampling period, not a wait for an event
          }
      }) {}

rss_sampler::~rss_sampler() { stop(); }

void rss_sampler::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

// ---- target --------------------------------------------------------------------------

target::target(std::unique_ptr<daemon_process> d, std::string plugin, std::string probe_source)
    : daemon_(std::move(d)), plugin_(std::move(plugin)), probe_source_(std::move(probe_source)) {}

std::unique_ptr<target> target::start(const std::string& plugin, std::vector<std::string> extra) {
    return adopt(daemon_process::start(plugin, std::move(extra)), plugin);
}

std::unique_ptr<target> target::adopt(std::unique_ptr<daemon_process> d, const std::string& plugin,
                                      std::string probe_source) {
    std::unique_ptr<target> t(new target(std::move(d), plugin, std::move(probe_source)));
    // Warm up first, so that what any first request allocates counts in the baseline.
    if (auto ok = t->survived(); !ok) fail(std::string("warm-up request failed: ") + ok.message());
    t->baseline_ = resident_bytes(t->daemon_->pid());
    return t;
}

::testing::AssertionResult target::survived() {
    daemon_process& d = *daemon_;
    if (!d.running()) {
        return ::testing::AssertionFailure()
               << "the daemon is gone (exit code " << d.wait_exit(0ms).value_or(-1) << "); log:\n"
               << log_tail(d);
    }
    const std::uint64_t rss = resident_bytes(d.pid());
    if (rss == 0) return ::testing::AssertionFailure() << "cannot read the daemon's VmRSS";
    if (baseline_ > 0 && rss > baseline_ + rss_growth_bound) {
        return ::testing::AssertionFailure()
               << "resident memory grew from " << baseline_ / 1024 << " KiB to " << rss / 1024
               << " KiB (bound: +" << rss_growth_bound / mib << " MiB); log:\n"
               << log_tail(d);
    }
    const std::string body = "still serving, probe " + std::to_string(++probes_);
    const std::string expected = ends_with(plugin_, "/hello.so") ? "<h1>Hello, World!</h1>" : body;
    try {
        const auto http = probe(body);
        if (http.status != 200 || http.body != expected) {
            return ::testing::AssertionFailure()
                   << "a request on a new connection got status " << http.status << " and body \""
                   << http.body.substr(0, 200) << "\" (expected 200 and \"" << expected
                   << "\"); log:\n"
                   << log_tail(d);
        }
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure()
               << "a request on a new connection failed: " << e.what() << "; log:\n"
               << log_tail(d);
    }
    return ::testing::AssertionSuccess() << "alive, RSS " << rss / 1024 << " KiB (baseline "
                                         << baseline_ / 1024 << " KiB), served a new connection";
}

fcgid_test::cgi_response target::probe(const std::string& body) {
    if (!probe_source_.empty()) return post_from(probe_source_, daemon_->host(), daemon_->port(), body);
    fcgi_connection conn = daemon_->connect();
    conn.send_begin(1);
    conn.send_params(1, probe_params(body.size()));
    conn.send_stdin(1, body);
    return fcgid_test::parse_cgi_response(conn.read_response(1).stdout_data);
}

// ---- raw_socket -------------------------------------------------------------------------

raw_socket raw_socket::connect(const std::string& host, std::uint16_t port, const std::string& source) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
    raw_socket s(fd);
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1) fail("bad source address " + source);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0)
            fail("bind to " + source + ": " + std::strerror(errno));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &to.sin_addr) != 1) fail("bad address " + host);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
        fail("connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

raw_socket::raw_socket(raw_socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

raw_socket& raw_socket::operator=(raw_socket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

raw_socket::~raw_socket() { close(); }

void raw_socket::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void raw_socket::reset() {
    if (fd_ < 0) return;
    const linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close();
}

send_result raw_socket::send_some(std::string_view bytes, milliseconds timeout) {
    send_result r;
    const auto deadline = clock_type::now() + timeout;
    while (r.sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + r.sent, bytes.size() - r.sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            r.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            const int rc = ::poll(&p, 1, remaining_ms(deadline));
            if (rc == 0) {
                r.timed_out = true;
                return r;
            }
            continue;  // writable, or an error that the next send reports
        }
        r.error = errno;
        return r;
    }
    return r;
}

read_result raw_socket::read_some(std::size_t count, milliseconds timeout) {
    read_result r;
    const auto deadline = clock_type::now() + timeout;
    char buf[65536];
    while (r.data.size() < count) {
        pollfd p{fd_, POLLIN, 0};
        const int rc = ::poll(&p, 1, remaining_ms(deadline));
        if (rc == 0) return r;
        if (rc < 0) {
            if (errno == EINTR) continue;
            fail(std::string("poll: ") + std::strerror(errno));
        }
        const std::size_t want = std::min(sizeof buf, count - r.data.size());
        const ssize_t n = ::recv(fd_, buf, want, MSG_DONTWAIT);
        if (n > 0) {
            r.data.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        r.closed = true;
        r.reset = n < 0 && errno == ECONNRESET;
        return r;
    }
    return r;
}

bool raw_socket::sync(milliseconds timeout) {
    send_some(fcgid_test::encode_record(fcgi::get_values, 0,
                                        fcgid_test::encode_name_values({{"FCGI_MPXS_CONNS", ""}})));
    const auto deadline = clock_type::now() + timeout;
    const auto left = [&] { return std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()); };
    const read_result header = read_some(8, left());
    if (header.data.size() < 8) return false;
    const auto byte = [&](int i) { return static_cast<unsigned char>(header.data[i]); };
    const std::size_t rest = (std::size_t{byte(4)} << 8 | byte(5)) + byte(6);
    if (rest > 0 && read_some(rest, left()).data.size() < rest) return false;
    return byte(1) == fcgi::get_values_result;
}

read_result raw_socket::read_until_closed(milliseconds timeout) {
    return read_some(static_cast<std::size_t>(-1), timeout);
}

namespace {

struct thread_look {
    char state = '?';
    long long voluntary_switches = -1;
};

// The state and voluntary context switches of each thread of `pid` named `name`.
std::map<std::string, thread_look> look_at_threads(pid_t pid, std::string_view name) {
    std::map<std::string, thread_look> out;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(task, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string dir = it->path().string();
        std::string comm = fcgid_test::read_file(dir + "/comm");
        if (!comm.empty() && comm.back() == '\n') comm.pop_back();
        if (comm != name) continue;
        thread_look look;
        const std::string stat = fcgid_test::read_file(dir + "/stat");
        const auto paren = stat.rfind(')');
        if (paren != std::string::npos && paren + 2 < stat.size()) look.state = stat[paren + 2];
        const std::string status = fcgid_test::read_file(dir + "/status");
        static constexpr std::string_view key = "voluntary_ctxt_switches:";
        if (const auto at = status.find(key); at != std::string::npos)
            look.voluntary_switches = std::atoll(status.c_str() + at + key.size());
        out[it->path().filename().string()] = look;
    }
    return out;
}

}  // namespace

bool wait_thread_blocked(pid_t pid, std::string_view name, milliseconds timeout) {
    std::map<std::string, thread_look> before;
    return fcgid_test::poll_until(
        [&] {
            auto now = look_at_threads(pid, name);
            bool blocked = false;
            for (const auto& [tid, look] : now) {
                const auto was = before.find(tid);
                blocked = blocked || (look.state == 'S' && was != before.end() && was->second.state == 'S' &&
                                      look.voluntary_switches == was->second.voluntary_switches);
            }
            before = std::move(now);
            return blocked;
        },
        timeout, 20ms);
}

fcgid_test::cgi_response post_from(const std::string& source, const std::string& host,
                                   std::uint16_t port, const std::string& body) {
    using namespace fcgid_test;
    raw_socket s = raw_socket::connect(host, port, source);
    const std::string request =
        encode_begin_request(1, fcgi::responder, 0) +
        encode_stream(fcgi::params, 1, encode_name_values(probe_params(body.size()))) +
        encode_record(fcgi::params, 1, {}) + encode_stream(fcgi::stdin_, 1, body) +
        encode_record(fcgi::stdin_, 1, {});
    if (const auto sent = s.send_some(request); sent.sent != request.size())
        fail("request from " + source + " not sent: " + std::strerror(sent.error));
    // Without KEEP_CONN the daemon closes after END_REQUEST: read to the end.
    const read_result got = s.read_until_closed(10'000ms);
    std::string out;
    bool ended = false;
    for (const record& rec : split_records(got.data)) {
        if (rec.type == fcgi::stdout_) out += rec.content;
        if (rec.type == fcgi::end_request) ended = true;
    }
    if (!ended) {
        fail("no END_REQUEST for a request from " + source + " (" + std::to_string(got.data.size()) +
             " bytes, " + (got.closed ? "closed" : "timed out") + ")");
    }
    return parse_cgi_response(out);
}

// ---- Records and connections -------------------------------------------------------------

std::vector<fcgid_test::record> split_records(std::string_view bytes) {
    std::vector<fcgid_test::record> out;
    std::size_t at = 0;
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    while (bytes.size() - at >= 8) {
        const std::size_t length = (std::size_t{byte(at + 4)} << 8) | byte(at + 5);
        const std::size_t padding = byte(at + 6);
        if (bytes.size() - at < 8 + length + padding) break;
        fcgid_test::record rec;
        rec.version = byte(at);
        rec.type = byte(at + 1);
        rec.request_id = static_cast<std::uint16_t>((byte(at + 2) << 8) | byte(at + 3));
        rec.content = std::string(bytes.substr(at + 8, length));
        out.push_back(std::move(rec));
        at += 8 + length + padding;
    }
    return out;
}

bool stays_quiet(fcgi_connection& conn, milliseconds quiet) {
    pollfd p{conn.fd(), POLLIN, 0};
    for (;;) {
        const int rc = ::poll(&p, 1, static_cast<int>(quiet.count()));
        if (rc == 0) return true;
        if (rc > 0) return false;
        if (errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
    }
}

fcgid_test::cgi_response echo_post(fcgi_connection& conn, std::uint16_t id, std::string_view body,
                                   std::string_view query) {
    const auto r = conn.round_trip(id, query, body, fcgi::keep_conn, "POST");
    return fcgid_test::parse_cgi_response(r.stdout_data);
}

std::uint64_t read_pattern_response(fcgi_connection& conn, std::uint16_t id, milliseconds pause) {
    std::string head;
    bool in_body = false;
    std::uint64_t body = 0;
    std::uint64_t mismatches = 0;
    for (int n = 0;; ++n) {
        auto rec = conn.read_record();
        if (!rec) fail("closed after " + std::to_string(body) + " body bytes");
        if (rec->request_id != id) continue;
        if (rec->type == fcgi::end_request) break;
        if (rec->type != fcgi::stdout_) continue;
        std::string_view data = rec->content;
        if (!in_body) {
            head += data;
            const auto end = head.find("\r\n\r\n");
            if (end == std::string::npos) continue;
            in_body = true;
            data = std::string_view(head).substr(end + 4);
        }
        for (char c : data) mismatches += c != static_cast<char>('a' + body++ % 26);
        // Part of what is tested: a slow reader.
        if (pause.count() > 0 && n % 16 == 0) std::this_thread::sleep_for(pause);
    }
    EXPECT_EQ(mismatches, 0u);
    return body;
}

}  // namespace fcgid_hardening
