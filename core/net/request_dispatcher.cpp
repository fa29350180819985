#include "net/request_dispatcher.hpp"

#include <string>
#include <utility>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "net/request.hpp"
#include "net/status_endpoints.hpp"
#include "observe/metrics_table.hpp"
#include "plugin/plugin_host.hpp"
#include "service/plugin_call_mark.hpp"
#include "service/quarantine.hpp"

namespace fcgid::net {

void request_dispatcher::dispatch(request& r) {
    if (status_ != nullptr && status_->answer(r)) return;
    // One load per request while nothing was ever quarantined.
    if (quarantine_ != nullptr && !quarantine_->never_used() && reject_if_quarantined(r)) return;
    r.hand_to_plugin(plugin_);
    int rc;
    {
        // Marked for the fatal-signal handler (a crash in handle() names
        // `r`) and the stall watchdog (a handle() that does not return).
        const service::plugin_call in_plugin(service::plugin_callback::handle, &r);
        rc = plugin_->handle(r.as_request(), r.as_response());
    }
    r.dispatched(rc);
    observe::local()[observe::histogram_id::handle_duration].observe(
        static_cast<std::uint64_t>(r.timing().in_handle().count()));
}

std::shared_ptr<plugin::plugin_host> request_dispatcher::replace_plugin(
    std::shared_ptr<plugin::plugin_host> fresh) noexcept {
    return std::exchange(plugin_, std::move(fresh));
}

bool request_dispatcher::reject_if_quarantined(request& r) {
    const auto now = std::chrono::steady_clock::now();
    if (quarantine_->none_at(now.time_since_epoch())) return false;
    service::request_description what;
    r.describe(what);
    if (!quarantine_->quarantined(service::signature_of(what), now.time_since_epoch())) return false;
    r.reject(500);
    if (now - quarantine_logged_at_ >= std::chrono::seconds(1)) {
        spdlog::warn("quarantined request answered 500 without calling the plugin: {} {} (body {} "
                     "bytes; it crashed {} workers within {} s){}",
                     what.method, what.uri, what.body_size, quarantine_->settings().strikes,
                     quarantine_->settings().window.count(),
                     quarantine_unlogged_ == 0
                         ? std::string()
                         : fmt::format("; {} more quarantined requests since the last line",
                                       quarantine_unlogged_));
        quarantine_logged_at_ = now;
        quarantine_unlogged_ = 0;
    } else {
        ++quarantine_unlogged_;
    }
    return true;
}

}  // namespace fcgid::net
