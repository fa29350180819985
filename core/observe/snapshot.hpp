// A consistent copy of the metrics table, in plain numbers, for the
// renderers: what each live worker counted, and the totals (live rows plus
// what exited workers counted, so totals never go backwards).
//
// Taking one only reads the shared atomics (and /proc, and the listening
// socket): safe from any thread of any process that has the table mapped.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observe/metrics_table.hpp"

namespace fcgid::observe {

struct histogram_values {
    std::array<std::uint64_t, histogram::buckets> counts{};  // per bucket, not cumulative
    std::uint64_t sum_us = 0;
    std::uint64_t count() const noexcept;
};

struct row_values {
    std::array<std::uint64_t, counter_count> counters{};
    std::array<std::uint64_t, gauge_count> gauges{};
    std::array<histogram_values, histogram_count> histograms{};

    std::uint64_t operator[](counter_id id) const noexcept { return counters[static_cast<std::size_t>(id)]; }
    std::uint64_t operator[](gauge_id id) const noexcept { return gauges[static_cast<std::size_t>(id)]; }
    const histogram_values& operator[](histogram_id id) const noexcept {
        return histograms[static_cast<std::size_t>(id)];
    }
    void add(const row_values& other) noexcept;
};

struct worker_values {
    unsigned number = 0;  // its row in the table
    pid_t pid = 0;
    run_state state = run_state::starting;
    std::int64_t started_at_ms = 0;
    std::string plugin_name;
    std::string plugin_version;
    std::uint64_t resident_bytes = 0;  // 0 if it could not be read
    row_values values;
};

// The kernel's view of the listening socket's accept queue (TCP only).
struct listen_queue {
    std::uint32_t length = 0;   // connections waiting to be accepted
    std::uint32_t capacity = 0; // the backlog
};

struct snapshot {
    pid_t pid = 0;  // the master, or the single process
    run_state state = run_state::starting;
    bool ready = false;
    std::int64_t started_at_ms = 0;
    std::int64_t now_ms = 0;
    std::uint32_t workers_configured = 0;  // 0: a single process
    std::string version;
    std::string plugin_name;  // of the first serving worker
    std::string plugin_version;
    std::array<std::uint64_t, process_counter_count> process_counters{};
    std::optional<listen_queue> queue;
    std::uint64_t resident_bytes = 0;  // the master's own (--workers) or the process's
    std::vector<worker_values> workers;  // live rows
    row_values total;                    // live rows + retired

    std::uint64_t operator[](process_counter_id id) const noexcept {
        return process_counters[static_cast<std::size_t>(id)];
    }
    std::uint64_t total_resident_bytes() const noexcept;
};

// Reads `table` consistently (retrying while the master folds a row).
snapshot take_snapshot(const metrics_table& table);

// Ready to serve: the process serves, and at least one worker does.
bool ready(const metrics_table& table) noexcept;

// The listening socket the snapshot asks for its queue (TCP only); -1: none.
void set_listen_socket(int fd) noexcept;

// Resident bytes of process `pid` (/proc/PID/statm), 0 if unreadable.
std::uint64_t resident_bytes_of(pid_t pid) noexcept;

}  // namespace fcgid::observe
