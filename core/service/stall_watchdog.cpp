#include "service/stall_watchdog.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "observe/metrics_table.hpp"
#include "service/crash_reports.hpp"
#include "service/loop_sampler.hpp"
#include "service/plugin_call_mark.hpp"

namespace fcgid::service {
namespace {

using clock = std::chrono::steady_clock;

std::atomic<std::uint64_t> stalls_{0};

// A stall that goes on is said again at most this often.
constexpr std::chrono::seconds repeat_every{5};
// How long the loop thread has to take the sampling signal.
constexpr std::chrono::milliseconds sample_wait{200};

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string printable(std::string_view text) {
    std::string out(text);
    std::replace_if(out.begin(), out.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, '?');
    return out;
}

// "serving GET /x (request id 1)", for log lines.
std::string serving_text(const loop_sample& sample, bool sampled) {
    if (!sampled) return "serving a request it could not name: the loop thread did not take the sampling signal";
    if (!sample.has_request) return "serving no request";
    return fmt::format("serving {} {} (request id {})", printable(sample.method_text()),
                       printable(sample.uri_text()), sample.request_id);
}

// The loop is still where it was when the watchdog looked: after this long,
// end the process. Takes no lock and allocates nothing.
[[noreturn]] void end_stalled_process(const stall_settings& settings, crash_reports* reports,
                                      plugin_callback callback, const loop_sample& sample, bool sampled,
                                      clock::duration stalled) noexcept {
    const auto stalled_ms = std::chrono::duration_cast<std::chrono::milliseconds>(stalled);
    const bool named = sampled && sample.has_request;
    if (reports != nullptr) {
        request_description request;
        if (named) {
            request.method = sample.method_text();
            request.uri = sample.uri_text();
            request.id = sample.request_id;
        }
        reports->record_stall(::getpid(), callback, named ? &request : nullptr, stalled_ms);
        ::kill(::getpid(), SIGKILL);
        for (;;) ::pause();  // the kill is on its way: write nothing more
    }
    char line[1024];
    const std::string_view method = named ? sample.method_text() : std::string_view();
    const std::string_view uri = named ? sample.uri_text() : std::string_view("no request");
    const auto end = fmt::format_to_n(line, sizeof line - 1,
                                      "fcgid: fatal: the plugin has not returned from {} for {:.1f} s, serving "
                                      "{}{}{}: exiting with status {} (--stall-kill {}) for the process "
                                      "manager to start fcgid again",
                                      callback_text(callback), static_cast<double>(stalled_ms.count()) / 1000,
                                      method, named ? " " : "", uri, stall_exit_status, settings.kill.count())
                         .out;
    *end = '\n';
    const ssize_t ignored = ::write(STDERR_FILENO, line, static_cast<std::size_t>(end - line + 1));
    (void)ignored;
    ::_exit(stall_exit_status);
}

}  // namespace

std::chrono::milliseconds stall_watchdog::poll_period(const stall_settings& settings) noexcept {
    std::chrono::milliseconds period{1000};
    if (settings.warning.count() > 0) period = std::min(period, settings.warning / 2);
    if (settings.kill.count() > 0)
        period = std::min(period, std::chrono::duration_cast<std::chrono::milliseconds>(settings.kill) / 4);
    return std::max(period, std::chrono::milliseconds(5));
}

stall_watchdog::stall_watchdog(stall_settings settings, describe_request_fn describe, crash_reports* reports)
    : settings_(settings), reports_(reports) {
    loop_sampler::install(describe);
    // The thread takes no signal meant for the process (SIGTERM, SIGHUP):
    // those belong to the loop. Blocked here, inherited by the thread.
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    thread_ = std::thread([this] { run(); });
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

stall_watchdog::~stall_watchdog() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::uint64_t stall_watchdog::stalls() noexcept { return stalls_.load(std::memory_order_relaxed); }

bool stall_watchdog::wait_or_stop(std::chrono::milliseconds period) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, period, [this] { return stopping_; });
}

void stall_watchdog::run() {
    const auto period = poll_period(settings_);
    std::uint64_t watched = 0;  // the `edges` value of the call being timed
    clock::time_point since{};  // when the watchdog first saw it
    bool warned = false;
    clock::time_point said_at{};
    loop_sample sample;
    bool sampled = false;  // `sample` is of the call being timed
    while (!wait_or_stop(period)) {
        const std::uint64_t edges = plugin_call_state::edges.load(std::memory_order_relaxed);
        const auto now = clock::now();
        if (edges != watched) {
            if (warned)
                spdlog::info("loop stall over: the plugin returned from {} after {:.1f} s",
                             callback_text(sample.callback), seconds(now - since));
            watched = edges;
            since = now;
            warned = sampled = false;
            continue;
        }
        if (edges % 2 == 0) continue;  // not in plugin code
        const auto stalled = now - since;
        if (settings_.warning.count() > 0 && !warned && stalled >= settings_.warning) {
            sampled = loop_sampler::sample(edges, sample, sample_wait);
            if (sampled && !sample.in_that_call) continue;  // it returned meanwhile
            if (!sampled) sample.callback = plugin_call_state::callback.load(std::memory_order_relaxed);
            warned = true;
            said_at = now;
            stalls_.fetch_add(1, std::memory_order_relaxed);
            // This thread is the counter's one writer (observe/README.md).
            observe::local()[observe::counter_id::loop_stalls].add();
            std::string stack;
            if (!sampled) {
                stack = fmt::format(" (its stack could not be taken: the loop thread did not take signal {} "
                                    "within {} ms)",
                                    loop_sampler::signal_number(), sample_wait.count());
            } else {
                stack = "; the loop thread's stack:";
                for (const std::string& frame : loop_sampler::symbolise(sample)) stack += "\n    " + frame;
            }
            spdlog::warn("loop stalled: the plugin has not returned from {} for {:.1f} s (--stall-warning {} "
                         "ms), {}; nothing else this process serves moves meanwhile{}",
                         callback_text(sample.callback), seconds(stalled), settings_.warning.count(),
                         serving_text(sample, sampled), stack);
        } else if (warned && now - said_at >= repeat_every) {
            said_at = now;
            spdlog::warn("loop still stalled after {} s: the plugin has not returned from {}, {}",
                         std::chrono::duration_cast<std::chrono::seconds>(stalled).count(),
                         callback_text(sample.callback), serving_text(sample, sampled));
        }
        if (settings_.kill.count() > 0 && stalled >= settings_.kill) {
            if (!sampled) {
                sampled = loop_sampler::sample(edges, sample, sample_wait);
                if (sampled && !sample.in_that_call) continue;
                if (!sampled) sample.callback = plugin_call_state::callback.load(std::memory_order_relaxed);
            }
            end_stalled_process(settings_, reports_, sample.callback, sample, sampled, stalled);
        }
    }
}

}  // namespace fcgid::service
