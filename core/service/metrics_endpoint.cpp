#include "service/metrics_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "observe/render.hpp"

namespace fcgid::service {

std::string metrics_body(http::metrics_format format) {
    // The listener's thread: render_metrics only reads the shared table.
    return observe::render_metrics(
        format == http::metrics_format::openmetrics ? observe::format::openmetrics : observe::format::prometheus,
        /*full=*/false);
}

bool ready_for_requests() noexcept { return observe::ready(); }

std::unique_ptr<http::metrics_listener> start_metrics_listener(const config::server_config& config) {
    if (config.metrics.listen.empty()) return nullptr;
    http::metrics_listener_options options;
    options.address = http::parse_listen_address(config.metrics.listen);
    options.metrics_body = metrics_body;
    options.ready = ready_for_requests;
    auto listener = std::make_unique<http::metrics_listener>(std::move(options));
    spdlog::info("metrics endpoint on http://{}/ (/metrics, /health, /ready)", listener->description());
    // Allowed, as a Kubernetes probe or a Prometheus in another pod needs
    // the pod's address; but the page tells what is served, so say it.
    if (!listener->loopback())
        spdlog::warn("metrics listener on {} is reachable from other hosts: limit who can reach it "
                     "(firewall, NetworkPolicy) or use a loopback address",
                     listener->description());
    return listener;
}

}  // namespace fcgid::service
