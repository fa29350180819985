#include "load_loop.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "fcgi_wire.hpp"
#include "response_reader.hpp"

namespace fcgi_bench {
namespace {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

constexpr std::size_t read_chunk = 64 * 1024;
// An unfinished record (at most 8 + 65535 + 255 bytes) left at the front,
// and room for a whole chunk after it.
constexpr std::size_t input_size = 8 + 65535 + 255 + read_chunk;
// After a failed connection, wait before the next: a server that is down
// must not turn the loop into a busy spin.
constexpr auto retry_delay = std::chrono::milliseconds(10);

struct in_flight {
    bool active = false;
    bool measured = false;
    time_point started;
    response_head head;
};

// One client connection, or with KEEP_CONN off the succession of connections
// that one simulated client opens, one per request.
struct slot {
    std::size_t index = 0;
    int fd = -1;
    bool connecting = false;
    bool watching_write = false;
    // The requests due, in order: views of encoded_ (which outlives every
    // slot), written with one sendmsg, so no request is copied to be sent.
    std::vector<std::string_view> out;
    std::size_t out_sent = 0;  // of out.front()
    std::vector<char> in;  // input_size bytes, allocated once
    std::size_t in_begin = 0;
    std::size_t in_end = 0;
    std::vector<in_flight> requests;  // index = request id - 1
    std::size_t active = 0;
    bool retry_pending = false;
    time_point retry_at;
};

enum class phase { warmup, measure, drain, done };

class load_loop {
public:
    load_loop(const bench_options& options, const endpoint& to, const param_list& params)
        : options_(options), to_(to) {
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        for (std::size_t id = 1; id <= options.multiplex; ++id)
            encoded_.push_back(
                encode_request(static_cast<std::uint16_t>(id), options.keep_conn, params, options.body_size));
        slots_.resize(options.connections);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slots_[i].index = i;
            slots_[i].requests.resize(options.multiplex);
            slots_[i].out.reserve(options.multiplex);
            slots_[i].in.resize(input_size);
        }
        result_.served.assign(options.connections, 0);
        result_.latencies_ns.reserve(1 << 20);
    }

    ~load_loop() {
        for (auto& s : slots_)
            if (s.fd >= 0) ::close(s.fd);
        ::close(epoll_);
    }

    run_result run();

private:
    bool may_issue(time_point now) const;
    void fill(slot& s, time_point now);
    void issue(slot& s, std::size_t index, time_point now);
    bool open_connection(slot& s);
    void close_connection(slot& s);
    void connection_lost(slot& s, const std::string& why);
    void flush(slot& s);
    void watch_write(slot& s, bool on);
    void on_event(slot& s, std::uint32_t events, time_point now);
    void on_readable(slot& s, time_point now);
    // False when the connection was closed while reading.
    bool on_record(slot& s, const record& r, time_point now);
    void complete(slot& s, in_flight& f, time_point now);
    void advance_phase(time_point now);
    void start_measuring(time_point now);
    void error(const std::string& kind, std::uint64_t count = 1) {
        result_.errors[kind] += count;
        last_progress_ = clock_type::now();
    }
    std::size_t total_active() const;
    int wait_ms(time_point now) const;
    void send_signal() const;

