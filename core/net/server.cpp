#include "net/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <system_error>
#include <vector>

#include <boost/asio/post.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "config/byte_size.hpp"
#include "net/connection.hpp"
#include "net/endpoint_text.hpp"
#include "net/request.hpp"
#include "net/worker_loads.hpp"
#include "observe/metrics_table.hpp"
#include "plugin/host_api.hpp"
#include "plugin/plugin_host.hpp"
#include "service/quarantine.hpp"
#include "service/systemd.hpp"

namespace fcgid::net {
namespace {

namespace asio = boost::asio;

// After EMFILE/ENFILE, wait this long before accepting again instead of
// spinning on an error that will not go away by itself.
constexpr std::chrono::milliseconds accept_backoff{100};

// How long a worker ahead of the least loaded one holds back an accept: time
// enough for an idle worker to wake and take the connection, short enough
// that nobody notices when that worker is busy and this one takes it after all.
constexpr std::chrono::milliseconds balance_delay{1};

// Connections accepted (and, when their request came with them, served) in
// one turn of the loop before the others get theirs. One per turn cost a
// trip through the loop (an epoll_wait) per connection.
constexpr int accepts_per_turn = 8;

// Finished requests kept for reuse (request_pool): enough for as many in
// flight at once as a busy web server keeps connections to one process.
constexpr std::size_t spare_requests = 128;

// Large body buffers kept for the next large body (request_pool): four
// uploads of 32 MiB at once (the bench's). Kept only while large bodies keep
// coming, and under a --memory-limit at most an eighth of it, so that what
// is kept does not itself bring on a drain.
std::size_t kept_body_bytes(const config::limits_config& limits) {
    constexpr std::uint64_t most = 128 * 1024 * 1024;
    if (limits.memory_limit == 0) return most;
    return static_cast<std::size_t>(std::min(most, limits.memory_limit / 8));
}

const char* signal_name(int signal_number) {
    switch (signal_number) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        case SIGUSR1: return "SIGUSR1";
        default: return "signal";
    }
}

// Whether finished requests need the server's attention at once (a limit
// that counts them or a check after each), or only counting.
bool watches_requests(const config::limits_config& limits) {
    return limits.request_limit > 0 || limits.memory_limit > 0 || limits.auto_shutdown;
}

}  // namespace

server::server(asio::io_context& io, const config::limits_config& limits,
               const config::plugin_config& plugin_config, const config::observe_config& observe,
               std::shared_ptr<plugin::plugin_host> plugin, listener listen, address_filter allowed,
               const config::logs_config& logs)
    : io_(io), limits_(limits), plugin_config_(plugin_config), dispatcher_(std::move(plugin)),
      status_endpoints_(observe), slots_(limits.max_requests),
      inbox_([this] { asio::post(io_, [this] { read_inbox(); }); }, watches_requests(limits)),
      requests_(spare_requests, kept_body_bytes(limits)), request_log_(logs),
      context_{limits_, slots_, dispatcher_, inbox_, input_, requests_, request_log_},
      acceptor_(std::move(listen.socket)), signals_(io, SIGTERM, SIGINT, SIGHUP), time_limit_timer_(io),
      shutdown_timer_(io), sweep_timer_(io), accept_timer_(io), allowed_(std::move(allowed)) {
    if (status_endpoints_.enabled()) dispatcher_.answer_status(status_endpoints_);
    // SIGUSR1 reopens the log files (logrotate). Added also without an access
    // log: its default action would kill the process.
    signals_.add(SIGUSR1);
}

// After a normal run every connection is closed and gone. If run() was left
// by an exception, close what is open first: a pending handler may keep a
// connection alive past the server, and it must hold no request (whose
// slot points into slots_) by then.
server::~server() {
    for (const auto& c : open_connections()) c->close();
    connections_.clear();
}

