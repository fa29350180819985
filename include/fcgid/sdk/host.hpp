// fcgid/sdk/host.hpp: the host table the SDK calls, and logging.
//
// FCGID_APP (app.hpp) stores the table the daemon passes to the entry point;
// everything in the SDK reaches the daemon through it. Plugins export only
// their entry point, so each plugin has its own copy of this variable.
//
// The struct_size rule (plugin.h): the entry point checks the ABI major
// only, since the SDK calls ABI 1.0 members only. SDK code that comes to
// call a member added in 1.N tests FCGID_HOST_HAS(&host(), member) there.
#ifndef FCGID_SDK_HOST_HPP
#define FCGID_SDK_HOST_HPP

#include <string_view>

#include "fcgid/plugin.h"
#include "fcgid/plugin.hpp"

namespace fcgid::sdk {

namespace detail {
inline const fcgid_host_api* host_table = nullptr;
}  // namespace detail

// The daemon's function table; valid from the entry point until shutdown.
inline const fcgid_host_api& host() noexcept { return *detail::host_table; }

enum class log_level { trace = FCGID_LOG_TRACE, debug = FCGID_LOG_DEBUG, info = FCGID_LOG_INFO,
                       warn = FCGID_LOG_WARN, error = FCGID_LOG_ERROR };

// One line in the daemon's log under the plugin's name. Any thread.
inline void log(log_level level, std::string_view message) noexcept {
    fcgid::log(detail::host_table, static_cast<int>(level), message);
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_HOST_HPP
