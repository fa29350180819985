// Everything `fcgid run` was asked to do, as plain values. Built by the
// command line (cmd/), handed to core/service/daemon, read by the server (core/net/).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "log/access_line.hpp"
#include "log/logging.hpp"

namespace fcgid::config {

struct listen_config {
    enum class kind { tcp, unix_socket, inherited_fd };
    kind type = kind::inherited_fd;
    std::string host = "localhost";  // tcp
    std::uint16_t port = 0;          // tcp; 0 = a port the kernel picks
    std::string socket_path;         // unix_socket
    int fd = 0;                      // inherited_fd; 0 = FCGI_LISTENSOCK_FILENO
    // --fd was given: systemd's socket (socket activation) does not replace it.
    bool fd_given = false;
};

struct limits_config {
    std::uint64_t request_limit = 0;                // requests served; 0 = none
    std::uint64_t memory_limit = 0;                 // bytes of resident memory; 0 = none
    std::chrono::seconds time_limit{0};             // since start; 0 = none
    bool auto_shutdown = false;                     // drain after a 5xx was sent
    std::chrono::seconds shutdown_timeout{30};      // longest drain; 0 = no wait

    std::size_t max_connections = 1024;             // beyond: stop accepting; FCGI_MAX_CONNS
    std::size_t max_requests = 1024;                // in flight, process; beyond: FCGI_OVERLOADED
    std::size_t max_requests_per_connection = 256;  // in flight; beyond: FCGI_OVERLOADED
    std::uint64_t max_params_bytes = 256 * 1024;    // per request; beyond: close the connection
    std::size_t max_params_count = 1000;            // per request; beyond: close the connection
    std::uint64_t max_body_bytes = 64 * 1024 * 1024;  // per request; beyond: 413
    std::uint64_t max_output_buffer = 1024 * 1024;  // per connection; beyond: writes say FULL

    std::chrono::seconds idle_timeout{60};     // keep-alive connection with nothing in flight; 0 = none
    std::chrono::seconds read_timeout{30};     // a started request or record stalls; 0 = none
    std::chrono::seconds write_timeout{30};    // the web server stops reading; 0 = none
    std::chrono::seconds request_timeout{60};  // a plugin holds a response; 504; 0 = none
};

struct access_config {
    std::vector<std::string> allow;  // CIDRs or addresses; empty = every TCP peer
    unsigned socket_mode = 0660;     // unix socket permissions
    std::string socket_owner;        // user name or uid; empty = unchanged
    std::string socket_group;        // group name or gid; empty = unchanged
};

struct process_config {
    std::size_t workers = 0;  // pre-forked worker processes; 0 = serve in this process
    // --workers: a request that crashed this many workers within the window
    // is answered 500 by the workers, without the plugin, for the window. 0 = never.
    unsigned quarantine_after = 2;
    std::chrono::seconds quarantine_window{60};
    // A plugin call (handle() or a callback) that has not returned for this
    // long is logged with its request and the loop's stack. 0 = never.
    std::chrono::milliseconds stall_warning{0};
    // For this long: the process ends (with --workers, the worker, which the
    // master replaces). 0 = never.
    std::chrono::seconds stall_kill{0};
    std::string pid_file;  // empty = none
    std::string user;      // drop to this user after binding; empty = stay
    std::string group;     // and this group; empty = the user's
};

struct metrics_config {
    // --metrics-listen: HOST:PORT, [IPV6]:PORT or PORT (loopback) of the
    // HTTP listener for /metrics, /health and /ready; empty = none.
    std::string listen;
};

struct plugin_config {
    std::string path;
    std::vector<std::pair<std::string, std::string>> options;  // --plugin-option KEY=VALUE
};

// --status-path, --ping-path: answered by fcgid itself (net/status_endpoints.hpp).
struct observe_config {
    std::string status_path;             // empty = off
    std::string ping_path;               // empty = off
    std::string ping_response = "pong";  // the ping's body
};

struct logs_config {
    std::string access_log;  // --access-log PATH; "-" = stdout; empty = none
    log::access_format access_log_format = log::access_format::combined;
    std::chrono::milliseconds slow_request_time{0};  // warn past this; 0 = never
};

struct server_config {
    listen_config listen;
    limits_config limits;
    access_config access;
    process_config process;
    plugin_config plugin;
    metrics_config metrics;
    observe_config observe;
    logs_config logs;
    log::verbosity verbosity = log::verbosity::normal;  // -q, -v, -vv
};

}  // namespace fcgid::config