    const bench_options& options_;
    const endpoint& to_;
    int epoll_ = -1;
    std::vector<std::string> encoded_;  // the request for id i + 1
    std::vector<slot> slots_;
    run_result result_;
    phase phase_ = phase::measure;
    std::uint64_t issued_ = 0;  // in the current phase
    time_point phase_started_;
    time_point warmup_sent_;  // when the last warmup request was sent
    time_point last_progress_;  // the last answer or error, any phase
    time_point last_answer_;    // the last answer counted in the window
    time_point measure_start_;
    time_point measure_end_;  // time mode: when the window closes; count mode: the last answer
};

std::size_t load_loop::total_active() const {
    std::size_t n = 0;
    for (const auto& s : slots_) n += s.active;
    return n;
}

bool load_loop::may_issue(time_point now) const {
    switch (phase_) {
        case phase::warmup: return issued_ < options_.warmup_requests;
        case phase::measure:
            return options_.requests > 0 ? issued_ < options_.requests : now < measure_end_;
        default: return false;
    }
}

void load_loop::fill(slot& s, time_point now) {
    if (s.retry_pending) return;
    for (std::size_t i = 0; i < s.requests.size() && may_issue(now); ++i) {
        if (s.requests[i].active) continue;
        if (s.fd < 0 && !open_connection(s)) return;
        issue(s, i, now);
        // Without KEEP_CONN a connection carries one request.
        if (!options_.keep_conn) break;
    }
    flush(s);
}

void load_loop::issue(slot& s, std::size_t index, time_point now) {
    in_flight& f = s.requests[index];
    f.active = true;
    f.measured = phase_ == phase::measure;
    f.started = now;
    f.head.reset();
    ++s.active;
    ++issued_;
    if (phase_ == phase::warmup && issued_ == options_.warmup_requests) warmup_sent_ = now;
    s.out.push_back(encoded_[index]);
}

bool load_loop::open_connection(slot& s) {
    s.fd = start_connect(to_);
    if (s.fd < 0) {
        error(std::string("connect: ") + std::strerror(errno));
        s.retry_pending = true;
        s.retry_at = clock_type::now() + retry_delay;
        return false;
    }
    ++result_.connections_opened;
    s.connecting = true;
    s.watching_write = true;
    s.in_begin = s.in_end = 0;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = s.index;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &ev) != 0)
        throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
    return true;
}

void load_loop::close_connection(slot& s) {
    if (s.fd < 0) return;
    ::close(s.fd);  // also leaves the epoll set
    s.fd = -1;
    s.connecting = false;
    s.watching_write = false;
    s.out.clear();
    s.out_sent = 0;
    s.in_begin = s.in_end = 0;
}

// The connection ended while requests were in flight, or failed: each of
// them is an error, and the slot carries on with a fresh connection.
void load_loop::connection_lost(slot& s, const std::string& why) {
    if (s.active > 0) error(why, s.active);
    else if (options_.keep_conn && !s.connecting) ++result_.reconnects;
    else error(why);
    for (auto& f : s.requests) f.active = false;
    s.active = 0;
    close_connection(s);
    s.retry_pending = true;
    s.retry_at = clock_type::now() + retry_delay;
}

void load_loop::watch_write(slot& s, bool on) {
    if (s.watching_write == on) return;
    s.watching_write = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = s.index;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, s.fd, &ev);
}

void load_loop::flush(slot& s) {
    if (s.fd < 0 || s.connecting) return;
    while (!s.out.empty()) {
        iovec parts[64];
        std::size_t count = 0;
        for (const auto& part : s.out) {
            if (count == std::size(parts)) break;
            const std::size_t skip = count == 0 ? s.out_sent : 0;
            parts[count++] = {const_cast<char*>(part.data()) + skip, part.size() - skip};
        }
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = count;
        ssize_t n = ::sendmsg(s.fd, &message, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_write(s, true);
            return;
        }
        if (n <= 0) {
            connection_lost(s, std::string("send: ") + std::strerror(errno));
            return;
        }
        // Drop what was sent: whole views, then part of the first left.
        std::size_t done = 0;
        while (done < s.out.size() && static_cast<std::size_t>(n) >= s.out[done].size() - s.out_sent) {
            n -= static_cast<ssize_t>(s.out[done].size() - s.out_sent);
            s.out_sent = 0;
            ++done;
        }
        s.out.erase(s.out.begin(), s.out.begin() + static_cast<std::ptrdiff_t>(done));
        s.out_sent += static_cast<std::size_t>(n);
    }
    s.out_sent = 0;
    watch_write(s, false);
}

