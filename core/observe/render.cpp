#include "observe/render.hpp"

#include "observe/metrics_table.hpp"

namespace fcgid::observe {

render_options options_from_query(std::string_view query) noexcept {
    render_options options;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        std::string_view word = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        // "json=" or "json=1" as well as "json".
        word = word.substr(0, word.find('='));
        if (word == "json") options.as = format::json;
        else if (word == "openmetrics") options.as = format::openmetrics;
        else if (word == "prometheus") options.as = format::prometheus;
        else if (word == "text") options.as = format::text;
        else if (word == "full") options.full = true;
    }
    return options;
}

format format_from_accept(std::string_view accept) noexcept {
    return accept.find("application/openmetrics-text") != std::string_view::npos ? format::openmetrics
                                                                                 : format::prometheus;
}

std::string_view content_type(format f) noexcept {
    switch (f) {
        case format::text: return "text/plain; charset=utf-8";
        case format::json: return "application/json";
        case format::prometheus: return "text/plain; version=0.0.4; charset=utf-8";
        case format::openmetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    }
    return "text/plain";
}

std::string render(const snapshot& s, render_options options) {
    switch (options.as) {
        case format::text: return render_text(s, options.full);
        case format::json: return render_json(s, options.full);
        case format::prometheus: return render_exposition(s, false, options.full);
        case format::openmetrics: return render_exposition(s, true, options.full);
    }
    return {};
}

std::string render_metrics(format f, bool full) {
    const metrics_table* table = installed();
    if (table == nullptr) return {};
    return render(take_snapshot(*table), {f, full});
}

bool ready() noexcept {
    const metrics_table* table = installed();
    return table != nullptr && ready(*table);
}

}  // namespace fcgid::observe
