// The host side of the plugin ABI: the fcgid_host_api table whose functions
// turn the opaque handles back into net::request objects.
//
// Calls made on the loop thread take effect at once. Calls from a plugin's
// own threads copy their arguments and are posted to the loop (in order, per
// calling thread), so request state is only ever touched by one thread.
#pragma once

#include <string>

#include <boost/asio/io_context.hpp>

#include "fcgid/plugin.h"

namespace fcgid::plugin {

// The table handed to the plugin's entry point; static, lives forever.
const fcgid_host_api* host_api_table() noexcept;

// Names the loop: the calling thread becomes the loop thread, and calls from
// other threads are posted to `io`. Call before the plugin's entry point.
void bind_loop(boost::asio::io_context& io);

// The loop bind_loop() named.
boost::asio::io_context& loop() noexcept;

// The plugin's name, shown in front of its log lines.
void set_plugin_name(const std::string& name);

}  // namespace fcgid::plugin
