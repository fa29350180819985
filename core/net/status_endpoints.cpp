#include "net/status_endpoints.hpp"

#include <string_view>

#include "net/request.hpp"
#include "observe/render.hpp"

namespace fcgid::net {
namespace {

// The path asked for: REQUEST_URI up to '?' (see the header for why), or
// SCRIPT_NAME when the web server sent no REQUEST_URI.
std::string_view requested_path(const request& r) noexcept {
    std::string_view uri;
    if (r.find_param("REQUEST_URI", uri)) return uri.substr(0, uri.find('?'));
    std::string_view script;
    r.find_param("SCRIPT_NAME", script);
    return script;
}

std::string_view query_of(const request& r) noexcept {
    std::string_view query;
    if (r.find_param("QUERY_STRING", query)) return query;
    std::string_view uri;
    if (!r.find_param("REQUEST_URI", uri)) return {};
    const std::size_t mark = uri.find('?');
    return mark == std::string_view::npos ? std::string_view() : uri.substr(mark + 1);
}

}  // namespace

bool status_endpoints::answer(request& r) const {
    const std::string_view path = requested_path(r);
    if (path.empty()) return false;
    if (!config_.ping_path.empty() && path == config_.ping_path) {
        r.answer(200, "text/plain; charset=utf-8", config_.ping_response + "\n");
        return true;
    }
    if (!config_.status_path.empty() && path == config_.status_path) {
        const observe::render_options options = observe::options_from_query(query_of(r));
        const observe::metrics_table* table = observe::installed();
        if (table == nullptr) {
            r.answer(503, "text/plain; charset=utf-8", "no metrics table in this process\n");
            return true;
        }
        r.answer(200, observe::content_type(options.as), observe::render(observe::take_snapshot(*table), options));
        return true;
    }
    return false;
}

}  // namespace fcgid::net
