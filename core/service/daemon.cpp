#include "service/daemon.hpp"

#include <csignal>

#include "log/logging.hpp"
#include "service/heap_policy.hpp"
#include "service/listening_socket.hpp"
#include "service/serve_process.hpp"
#include "service/serve_workers.hpp"
#include "service/systemd.hpp"

namespace fcgid::service {

int run_daemon(config::server_config config) {
    // Asked whatever the command line says: it also clears LISTEN_*, so a
    // plugin's child processes do not take systemd's socket for theirs.
    adopt_socket_activation(config.listen, systemd_listen_fd());
    log::configure(config.verbosity);
    // A web server that goes away mid-write must cost one connection, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    // Large bodies reuse heap memory instead of faulting fresh pages in
    // for every request (heap_policy.hpp); workers inherit it.
    apply_heap_policy();
    if (config.process.workers > 0) return serve_with_workers(config);
    return serve_process(config, serve_role{});
}

}  // namespace fcgid::service
