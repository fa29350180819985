#include "observe/snapshot.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "fcgid/version.h"
#include "limits/resident_memory.hpp"

namespace fcgid::observe {
namespace {

std::atomic<int> listen_fd{-1};

void read_row(const worker_row& row, row_values& out) noexcept {
    for (std::size_t c = 0; c < counter_count; ++c) out.counters[c] = row.counters[c].get();
    for (std::size_t g = 0; g < gauge_count; ++g) out.gauges[g] = row.gauges[g].get();
    for (std::size_t h = 0; h < histogram_count; ++h) {
        for (std::size_t b = 0; b < histogram::buckets; ++b)
            out.histograms[h].counts[b] = row.histograms[h].counts[b].get();
        out.histograms[h].sum_us = row.histograms[h].sum_us.get();
    }
}

template <std::size_t N>
std::string text_of(const shared_text<N>& text) {
    char buffer[N];
    const std::size_t length = text.get(buffer);
    return std::string(buffer, length);
}

// On Linux, TCP_INFO on a listening socket reports the accept queue:
// tcpi_unacked is its length now, tcpi_sacked the backlog (what `ss -lt`
// shows as Recv-Q and Send-Q). Unix sockets have no such query.
std::optional<listen_queue> read_listen_queue() noexcept {
    const int fd = listen_fd.load(std::memory_order_relaxed);
    if (fd < 0) return std::nullopt;
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
    if (info.tcpi_state != TCP_LISTEN) return std::nullopt;
    return listen_queue{info.tcpi_unacked, info.tcpi_sacked};
}

}  // namespace

std::uint64_t histogram_values::count() const noexcept {
    std::uint64_t n = 0;
    for (const std::uint64_t c : counts) n += c;
    return n;
}

void row_values::add(const row_values& other) noexcept {
    for (std::size_t c = 0; c < counter_count; ++c) counters[c] += other.counters[c];
    for (std::size_t g = 0; g < gauge_count; ++g) gauges[g] += other.gauges[g];
    for (std::size_t h = 0; h < histogram_count; ++h) {
        for (std::size_t b = 0; b < histogram::buckets; ++b)
            histograms[h].counts[b] += other.histograms[h].counts[b];
        histograms[h].sum_us += other.histograms[h].sum_us;
    }
}

std::uint64_t snapshot::total_resident_bytes() const noexcept {
    std::uint64_t sum = resident_bytes;
    for (const worker_values& w : workers)
        if (w.pid != pid) sum += w.resident_bytes;
    return sum;
}

std::uint64_t resident_bytes_of(pid_t pid) noexcept { return limits::resident_memory(pid).read(); }

void set_listen_socket(int fd) noexcept { listen_fd.store(fd, std::memory_order_relaxed); }

snapshot take_snapshot(const metrics_table& table) {
    snapshot s;
    const process_area& process = table.process();
    for (;;) {
        const std::uint64_t before = table.fold_sequence();
        if (before % 2 != 0) continue;  // a fold is under way: it takes microseconds
        s.workers.clear();
        s.total = {};
        read_row(table.retired(), s.total);
        const std::uint32_t in_use = table.rows_in_use();
        for (std::uint32_t i = 0; i < in_use; ++i) {
            const worker_row& row = table.row(i);
            const pid_t owner = row.owner.load(std::memory_order_acquire);
            if (owner == 0) continue;
            worker_values& w = s.workers.emplace_back();
            w.number = i;
            w.pid = owner;
            w.state = static_cast<run_state>(row.state.load(std::memory_order_acquire));
            w.started_at_ms = row.started_at_ms.load(std::memory_order_relaxed);
            read_row(row, w.values);
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (table.fold_sequence() == before) break;
    }
    for (worker_values& w : s.workers) {
        s.total.add(w.values);
        const worker_row& row = table.row(w.number);
        w.plugin_name = text_of(row.plugin_name);
        w.plugin_version = text_of(row.plugin_version);
        w.resident_bytes = resident_bytes_of(w.pid);
        if (s.plugin_name.empty() && w.state == run_state::serving) {
            s.plugin_name = w.plugin_name;
            s.plugin_version = w.plugin_version;
        }
    }
    // The retired row's gauges are always 0: levels leave with their worker.
    s.pid = process.pid.load(std::memory_order_relaxed);
    s.state = static_cast<run_state>(process.state.load(std::memory_order_acquire));
    s.started_at_ms = process.started_at_ms.load(std::memory_order_relaxed);
    s.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    s.workers_configured = process.workers_configured.load(std::memory_order_relaxed);
    s.version = FCGID_VERSION_STRING;
    for (std::size_t c = 0; c < process_counter_count; ++c) s.process_counters[c] = process.counters[c].get();
    s.queue = read_listen_queue();
    s.resident_bytes = resident_bytes_of(s.pid);
    s.ready = s.state == run_state::serving;
    if (s.ready) {
        bool any_serving = false;
        for (const worker_values& w : s.workers) any_serving = any_serving || w.state == run_state::serving;
        s.ready = any_serving;
    }
    return s;
}

bool ready(const metrics_table& table) noexcept {
    if (static_cast<run_state>(table.process().state.load(std::memory_order_acquire)) != run_state::serving)
        return false;
    const std::uint32_t in_use = table.rows_in_use();
    for (std::uint32_t i = 0; i < in_use; ++i) {
        const worker_row& row = table.row(i);
        if (row.owner.load(std::memory_order_acquire) != 0 &&
            static_cast<run_state>(row.state.load(std::memory_order_acquire)) == run_state::serving)
            return true;
    }
    return false;
}

}  // namespace fcgid::observe
