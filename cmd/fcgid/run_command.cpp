#include "run_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <optional>
#include <cstdlib>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "config/byte_size.hpp"
#include "log/logging.hpp"
#include "net/address_filter.hpp"
#include "net/listener.hpp"
#include "net/server.hpp"
#include "net/worker_loads.hpp"
#include "plugin/host_api.hpp"
#include "plugin/plugin_host.hpp"
#include "service/crash_reports.hpp"
#include "service/fatal_signals.hpp"
#include "service/pid_file.hpp"
#include "service/prefork_master.hpp"
#include "service/privileges.hpp"
#include "service/systemd.hpp"

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

const CLI::Validator octal_mode_validator(
    [](std::string& text) -> std::string {
        const bool octal = !text.empty() && text.size() <= 4 &&
                           text.find_first_not_of("01234567") == std::string::npos;
        return octal ? std::string() : "'" + text + "' is not an octal mode such as 0660";
    },
    "MODE");

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

// "64m" for 64 MiB: how sizes are written on the command line.
std::string size_text(std::uint64_t bytes) {
    static constexpr const char* suffixes[] = {"", "k", "m", "g"};
    int i = 0;
    while (i < 3 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++i;
    }
    return std::to_string(bytes) + suffixes[i];
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
        ->default_str(size_text(target));
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

void add_count_option(CLI::App& app, const std::string& name, std::size_t& target,
                      const std::string& description) {
    app.add_option(name, target, description)
        ->check(whole_number_validator(1))
        ->default_str(std::to_string(target));
}

// Removes the unix socket file fcgid created, on exit or on a failed start.
struct socket_file_remover {
    std::string path;
    ~socket_file_remover() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

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

    run.add_option("--plugin", options.server.plugin.path, "Handler plugin (.so) to load")
        ->required()
        ->type_name("PATH");
    run.add_option("--plugin-option", options.plugin_options,
                   "Passed to the plugin's init (repeatable)")
        ->check(key_value_validator)
        ->type_name("KEY=VALUE");

    auto* port = run.add_option("--port", listen.port, "TCP port to listen on (0: any free port)")
                     ->check(CLI::Range(0, 65535));
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
    run.add_option("--user", process.user,
                   "Run as this user after binding the socket (needs root)");
    run.add_option("--group", process.group,
                   "Run as this group after binding the socket (default: the user's)");

    auto* verbose = run.add_flag("-v,--verbose", options.verbose, "More logging: -v debug, -vv trace");
    run.add_flag("-q,--quiet", options.quiet, "Only warnings and errors")->excludes(verbose);
    run.add_option("--driver", options.driver, "Event loop driver (asio; userland is an alias)")
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
    // Socket activation: systemd's socket, unless an fd was named explicitly.
    const auto activated = service::systemd_listen_fd();
    if (activated && listen.type == config::listen_config::kind::inherited_fd &&
        options.fd_option->count() == 0)
        listen.fd = *activated;

    for (const std::string& pair : options.plugin_options) {
        const auto eq = pair.find('=');
        options.server.plugin.options.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
}

namespace {

net::address_filter allowed_peers(const config::access_config& access) {
    net::address_filter allowed;
    if (const char* web_server_addrs = std::getenv("FCGI_WEB_SERVER_ADDRS")) {
        try {
            allowed.add_list(web_server_addrs);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("FCGI_WEB_SERVER_ADDRS: ") + e.what());
        }
    }
    for (const std::string& cidr : access.allow) allowed.add(cidr);
    return allowed;
}

// The listening socket with what goes with it: the socket file removed and
// the pid file written and removed around it, and root given up once bound.
struct bound_socket {
    net::listener listener;
    socket_file_remover remove_socket_file;
    std::optional<service::pid_file> pid_file;

    // `keep_root`: a --workers master stays root (it only forks and waits),
    // so it can remove the pid file from a root-only directory such as /run;
    // its workers give root up before loading the plugin.
    bound_socket(boost::asio::io_context& io, const config::server_config& config, bool keep_root = false)
        : listener(net::open_listener(io, config.listen, config.access)),
          remove_socket_file{config.listen.type == config::listen_config::kind::unix_socket
                                 ? config.listen.socket_path
                                 : ""} {
        if (!config.process.pid_file.empty()) {
            pid_file.emplace(config.process.pid_file);
            if (!keep_root) pid_file->give_to(config.process.user, config.process.group);
        }
        if (!keep_root) service::drop_privileges(config.process.user, config.process.group);
    }
};

// Who runs serve(): the daemon itself, or a worker forked by --workers, whose
// master already bound the socket, wrote the pid file, dropped root and
// speaks to systemd; the worker reports ready on `ready_fd` instead.
struct serve_role {
    bool worker = false;
    int ready_fd = -1;
    net::worker_loads* loads = nullptr;  // shared with the other workers
    service::crash_reports* crashes = nullptr;  // read by the master when a worker dies
};

// Binds (or adopts) the socket, loads the plugin and serves until drained.
int serve(const config::server_config& config, serve_role role) {
    // Concurrency hint 1: one thread runs the loop, but plugin threads post to it.
    boost::asio::io_context io(1);
    plugin::bind_loop(io);
    // A plugin that crashes the process (in init too) leaves a line naming
    // the request, or with --workers a report for the master.
    service::install_fatal_signal_handlers(net::server::describe_request, role.crashes);
    net::address_filter allowed = allowed_peers(config.access);
    // Bind first (a privileged port needs root), then give root up, and only
    // then load the plugin: plugin code never runs with more rights than asked.
    bound_socket bound(io, config);
    if (role.worker) service::die_with_master();  // dropping privileges cleared it
    net::listener& listener = bound.listener;
    auto plugin = std::make_shared<plugin::plugin_host>(config.plugin);
    const std::string where = listener.description;
    // The server installs the signal handlers: build it before announcing the
    // address, so a SIGTERM sent on seeing the line already drains.
    std::optional<net::server> running;
    net::server& server = running.emplace(io, config.limits, config.plugin, plugin,
                                          std::move(listener), std::move(allowed));
    spdlog::info("listening on {} (plugin {} {} from {})", where, plugin->name(), plugin->version(),
                 plugin->path());
    plugin.reset();  // the server holds the current plugin from here on
    if (role.loads != nullptr && role.loads->join()) server.share_connections(*role.loads);
    if (role.crashes != nullptr && role.crashes->quarantine().enabled())
        server.answer_quarantined(role.crashes->quarantine());
    if (role.worker) {
        service::unblock_worker_signals();  // the server's handlers are in place
        (void)::write(role.ready_fd, "1", 1);
        ::close(role.ready_fd);
    } else {
        service::notify_systemd("READY=1");
    }
    const int exit_code = server.run();
    server.shutdown_plugins();
    // The drain is over: a stop signal from here on (a process manager
    // repeating itself) must not turn a clean exit into a death by signal.
    // Destroying the server restores the default action, so ignore after.
    running.reset();
    for (const int signal_number : {SIGTERM, SIGINT, SIGHUP}) std::signal(signal_number, SIG_IGN);
    return exit_code;
}

// --workers N: bind once here, then fork N workers that serve the socket.
int serve_with_workers(const run_options& options) {
    const config::server_config& config = options.server;
    boost::asio::io_context io(1);
    bound_socket bound(io, config, /*keep_root=*/true);
    net::listener& listener = bound.listener;
    spdlog::info("listening on {} (plugin from {}; {} workers)", listener.description,
                 config.plugin.path, config.process.workers);

    // What each worker runs: the plain daemon on the socket bound here.
    config::server_config worker_config = config;
    worker_config.listen.type = config::listen_config::kind::inherited_fd;
    worker_config.listen.fd = listener.socket.release();
    worker_config.process.workers = 0;
    worker_config.process.pid_file.clear();  // the master's; user and group stay, for the worker

    // Where the workers tell each other how many connections they hold.
    const std::unique_ptr<net::worker_loads> loads = net::worker_loads::create();
    // Where a dying worker says what it was serving, and poison requests are held.
    const std::unique_ptr<service::crash_reports> crashes = service::crash_reports::create(
        {static_cast<unsigned>(config.process.quarantine_after), config.process.quarantine_window});
    service::prefork_options prefork;
    prefork.on_worker_exit = [&loads, &crashes](pid_t pid) {
        loads->forget(pid);
        const auto report = crashes->take(pid);
        return report ? service::describe(*report, crashes->quarantine().settings()) : std::string();
    };
    prefork.workers = static_cast<int>(config.process.workers);
    prefork.listen_fd = worker_config.listen.fd;
    prefork.stop_timeout = config.limits.shutdown_timeout + std::chrono::seconds(5);
    return service::run_prefork_master(prefork, [&](int ready_fd) {
        // Only the master speaks to systemd, and each worker's lines say whose they are.
        ::unsetenv("NOTIFY_SOCKET");
        spdlog::default_logger()->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] [worker %P] %v");
        return serve(worker_config, serve_role{true, ready_fd, loads.get(), crashes.get()});
    });
}

}  // namespace

int run_daemon(const run_options& options) {
    log::configure(verbosity_of(options));
    // A web server that goes away mid-write must cost one connection, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    if (options.server.process.workers > 0) return serve_with_workers(options);
    return serve(options.server, serve_role{});
}

}  // namespace fcgid::cmd
