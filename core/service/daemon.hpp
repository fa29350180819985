// `fcgid run` once its command line is parsed: the one call cmd/fcgid makes
// into core. Logging, socket activation, then one serving process
// (serve_process.hpp) or a --workers master (serve_workers.hpp).
#pragma once

#include "config/server_config.hpp"

namespace fcgid::service {

// Runs the daemon until it has drained; returns the process exit code.
// Throws std::runtime_error with a one-line message if it cannot start.
int run_daemon(config::server_config config);

}  // namespace fcgid::service
