// The one place that configures spdlog. Only the host links spdlog; plugins
// log through fcgid_host_api::log, which lands here too.
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace fcgid::log {

enum class verbosity { quiet, normal, debug, trace };

// Creates the stderr logger (thread-safe: plugins may log from their own
// threads) and makes it spdlog's default. Call once, after the command line
// was parsed. `quiet` still shows warnings and errors: errors are never silenced.
void configure(verbosity level);

// Sends all logging nowhere; for tests that exercise the core in-process.
void silence();

}  // namespace fcgid::log