int server::run() {
    wait_for_signal();
    if (limits_.time_limit.count() > 0) {
        time_limit_timer_.expires_after(limits_.time_limit);
        time_limit_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) start_drain(fmt::format("time limit reached ({} s)", limits_.time_limit.count()));
        });
    }
    sweep_timeouts();
    // accept_connections() calls accept4() until it would block.
    boost::system::error_code ec;
    acceptor_.non_blocking(true, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot use the listening socket: {}", ec.message()));
    accept_connections();
    io_.run();
    // Requests are only counted as the inbox is read: count the last ones.
    requests_served_ += inbox_.take_finished();
    spdlog::info("exiting: {}; {} requests served", drain_reason_, requests_served_);
    return exit_code_;
}

// ---- Accepting ------------------------------------------------------------------
//
// Accepting is done with accept4() rather than Asio's accept: SOCK_CLOEXEC
// keeps connections out of programs a plugin starts (system(), popen()),
// and SOCK_NONBLOCK comes in the same call. A new connection first serves
// what already arrived, straight from the socket; it joins Asio's reactor
// only when it has to wait (connection::registered_with_loop), told that the
// socket is non-blocking and not shared (accepted_socket.hpp: no ioctl, no
// EPOLL_CTL_DEL per connection).
//
// At most one accept is ever scheduled (accept_scheduled_): from a post (take
// the next one on a later turn), the listening socket turning readable, or a
// timer (a backoff, or holding back for a less loaded worker).

server::accept_verdict server::may_accept() const noexcept {
    if (draining_ || connections_.size() >= limits_.max_connections) return accept_verdict::stop;
    // Another worker holds fewer connections: let it take what is waiting
    // first. Only once per accept, so a stalled worker delays nothing for
    // longer than balance_delay.
    if (loads_ != nullptr && !held_back_ && loads_->ahead_of_least_loaded())
        return accept_verdict::hold_back;
    return accept_verdict::go;
}

void server::accept_connections() {
    for (int accepted = 0; accepted < accepts_per_turn; ++accepted)
        if (!accept_one()) return;
    // More may be waiting. Take them on a later turn of the loop, after what
    // else is ready: a burst of connections is served as it comes in, not
    // accepted whole first.
    schedule_accept(accept_due::now);
}

bool server::accept_one() {
    // Connections served at once closed within this turn: count them out
    // before the limit is checked.
    if (connections_.size() >= limits_.max_connections) collect_closed();
    switch (may_accept()) {
        case accept_verdict::stop:
            if (!draining_ && !limit_logged_) {
                // The kernel's backlog holds newcomers until a connection
                // closes (read_inbox resumes).
                spdlog::warn("connection limit reached ({}): not accepting until one closes",
                             limits_.max_connections);
                observe::local()[observe::counter_id::max_connections_reached].add();
                limit_logged_ = true;
            }
            return false;
        case accept_verdict::hold_back:
            held_back_ = true;
            schedule_accept(accept_due::after_delay, balance_delay);
            return false;
        case accept_verdict::go: break;
    }
    held_back_ = false;
    limit_logged_ = false;
    socklen_t length = static_cast<socklen_t>(accepted_peer_.capacity());
    const int fd = ::accept4(acceptor_.native_handle(), accepted_peer_.data(), &length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    const int error = errno;
    if (fd >= 0) {
        accepted_peer_.resize(length);
        take_connection(fd);
    } else if (error == EAGAIN || error == EWOULDBLOCK) {
        // Asio's reactor reports a change only (edge-triggered), which is
        // why accept4() is tried until EAGAIN before waiting.
        schedule_accept(accept_due::readable);
        return false;
    } else if (error != ECONNABORTED && error != EINTR) {
        schedule_accept(accept_due::after_delay, accept_failed(error));
        return false;
    }  // else a peer that reset before we got to it, or a signal: on to the next
    return true;
}

void server::schedule_accept(accept_due how, std::chrono::milliseconds delay) {
    accept_scheduled_ = true;
    const auto due = [this](const boost::system::error_code& ec) {
        accept_scheduled_ = false;
        // Aborted: the drain closed the socket or cancelled the timer.
        if (!ec && !draining_) accept_connections();
    };
    switch (how) {
        case accept_due::now: asio::post(io_, [due] { due({}); }); return;
        case accept_due::readable: acceptor_.async_wait(acceptor::wait_read, due); return;
        case accept_due::after_delay:
            accept_timer_.expires_after(delay);
            accept_timer_.async_wait(due);
            return;
    }
}

void server::resume_accepting() {
    if (!accept_scheduled_ && !draining_) accept_connections();
}

std::chrono::milliseconds server::accept_failed(int error) {
    const std::error_code ec(error, std::system_category());
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning, and
        // say so once per episode rather than ten times a second.
        if (!accept_error_logged_)
            spdlog::warn("accept: {}; backing off until it succeeds", ec.message());
        accept_error_logged_ = true;
    } else {
        // Anything else (a broken inherited socket): retry, but never in a
        // tight loop.
        spdlog::debug("accept: {}", ec.message());
    }
    return accept_backoff;
}

