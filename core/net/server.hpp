// The server: accepts connections and owns them, owns what they share
// (the dispatcher to the plugin, the count of requests in flight), watches
// the limits and signals, and drains. It calls down into connections; they
// report back through its inbox, which it reads on a turn of its own (see
// README.md in this directory for the whole flow).
//
// A drain (a limit reached, SIGTERM/SIGINT) closes the listener, lets every
// request in flight finish, still serves requests that arrive on connections
// already open (the web server picked this process for them), closes each
// connection once it has nothing in flight, and stops when none is left, or
// when --shutdown-timeout runs out, or on a second signal.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/server_config.hpp"
#include "limits/resident_memory.hpp"
#include "net/address_filter.hpp"
#include "net/connection.hpp"
#include "net/listener.hpp"
#include "net/request_dispatcher.hpp"
#include "net/request_log.hpp"
#include "net/request_slots.hpp"
#include "net/server_inbox.hpp"
#include "net/status_endpoints.hpp"

namespace fcgid::plugin {
class plugin_host;
}

namespace fcgid::service {
class quarantine_table;
struct request_description;
}

namespace fcgid::net {

class connection;
class worker_loads;

class server {
public:
    // Counts into observe::local() (metrics_table.hpp), and answers the
    // status and ping paths of `observe` before the plugin.
    server(boost::asio::io_context& io, const config::limits_config& limits,
           const config::plugin_config& plugin_config, const config::observe_config& observe,
           std::shared_ptr<plugin::plugin_host> plugin, listener listen, address_filter allowed,
           const config::logs_config& logs = {});
    ~server();

    // Runs the loop until the drain ends. Returns the exit code: 0 after a
    // graceful drain, 1 when it was cut short.
    int run();

    // Calls shutdown() of the current plugin and of every retired one still
    // loaded. After run(), before the plugins are let go.
    void shutdown_plugins() noexcept;

    // --workers: split new connections evenly with the other workers through
    // `loads`, which this worker has joined (see worker_loads.hpp). Before run().
    void share_connections(worker_loads& loads) noexcept { loads_ = &loads; }

    // --workers: answer requests that `quarantine` holds (they crashed
    // workers) with a 500 instead of calling the plugin. Before run().
    void answer_quarantined(const service::quarantine_table& quarantine) noexcept {
        dispatcher_.answer_quarantined(quarantine);
    }

    // The access and slow-request logs, and their counts (for the metrics).
    const request_log& requests_log() const noexcept { return request_log_; }

    // For the fatal-signal handler (service/fatal_signals.hpp): describes
    // the net::request at `r`.
    static bool describe_request(const void* r, service::request_description& out) noexcept;

private:
    // ---- Accepting ----
    // How the next accept is due; exactly one way at a time.
    enum class accept_due { now, readable, after_delay };
    // Takes the connections waiting (a few per turn), then arranges for the
    // next accept.
    void accept_connections();
    // Takes one; false when no more is to be taken now (the next accept is
    // scheduled, or not due at all).
    bool accept_one();
    // The one place an accept is scheduled, and its handler the one place
    // the schedule is cleared.
    void schedule_accept(accept_due how, std::chrono::milliseconds delay = {});
    // Accepts again if nothing is scheduled (a connection closed below the limit).
    void resume_accepting();
    // Why not to accept now, if anything: a drain, the connection limit, or
    // a less loaded worker that should take the next one.
    enum class accept_verdict { go, stop, hold_back };
    accept_verdict may_accept() const noexcept;
    // accept4() failed with `error`; returns how long to back off.
    std::chrono::milliseconds accept_failed(int error);
    // A new connection's descriptor, its peer in accepted_peer_.
    void take_connection(int fd);

    // ---- Reports from connections ----
    // Reads the inbox: drops closed connections, counts finished requests
    // (which may start a drain), stops when drained, accepts again.
    void read_inbox();
    // Drops the connections reported closed; true if there were any.
    bool collect_closed();
    void requests_finished(std::uint64_t count, int server_error_status);
    void check_memory();
    void sweep_timeouts();

    // ---- Signals, reload, drain ----
    void wait_for_signal();
    void on_signal(int signal_number);
    // SIGHUP: load the plugin file again; new requests go to the new code
    // once its init succeeded, requests in flight finish on the old one.
    void reload_plugin();
    void shut_down_idle_retired_plugins() noexcept;
    void start_drain(std::string reason);
    void stop_when_drained();
    void force_stop(const std::string& why);
    // The connections open now; a copy, since a call into one may close it.
    std::vector<std::shared_ptr<connection>> open_connections() const;

    boost::asio::io_context& io_;
    const config::limits_config& limits_;
    const config::plugin_config& plugin_config_;
    request_dispatcher dispatcher_;
    const status_endpoints status_endpoints_;
    // Plugins replaced by a reload. Each is shut down once no request holds
    // it, but never unloaded: a task it queued with call_on_loop may still
    // be waiting to run its code.
    std::vector<std::shared_ptr<plugin::plugin_host>> retired_plugins_;
    request_slots slots_;
    server_inbox inbox_;
    shared_input input_;
    request_pool requests_;
    request_log request_log_;
    const connection_context context_;
    acceptor acceptor_;
    // Where accept4() writes the next peer's address.
    boost::asio::generic::stream_protocol::endpoint accepted_peer_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer time_limit_timer_;
    boost::asio::steady_timer shutdown_timer_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer accept_timer_;
    address_filter allowed_;
    limits::resident_memory memory_;
    std::unordered_map<const connection*, std::shared_ptr<connection>> connections_;
    std::vector<const connection*> closed_;  // scratch for collect_closed()

    std::uint64_t requests_served_ = 0;
    bool accept_scheduled_ = false;  // an accept is due from a wait, a timer or a post
    worker_loads* loads_ = nullptr;  // with --workers only
    bool held_back_ = false;         // the last accept waited for the other workers
    bool accept_error_logged_ = false;
    bool limit_logged_ = false;      // "connection limit reached", once per episode
    bool draining_ = false;
    int stop_signals_ = 0;  // SIGTERM/SIGINT received
    bool stopped_ = false;
    std::string drain_reason_;
    int exit_code_ = 0;
};

}  // namespace fcgid::net
