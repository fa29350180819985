// The status page as JSON (?json), built with nlohmann-json.
#include <nlohmann/json.hpp>

#include "observe/metric_names.hpp"
#include "observe/render.hpp"

namespace fcgid::observe {
namespace {

using json = nlohmann::ordered_json;

json histogram_json(const histogram_values& h) {
    json buckets = json::array();
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < histogram::buckets; ++b) {
        cumulative += h.counts[b];
        json bucket;
        if (b < duration_bounds_us.size()) bucket["le"] = static_cast<double>(duration_bounds_us[b]) / 1e6;
        else bucket["le"] = "+Inf";
        bucket["count"] = cumulative;
        buckets.push_back(std::move(bucket));
    }
    return json{{"count", h.count()}, {"sum_seconds", static_cast<double>(h.sum_us) / 1e6}, {"buckets", buckets}};
}

json row_json(const row_values& row) {
    json out;
    for (std::size_t c = 0; c < counter_count; ++c) out[std::string(counter_names[c].key)] = row.counters[c];
    for (std::size_t g = 0; g < gauge_count; ++g) out[std::string(gauge_names[g].key)] = row.gauges[g];
    for (std::size_t h = 0; h < histogram_count; ++h)
        out[std::string(histogram_names[h].key)] = histogram_json(row.histograms[h]);
    return out;
}

}  // namespace

std::string render_json(const snapshot& s, bool full) {
    json out;
    out["version"] = s.version;
    out["pid"] = s.pid;
    out["state"] = std::string(state_name(s.state));
    out["ready"] = s.ready;
    out["start_time"] = s.started_at_ms / 1000;
    out["uptime_seconds"] = (s.now_ms - s.started_at_ms) / 1000;
    out["workers_configured"] = s.workers_configured;
    out["workers_live"] = s.workers.size();
    out["plugin"] = {{"name", s.plugin_name}, {"version", s.plugin_version}};
    for (std::size_t c = 0; c < process_counter_count; ++c)
        out[std::string(process_counter_names[c].key)] = s.process_counters[c];
    if (s.queue) out["listen_queue"] = {{"length", s.queue->length}, {"capacity", s.queue->capacity}};
    else out["listen_queue"] = nullptr;
    out["resident_bytes"] = s.total_resident_bytes();
    out["total"] = row_json(s.total);
    if (full) {
        json workers = json::array();
        for (const worker_values& w : s.workers) {
            json entry;
            entry["worker"] = w.number;
            entry["pid"] = w.pid;
            entry["state"] = std::string(state_name(w.state));
            entry["start_time"] = w.started_at_ms / 1000;
            entry["plugin"] = {{"name", w.plugin_name}, {"version", w.plugin_version}};
            entry["resident_bytes"] = w.resident_bytes;
            entry.update(row_json(w.values));
            workers.push_back(std::move(entry));
        }
        out["workers"] = std::move(workers);
    }
    // Plugin names come from plugins: replace what is not UTF-8 rather than throw.
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace fcgid::observe
