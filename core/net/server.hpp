// The server: accepts connections, runs requests through the plugin, watches
// the limits and signals, and drains.
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
#include "net/listener.hpp"

namespace fcgid::plugin {
class plugin_host;
}

namespace fcgid::service {
class quarantine_table;
struct request_description;
}

namespace fcgid::net {

class connection;
class request;
class worker_loads;

class server {
public:
    server(boost::asio::io_context& io, const config::limits_config& limits,
           const config::plugin_config& plugin_config, std::shared_ptr<plugin::plugin_host> plugin,
           listener listen, address_filter allowed);

    // Runs the loop until the drain ends. Returns the exit code: 0 after a
    // graceful drain, 1 when it was cut short.
    int run();

    // Calls shutdown() of the current plugin and of every retired one still
    // loaded. After run(), before the plugins are let go.
    void shutdown_plugins() noexcept;

    const config::limits_config& limits() const noexcept { return limits_; }

    // --workers: split new connections evenly with the other workers through
    // `loads`, which this worker has joined (see worker_loads.hpp). Before run().
    void share_connections(worker_loads& loads) noexcept { loads_ = &loads; }

    // --workers: answer requests that `quarantine` holds (they crashed
    // workers) with a 500 instead of calling the plugin. Before run().
    void answer_quarantined(const service::quarantine_table& quarantine) noexcept {
        quarantine_ = &quarantine;
    }

    // For the fatal-signal handler (service/fatal_signals.hpp): describes
    // the net::request at `r`.
    static bool describe_request(const void* r, service::request_description& out) noexcept;

    // ---- Called by connections ----
    void handle(request& r);
    void request_completed(int status);
    void connection_closed(connection* c);
    // Counts a request in flight against --max-requests; false when full.
    bool reserve_request() noexcept;
    void release_request() noexcept;

private:
    // Accepts one connection if one is waiting, else waits for one.
    void do_accept();
    // False when not to accept now: already waiting, draining, at the
    // connection limit, or holding back for a less loaded worker.
    bool may_accept();
    void wait_for_connections();
    void accept_failed(int error);
    // A new connection's descriptor, its peer in accepted_peer_.
    void take_connection(int fd);
    void wait_for_signal();
    void on_signal(int signal_number);
    // SIGHUP: load the plugin file again; new requests go to the new code
    // once its init succeeded, requests in flight finish on the old one.
    void reload_plugin();
    void start_drain(std::string reason);
    void stop_when_drained();
    void force_stop(const std::string& why);
    void check_memory();
    void sweep_timeouts();
    void shut_down_idle_retired_plugins() noexcept;
    void accept_again_later();
    // True (and answered 500) if `r` is quarantined as a poison request.
    bool reject_if_quarantined(request& r);

    boost::asio::io_context& io_;
    const config::limits_config& limits_;
    const config::plugin_config& plugin_config_;
    std::shared_ptr<plugin::plugin_host> plugin_;
    // Plugins replaced by a reload. Each is shut down once no request holds
    // it, but never unloaded: a task it queued with call_on_loop may still
    // be waiting to run its code.
    std::vector<std::shared_ptr<plugin::plugin_host>> retired_plugins_;
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
    std::unordered_map<connection*, std::shared_ptr<connection>> connections_;

    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::uint64_t requests_served_ = 0;
    std::size_t requests_in_flight_ = 0;
    // do_accept() is due from a wait, a timer or a post already.
    bool accepting_ = false;
    worker_loads* loads_ = nullptr;  // with --workers only
    const service::quarantine_table* quarantine_ = nullptr;  // with --workers only
    // Quarantined requests are logged at most once a second, with a count of the rest.
    std::chrono::steady_clock::time_point quarantine_logged_at_{};
    std::uint64_t quarantine_unlogged_ = 0;
    bool accept_held_back_ = false;  // the last accept waited for the other workers
    bool accept_error_logged_ = false;
    bool draining_ = false;
    int stop_signals_ = 0;  // SIGTERM/SIGINT received
    bool stopped_ = false;
    std::string drain_reason_;
    int exit_code_ = 0;
};

}  // namespace fcgid::net
