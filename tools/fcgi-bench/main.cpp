// fcgi-bench: a FastCGI load generator. Speaks to a FastCGI server directly,
// with no web server in between; see README.md next to this file.
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <thread>

#include "endpoint.hpp"
#include "idle_connections.hpp"
#include "get_values.hpp"
#include "load_loop.hpp"
#include "options.hpp"
#include "report.hpp"
#include "request_encoder.hpp"

namespace {

using fcgi_bench::bench_options;

void setup_options(CLI::App& app, bench_options& o, std::vector<std::string>& params, std::string& keep_conn) {
    app.add_option("address", o.address, "Server: HOST:PORT, [V6]:PORT or unix:PATH")->required();
    app.add_option("-c,--connections", o.connections, "Connections, all open at once")
        ->check(CLI::Range(1, 60000))->capture_default_str();
    auto* duration = app.add_option("-d,--duration", o.duration_s, "Seconds to measure")
                         ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("-n,--requests", o.requests, "Requests to measure, instead of a duration")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
        ->excludes(duration);
    app.add_option("--warmup-requests", o.warmup_requests,
                   "Requests sent first on the same connections and not measured; measuring starts "
                   "once they are all answered")
        ->capture_default_str();
    app.add_option("--keep-conn", keep_conn, "FCGI_KEEP_CONN; off opens a new connection per request")
        ->check(CLI::IsMember({"on", "off"}))->capture_default_str();
    app.add_option("-m,--multiplex", o.multiplex, "Requests in flight per connection (needs --keep-conn on)")
        ->check(CLI::Range(1, 65535))->capture_default_str();
    app.add_option("--uri", o.uri, "REQUEST_URI (SCRIPT_NAME, DOCUMENT_URI and QUERY_STRING follow)")
        ->capture_default_str();
    app.add_option("--body-size", o.body_size,
                   "POST this many body bytes per request (REQUEST_METHOD, CONTENT_LENGTH and CONTENT_TYPE follow)")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32));
    app.add_option("-p,--param", params, "NAME=VALUE, added or replacing a default param (repeatable)");
    app.add_flag("--get-values", o.get_values, "Ask FCGI_GET_VALUES first and print the answer");
    app.add_option("--signal-pid", o.signal_pid,
                   "Send SIGUSR2 to this process when measuring starts and when it ends")
        ->check(CLI::PositiveNumber);
    app.add_option("--drain-timeout", o.drain_timeout_s, "Seconds to wait for answers after the window")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--max-time", o.max_time_s, "With --requests: seconds after which measuring stops")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--idle", o.idle,
                   "Open N more connections first, each answered one request with FCGI_KEEP_CONN, "
                   "and hold them idle while the load runs")
        ->check(CLI::Range(0, 60000))->capture_default_str();
    app.add_option("--idle-pause", o.idle_pause_s,
                   "Seconds to wait after the idle connections are open, before the load "
                   "(time for a script to read the server's memory)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_flag("--strict", o.strict,
                 "Also fail when a request was left unanswered or a connection served none");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("fcgi-bench: FastCGI load generator (closed loop, one epoll thread)", "fcgi-bench");
    bench_options options;
    std::vector<std::string> params;
    std::string keep_conn = "on";
    setup_options(app, options, params, keep_conn);
    try {
        app.parse(argc, argv);
        options.keep_conn = keep_conn == "on";
        if (options.multiplex > 1 && !options.keep_conn)
            throw CLI::ValidationError("--multiplex", "more than one request per connection needs --keep-conn on");
        for (const auto& p : params) {
            const auto eq = p.find('=');
            if (eq == std::string::npos || eq == 0)
                throw CLI::ValidationError("--param", "'" + p + "' is not NAME=VALUE");
            options.params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
        }
    } catch (const CLI::ParseError& e) {
        // Like fcgid: 2 for a wrong command line (0 for --help).
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        const auto to = fcgi_bench::parse_endpoint(options.address);
        auto overrides = options.params;
        if (options.body_size > 0) {
            // The defaults of a POST; an explicit -p still wins (it comes last).
            overrides.insert(overrides.begin(), {{"REQUEST_METHOD", "POST"},
                                                 {"CONTENT_LENGTH", std::to_string(options.body_size)},
                                                 {"CONTENT_TYPE", "application/octet-stream"}});
        }
        const auto request_params = fcgi_bench::default_params(options.uri, overrides);
        std::cout << "fcgi-bench   " << to.text << ", " << options.connections << " connections, keep-conn "
                  << keep_conn << ", " << options.multiplex << " in flight per connection, ";
        if (options.requests > 0)
            std::cout << options.requests << " requests";
        else
            std::cout << options.duration_s << " s";
        std::cout << ", " << request_params.size() << " params\n";
        std::map<std::string, std::string> values;
        if (options.get_values) {
            values = fcgi_bench::get_values(to, 1.0);
            fcgi_bench::print_get_values(std::cout, values);
        }
        std::unique_ptr<fcgi_bench::idle_connections> idle;
        if (options.idle > 0) {
            idle = std::make_unique<fcgi_bench::idle_connections>(to, options.idle, request_params, 10.0);
            std::cout << "idle         " << idle->size() << " connections open, each served one request"
                      << std::endl;
            std::this_thread::sleep_for(std::chrono::duration<double>(options.idle_pause_s));
        }
        auto result = fcgi_bench::run_load(options, to, request_params);
        fcgi_bench::print_report(std::cout, options, result, values);
        if (idle) {
            const std::size_t closed = idle->closed_by_server();
            std::cout << "idle         " << idle->size() - closed << " of " << idle->size()
                      << " still open at the end\n";
            if (closed > 0 && options.strict) return 1;
        }
        return fcgi_bench::exit_status(options, result);
    } catch (const std::exception& e) {
        std::cerr << "fcgi-bench: error: " << e.what() << '\n';
        return 2;
    }
}
