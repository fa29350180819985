// The host side of the plugin ABI: the fcgid_host_api table whose functions
// turn the opaque handles back into net::request objects.
//
// Calls made on the loop thread take effect at once. Calls from a plugin's
// own threads copy their arguments and are posted to the loop (in order, per
// calling thread), so request state is only ever touched by one thread.
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "fcgid/plugin.h"

namespace fcgid::plugin {

// Names the loop: the calling thread becomes the loop thread, and calls from
// other threads are posted to `io`. Call before the plugin's entry point.
void bind_loop(boost::asio::io_context& io);

// One loaded plugin's own host table, so that its log lines carry ITS name
// even while another plugin is loaded beside it (after a SIGHUP reload, a
// retired plugin's threads may still log until its shutdown() returns).
//
// fcgid_host_api::log has no argument that says who calls, so every table
// holds the same functions except `log`, which is one of a fixed pool of
// trampolines, each bound to one slot's name. We chose this over an ABI
// change (a context argument to log) because plugins and the SDK keep the
// simple log(level, msg, len) they call from anywhere, and the pool is never
// in the way: a slot is taken per loaded plugin and given back when its
// shutdown() has returned, so only max_loaded_plugins instances alive at
// once (a reload storm with requests stuck on every generation) exhaust it.
//
// Loop thread only (construction, set_name, release); the table itself may
// be used from any thread.
class host_table {
public:
    static constexpr std::size_t max_loaded_plugins = 64;

    // Takes a free slot, logging as `name` until set_name(). Throws
    // std::runtime_error when all max_loaded_plugins slots are taken.
    explicit host_table(std::string_view name);
    ~host_table();

    host_table(const host_table&) = delete;
    host_table& operator=(const host_table&) = delete;

    // Valid, and stable in memory, as long as this object.
    const fcgid_host_api* api() const noexcept { return &api_; }

    // The name in front of this plugin's log lines from now on.
    void set_name(std::string_view name);

    // Gives the slot back (call once the plugin's shutdown() has returned:
    // the ABI allows no host call after it). Idempotent.
    void release() noexcept;

private:
    fcgid_host_api api_;
    std::size_t slot_;
    bool held_ = true;
};

}  // namespace fcgid::plugin
