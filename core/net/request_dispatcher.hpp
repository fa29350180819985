// Hands complete requests to the plugin: the one place a request meets
// plugin code from the loop.
//
// Owned by the server, which swaps the plugin on a reload and sets the
// quarantine with --workers; used by connections, which pass each request
// down to it once its params and body are in. It knows no connection and
// calls nothing above it: what the plugin does with the request comes back
// to the connection through the request's output queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace fcgid::plugin {
class plugin_host;
}

namespace fcgid::service {
class quarantine_table;
}

namespace fcgid::net {

class request;
class status_endpoints;

class request_dispatcher {
public:
    explicit request_dispatcher(std::shared_ptr<plugin::plugin_host> plugin) noexcept
        : plugin_(std::move(plugin)) {}

    // Calls the plugin's handle() for `r` (unless it is quarantined), then
    // settles what handle() returned: finished, failed or deferred.
    void dispatch(request& r);

    // The plugin new requests go to. Requests in flight keep the one they got.
    const std::shared_ptr<plugin::plugin_host>& plugin() const noexcept { return plugin_; }
    // Returns the plugin it replaces.
    std::shared_ptr<plugin::plugin_host> replace_plugin(std::shared_ptr<plugin::plugin_host> fresh) noexcept;

    // --workers: answer requests that `quarantine` holds (they crashed
    // workers) with a 500 instead of calling the plugin.
    void answer_quarantined(const service::quarantine_table& quarantine) noexcept {
        quarantine_ = &quarantine;
    }

    // --status-path, --ping-path: `endpoints` answers those before the plugin.
    // Not called when neither is set: then the check is one null test.
    void answer_status(const status_endpoints& endpoints) noexcept { status_ = &endpoints; }

private:
    // True (and answered 500) if `r` is quarantined as a poison request.
    bool reject_if_quarantined(request& r);

    std::shared_ptr<plugin::plugin_host> plugin_;
    const service::quarantine_table* quarantine_ = nullptr;
    const status_endpoints* status_ = nullptr;
    // Quarantined requests are logged at most once a second, with a count of the rest.
    std::chrono::steady_clock::time_point quarantine_logged_at_{};
    std::uint64_t quarantine_unlogged_ = 0;
};

}  // namespace fcgid::net
