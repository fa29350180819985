#include "service/serve_workers.hpp"

#include <cstdlib>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "log/logging.hpp"
#include "net/worker_loads.hpp"
#include "observe/metrics_table.hpp"
#include "observe/snapshot.hpp"
#include "service/crash_reports.hpp"
#include "service/listening_socket.hpp"
#include "service/metrics_endpoint.hpp"
#include "service/prefork_master.hpp"
#include "service/serve_process.hpp"

namespace fcgid::service {

config::server_config worker_config(const config::server_config& master, int listen_fd) {
    config::server_config worker = master;
    worker.listen.type = config::listen_config::kind::inherited_fd;
    worker.listen.fd = listen_fd;
    worker.listen.fd_given = true;
    worker.process.workers = 0;
    worker.process.pid_file.clear();  // the master's; user and group stay, for the worker
    worker.metrics.listen.clear();    // the master's too
    return worker;
}

int serve_with_workers(const config::server_config& config) {
    boost::asio::io_context io(1);
    listening_socket bound(io, config, /*keep_root=*/true);
    net::listener& listener = bound.listener;
    spdlog::info("listening on {} (plugin from {}; {} workers)", listener.description,
                 config.plugin.path, config.process.workers);

    // What each worker runs: the plain daemon on the socket bound here.
    const config::server_config for_workers = worker_config(config, listener.socket.release());

    // Where the workers tell each other how many connections they hold.
    const std::unique_ptr<net::worker_loads> loads = net::worker_loads::create();
    // Where a dying worker says what it was serving, and poison requests are held.
    const std::unique_ptr<crash_reports> crashes = crash_reports::create(
        {static_cast<unsigned>(config.process.quarantine_after), config.process.quarantine_window});
    // What the workers count, each in its row; what exited ones counted is
    // folded into the totals here, so counters never go backwards.
    const std::unique_ptr<observe::metrics_table> metrics = observe::metrics_table::create();
    observe::install(metrics.get());
    metrics->process().workers_configured.store(static_cast<std::uint32_t>(config.process.workers));
    observe::set_listen_socket(for_workers.listen.fd);
    // In the master, which has no loop of its own: /ready follows the
    // master's state (serving while some worker is, draining once stopped);
    // /metrics renders the table above, which every worker counts into.
    const std::unique_ptr<http::metrics_listener> metrics_http = start_metrics_listener(config);
    prefork_options prefork;
    prefork.metrics = &metrics->process();
    prefork.on_worker_exit = [&loads, &crashes, &metrics](pid_t pid) {
        loads->forget(pid);
        metrics->retire(pid);
        const auto report = crashes->take(pid);
        if (!report) return worker_exit_note{};
        return worker_exit_note{describe(*report, crashes->quarantine().settings()), report->stall_killed};
    };
    prefork.workers = static_cast<int>(config.process.workers);
    prefork.listen_fd = for_workers.listen.fd;
    prefork.stop_timeout = config.limits.shutdown_timeout + std::chrono::seconds(5);
    return run_prefork_master(prefork, [&](int ready_fd) {
        // Only the master speaks to systemd, and each worker's lines say whose they are.
        ::unsetenv("NOTIFY_SOCKET");
        if (metrics_http) metrics_http->forget_in_forked_child();
        log::name_worker_in_lines();
        return serve_process(for_workers, serve_role{true, ready_fd, loads.get(), crashes.get()});
    });
}

}  // namespace fcgid::service
