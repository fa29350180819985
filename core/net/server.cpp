#include "net/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "config/byte_size.hpp"
#include "net/connection.hpp"
#include "net/endpoint_text.hpp"
#include "net/request.hpp"
#include "net/worker_loads.hpp"
#include "plugin/host_api.hpp"
#include "plugin/plugin_host.hpp"
#include "service/fatal_signals.hpp"
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

const char* signal_name(int signal_number) {
    switch (signal_number) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        default: return "signal";
    }
}

}  // namespace

server::server(asio::io_context& io, const config::limits_config& limits,
               const config::plugin_config& plugin_config,
               std::shared_ptr<plugin::plugin_host> plugin, listener listen, address_filter allowed)
    : io_(io), limits_(limits), plugin_config_(plugin_config), plugin_(std::move(plugin)),
      acceptor_(std::move(listen.socket)), signals_(io, SIGTERM, SIGINT, SIGHUP), time_limit_timer_(io), shutdown_timer_(io), sweep_timer_(io),
      accept_timer_(io), allowed_(std::move(allowed)) {}

int server::run() {
    wait_for_signal();
    if (limits_.time_limit.count() > 0) {
        time_limit_timer_.expires_after(limits_.time_limit);
        time_limit_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) start_drain(fmt::format("time limit reached ({} s)", limits_.time_limit.count()));
        });
    }
    sweep_timeouts();
    // do_accept() calls accept4() until it would block.
    boost::system::error_code ec;
    acceptor_.non_blocking(true, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot use the listening socket: {}", ec.message()));
    do_accept();
    io_.run();
    spdlog::info("exiting: {}; {} requests served", drain_reason_, requests_served_);
    return exit_code_;
}

// ---- Accepting ------------------------------------------------------------------

// Accepting is done with accept4() rather than Asio's accept: SOCK_CLOEXEC
// keeps connections out of programs a plugin starts (system(), popen()),
// and SOCK_NONBLOCK comes in the same call. Asio still registers each
// socket with its reactor (assign) and serves it as before.
void server::do_accept() {
    if (!may_accept()) return;
    // From here the next accept is due from this call (a wait, a timer or a
    // post), whatever take_connection() sets off.
    accepting_ = true;
    socklen_t length = static_cast<socklen_t>(accepted_peer_.capacity());
    const int fd = ::accept4(acceptor_.native_handle(), accepted_peer_.data(), &length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    const int error = errno;
    if (fd >= 0) {
        accepted_peer_.resize(length);
        take_connection(fd);
    } else if (error == EAGAIN || error == EWOULDBLOCK) {
        wait_for_connections();
        return;
    } else if (error != ECONNABORTED && error != EINTR) {
        accept_failed(error);
        return;
    }  // else a peer that reset before we got to it, or a signal: on to the next
    // More may be waiting. Take the next one on a later turn of the loop,
    // after what is ready already (the new connection's first read among
    // it): a burst of connections is served as it comes in, not accepted
    // whole first, each holding its buffers.
    asio::post(io_, [this] {
        accepting_ = false;
        do_accept();
    });
}

bool server::may_accept() {
    if (accepting_ || draining_) return false;
    if (connections_.size() >= limits_.max_connections) {
        // Stop accepting: the kernel's backlog holds newcomers until a
        // connection closes (connection_closed resumes).
        spdlog::warn("connection limit reached ({}): not accepting until one closes",
                     limits_.max_connections);
        return false;
    }
    if (loads_ != nullptr && !accept_held_back_ && loads_->ahead_of_least_loaded()) {
        // Another worker holds fewer connections: let it take what is waiting
        // first. Only once per accept, so a stalled worker delays nothing for
        // longer than this.
        accept_held_back_ = true;
        accepting_ = true;
        accept_timer_.expires_after(balance_delay);
        accept_timer_.async_wait([this](const boost::system::error_code& ec) {
            accepting_ = false;
            if (!ec) do_accept();
        });
        return false;
    }
    accept_held_back_ = false;
    return true;
}

// Nothing is waiting: Asio's reactor says when something is. It only
// reports a change (edge-triggered), which is why do_accept() always tries
// accept4() until EAGAIN before it waits.
void server::wait_for_connections() {
    accepting_ = true;
    acceptor_.async_wait(acceptor::wait_read, [this](const boost::system::error_code& ec) {
        accepting_ = false;
        if (ec == asio::error::operation_aborted || draining_) return;  // closed by the drain
        if (ec) {
            accept_failed(ec.value());
            return;
        }
        do_accept();
    });
}

void server::accept_again_later() {
    accepting_ = true;
    accept_timer_.expires_after(accept_backoff);
    accept_timer_.async_wait([this](const boost::system::error_code& ec) {
        accepting_ = false;
        if (!ec) do_accept();
    });
}

void server::accept_failed(int error) {
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
    accept_again_later();
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
        ::close(fd);
        return;
    }
    connection::socket_type socket(io_);
    boost::system::error_code ec;
    socket.assign(accepted_peer_.protocol(), fd, ec);
    if (ec) {
        // The reactor could not take it (out of memory): the web server sees
        // the connection close and retries elsewhere.
        spdlog::warn("refused connection from {}: {}", endpoint_text(accepted_peer_), ec.message());
        ::close(fd);
        return;
    }
    auto c = std::make_shared<connection>(*this, std::move(socket), accepted_peer_);
    connections_.emplace(c.get(), c);
    if (loads_ != nullptr) loads_->publish(connections_.size());
    c->start();
}

