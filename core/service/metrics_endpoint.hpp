// Starts --metrics-listen for this process, wired to what it reports: the
// process's state in that table (observe::ready) for /ready, and for /metrics the
// metrics table installed in this process (core/observe), rendered on the
// listener's thread. Start it after the table is installed.
// Started by serve_process() in a single process and by the master with
// --workers (serve_workers.cpp), never by a worker.
#pragma once

#include <memory>

#include "config/server_config.hpp"
#include "http/metrics_listener.hpp"

namespace fcgid::service {

// The /metrics body: the installed table's totals in `format`.
std::string metrics_body(http::metrics_format format);

// Ready to take requests: serving, not starting, draining or stopping.
bool ready_for_requests() noexcept;

// Null when --metrics-listen was not given. Binds on this thread (throws
// std::runtime_error with one line), logs where it listens, and warns when
// that address is reachable from other hosts.
std::unique_ptr<http::metrics_listener> start_metrics_listener(const config::server_config& config);

}  // namespace fcgid::service
