#include "service/crash_reports.hpp"

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include <fmt/core.h>

namespace fcgid::service {

namespace {

std::string printable(std::string text) {
    std::replace_if(text.begin(), text.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, '?');
    return text;
}

std::string describe_stall(const crash_report& report) {
    const std::string serving =
        report.serving ? fmt::format("serving {} {} (request id {})", report.method, printable(report.uri),
                                     report.request_id)
                       : std::string("serving no request");
    return fmt::format(" by its stall watchdog: the plugin had not returned from {} for {:.1f} s, {}",
                       callback_text(report.stalled_in), static_cast<double>(report.stalled.count()) / 1000,
                       serving);
}

}  // namespace

std::string describe(const crash_report& report, const quarantine_settings& settings) {
    if (report.stall_killed) return describe_stall(report);
    if (!report.serving) return ", outside any request's handle()";
    const std::string uri = printable(report.uri);
    std::string text = fmt::format(" while the plugin handled {} {} (request id {}, body {} bytes)", report.method,
                                   uri, report.request_id, report.body_size);
    if (settings.strikes == 0) return text;
    if (!report.strike.recorded) return text + "; the quarantine table is full, so it was not counted";
    if (report.strike.quarantined)
        return text + fmt::format("; crash {} of {} within {} s: quarantined, workers answer it 500 "
                                  "without calling the plugin for {} s",
                                  report.strike.strikes, settings.strikes, settings.window.count(),
                                  settings.window.count());
    return text + fmt::format("; crash {} of {} within {} s before it is quarantined", report.strike.strikes,
                              settings.strikes, settings.window.count());
}

std::unique_ptr<crash_reports> crash_reports::create(quarantine_settings settings) {
    // Anonymous and shared: the workers forked after this see the same pages.
    void* memory = ::mmap(nullptr, sizeof(shared_memory), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap of the crash reports");
    auto* shared = new (memory) shared_memory{};
    return std::unique_ptr<crash_reports>(new crash_reports(shared, settings));
}

crash_reports::~crash_reports() { ::munmap(shared_, sizeof(shared_memory)); }

crash_reports::record_slot* crash_reports::claim(pid_t pid, const request_description* request) noexcept {
    for (record_slot& slot : shared_->records) {
        pid_t free = 0;
        if (!slot.owner.compare_exchange_strong(free, pid)) continue;
        slot.serving = request != nullptr;
        if (request != nullptr) {
            slot.request_id = request->id;
            slot.body_size = request->body_size;
            slot.method_length = static_cast<std::uint16_t>(std::min(request->method.size(), method_room));
            std::memcpy(slot.method, request->method.data(), slot.method_length);
            slot.uri_length = static_cast<std::uint16_t>(std::min(request->uri.size(), uri_room));
            std::memcpy(slot.uri, request->uri.data(), slot.uri_length);
        }
        slot.strikes = 0;
        slot.quarantined = false;
        slot.strike_recorded = false;
        slot.stall_killed = false;
        slot.stalled_in = plugin_callback::none;
        slot.stalled_ms = 0;
        return &slot;
    }
    // Every slot is taken by reports the master has not read yet: the master
    // still logs the death and its signal, only without the request.
    return nullptr;
}

void crash_reports::record(pid_t pid, int signal_number, const request_description* request,
                           monotonic_time now) noexcept {
    strike_result strike;
    if (request != nullptr) strike = quarantine_.strike(signature_of(*request), now);
    record_slot* slot = claim(pid, request);
    if (slot == nullptr) return;
    slot->signal_number = signal_number;
    slot->strikes = strike.strikes;
    slot->quarantined = strike.quarantined;
    slot->strike_recorded = strike.recorded;
    slot->complete.store(true, std::memory_order_release);
}

void crash_reports::record_stall(pid_t pid, plugin_callback callback, const request_description* request,
                                 std::chrono::milliseconds stalled) noexcept {
    shared_->stall_kills.fetch_add(1, std::memory_order_relaxed);
    record_slot* slot = claim(pid, request);
    if (slot == nullptr) return;
    slot->signal_number = SIGKILL;
    slot->stall_killed = true;
    slot->stalled_in = callback;
    slot->stalled_ms = static_cast<std::uint64_t>(stalled.count());
    slot->complete.store(true, std::memory_order_release);
}

std::optional<crash_report> crash_reports::take(pid_t pid) noexcept {
    for (record_slot& slot : shared_->records) {
        if (slot.owner.load(std::memory_order_acquire) != pid) continue;
        std::optional<crash_report> report;
        if (slot.complete.load(std::memory_order_acquire)) {
            try {
                crash_report r;
                r.signal_number = slot.signal_number;
                r.serving = slot.serving;
                if (slot.serving) {
                    r.method.assign(slot.method, slot.method_length);
                    r.uri.assign(slot.uri, slot.uri_length);
                    r.body_size = slot.body_size;
                    r.request_id = slot.request_id;
                }
                r.strike = strike_result{slot.strikes, slot.quarantined, slot.strike_recorded};
                r.stall_killed = slot.stall_killed;
                r.stalled_in = slot.stalled_in;
                r.stalled = std::chrono::milliseconds(slot.stalled_ms);
                report = std::move(r);
            } catch (...) {
                // Out of memory for two short strings: log the death without them.
            }
        }
        slot.complete.store(false, std::memory_order_relaxed);
        slot.owner.store(0, std::memory_order_release);
        return report;
    }
    return std::nullopt;
}

}  // namespace fcgid::service
