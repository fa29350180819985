// The listening socket of `fcgid run` and what comes with it: which socket
// (the command line's or systemd's), which TCP peers may connect, the unix
// socket file removed at exit, the pid file, and root given up once bound.
#pragma once

#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/server_config.hpp"
#include "net/address_filter.hpp"
#include "net/listener.hpp"
#include "service/pid_file.hpp"

namespace fcgid::service {

// Socket activation: when the command line named no socket (no --port,
// --socket or --fd), the one systemd passed (`activated`, from
// systemd_listen_fd()) replaces fd 0. Otherwise `listen` is left as it is.
void adopt_socket_activation(config::listen_config& listen, std::optional<int> activated);

// The TCP peers that may connect: FCGI_WEB_SERVER_ADDRS (`web_server_addrs`,
// the variable's value, or null when it is unset) and every --allow. Empty
// allows everyone. Throws std::runtime_error "FCGI_WEB_SERVER_ADDRS: ..." for
// a bad entry in the variable, std::invalid_argument for a bad --allow
// (which the command line has already refused).
net::address_filter allowed_peers(const config::access_config& access, const char* web_server_addrs);

// Removes the unix socket file fcgid created, on exit or on a failed start.
class socket_file_remover {
public:
    explicit socket_file_remover(std::string path) : path_(std::move(path)) {}
    ~socket_file_remover();
    socket_file_remover(const socket_file_remover&) = delete;
    socket_file_remover& operator=(const socket_file_remover&) = delete;

private:
    std::string path_;  // empty: nothing to remove
};

// Binds (or adopts) the socket of `config.listen`, then writes the pid file,
// then gives root up (--user, --group). Whatever was done is undone if a
// later step throws, and at destruction: the socket file and the pid file
// are removed. Throws std::runtime_error with a one-line message
// ("cannot listen on 127.0.0.1:80: Permission denied").
//
// `keep_root`: a --workers master stays root (it only forks and waits), so
// it can remove the pid file from a root-only directory such as /run; its
// workers give root up before loading the plugin.
struct listening_socket {
    listening_socket(boost::asio::io_context& io, const config::server_config& config,
                     bool keep_root = false);

    net::listener listener;  // moved into the server once it is built
    socket_file_remover remove_socket_file;
    std::optional<pid_file> pid;
};

}  // namespace fcgid::service