// ---- Requests ---------------------------------------------------------------------

void server::handle(request& r) {
    // One load per request while nothing was ever quarantined.
    if (quarantine_ != nullptr && !quarantine_->never_used() && reject_if_quarantined(r)) return;
    r.hand_to_plugin(plugin_);
    service::entering_plugin(&r);
    const int rc = plugin_->handle(r.as_request(), r.as_response());
    service::left_plugin();
    r.dispatched(rc);
}

bool server::reject_if_quarantined(request& r) {
    const auto now = std::chrono::steady_clock::now();
    if (quarantine_->none_at(now.time_since_epoch())) return false;
    service::request_description what;
    r.describe(what);
    if (!quarantine_->quarantined(service::signature_of(what), now.time_since_epoch())) return false;
    r.reject(500);
    if (now - quarantine_logged_at_ >= std::chrono::seconds(1)) {
        spdlog::warn("quarantined request answered 500 without calling the plugin: {} {} (body {} "
                     "bytes; it crashed {} workers within {} s){}",
                     what.method, what.uri, what.body_size, quarantine_->settings().strikes,
                     quarantine_->settings().window.count(),
                     quarantine_unlogged_ == 0
                         ? std::string()
                         : fmt::format("; {} more quarantined requests since the last line",
                                       quarantine_unlogged_));
        quarantine_logged_at_ = now;
        quarantine_unlogged_ = 0;
    } else {
        ++quarantine_unlogged_;
    }
    return true;
}

bool server::describe_request(const void* r, service::request_description& out) noexcept {
    static_cast<const request*>(r)->describe(out);
    return true;
}

void server::request_completed(int status) {
    ++requests_served_;
    if (draining_) return;
    if (limits_.auto_shutdown && status >= 500 && status <= 599) {
        start_drain(fmt::format("auto-shutdown after a 5xx response (status {})", status));
        return;
    }
    if (limits_.request_limit > 0 && requests_served_ >= limits_.request_limit) {
        start_drain(fmt::format("request limit reached ({} of {} requests)", requests_served_,
                                limits_.request_limit));
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

// ---- Draining -----------------------------------------------------------------------

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
        return;
    }
    spdlog::info("reloaded: plugin {} {} now serves new requests", fresh->name(), fresh->version());
    // Requests in flight keep the old plugin in use; once the last of them
    // has finished, the sweep calls its shutdown().
    retired_plugins_.push_back(std::exchange(plugin_, std::move(fresh)));
    shut_down_idle_retired_plugins();
}

void server::shut_down_idle_retired_plugins() noexcept {
    for (const auto& retired : retired_plugins_)
        if (retired.use_count() == 1) retired->shutdown();  // idempotent
}

void server::shutdown_plugins() noexcept {
    plugin_->shutdown();
    for (const auto& retired : retired_plugins_) retired->shutdown();
}

void server::start_drain(std::string reason) {
    if (draining_) return;
    draining_ = true;
    drain_reason_ = std::move(reason);
    spdlog::info("draining: {}", drain_reason_);
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
    // drain() may close a connection, which removes it from the map: iterate a copy.
    std::vector<std::shared_ptr<connection>> open;
    open.reserve(connections_.size());
    for (const auto& [raw, c] : connections_) open.push_back(c);
    for (const auto& c : open) c->drain();
    if (limits_.shutdown_timeout.count() == 0 && !connections_.empty())
        force_stop("shutdown timeout is 0");
    stop_when_drained();
}

void server::connection_closed(connection* c) {
    connections_.erase(c);
    if (loads_ != nullptr) loads_->publish(connections_.size());
    stop_when_drained();
    do_accept();  // in case the connection limit had paused accepting
}

bool server::reserve_request() noexcept {
    if (requests_in_flight_ >= limits_.max_requests) return false;
    ++requests_in_flight_;
    return true;
}

void server::release_request() noexcept { --requests_in_flight_; }

void server::sweep_timeouts() {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        const auto now = std::chrono::steady_clock::now();
        // check_timeouts may close a connection, which leaves the map: walk a copy.
        std::vector<std::shared_ptr<connection>> open;
        open.reserve(connections_.size());
        for (const auto& [raw, c] : connections_) open.push_back(c);
        for (const auto& c : open) c->check_timeouts(now);
        shut_down_idle_retired_plugins();
        sweep_timeouts();
    });
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
    std::vector<std::shared_ptr<connection>> open;
    for (const auto& [raw, c] : connections_) open.push_back(c);
    for (const auto& c : open) c->close();
    stop_when_drained();
}

}  // namespace fcgid::net
