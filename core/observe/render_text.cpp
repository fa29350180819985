// The status page as a table for a person (the default format).
#include <ctime>

#include <fmt/format.h>

#include "observe/metric_names.hpp"
#include "observe/render.hpp"

namespace fcgid::observe {
namespace {

std::string utc_time(std::int64_t unix_ms) {
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm parts{};
    ::gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
    return text;
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024 * 1024)); }

void line(std::string& out, std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(out), "{:<26}{}\n", fmt::format("{}:", key), value);
}

// "count 10, mean 0.12 ms; <=0.5 ms: 9, <=1 ms: 1": empty buckets left out.
std::string histogram_text(const histogram_values& h) {
    const std::uint64_t count = h.count();
    std::string text = fmt::format("count {}", count);
    if (count == 0) return text;
    fmt::format_to(std::back_inserter(text), ", mean {:.3f} ms;",
                   static_cast<double>(h.sum_us) / 1000.0 / static_cast<double>(count));
    for (std::size_t b = 0; b < histogram::buckets; ++b) {
        if (h.counts[b] == 0) continue;
        if (b < duration_bounds_us.size())
            fmt::format_to(std::back_inserter(text), " <={} ms: {}", static_cast<double>(duration_bounds_us[b]) / 1000.0,
                           h.counts[b]);
        else
            fmt::format_to(std::back_inserter(text), " more: {}", h.counts[b]);
    }
    return text;
}

void row_text(std::string& out, const row_values& row) {
    for (std::size_t c = 0; c < counter_count; ++c)
        line(out, counter_names[c].key, std::to_string(row.counters[c]));
    for (std::size_t g = 0; g < gauge_count; ++g) line(out, gauge_names[g].key, std::to_string(row.gauges[g]));
    for (std::size_t h = 0; h < histogram_count; ++h)
        line(out, histogram_names[h].key, histogram_text(row.histograms[h]));
}

}  // namespace

std::string render_text(const snapshot& s, bool full) {
    std::string out;
    line(out, "version", s.version);
    line(out, "pid", std::to_string(s.pid));
    line(out, "state", fmt::format("{}{}", state_name(s.state), s.ready ? " (ready)" : " (not ready)"));
    line(out, "start time", utc_time(s.started_at_ms));
    line(out, "uptime", fmt::format("{} s", (s.now_ms - s.started_at_ms) / 1000));
    line(out, "workers", s.workers_configured == 0 ? std::string("none (one process)")
                                                   : fmt::format("{} configured, {} live", s.workers_configured,
                                                                 s.workers.size()));
    line(out, "plugin", fmt::format("{} {}", s.plugin_name, s.plugin_version));
    for (std::size_t c = 0; c < process_counter_count; ++c)
        line(out, process_counter_names[c].key, std::to_string(s.process_counters[c]));
    line(out, "listen queue",
         s.queue ? fmt::format("{} waiting (backlog {})", s.queue->length, s.queue->capacity)
                 : std::string("not reported (not a TCP socket)"));
    line(out, "resident memory", mib(s.total_resident_bytes()));
    out += "\ntotal\n";
    row_text(out, s.total);
    if (!full) return out;
    for (const worker_values& w : s.workers) {
        fmt::format_to(std::back_inserter(out), "\nworker {}\n", w.number);
        line(out, "pid", std::to_string(w.pid));
        line(out, "state", state_name(w.state));
        line(out, "start time", utc_time(w.started_at_ms));
        line(out, "plugin", fmt::format("{} {}", w.plugin_name, w.plugin_version));
        line(out, "resident memory", mib(w.resident_bytes));
        row_text(out, w.values);
    }
    return out;
}

}  // namespace fcgid::observe
