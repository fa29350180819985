// --status-path and --ping-path: requests fcgid answers itself, before the
// plugin, so that a web server location (nginx `location = /fcgid-status`)
// exposes them as PHP-FPM's pm.status_path and ping.path are.
//
// Which param is matched: the path part of REQUEST_URI (up to '?'), falling
// back to SCRIPT_NAME only when REQUEST_URI is absent. REQUEST_URI is in the
// stock FastCGI params of every common web server (nginx fastcgi_params,
// Apache mod_proxy_fcgi, lighttpd, Caddy, h2o) and is the path the client
// asked for, so it matches what the `location` matched; SCRIPT_NAME varies
// with fastcgi_split_path_info, ProxyPass and SCRIPT_NAME rewrites. The
// format comes from QUERY_STRING (see observe/render.hpp).
//
// Loop thread only. When neither option is given, the dispatcher holds no
// pointer to this and the check costs one branch.
#pragma once

#include <string>

#include "config/server_config.hpp"

namespace fcgid::net {

class request;

class status_endpoints {
public:
    explicit status_endpoints(const config::observe_config& config) : config_(config) {}

    // Either path is set.
    bool enabled() const noexcept { return !config_.status_path.empty() || !config_.ping_path.empty(); }

    // Answers `r` if it asks for the status or the ping path; true if it did.
    bool answer(request& r) const;

private:
    const config::observe_config& config_;
};

}  // namespace fcgid::net
