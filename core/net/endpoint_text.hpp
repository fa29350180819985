// Human-readable names of socket endpoints, for log lines.
#pragma once

#include <string>

#include <boost/asio/generic/stream_protocol.hpp>

namespace fcgid::net {

// "127.0.0.1:5000", "[::1]:5000" or "unix:/run/fcgid.sock".
std::string endpoint_text(const boost::asio::generic::stream_protocol::endpoint& endpoint);

// The remote end of a connected socket ("unix" peers are usually unnamed:
// then "unix:" plus nothing). Never throws; "unknown peer" on error.
std::string endpoint_text(const boost::asio::generic::stream_protocol::socket& socket);

}  // namespace fcgid::net
