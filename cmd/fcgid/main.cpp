// fcgid: a FastCGI application daemon. This file only builds the command
// line, parses it, hands the configuration to core (service::run_daemon)
// and maps every failure to one stderr line and an exit code.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "config_file.hpp"
#include "fcgid/version.h"
#include "probe_commands.hpp"
#include "run_command.hpp"
#include "service/daemon.hpp"

namespace {

constexpr int exit_usage = 2;    // the command line is wrong
constexpr int exit_failure = 1;  // it is right, but fcgid could not start

int error_line(const char* message, int code) {
    std::fprintf(stderr, "fcgid: error: %s\n", message);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("fcgid: a FastCGI application daemon that serves a plugin", "fcgid");
    app.set_version_flag("--version", "fcgid " FCGID_VERSION_STRING " (plugin ABI " +
                                          std::to_string(FCGID_ABI_MAJOR) + "." +
                                          std::to_string(FCGID_ABI_MINOR) + ")");
    app.require_subcommand(1);
    fcgid::cmd::run_options run_options;
    CLI::App& run = fcgid::cmd::setup_run_command(app, run_options);
    fcgid::cmd::setup_config_file(app, run, run_options.print_config);
    fcgid::cmd::probe_options ping_options;
    fcgid::cmd::probe_options status_options;
    CLI::App& ping = fcgid::cmd::setup_ping_command(app, ping_options);
    CLI::App& status = fcgid::cmd::setup_status_command(app, status_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version arrive here too, with exit code 0.
        if (e.get_exit_code() == 0) return app.exit(e);
        return error_line(fcgid::cmd::parse_error_text(e, app).c_str(), exit_usage);
    }
    if (run.parsed() && run_options.print_config) {
        std::fputs(fcgid::cmd::effective_config(run).c_str(), stdout);
        return 0;
    }

    try {
        if (run.parsed()) {
            fcgid::cmd::finish_run_options(run_options);
            return fcgid::service::run_daemon(run_options.server);
        }
        if (ping.parsed()) return fcgid::cmd::run_ping(ping_options);
        if (status.parsed()) return fcgid::cmd::run_status(status_options);
    } catch (const std::exception& e) {
        return error_line(e.what(), exit_failure);
    }
    return exit_failure;
}
