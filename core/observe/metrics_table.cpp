#include "observe/metrics_table.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <new>
#include <system_error>

namespace fcgid::observe {

std::string_view state_name(run_state s) noexcept {
    switch (s) {
        case run_state::starting: return "starting";
        case run_state::serving: return "serving";
        case run_state::draining: return "draining";
        case run_state::stopping: return "stopping";
    }
    return "unknown";
}

namespace {

std::int64_t unix_ms_now() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Where local() points until this process joins a row: counted, never read.
worker_row scratch_row;
metrics_table* installed_table = nullptr;

}  // namespace

namespace detail {
worker_row* local_row = &scratch_row;
}

std::unique_ptr<metrics_table> metrics_table::create() {
    // Anonymous and shared: the workers forked after this see the same pages.
    void* memory = ::mmap(nullptr, sizeof(layout), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap of the metrics table");
    // Not constructed: the kernel hands the pages over zeroed, and zero is
    // every field's initial value (free rows, counts 0, state starting).
    // Constructing would write, and so commit, every page of all 1025 rows
    // (600 KiB of resident memory in each process); this way a row costs
    // memory once a process joins it.
    auto* shared = std::launder(static_cast<layout*>(memory));
    shared->process.pid.store(::getpid());
    shared->process.started_at_ms.store(unix_ms_now());
    return std::unique_ptr<metrics_table>(new metrics_table(shared));
}

// Each process unmaps its own view; the atomics need no destruction.
metrics_table::~metrics_table() {
    if (installed_table == this) install(nullptr);
    ::munmap(shared_, sizeof(layout));
}

worker_row* metrics_table::join() noexcept {
    const pid_t self = ::getpid();
    for (std::uint32_t i = 0; i < max_rows; ++i) {
        worker_row& candidate = shared_->rows[i];
        pid_t free = 0;
        if (!candidate.owner.compare_exchange_strong(free, self)) continue;
        // A freed row was zeroed by retire() before it was freed.
        candidate.set_state(run_state::starting);
        candidate.started_at_ms.store(unix_ms_now(), std::memory_order_relaxed);
        std::uint32_t in_use = shared_->in_use.load();
        while (in_use < i + 1 && !shared_->in_use.compare_exchange_weak(in_use, i + 1)) continue;
        return &candidate;
    }
    return nullptr;
}

void metrics_table::retire(pid_t pid) noexcept {
    const std::uint32_t in_use = shared_->in_use.load();
    for (std::uint32_t i = 0; i < in_use; ++i) {
        worker_row& row = shared_->rows[i];
        if (row.owner.load() != pid) continue;
        // Readers that overlap this see an odd or changed sequence and read again.
        shared_->fold_sequence.fetch_add(1, std::memory_order_acq_rel);
        std::atomic_thread_fence(std::memory_order_release);
        worker_row& retired = shared_->retired;
        for (std::size_t c = 0; c < counter_count; ++c) {
            retired.counters[c].add(row.counters[c].get());
            row.counters[c].reset();
        }
        for (std::size_t h = 0; h < histogram_count; ++h) {
            for (std::size_t b = 0; b < histogram::buckets; ++b) {
                retired.histograms[h].counts[b].add(row.histograms[h].counts[b].get());
                row.histograms[h].counts[b].reset();
            }
            retired.histograms[h].sum_us.add(row.histograms[h].sum_us.get());
            row.histograms[h].sum_us.reset();
        }
        for (gauge& g : row.gauges) g.set(0);
        row.plugin_name.set({});
        row.plugin_version.set({});
        row.set_state(run_state::starting);
        row.owner.store(0, std::memory_order_release);
        shared_->fold_sequence.fetch_add(1, std::memory_order_acq_rel);
    }
}

void install(metrics_table* table) noexcept {
    installed_table = table;
    detail::local_row = &scratch_row;
}

metrics_table* installed() noexcept { return installed_table; }

bool join_local() noexcept {
    if (installed_table == nullptr) return false;
    worker_row* row = installed_table->join();
    if (row == nullptr) return false;
    detail::local_row = row;
    return true;
}

process_area* own_process() noexcept {
    if (installed_table == nullptr || installed_table->process().pid.load() != ::getpid()) return nullptr;
    return &installed_table->process();
}

void set_local_state(run_state s) noexcept {
    local().set_state(s);
    if (process_area* process = own_process()) process->set_state(s);
}

void set_local_plugin(std::string_view name, std::string_view version) noexcept {
    local().plugin_name.set(name);
    local().plugin_version.set(version);
}

}  // namespace fcgid::observe