void server::take_connection(int fd) {
    if (accept_error_logged_) {
        spdlog::info("accepting connections again");
        accept_error_logged_ = false;
    }
    if (!allowed_.allows(accepted_peer_.data())) {
        spdlog::warn("refused connection from {}: not an allowed address (--allow, "
                     "FCGI_WEB_SERVER_ADDRS)",
                     endpoint_text(accepted_peer_));
        observe::local()[observe::counter_id::connections_refused].add();
        ::close(fd);
        return;
    }
    auto c = std::make_shared<connection>(context_, io_.get_executor(), fd, accepted_peer_);
    connections_.emplace(c.get(), c);
    observe::local()[observe::counter_id::connections_accepted].add();
    observe::local()[observe::gauge_id::connections_active].set(connections_.size());
    if (loads_ != nullptr) loads_->publish(connections_.size());
    c->start();
}

// ---- Reports from connections -------------------------------------------------------

void server::read_inbox() {
    inbox_.read();
    const bool closed_any = collect_closed();
    requests_finished(inbox_.take_finished(), inbox_.take_server_error());
    stop_when_drained();
    if (closed_any) resume_accepting();  // the connection limit may have paused accepting
}

bool server::collect_closed() {
    inbox_.take_closed(closed_);
    if (closed_.empty()) return false;
    for (const connection* c : closed_) connections_.erase(c);
    observe::local()[observe::gauge_id::connections_active].set(connections_.size());
    if (loads_ != nullptr) loads_->publish(connections_.size());
    return true;
}

void server::requests_finished(std::uint64_t count, int server_error_status) {
    if (count == 0) return;
    requests_served_ += count;
    if (draining_) return;
    if (limits_.auto_shutdown && server_error_status != 0) {
        start_drain(fmt::format("auto-shutdown after a 5xx response (status {})", server_error_status));
        return;
    }
    if (limits_.request_limit > 0 && requests_served_ >= limits_.request_limit) {
        // Reached as the limit-th request finished; a few more may have
        // finished before this turn (the exit line counts them all).
        start_drain(fmt::format("request limit reached ({0} of {0} requests)", limits_.request_limit));
        return;
    }
    check_memory();
}

void server::check_memory() {
    if (limits_.memory_limit == 0) return;
    const std::uint64_t resident = memory_.read();
    if (resident >= limits_.memory_limit)
        start_drain(fmt::format("memory limit reached (resident {:.1f} MiB, limit {:.1f} MiB)",
                                config::to_mib(resident), config::to_mib(limits_.memory_limit)));
}

void server::sweep_timeouts() {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& c : open_connections()) c->check_timeouts(now);
        read_inbox();
        shut_down_idle_retired_plugins();
        requests_.release_unused_bodies();
        sweep_timeouts();
    });
}

bool server::describe_request(const void* r, service::request_description& out) noexcept {
    static_cast<const request*>(r)->describe(out);
    return true;
}

// ---- Signals, reload, drain -------------------------------------------------------------

void server::wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
        if (!ec) on_signal(signal_number);
    });
}

