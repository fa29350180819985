#include "run_command.hpp"

#include <unistd.h>

#include <csignal>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "config/byte_size.hpp"
#include "log/logging.hpp"
#include "net/listener.hpp"
#include "net/server.hpp"
#include "plugin/host_api.hpp"
#include "plugin/plugin_host.hpp"

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
                   ->check(CLI::NonNegativeNumber)
                   ->excludes(port)
                   ->excludes(socket);
    options.port_option = port;
    options.socket_option = socket;
    options.fd_option = fd;

    run.add_option("--request-limit", limits.request_limit, "Drain after this many requests (0: none)")
        ->default_str("0");
    run.add_option("--memory-limit", options.memory_limit_text,
                   "Drain when resident memory reaches SIZE (bytes, or k/m/g; 0: none)")
        ->check(byte_size_validator)
        ->default_str("0");
    run.add_option("--time-limit", options.time_limit_seconds, "Drain after this many seconds (0: none)")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0");
    run.add_flag("--auto-shutdown", limits.auto_shutdown, "Drain after a 5xx response was sent");
    run.add_option("--shutdown-timeout", options.shutdown_timeout_seconds,
                   "Longest a drain may take, in seconds, before in-flight work is cut")
        ->check(CLI::NonNegativeNumber)
        ->default_str("30");

    auto* verbose = run.add_flag("-v,--verbose", options.verbose, "More logging: -v debug, -vv trace");
    run.add_flag("-q,--quiet", options.quiet, "Only warnings and errors")->excludes(verbose);
    run.add_option("--driver", options.driver, "Event loop driver (asio; userland is an alias)")
        ->check(CLI::IsMember({"asio", "userland"}))
        ->default_str("asio");
    return run;
}

void finish_run_options(run_options& options) {
    auto& limits = options.server.limits;
    auto& listen = options.server.listen;
    if (options.port_option->count() > 0)
        listen.type = config::listen_config::kind::tcp;
    else if (options.socket_option->count() > 0)
        listen.type = config::listen_config::kind::unix_socket;
    else
        listen.type = config::listen_config::kind::inherited_fd;

    if (!options.memory_limit_text.empty())
        limits.memory_limit = *config::parse_byte_size(options.memory_limit_text);  // validated
    limits.time_limit = std::chrono::seconds(options.time_limit_seconds);
    limits.shutdown_timeout = std::chrono::seconds(options.shutdown_timeout_seconds);

    for (const std::string& pair : options.plugin_options) {
        const auto eq = pair.find('=');
        options.server.plugin.options.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
}

int run_daemon(const run_options& options) {
    const config::server_config& config = options.server;
    log::configure(verbosity_of(options));
    // A web server that goes away mid-write must cost one connection, not the process.
    std::signal(SIGPIPE, SIG_IGN);

    // Concurrency hint 1: one thread runs the loop, but plugin threads post to it.
    boost::asio::io_context io(1);
    plugin::bind_loop(io);
    // The plugin first: a broken plugin is refused before any socket is touched.
    plugin::plugin_host plugin(config.plugin);
    net::listener listener = net::open_listener(io, config.listen);
    spdlog::info("listening on {} (plugin {} {} from {})", listener.description, plugin.name(),
                 plugin.version(), plugin.path());

    net::server server(io, config.limits, plugin, std::move(listener));
    const int exit_code = server.run();
    plugin.shutdown();
    if (config.listen.type == config::listen_config::kind::unix_socket)
        ::unlink(config.listen.socket_path.c_str());
    return exit_code;
}

}  // namespace fcgid::cmd
