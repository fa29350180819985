// `fcgid run`: its options, how they are declared, and how the parsed text
// becomes the configuration handed to core (service::run_daemon).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/server_config.hpp"

namespace fcgid::cmd {

struct run_options {
    config::server_config server;
    std::vector<std::string> plugin_options;  // KEY=VALUE
    int verbose = 0;                          // -v: 1, -vv: 2
    bool quiet = false;
    bool print_config = false;  // --print-config: print the settings, serve nothing

    // Which of the listening options were given, set by setup_run_command.
    CLI::Option* port_option = nullptr;
    CLI::Option* socket_option = nullptr;
    CLI::Option* fd_option = nullptr;
};

// Declares `run` and its options on `app`; values land in `options`.
// --plugin is required unless --print-config is given.
CLI::App& setup_run_command(CLI::App& app, run_options& options);

// Completes `options.server` from what was parsed: the listener kind from
// which of --port/--socket/--fd was given, the verbosity, the plugin options
// split at '='. Call once, after a successful parse.
void finish_run_options(run_options& options);

}  // namespace fcgid::cmd