void server::on_signal(int signal_number) {
    if (signal_number == SIGHUP) {
        if (!draining_) reload_plugin();
        wait_for_signal();
        return;
    }
    if (signal_number == SIGUSR1) {
        request_log_.reopen();
        wait_for_signal();
        return;
    }
    // Only a second SIGNAL cuts the drain short: a SIGTERM that arrives while
    // a limit's drain is under way (a process manager stopping us) just lets
    // that drain finish.
    if (stop_signals_ > 0) {
        force_stop(fmt::format("second signal ({})", signal_name(signal_number)));
        return;
    }
    ++stop_signals_;
    start_drain(fmt::format("signal {}", signal_name(signal_number)));
    wait_for_signal();
}

void server::reload_plugin() {
    spdlog::info("SIGHUP: reloading plugin {}", plugin_config_.path);
    std::shared_ptr<plugin::plugin_host> fresh;
    try {
        fresh = std::make_shared<plugin::plugin_host>(plugin_config_);
    } catch (const std::exception& e) {
        spdlog::error("reload failed, the loaded plugin keeps serving: {}", e.what());
        if (observe::process_area* process = observe::own_process())
            (*process)[observe::process_counter_id::reload_failures].add();
        return;
    }
    spdlog::info("reloaded: plugin {} {} now serves new requests", fresh->name(), fresh->version());
    if (observe::process_area* process = observe::own_process())
        (*process)[observe::process_counter_id::reloads].add();
    observe::set_local_plugin(fresh->name(), fresh->version());
    // Requests in flight keep the old plugin in use; once the last of them
    // has finished, the sweep calls its shutdown().
    retired_plugins_.push_back(dispatcher_.replace_plugin(std::move(fresh)));
    shut_down_idle_retired_plugins();
}

void server::shut_down_idle_retired_plugins() noexcept {
    for (const auto& retired : retired_plugins_)
        if (retired.use_count() == 1) retired->shutdown();  // idempotent
}

void server::shutdown_plugins() noexcept {
    dispatcher_.plugin()->shutdown();
    for (const auto& retired : retired_plugins_) retired->shutdown();
}

void server::start_drain(std::string reason) {
    if (draining_) return;
    draining_ = true;
    drain_reason_ = std::move(reason);
    spdlog::info("draining: {}", drain_reason_);
    observe::set_local_state(observe::run_state::draining);
    service::notify_systemd("STOPPING=1");
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_timer_.cancel();
    if (loads_ != nullptr) loads_->leave();  // no one is to wait for this worker now
    time_limit_timer_.cancel();
    if (limits_.shutdown_timeout.count() > 0) {
        shutdown_timer_.expires_after(limits_.shutdown_timeout);
        shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                force_stop(fmt::format("shutdown timeout ({} s) expired",
                                       limits_.shutdown_timeout.count()));
        });
    }
    for (const auto& c : open_connections()) c->drain();
    collect_closed();  // the idle ones closed at once
    if (limits_.shutdown_timeout.count() == 0 && !connections_.empty())
        force_stop("shutdown timeout is 0");
    stop_when_drained();
}

void server::stop_when_drained() {
    if (!draining_ || stopped_ || !connections_.empty()) return;
    stopped_ = true;
    signals_.cancel();
    shutdown_timer_.cancel();
    sweep_timer_.cancel();
    io_.stop();
}

void server::force_stop(const std::string& why) {
    if (stopped_) return;
    spdlog::warn("stopping at once: {}; {} connections still open", why, connections_.size());
    exit_code_ = 1;
    if (drain_reason_.empty()) drain_reason_ = why;
    else drain_reason_ += ", then " + why;
    draining_ = true;
    observe::set_local_state(observe::run_state::draining);
    for (const auto& c : open_connections()) c->close();
    collect_closed();
    stop_when_drained();
}

std::vector<std::shared_ptr<connection>> server::open_connections() const {
    std::vector<std::shared_ptr<connection>> open;
    open.reserve(connections_.size());
    for (const auto& [raw, c] : connections_) open.push_back(c);
    return open;
}

}  // namespace fcgid::net
