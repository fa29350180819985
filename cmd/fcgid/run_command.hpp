// `fcgid run`: its options, how they are declared, and what running does.
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
    std::string driver = "asio";

    // Which of the listening options were given, set by setup_run_command.
    CLI::Option* port_option = nullptr;
    CLI::Option* socket_option = nullptr;
    CLI::Option* fd_option = nullptr;
};

// Declares `run` and its options on `app`; values land in `options`.
CLI::App& setup_run_command(CLI::App& app, run_options& options);

// Turns the parsed text into the server's configuration. Throws
// std::invalid_argument with a one-line message for values CLI11 cannot check.
void finish_run_options(run_options& options);

// Runs the daemon until it has drained; returns the process exit code.
// Throws std::runtime_error with a one-line message if it cannot start.
int run_daemon(const run_options& options);

}  // namespace fcgid::cmd
