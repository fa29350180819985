// The metrics in the Prometheus text format 0.0.4 and in OpenMetrics 1.0.0.
//
// The two differ where it matters to a strict parser: OpenMetrics names a
// counter family without "_total" in # HELP and # TYPE (its samples carry
// it), has an info type, and ends with "# EOF"; Prometheus 0.0.4 names the
// counter with "_total" everywhere and knows no info type (a gauge of 1).
#include <fmt/format.h>

#include "observe/metric_names.hpp"
#include "observe/render.hpp"

namespace fcgid::observe {
namespace {

enum class kind { counter, gauge, histogram, info };

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

class exposition {
public:
    explicit exposition(bool openmetrics) : openmetrics_(openmetrics) {}

    // Starts a family: `name` is its base name (no _total, no _info).
    void family(std::string_view name, kind k, std::string_view help) {
        family_ = name;
        kind_ = k;
        std::string shown(name);
        std::string_view type = "gauge";
        switch (k) {
            case kind::counter:
                type = "counter";
                if (!openmetrics_) shown += "_total";
                break;
            case kind::gauge: break;
            case kind::histogram: type = "histogram"; break;
            case kind::info:
                if (openmetrics_) type = "info";
                else shown += "_info";
                break;
        }
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", shown, help, shown, type);
    }

    // A sample of the current family; `suffix` after its name ("_bucket"),
    // or the kind's own (_total, _info) when empty.
    template <typename Value>
    void sample(std::string_view labels, Value value, std::string_view suffix = {}) {
        out_ += family_;
        if (!suffix.empty()) out_ += suffix;
        else if (kind_ == kind::counter) out_ += "_total";
        else if (kind_ == kind::info) out_ += "_info";
        if (!labels.empty()) fmt::format_to(std::back_inserter(out_), "{{{}}}", labels);
        fmt::format_to(std::back_inserter(out_), " {}\n", value);
    }

    void histogram_samples(std::string_view labels, const histogram_values& h) {
        std::uint64_t cumulative = 0;
        const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
        for (std::size_t b = 0; b < histogram::buckets; ++b) {
            cumulative += h.counts[b];
            const std::string le = b < duration_bounds_us.size()
                                       ? fmt::format("{}", static_cast<double>(duration_bounds_us[b]) / 1e6)
                                       : std::string("+Inf");
            sample(fmt::format("{}le=\"{}\"", prefix, le), cumulative, "_bucket");
        }
        sample(labels, cumulative, "_count");
        sample(labels, static_cast<double>(h.sum_us) / 1e6, "_sum");
    }