void load_loop::on_event(slot& s, std::uint32_t events, time_point now) {
    if (s.connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            connection_lost(s, std::string("connect: ") + std::strerror(err));
            return;
        }
        s.connecting = false;
        flush(s);
        if (s.fd < 0) return;
    } else if (events & EPOLLOUT) {
        flush(s);
        if (s.fd < 0) return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(s, now);
}

void load_loop::on_readable(slot& s, time_point now) {
    // Move an unfinished record to the front, then read one chunk after it
    // (level-triggered: epoll comes back if there is more).
    if (s.in_begin > 0) {
        std::memmove(s.in.data(), s.in.data() + s.in_begin, s.in_end - s.in_begin);
        s.in_end -= s.in_begin;
        s.in_begin = 0;
    }
    const ssize_t n = ::recv(s.fd, s.in.data() + s.in_end, s.in.size() - s.in_end, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n == 0 && s.active == 0 && !options_.keep_conn) {
            close_connection(s);
            return;
        }
        connection_lost(s, n == 0 ? "server closed the connection with requests in flight"
                                  : std::string("recv: ") + std::strerror(errno));
        return;
    }
    s.in_end += static_cast<std::size_t>(n);
    while (s.fd >= 0) {
        record r;
        std::size_t used = 0;
        const auto d = decode_record(std::string_view(s.in.data() + s.in_begin, s.in_end - s.in_begin), r, used);
        if (d == decode_result::need_more) break;
        if (d == decode_result::bad_version) {
            connection_lost(s, "protocol: record with a version other than 1");
            return;
        }
        s.in_begin += used;
        if (!on_record(s, r, now)) break;
    }
    // The next requests; with KEEP_CONN off, on a new connection. A lost
    // connection waits for its retry instead.
    fill(s, now);
}

bool load_loop::on_record(slot& s, const record& r, time_point now) {
    if (r.id == 0 || r.id > s.requests.size() || !s.requests[r.id - 1].active) {
        connection_lost(s, "protocol: record type " + std::to_string(r.type) + " for request id " +
                               std::to_string(r.id) + ", which is not in flight");
        return false;
    }
    in_flight& f = s.requests[r.id - 1];
    switch (r.type) {
        case wire::stdout_:
            if (!f.head.feed(r.content)) {
                connection_lost(s, "response: header block longer than 16 KiB");
                return false;
            }
            return true;
        case wire::stderr_:
            if (!r.content.empty()) ++result_.stderr_records;
            return true;
        case wire::end_request: {
            if (r.content.size() < 8) {
                connection_lost(s, "protocol: END_REQUEST shorter than 8 bytes");
                return false;
            }
            const auto status = static_cast<unsigned char>(r.content[4]);
            if (status != wire::request_complete) {
                error("END_REQUEST protocol status " + std::to_string(status) +
                      (status == 1 ? " (CANT_MPX_CONN)" : status == 2 ? " (OVERLOADED)" : ""));
                f.active = false;
                --s.active;
            } else {
                complete(s, f, now);
            }
            if (!options_.keep_conn) {
                close_connection(s);
                return false;
            }
            return true;
        }
        default:
            connection_lost(s, "protocol: unexpected record type " + std::to_string(r.type));
            return false;
    }
}

void load_loop::complete(slot& s, in_flight& f, time_point now) {
    f.active = false;
    --s.active;
    last_progress_ = now;
    if (!f.head.complete()) {
        error("response: STDOUT without a complete header block");
        return;
    }
    const bool ok = f.head.status() == 200;
    if (!f.measured || phase_ != phase::measure) {
        // Warmup and drain answers are checked but not counted.
        if (!ok) error("status " + std::to_string(f.head.status()) + " outside the window");
        return;
    }
    ++result_.answered;
    ++(ok ? result_.status_200 : result_.other_status);
    result_.body_bytes += f.head.body_bytes();
    ++result_.served[s.index];
    last_answer_ = now;
    result_.latencies_ns.push_back(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - f.started).count()));
}

