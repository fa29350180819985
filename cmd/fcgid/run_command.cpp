#include "run_command.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>

#include "config/byte_size.hpp"
#include "http/metrics_listener.hpp"
#include "log/logging.hpp"
#include "net/address_filter.hpp"

namespace fcgid::cmd {
namespace {

const CLI::Validator byte_size_validator(
    [](std::string& text) -> std::string {
        return config::parse_byte_size(text) ? std::string()
                                             : "'" + text + "' is not a size (bytes, or a number with k, m or g)";
    },
    "SIZE");

const CLI::Validator key_value_validator(
    [](std::string& text) -> std::string {
        const auto eq = text.find('=');
        return (eq == std::string::npos || eq == 0) ? "'" + text + "' is not KEY=VALUE" : std::string();
    },
    "KEY=VALUE");

const CLI::Validator address_validator(
    [](std::string& text) -> std::string {
        try {
            net::address_filter probe;
            probe.add(text);
            return {};
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
    },
    "CIDR");

const CLI::Validator metrics_address_validator(
    [](std::string& text) -> std::string {
        try {
            http::parse_listen_address(text);
            return {};
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
    },
    "ADDR:PORT");

const CLI::Validator octal_mode_validator(
    [](std::string& text) -> std::string {
        const bool octal = !text.empty() && text.size() <= 4 &&
                           text.find_first_not_of("01234567") == std::string::npos;
        return octal ? std::string() : "'" + text + "' is not an octal mode such as 0660";
    },
    "MODE");

// The status and ping paths are compared with the path of REQUEST_URI,
// which always starts with '/': a path without one could never match.
const CLI::Validator url_path_validator(
    [](std::string& text) -> std::string {
        if (text.empty() || text.front() != '/') return "'" + text + "' is not a path starting with '/'";
        if (text.find_first_of("?# \t\r\n") != std::string::npos)
            return "'" + text + "' must be a plain path (no '?', '#' or spaces)";
        return {};
    },
    "PATH");

// Whole numbers only: CLI11 would let "-1" wrap around to 2^64-1.
CLI::Validator whole_number_validator(std::uint64_t minimum) {
    return CLI::Validator(
        [minimum](std::string& text) -> std::string {
            std::uint64_t value = 0;
            const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
            if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
                return "'" + text + "' is not a whole number";
            if (value < minimum) return "'" + text + "' is below " + std::to_string(minimum);
            return {};
        },
        minimum == 0 ? "UINT" : "UINT>0");
}

// Sizes are capped at 1 TiB (params at 1 GiB: their index uses 32-bit
// offsets) so that sums of limits cannot overflow; more means "unlimited".
void add_size_option(CLI::App& app, const std::string& name, std::uint64_t& target,
                     const std::string& description, std::uint64_t cap = std::uint64_t{1} << 40) {
    app.add_option_function<std::string>(
           name,
           [&target, cap](const std::string& text) {
               target = std::min(*config::parse_byte_size(text), cap);
           },
           description)
        ->check(byte_size_validator)
        ->default_str(config::byte_size_text(target));
}

void add_seconds_option(CLI::App& app, const std::string& name, std::chrono::seconds& target,
                        const std::string& description) {
    app.add_option_function<std::int64_t>(
           name,
           [&target](const std::int64_t& value) {
               // Past a century means "never"; clamping keeps deadline
               // arithmetic in nanoseconds far from overflow.
               constexpr std::int64_t century = 100LL * 365 * 24 * 3600;
               target = std::chrono::seconds(std::min(value, century));
           },
           description)
        ->check(whole_number_validator(0))
        ->default_str(std::to_string(target.count()));
}

void add_milliseconds_option(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                             const std::string& description) {
    app.add_option_function<std::int64_t>(
           name,
           [&target](const std::int64_t& value) {
               constexpr std::int64_t century = 100LL * 365 * 24 * 3600 * 1000;
               target = std::chrono::milliseconds(std::min(value, century));
           },
           description)
        ->check(whole_number_validator(0))
        ->default_str(std::to_string(target.count()));
}

void add_count_option(CLI::App& app, const std::string& name, std::size_t& target,
                      const std::string& description) {
    app.add_option(name, target, description)
        ->check(whole_number_validator(1))
        ->default_str(std::to_string(target));
}

log::verbosity verbosity_of(const run_options& options) {
    if (options.quiet) return log::verbosity::quiet;
    if (options.verbose >= 2) return log::verbosity::trace;
    if (options.verbose == 1) return log::verbosity::debug;
    return log::verbosity::normal;
}

}  // namespace

CLI::App& setup_run_command(CLI::App& app, run_options& options) {
    auto& limits = options.server.limits;
    auto& listen = options.server.listen;
    CLI::App& run = *app.add_subcommand("run", "Serve FastCGI requests with a plugin");

    auto* plugin = run.add_option("--plugin", options.server.plugin.path, "Handler plugin (.so) to load")
                       ->type_name("PATH");
    // Checked here rather than with required(): --print-config needs no
    // plugin. Runs after the config file was read, so it may name it.
    run.callback([plugin, &options] {
        if (plugin->count() == 0 && !options.print_config) throw CLI::RequiredError(plugin->get_name());
        // A warning at or after the kill would never be seen.
        const auto& process = options.server.process;
        if (process.stall_warning.count() > 0 && process.stall_kill.count() > 0 &&
            process.stall_warning >= process.stall_kill)
            throw CLI::ValidationError("--stall-warning",
                                       std::to_string(process.stall_warning.count()) +
                                           " ms is not shorter than --stall-kill " +
                                           std::to_string(process.stall_kill.count()) +
                                           " s: the warning would never be given");
    });
    run.add_option("--plugin-option", options.plugin_options,
                   "Passed to the plugin's init (repeatable)")
        ->check(key_value_validator)
        ->type_name("KEY=VALUE");

    auto* port = run.add_option("--port", listen.port, "TCP port to listen on (0: any free port)")
                     ->check(CLI::Range(0, 65535))
                     ->capture_default_str();
    run.add_option("--host", listen.host, "Address or name to listen on (needs --port)")
        ->default_str("localhost")
        ->needs(port);
    auto* socket = run.add_option("--socket", listen.socket_path, "Unix socket to listen on")
                       ->type_name("PATH")
                       ->excludes(port);
    auto* fd = run.add_option("--fd", listen.fd,
                              "Inherited listening socket, used without --port and --socket")
                   ->default_str("0")
                   ->check(whole_number_validator(0))
                   ->excludes(port)
                   ->excludes(socket);
    options.port_option = port;
    options.socket_option = socket;
    options.fd_option = fd;

    run.add_option("--request-limit", limits.request_limit, "Drain after this many requests (0: none)")
        ->check(whole_number_validator(0))
        ->default_str("0");
    add_size_option(run, "--memory-limit", limits.memory_limit,
                    "Drain when resident memory reaches SIZE (bytes, or k/m/g; 0: none)");
    add_seconds_option(run, "--time-limit", limits.time_limit, "Drain after this many seconds (0: none)");
    run.add_flag("--auto-shutdown", limits.auto_shutdown, "Drain after a 5xx response was sent");
    add_seconds_option(run, "--shutdown-timeout", limits.shutdown_timeout,
                       "Longest a drain may take, in seconds, before in-flight work is cut");

    add_count_option(run, "--max-connections", limits.max_connections,
                     "Connections at once; beyond, stop accepting until one closes");
    add_count_option(run, "--max-requests", limits.max_requests,
                     "Requests in flight in the process; beyond, FCGI_OVERLOADED");
    add_count_option(run, "--max-conn-requests", limits.max_requests_per_connection,
                     "Requests in flight on one connection; beyond, FCGI_OVERLOADED");
    add_size_option(run, "--max-params-size", limits.max_params_bytes,
                    "Params bytes per request; beyond, the connection is closed", std::uint64_t{1} << 30);
    add_count_option(run, "--max-params-count", limits.max_params_count,
                     "Params per request; beyond, the connection is closed");
    add_size_option(run, "--max-body-size", limits.max_body_bytes,
                    "Request body bytes; beyond, 413 without reading it into memory");
    add_size_option(run, "--max-output-buffer", limits.max_output_buffer,
                    "Response bytes buffered per connection before writes report FULL");
    add_seconds_option(run, "--idle-timeout", limits.idle_timeout,
                       "Close a connection idle this long between requests (0: never)");
    add_seconds_option(run, "--read-timeout", limits.read_timeout,
                       "Close a connection whose request input is not complete this long after it began (0: never)");
    add_seconds_option(run, "--write-timeout", limits.write_timeout,
                       "Close a connection that takes no output for this long (0: never)");
    add_seconds_option(run, "--request-timeout", limits.request_timeout,
                       "Answer 504 when the plugin holds a request this long (0: never)");

    auto& access = options.server.access;
    run.add_option("--allow", access.allow,
                   "TCP peer address or network allowed to connect (repeatable; adds to "
                   "FCGI_WEB_SERVER_ADDRS; default: any)")
        ->check(address_validator);
    run.add_option_function<std::string>(
           "--socket-mode",
           [&access](const std::string& text) { access.socket_mode = std::stoul(text, nullptr, 8); },
           "Permissions of the --socket file")
        ->check(octal_mode_validator)
        ->default_str("0660");
    run.add_option("--socket-owner", access.socket_owner, "Owner (user) of the --socket file");
    run.add_option("--socket-group", access.socket_group, "Group of the --socket file");

    auto& process = options.server.process;
    run.add_option("--pid-file", process.pid_file, "Write the process id here (removed at exit)")
        ->type_name("PATH");
    run.add_option("--workers", process.workers,
                   "Pre-fork this many worker processes that share the socket (0: serve in this process)")
        ->check(whole_number_validator(0))
        ->check(CLI::Range(0, 1024))
        ->default_str("0");
    run.add_option("--quarantine-after", process.quarantine_after,
                   "With --workers: a request that crashed this many workers within --quarantine-window "
                   "is answered 500 without calling the plugin (0: never)")
        ->check(whole_number_validator(0))
        ->default_str(std::to_string(process.quarantine_after));
    add_seconds_option(run, "--quarantine-window", process.quarantine_window,
                       "How long crashes count towards a quarantine, and how long it lasts, in seconds");
    add_milliseconds_option(run, "--stall-warning", process.stall_warning,
                            "Log the request and the loop's stack when the plugin has not returned from "
                            "handle() or a callback for this many milliseconds (0: never)");
    add_seconds_option(run, "--stall-kill", process.stall_kill,
                       "End a process whose plugin has not returned for this many seconds: with --workers "
                       "the worker, replaced at once; without, fcgid exits with status 3 (0: never)");
    run.add_option("--user", process.user,
                   "Run as this user after binding the socket (needs root)");
    run.add_option("--group", process.group,
                   "Run as this group after binding the socket (default: the user's)");

    run.add_option("--metrics-listen", options.server.metrics.listen,
                   "Serve /metrics (Prometheus, OpenMetrics), /health and /ready over HTTP here: "
                   "HOST:PORT, [IPV6]:PORT or PORT for 127.0.0.1:PORT (default: off)")
        ->check(metrics_address_validator);
    auto& observe = options.server.observe;
    run.add_option("--status-path", observe.status_path,
                   "Answer requests for this path (REQUEST_URI) with fcgid's status and metrics, "
                   "before the plugin: ?json, ?openmetrics, ?prometheus, ?full (default: off)")
        ->check(url_path_validator)
        ->type_name("PATH");
    run.add_option("--ping-path", observe.ping_path,
                   "Answer requests for this path (REQUEST_URI) with 200 and --ping-response, "
                   "before the plugin (default: off)")
        ->check(url_path_validator)
        ->type_name("PATH");
    run.add_option("--ping-response", observe.ping_response, "The body of the --ping-path answer")
        ->capture_default_str();
    auto& logs = options.server.logs;
    run.add_option("--access-log", logs.access_log,
                   "Write one line per request to this file ('-': stdout); SIGUSR1 reopens it")
        ->type_name("PATH|-");
    run.add_option_function<std::string>(
           "--access-log-format",
           [&logs](const std::string& text) {
               logs.access_log_format = text == "json" ? log::access_format::json : log::access_format::combined;
           },
           "Access log lines: combined (Apache/nginx, then duration in µs, pid, request id) or json "
           "(one object per line)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"combined", "json"}))
        ->default_str("combined");
    run.add_option_function<std::uint64_t>(
           "--slow-request-time",
           [&logs](const std::uint64_t& value) {
               // Past a day means "never" in practice; clamped like the seconds options.
               logs.slow_request_time = std::chrono::milliseconds(std::min<std::uint64_t>(value, 86'400'000));
           },
           "Warn about a request that takes longer than this many milliseconds, from BEGIN_REQUEST "
           "to its END_REQUEST written (0: never)")
        ->type_name("MS")
        ->check(whole_number_validator(0))
        ->default_str("0");

    auto* verbose = run.add_flag("-v,--verbose", options.verbose, "More logging: -v debug, -vv trace");
    run.add_flag("-q,--quiet", options.quiet, "Only warnings and errors")->excludes(verbose);
    // --driver: the original FastCGIDaemon (PHP) chose its event loop with
    // it, and its users' command lines and process manager configs still
    // pass it. Accepted (asio, or userland as the original's docs name it) so
    // those keep working, and deliberately ignored: fcgid has one loop
    // (Boost.Asio). Bound to no variable, so nothing can come to depend on it.
    run.add_option("--driver",
                   "Accepted for the original FastCGIDaemon's command lines and ignored: the "
                   "event loop is always Boost.Asio (asio; userland is an alias)")
        ->type_name("TEXT")  // as when it was bound to a std::string: same errors
        ->check(CLI::IsMember({"asio", "userland"}))
        ->default_str("asio");
    return run;
}

void finish_run_options(run_options& options) {
    auto& listen = options.server.listen;
    if (options.port_option->count() > 0)
        listen.type = config::listen_config::kind::tcp;
    else if (options.socket_option->count() > 0)
        listen.type = config::listen_config::kind::unix_socket;
    else
        listen.type = config::listen_config::kind::inherited_fd;
    // Whether systemd's socket replaces fd 0 is decided in core
    // (service::adopt_socket_activation): it only needs to know this.
    listen.fd_given = options.fd_option->count() > 0;
    options.server.verbosity = verbosity_of(options);

    for (const std::string& pair : options.plugin_options) {
        const auto eq = pair.find('=');
        options.server.plugin.options.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
}

}  // namespace fcgid::cmd
