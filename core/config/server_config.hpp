// Everything `fcgid run` was asked to do, as plain values. Built by the
// command line (cmd/), read by the server (core/net/).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fcgid::config {

struct listen_config {
    enum class kind { tcp, unix_socket, inherited_fd };
    kind type = kind::inherited_fd;
    std::string host = "localhost";  // tcp
    std::uint16_t port = 0;          // tcp; 0 = a port the kernel picks
    std::string socket_path;         // unix_socket
    int fd = 0;                      // inherited_fd; 0 = FCGI_LISTENSOCK_FILENO
};

struct limits_config {
    std::uint64_t request_limit = 0;                   // requests served; 0 = none
    std::uint64_t memory_limit = 0;                    // bytes of resident memory; 0 = none
    std::chrono::seconds time_limit{0};                // since start; 0 = none
    bool auto_shutdown = false;                        // drain after a 5xx was sent
    std::chrono::seconds shutdown_timeout{30};         // longest drain; 0 = no wait
    std::size_t max_connections = 1024;                // reported as FCGI_MAX_CONNS
    std::size_t max_requests_per_connection = 256;     // beyond: FCGI_OVERLOADED
    std::uint64_t max_params_bytes = 1024 * 1024;      // per request; beyond: close
    std::uint64_t max_body_bytes = 64 * 1024 * 1024;   // per request; beyond: 413
};

struct plugin_config {
    std::string path;
    std::vector<std::pair<std::string, std::string>> options;  // --plugin-option KEY=VALUE
};

struct server_config {
    listen_config listen;
    limits_config limits;
    plugin_config plugin;
};

}  // namespace fcgid::config