void load_loop::send_signal() const {
    if (options_.signal_pid <= 0) return;
    ::kill(options_.signal_pid, SIGUSR2);
    // Let the process take the signal before the next request reaches it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

void load_loop::start_measuring(time_point now) {
    send_signal();
    now = clock_type::now();
    phase_ = phase::measure;
    issued_ = 0;
    phase_started_ = now;
    measure_start_ = last_progress_ = last_answer_ = now;
    const double budget = options_.requests > 0 ? options_.max_time_s : options_.duration_s;
    measure_end_ =
        now + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(budget));
    for (auto& s : slots_) fill(s, now);
}

void load_loop::advance_phase(time_point now) {
    const auto drain = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(options_.drain_timeout_s));
    switch (phase_) {
        case phase::warmup:
            // Quiesce, so that measuring starts with nothing in flight.
            // Quiesce, so that measuring starts with nothing in flight; a
            // server that leaves requests unanswered gets the drain time.
            if ((issued_ >= options_.warmup_requests &&
                 (total_active() == 0 || now - warmup_sent_ > drain)) ||
                now - phase_started_ > std::chrono::seconds(60))
                start_measuring(now);
            return;
        case phase::measure: {
            if (options_.requests == 0) {
                if (now < measure_end_) return;
                phase_ = phase::drain;
                phase_started_ = now;
                return;
            }
            // Count mode: every request sent, and every answer in, or none
            // for the drain time (a server that leaves connections waiting).
            const bool all_sent = issued_ >= options_.requests;
            const bool settled = total_active() == 0 || now - last_progress_ > drain;
            if (!(all_sent && settled) && now < measure_end_) return;
            measure_end_ = all_sent && settled && result_.answered > 0 ? last_answer_ : now;
            phase_ = phase::drain;
            phase_started_ = settled ? now - drain : now;  // waited already
            return;
        }
        case phase::drain:
            if (total_active() == 0 || now - phase_started_ >= drain) {
                phase_ = phase::done;
                send_signal();
            }
            return;
        case phase::done: return;
    }
}

int load_loop::wait_ms(time_point now) const {
    time_point next = now + std::chrono::milliseconds(100);
    if (phase_ == phase::measure && options_.requests == 0) next = std::min(next, measure_end_);
    for (const auto& s : slots_)
        if (s.retry_pending) next = std::min(next, s.retry_at);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    return ms <= 0 ? 0 : static_cast<int>(ms) + 1;
}

run_result load_loop::run() {
    auto now = clock_type::now();
    if (options_.warmup_requests > 0) {
        phase_ = phase::warmup;
        phase_started_ = now;
        for (auto& s : slots_) fill(s, now);
    } else {
        start_measuring(now);
    }
    std::vector<epoll_event> events(slots_.size() + 1);
    while (phase_ != phase::done) {
        now = clock_type::now();
        const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms(now));
        if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
        now = clock_type::now();
        for (int i = 0; i < n; ++i) {
            slot& s = slots_[events[i].data.u64];
            if (s.fd >= 0) on_event(s, events[i].events, now);
        }
        for (auto& s : slots_) {
            if (!s.retry_pending || now < s.retry_at) continue;
            s.retry_pending = false;
            fill(s, now);
        }
        advance_phase(now);
    }
    result_.unanswered = total_active();
    result_.seconds = std::chrono::duration<double>(measure_end_ - measure_start_).count();
    return std::move(result_);
}

}  // namespace

std::uint64_t run_result::error_count() const {
    std::uint64_t n = 0;
    for (const auto& [kind, count] : errors) n += count;
    return n;
}

run_result run_load(const bench_options& options, const endpoint& to, const param_list& params) {
    load_loop loop(options, to, params);
    return loop.run();
}

}  // namespace fcgi_bench
