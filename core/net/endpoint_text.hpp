// Human-readable names of socket endpoints, for log lines.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/generic/stream_protocol.hpp>
#include <fmt/format.h>

namespace fcgid::net {

// "127.0.0.1:5000", "[::1]:5000" or "unix:/run/fcgid.sock".
std::string endpoint_text(const boost::asio::generic::stream_protocol::endpoint& endpoint);

// The remote end of a connected socket ("unix" peers are usually unnamed:
// then "unix:" plus nothing). Never throws; "unknown peer" on error.
std::string endpoint_text(const boost::asio::generic::stream_protocol::socket& socket);

// An endpoint that is put into text only when a log line naming it is really
// written. Every connection keeps its peer for its log lines, but most
// connections log nothing at the default level: formatting each peer up
// front (inet_ntop, a string) was a measurable part of accepting one.
struct endpoint_name {
    boost::asio::generic::stream_protocol::endpoint endpoint;
};

}  // namespace fcgid::net

template <>
struct fmt::formatter<fcgid::net::endpoint_name> : fmt::formatter<std::string_view> {
    template <typename FormatContext>
    auto format(const fcgid::net::endpoint_name& name, FormatContext& ctx) const {
        const std::string text = fcgid::net::endpoint_text(name.endpoint);
        return fmt::formatter<std::string_view>::format(std::string_view(text), ctx);
    }
};
