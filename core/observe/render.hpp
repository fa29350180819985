// The status page and metrics in each format, from a snapshot of the
// metrics table. The status path (status_responder.hpp) and the
// --metrics-listen HTTP listener both render through here.
//
// render_metrics() and ready() only read the shared table: safe to call from
// any thread (the listener runs its own).
#pragma once

#include <string>
#include <string_view>

#include "observe/snapshot.hpp"

namespace fcgid::observe {

enum class format { text, json, prometheus, openmetrics };

struct render_options {
    format as = format::text;
    bool full = false;  // one entry per worker besides the totals
};

// From a status request's QUERY_STRING: "json", "openmetrics",
// "prometheus", "text", "full", joined by '&' ("json&full"); anything else
// is ignored, as PHP-FPM does.
render_options options_from_query(std::string_view query) noexcept;
// For a /metrics endpoint: OpenMetrics when the Accept header asks for it,
// else the Prometheus text format.
format format_from_accept(std::string_view accept) noexcept;
// The Content-Type header value for `f`.
std::string_view content_type(format f) noexcept;

std::string render(const snapshot& s, render_options options);
std::string render_text(const snapshot& s, bool full);
std::string render_json(const snapshot& s, bool full);
// Prometheus text 0.0.4 or OpenMetrics 1.0.0 (ending in "# EOF").
std::string render_exposition(const snapshot& s, bool openmetrics, bool full);

// Renders the installed table (metrics_table.hpp); an empty string if none.
std::string render_metrics(format f, bool full);
// The installed table says the process serves; false if none.
bool ready() noexcept;

}  // namespace fcgid::observe
