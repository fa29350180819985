// One process serving: the daemon itself (no --workers), or one worker
// forked by the --workers master. Binds or adopts the socket, loads the
// plugin, serves until drained.
#pragma once

#include "config/server_config.hpp"

namespace fcgid::net {
class worker_loads;
}

namespace fcgid::service {

class crash_reports;

// Who runs serve_process(): the daemon itself, or a worker forked by
// --workers, whose master already bound the socket, wrote the pid file,
// dropped root and speaks to systemd; the worker reports ready on
// `ready_fd` instead.
struct serve_role {
    bool worker = false;
    int ready_fd = -1;                  // worker: write one byte once serving, then close
    net::worker_loads* loads = nullptr;  // worker: shared with the other workers
    crash_reports* crashes = nullptr;   // worker: read by the master when a worker dies
};

// Serves `config` until the server has drained; returns the exit code of
// net::server::run(). Throws std::runtime_error with a one-line message if
// the socket, the privileges or the plugin cannot be had.
int serve_process(const config::server_config& config, serve_role role);

}  // namespace fcgid::service
