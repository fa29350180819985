#include "service/serve_process.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "net/server.hpp"
#include "net/worker_loads.hpp"
#include "observe/metrics_table.hpp"
#include "observe/snapshot.hpp"
#include "plugin/host_api.hpp"
#include "plugin/plugin_host.hpp"
#include "service/crash_reports.hpp"
#include "service/fatal_signals.hpp"
#include "service/listening_socket.hpp"
#include "service/metrics_endpoint.hpp"
#include "service/prefork_master.hpp"
#include "service/stall_watchdog.hpp"
#include "service/systemd.hpp"

namespace fcgid::service {

int serve_process(const config::server_config& config, serve_role role) {
    // Concurrency hint 1: one thread runs the loop, but plugin threads post to it.
    boost::asio::io_context io(1);
    plugin::bind_loop(io);
    // A plugin that crashes the process (in init too) leaves a line naming
    // the request, or with --workers a report for the master.
    install_fatal_signal_handlers(net::server::describe_request, role.crashes);
    // The figures of the status page: with --workers the master's table,
    // mapped before the fork; a single process maps its own.
    std::unique_ptr<observe::metrics_table> own_metrics;
    if (observe::installed() == nullptr) {
        own_metrics = observe::metrics_table::create();
        observe::install(own_metrics.get());
    }
    observe::join_local();
    // A plugin call that does not return is reported, and ends the process
    // at --stall-kill. Started before the plugin is loaded: its handler and
    // backtrace()'s warm-up come before any plugin code.
    std::optional<stall_watchdog> watchdog;
    const stall_settings stalls{config.process.stall_warning, config.process.stall_kill};
    if (stalls.enabled()) watchdog.emplace(stalls, net::server::describe_request, role.crashes);
    net::address_filter allowed = allowed_peers(config.access, std::getenv("FCGI_WEB_SERVER_ADDRS"));
    // The master's with --workers; here, bound before root is given up like
    // the FastCGI socket, and up while the plugin loads: /ready says 503 then.
    const std::unique_ptr<http::metrics_listener> metrics =
        role.worker ? nullptr : start_metrics_listener(config);
    // Bind first (a privileged port needs root), then give root up, and only
    // then load the plugin: plugin code never runs with more rights than asked.
    listening_socket bound(io, config);
    if (role.worker) die_with_master();  // dropping privileges cleared it
    net::listener& listener = bound.listener;
    observe::set_listen_socket(listener.socket.native_handle());
    auto plugin = std::make_shared<plugin::plugin_host>(config.plugin);
    observe::set_local_plugin(plugin->name(), plugin->version());
    const std::string where = listener.description;
    // The server installs the signal handlers: build it before announcing the
    // address, so a SIGTERM sent on seeing the line already drains.
    std::optional<net::server> running;
    net::server& server = running.emplace(io, config.limits, config.plugin, config.observe, plugin,
                                          std::move(listener), std::move(allowed), config.logs);
    spdlog::info("listening on {} (plugin {} {} from {})", where, plugin->name(), plugin->version(),
                 plugin->path());
    plugin.reset();  // the server holds the current plugin from here on
    if (role.loads != nullptr && role.loads->join()) server.share_connections(*role.loads);
    if (role.crashes != nullptr && role.crashes->quarantine().enabled())
        server.answer_quarantined(role.crashes->quarantine());
    observe::set_local_state(observe::run_state::serving);
    if (role.worker) {
        unblock_worker_signals();  // the server's handlers are in place
        (void)::write(role.ready_fd, "1", 1);
        ::close(role.ready_fd);
    } else {
        notify_systemd("READY=1");
    }
    const int exit_code = server.run();
    observe::set_local_state(observe::run_state::stopping);
    server.shutdown_plugins();
    // The drain is over: a stop signal from here on (a process manager
    // repeating itself) must not turn a clean exit into a death by signal.
    // Destroying the server restores the default action, so ignore after.
    running.reset();
    for (const int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) std::signal(signal_number, SIG_IGN);
    return exit_code;
}

}  // namespace fcgid::service
