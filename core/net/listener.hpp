// Opens the listening socket `fcgid run` was asked for: TCP, a unix socket,
// or a socket inherited on a file descriptor (FCGI_LISTENSOCK_FILENO, fd 0,
// as Apache, lighttpd and mod_fcgid hand it over).
#pragma once

#include <string>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include "config/server_config.hpp"

namespace fcgid::net {

// One acceptor type for all three kinds, so the server has one accept path.
using acceptor = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

struct listener {
    acceptor socket;
    std::string description;  // for the startup log line, e.g. "127.0.0.1:5000"
};

// Opens, binds and listens (or adopts the inherited socket). Runs before the
// loop starts, so the blocking lookups here stall nothing. A unix socket gets
// the mode, owner and group of `access` before it appears at its path.
// Throws std::runtime_error with a one-line message naming the problem.
listener open_listener(boost::asio::io_context& io, const config::listen_config& config,
                       const config::access_config& access);

}  // namespace fcgid::net