    std::string finish() {
        if (openmetrics_) out_ += "# EOF\n";
        return std::move(out_);
    }

private:
    bool openmetrics_;
    std::string out_;
    std::string family_;
    kind kind_ = kind::gauge;
};

std::string worker_labels(const worker_values& w) {
    return fmt::format("worker=\"{}\",pid=\"{}\"", w.number, w.pid);
}

std::string join_labels(std::string_view a, std::string_view b) {
    if (a.empty()) return std::string(b);
    if (b.empty()) return std::string(a);
    return fmt::format("{},{}", a, b);
}

// Families from a names table, one per run of entries sharing a family
// name; `value_of(i, labels)` writes entry i's samples.
template <std::size_t N, typename Samples>
void families(exposition& e, const std::array<metric_name, N>& names, kind k, std::string_view prefix_swap,
              Samples&& samples) {
    for (std::size_t i = 0; i < N; ++i) {
        if (i == 0 || names[i].family != names[i - 1].family) {
            std::string name(names[i].family);
            // Per-worker families: fcgid_x becomes fcgid_worker_x.
            if (!prefix_swap.empty()) name = std::string(prefix_swap) + name.substr(std::string_view("fcgid_").size());
            e.family(name, k, names[i].help);
        }
        samples(i, names[i].label);
    }
}

}  // namespace

std::string render_exposition(const snapshot& s, bool openmetrics, bool full) {
    exposition e(openmetrics);

    e.family("fcgid_build", kind::info, "fcgid and plugin versions");
    e.sample(fmt::format("version=\"{}\",plugin=\"{}\",plugin_version=\"{}\"", escape_label_value(s.version),
                         escape_label_value(s.plugin_name), escape_label_value(s.plugin_version)),
             1);
    e.family("fcgid_start_time_seconds", kind::gauge, "When fcgid started, in Unix time");
    e.sample("", s.started_at_ms / 1000);
    e.family("fcgid_uptime_seconds", kind::gauge, "Seconds since fcgid started");
    e.sample("", (s.now_ms - s.started_at_ms) / 1000);
    e.family("fcgid_ready", kind::gauge, "1 while serving; 0 while starting, draining or stopping");
    e.sample("", s.ready ? 1 : 0);
    e.family("fcgid_workers", kind::gauge, "Serving processes, by state (one without --workers)");
    for (const run_state state : {run_state::starting, run_state::serving, run_state::draining, run_state::stopping}) {
        std::size_t n = 0;
        for (const worker_values& w : s.workers) n += w.state == state ? 1 : 0;
        e.sample(fmt::format("state=\"{}\"", state_name(state)), n);
    }
    e.family("fcgid_workers_configured", kind::gauge, "--workers (0: serving in one process)");
    e.sample("", s.workers_configured);
    e.family("fcgid_resident_memory_bytes", kind::gauge, "Resident memory of all fcgid processes, in bytes");
    e.sample("", s.total_resident_bytes());
    if (s.queue) {
        e.family("fcgid_listen_queue_length", kind::gauge,
                 "Connections waiting in the listening socket's accept queue");
        e.sample("", s.queue->length);
        e.family("fcgid_listen_queue_capacity", kind::gauge, "The listening socket's backlog");
        e.sample("", s.queue->capacity);
    }

    families(e, process_counter_names, kind::counter, {},
             [&](std::size_t i, std::string_view label) { e.sample(label, s.process_counters[i]); });
    families(e, counter_names, kind::counter, {},
             [&](std::size_t i, std::string_view label) { e.sample(label, s.total.counters[i]); });
    families(e, gauge_names, kind::gauge, {},
             [&](std::size_t i, std::string_view label) { e.sample(label, s.total.gauges[i]); });
    families(e, histogram_names, kind::histogram, {},
             [&](std::size_t i, std::string_view label) { e.histogram_samples(label, s.total.histograms[i]); });

    if (full) {
        // Per worker, in families of their own so that summing a family
        // never counts a request twice. Histograms stay whole-process.
        e.family("fcgid_worker_state", kind::gauge, "1 for each worker's current state");
        for (const worker_values& w : s.workers)
            e.sample(join_labels(worker_labels(w), fmt::format("state=\"{}\"", state_name(w.state))), 1);
        e.family("fcgid_worker_start_time_seconds", kind::gauge, "When the worker started, in Unix time");
        for (const worker_values& w : s.workers) e.sample(worker_labels(w), w.started_at_ms / 1000);
        e.family("fcgid_worker_resident_memory_bytes", kind::gauge, "The worker's resident memory, in bytes");
        for (const worker_values& w : s.workers) e.sample(worker_labels(w), w.resident_bytes);
        families(e, counter_names, kind::counter, "fcgid_worker_", [&](std::size_t i, std::string_view label) {
            for (const worker_values& w : s.workers)
                e.sample(join_labels(worker_labels(w), label), w.values.counters[i]);
        });
        families(e, gauge_names, kind::gauge, "fcgid_worker_", [&](std::size_t i, std::string_view label) {
            for (const worker_values& w : s.workers)
                e.sample(join_labels(worker_labels(w), label), w.values.gauges[i]);
        });
    }
    return e.finish();
}

}  // namespace fcgid::observe
