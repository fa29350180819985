// The one place that configures spdlog. Only the host links spdlog; plugins
// log through fcgid_host_api::log, which lands here too.
#pragma once

namespace fcgid::log {

enum class verbosity { quiet, normal, debug, trace };

// Creates the stderr logger (thread-safe: plugins may log from their own
// threads) and makes it spdlog's default. Call once, after the command line
// was parsed. `quiet` still shows warnings and errors: errors are never silenced.
void configure(verbosity level);

// In a process forked by --workers: every line names the worker's pid, so
// the lines of N workers sharing one stderr say whose they are.
void name_worker_in_lines();

// Sends all logging nowhere, for tests that run core code in-process (the
// unit tests' main calls it). Safe to call more than once.
void silence();

}  // namespace fcgid::log
