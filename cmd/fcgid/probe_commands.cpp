#include "probe_commands.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include <fmt/core.h>

#include "fcgi_probe.hpp"

namespace fcgid::cmd {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;

const CLI::Validator probe_address_validator(
    [](std::string& text) -> std::string {
        try {
            parse_probe_address(text);
            return {};
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
    },
    "ADDRESS");

const CLI::Validator path_validator(
    [](std::string& text) -> std::string {
        if (text.empty() || text.front() != '/') return "'" + text + "' does not start with '/'";
        if (text.find_first_of("?# \t\r\n") != std::string::npos)
            return "'" + text + "' holds a '?', '#' or white space (a path only)";
        return {};
    },
    "PATH");

void add_common_options(CLI::App& command, probe_options& options, const char* default_path) {
    command
        .add_option("address", options.address,
                     "Where fcgid listens: HOST:PORT, [IPV6]:PORT, or a unix socket as unix:PATH "
                     "(or any path containing '/')")
        ->required()
        ->check(probe_address_validator);
    options.path = default_path;
    command.add_option("--path", options.path, "Request path (REQUEST_URI, SCRIPT_NAME)")
        ->check(path_validator)
        ->capture_default_str();
    command
        .add_option("--timeout", options.timeout_seconds,
                    "Longest wait in seconds for connecting and the whole answer")
        ->check(CLI::Range(0.001, 3600.0))
        ->type_name("SECONDS")
        ->capture_default_str();
}

int fail(const char* command, const probe_options& options, const std::string& why) {
    std::fprintf(stderr, "fcgid: error: %s %s: %s\n", command, options.address.c_str(), why.c_str());
    return exit_failed;
}

// Sends the request; on a transport or protocol failure prints the one line
// and returns nullopt.
std::optional<probe_answer> ask(const char* command, const probe_options& options, const std::string& query) {
    probe_request request;
    request.path = options.path;
    request.query = query;
    request.timeout = std::chrono::milliseconds(
        std::max<long long>(1, std::llround(options.timeout_seconds * 1000.0)));
    try {
        return probe(parse_probe_address(options.address), request);
    } catch (const std::exception& e) {  // probe_error, and bad_alloc
        fail(command, options, e.what());
        return std::nullopt;
    }
}

bool success(const probe_answer& answer) { return answer.status >= 200 && answer.status <= 299; }

std::string status_text(const probe_answer& answer) {
    return answer.reason.empty() ? std::to_string(answer.status)
                                 : std::to_string(answer.status) + " " + answer.reason;
}

}  // namespace

CLI::App& setup_ping_command(CLI::App& app, probe_options& options) {
    CLI::App& ping = *app.add_subcommand(
        "ping",
        "Send one FastCGI request to a running fcgid and report the answer; exit 0 on 2xx, 1 otherwise "
        "(for health checks)");
    // /ping and /status: PHP-FPM's conventional ping.path and pm.status_path.
    add_common_options(ping, options, "/ping");
    return ping;
}

CLI::App& setup_status_command(CLI::App& app, probe_options& options) {
    CLI::App& status = *app.add_subcommand(
        "status", "Print the status page of a running fcgid (its --status-path) over FastCGI");
    add_common_options(status, options, "/status");
    status.add_flag("--json", options.json, "Ask for JSON (?json) instead of the text table");
    status.add_flag("--full", options.full, "Add one row per worker (?full)");
    return status;
}

int run_ping(const probe_options& options) {
    const auto answer = ask("ping", options, "");
    if (!answer) return exit_failed;
    if (!success(*answer)) return fail("ping", options, "answered " + status_text(*answer));
    // The first line of the body ("pong"), kept short: a health check log
    // line, not a page.
    std::string said = answer->body.substr(0, answer->body.find_first_of("\r\n"));
    if (said.size() > 80) said = said.substr(0, 77) + "...";
    const double ms = std::chrono::duration<double, std::milli>(answer->elapsed).count();
    std::fputs(fmt::format("{}{}({}) in {:.1f} ms\n", said, said.empty() ? "" : " ", answer->status, ms).c_str(),
               stdout);
    return exit_ok;
}

int run_status(const probe_options& options) {
    std::string query = options.json ? "json" : "";
    if (options.full) query += query.empty() ? "full" : "&full";
    const auto answer = ask("status", options, query);
    if (!answer) return exit_failed;
    if (!success(*answer)) return fail("status", options, "answered " + status_text(*answer));
    std::fwrite(answer->body.data(), 1, answer->body.size(), stdout);
    if (!answer->body.empty() && answer->body.back() != '\n') std::fputc('\n', stdout);
    return exit_ok;
}

}  // namespace fcgid::cmd
