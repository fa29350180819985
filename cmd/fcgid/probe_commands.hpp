// `fcgid ping ADDRESS` and `fcgid status ADDRESS`: ask a running fcgid over
// FastCGI (fcgi_probe.hpp), for a container HEALTHCHECK, a systemd
// ExecStartPost or a person at a terminal. Exit code 0 when the answer is
// 2xx, 1 otherwise with one line on stderr saying why.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace fcgid::cmd {

struct probe_options {
    std::string address;  // HOST:PORT, [IPV6]:PORT, unix:PATH or a path with '/'
    std::string path;     // the request's path; defaults per command
    double timeout_seconds = 5;
    bool json = false;  // status: ?json
    bool full = false;  // status: ?full (one row per worker)
};

CLI::App& setup_ping_command(CLI::App& app, probe_options& options);
CLI::App& setup_status_command(CLI::App& app, probe_options& options);

// Run the parsed command: print the answer, return the exit code.
int run_ping(const probe_options& options);
int run_status(const probe_options& options);

}  // namespace fcgid::cmd
