// The figures fcgid reports (status page, metrics): one row of counters per
// serving process, in memory the --workers master and every worker share,
// so that any worker, or the master, can answer for all of them.
//
// Each row has one writer, the process that joined it, so counting is a
// relaxed load and store (no locked instruction, no allocation): cheap
// enough for the request path. Readers (the renderers, possibly on another
// thread or in another process) only load.
//
// Counters never go backwards: when a worker exits, the master folds its
// row into the retired totals before freeing it, under a sequence count
// that readers check (take_snapshot), so no total is seen twice or missed.
//
// A single process (no --workers) has one row and the same process area.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace fcgid::observe {

// A count one process adds to and any process reads.
class counter {
public:
    // One writer per counter: a plain load and store, no read-modify-write.
    void add(std::uint64_t n = 1) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }
    // The master, folding a row it owns now that its writer is gone.
    void reset() noexcept { value_.store(0, std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A level (connections open now), set by its one writer.
class gauge {
public:
    void set(std::uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t d) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d),
                     std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// Upper bounds of the duration histograms' buckets, in microseconds
// (0.5 ms to 60 s); the last bucket (+Inf) takes the rest.
inline constexpr std::array<std::uint64_t, 16> duration_bounds_us = {
    500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};

// Fixed buckets of atomic counts (not cumulative; the renderers sum them).
struct histogram {
    static constexpr std::size_t buckets = duration_bounds_us.size() + 1;
    std::array<counter, buckets> counts;
    counter sum_us;

    void observe(std::uint64_t us) noexcept {
        std::size_t i = 0;
        while (i < duration_bounds_us.size() && us > duration_bounds_us[i]) ++i;
        counts[i].add();
        sum_us.add(us);
    }
};

// What a serving process counts. Named by index so that folding, summing and
// rendering walk one list (metric_names.hpp names each for the renderers).
enum class counter_id : unsigned {
    requests,               // answered (END_REQUEST sent), whatever the status
    responses_1xx,
    responses_2xx,
    responses_3xx,
    responses_4xx,
    responses_5xx,
    overloaded,             // FCGI_OVERLOADED: --max-requests / --max-conn-requests
    body_too_large,         // 413 for --max-body-size
    request_timeouts,       // 504 (or cut short) for --request-timeout
    read_timeouts,
    write_timeouts,
    idle_timeouts,
    protocol_errors,        // connections closed on a malformed record
    aborted_requests,       // ABORT_REQUEST, or the connection gone with it in flight
    received_bytes,         // from the web server, records included
    sent_bytes,
    connections_accepted,
    connections_refused,    // by --allow / FCGI_WEB_SERVER_ADDRS
    max_connections_reached,  // times accepting paused at --max-connections
    slow_requests,          // --slow-request-time
    loop_stalls,            // --stall-warning
    access_log_dropped,     // access log lines the writer could not keep
    count_
};
inline constexpr std::size_t counter_count = static_cast<std::size_t>(counter_id::count_);

// Levels: not folded when a worker exits (they are gone with it).
enum class gauge_id : unsigned {
    requests_in_flight,
    requests_deferred,   // handle() returned FCGID_DEFERRED, not finished yet
    connections_active,
    count_
};
inline constexpr std::size_t gauge_count = static_cast<std::size_t>(gauge_id::count_);

enum class histogram_id : unsigned {
    request_duration,  // BEGIN_REQUEST to END_REQUEST queued
    handle_duration,   // time inside the plugin's handle()
    count_
};
inline constexpr std::size_t histogram_count = static_cast<std::size_t>(histogram_id::count_);

// What the master (or the single process) counts about the process as a whole.
enum class process_counter_id : unsigned {
    reloads,                 // SIGHUP reloads (rolling restarts with --workers) done
    reload_failures,         // ... that failed; the old code kept serving
    worker_restarts_limit,   // a worker exited cleanly (a limit recycled it) and was replaced
    worker_restarts_crash,   // a worker died while serving and was replaced
    worker_restarts_reload,  // a worker replaced by a rolling restart
    worker_failed_starts,    // a worker exited before it was ready
    stall_kills,             // --stall-kill
    count_
};
inline constexpr std::size_t process_counter_count = static_cast<std::size_t>(process_counter_id::count_);

enum class run_state : std::uint8_t { starting, serving, draining, stopping };
std::string_view state_name(run_state s) noexcept;

// Fixed-size text in shared memory (the plugin's name and version), written
// rarely (load, reload) by the row's writer and read by anyone.
template <std::size_t N>
class shared_text {
public:
    // Cut to N - 1 characters. A reader racing a change may see a mix of
    // the two texts for that moment; never more than N characters.
    void set(std::string_view text) noexcept {
        const std::size_t length = text.size() < N - 1 ? text.size() : N - 1;
        for (std::size_t i = 0; i < length; ++i) chars_[i].store(text[i], std::memory_order_relaxed);
        chars_[length].store('\0', std::memory_order_release);
    }
    // Copies into `out` (N bytes at least), NUL-terminated; returns the length.
    std::size_t get(char* out) const noexcept {
        std::size_t i = 0;
        for (; i < N - 1; ++i) {
            out[i] = chars_[i].load(std::memory_order_acquire);
            if (out[i] == '\0') break;
        }
        out[i] = '\0';
        return i;
    }

private:
    std::array<std::atomic<char>, N> chars_{};
};

// One serving process's row.
struct worker_row {
    std::atomic<pid_t> owner{0};  // 0: free
    std::atomic<std::uint8_t> state{0};
    std::atomic<std::int64_t> started_at_ms{0};  // Unix time
    shared_text<64> plugin_name;
    shared_text<32> plugin_version;
    std::array<counter, counter_count> counters;
    std::array<gauge, gauge_count> gauges;
    std::array<histogram, histogram_count> histograms;

    counter& operator[](counter_id id) noexcept { return counters[static_cast<std::size_t>(id)]; }
    gauge& operator[](gauge_id id) noexcept { return gauges[static_cast<std::size_t>(id)]; }
    histogram& operator[](histogram_id id) noexcept { return histograms[static_cast<std::size_t>(id)]; }
    void set_state(run_state s) noexcept { state.store(static_cast<std::uint8_t>(s), std::memory_order_release); }
    // Counts an answered request with its status and time since BEGIN_REQUEST.
    void request_answered(int status, std::uint64_t duration_us) noexcept {
        (*this)[counter_id::requests].add();
        const int status_class = status / 100;
        if (status_class >= 1 && status_class <= 5)
            counters[static_cast<std::size_t>(counter_id::responses_1xx) + status_class - 1].add();
        (*this)[histogram_id::request_duration].observe(duration_us);
    }
};

// The process as a whole: written by the master (or the single process).
struct process_area {
    std::atomic<pid_t> pid{0};
    std::atomic<std::uint8_t> state{0};
    std::atomic<std::int64_t> started_at_ms{0};
    std::atomic<std::uint32_t> workers_configured{0};  // 0: no --workers
    std::array<counter, process_counter_count> counters;

    counter& operator[](process_counter_id id) noexcept { return counters[static_cast<std::size_t>(id)]; }
    void set_state(run_state s) noexcept { state.store(static_cast<std::uint8_t>(s), std::memory_order_release); }
};

class metrics_table {
public:
    // Rows for this many serving processes at once: --workers allows 1024,
    // and a rolling restart briefly runs one more.
    static constexpr std::size_t max_rows = 1025;

    // Maps the table, shared with processes forked after this, and notes the
    // start time and this process as its master. Throws std::system_error.
    static std::unique_ptr<metrics_table> create();
    ~metrics_table();
    metrics_table(const metrics_table&) = delete;
    metrics_table& operator=(const metrics_table&) = delete;

    // In a serving process: takes a free row for it, starting. Null if none is free.
    worker_row* join() noexcept;
    // In the master: a worker exited; fold what its row counted into the
    // retired totals and free it. Nothing if it had no row.
    void retire(pid_t pid) noexcept;

    process_area& process() noexcept { return shared_->process; }
    const process_area& process() const noexcept { return shared_->process; }

    // ---- For take_snapshot ----
    std::uint32_t rows_in_use() const noexcept { return shared_->in_use.load(std::memory_order_acquire); }
    const worker_row& row(std::size_t i) const noexcept { return shared_->rows[i]; }
    // What exited workers counted; gauges unused.
    const worker_row& retired() const noexcept { return shared_->retired; }
    // Even and unchanged across a read: no fold ran meanwhile.
    std::uint64_t fold_sequence() const noexcept { return shared_->fold_sequence.load(std::memory_order_acquire); }

private:
    struct layout {
        std::atomic<std::uint64_t> fold_sequence{0};  // odd while a row is being folded
        std::atomic<std::uint32_t> in_use{0};          // rows [0, in_use) were ever taken
        process_area process;
        worker_row retired;
        worker_row rows[max_rows];
    };
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<pid_t>::is_always_lock_free,
                  "shared between processes: the atomics must not hide a lock");

    explicit metrics_table(layout* shared) noexcept : shared_(shared) {}
    layout* shared_;
};

// ---- This process ----

// The table this process counts into and renders from; null before install.
void install(metrics_table* table) noexcept;
metrics_table* installed() noexcept;

namespace detail {
extern worker_row* local_row;
}
// This process's row once joined (see join_local), else a scratch row no
// one reads: the request path counts without checking.
inline worker_row& local() noexcept { return *detail::local_row; }
// Takes a row of the installed table for this process; false if none.
bool join_local() noexcept;
// The installed table's process area if this process owns it (a single
// process, or the master), else null (a --workers worker).
process_area* own_process() noexcept;
// Sets this process's row's state, and the process's if it owns the area.
void set_local_state(run_state s) noexcept;
// Names the plugin this process serves with (after a load or a reload).
void set_local_plugin(std::string_view name, std::string_view version) noexcept;

}  // namespace fcgid::observe
