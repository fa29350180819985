// --workers N: bind the socket once in this process (the master), then fork
// N workers that each run serve_process() on it (prefork_master.hpp).
#pragma once

#include "config/server_config.hpp"

namespace fcgid::service {

// What each worker is asked to do: the single-process daemon on the socket
// the master bound (`listen_fd`), as the same user and group, with no
// workers and no pid file of its own (the pid file is the master's).
config::server_config worker_config(const config::server_config& master, int listen_fd);

// Runs the master until every worker has stopped; returns its exit code.
// Throws std::runtime_error with a one-line message if the socket or the
// pid file cannot be had; a worker that cannot start is logged instead.
int serve_with_workers(const config::server_config& config);

}  // namespace fcgid::service
