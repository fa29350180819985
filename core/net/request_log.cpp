#include "net/request_log.hpp"

#include <unistd.h>

#include <ctime>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/request.hpp"
#include "observe/metrics_table.hpp"

namespace fcgid::net {
namespace {

// An id from the web server longer than this is not an id: ours is used.
constexpr std::size_t max_forwarded_id = 128;

std::string_view param(const request& r, std::string_view name) noexcept {
    std::string_view value;
    r.find_param(name, value);
    return value;
}

std::uint64_t count(std::chrono::microseconds d) noexcept { return static_cast<std::uint64_t>(d.count()); }

// The params a line names, found in one pass over the params rather than
// a search for each. The first of a name counts, as for find_param().
struct logged_params {
    std::string_view remote_addr, method, uri, protocol, referer, user_agent, request_id;

    explicit logged_params(const request& r) noexcept {
        std::string_view name;
        std::string_view value;
        for (std::size_t i = 0; r.param_at(i, name, value); ++i) {
            std::string_view* field = nullptr;
            switch (name.size()) {
                case 11:
                    field = name == "REMOTE_ADDR" ? &remote_addr : name == "REQUEST_URI" ? &uri : nullptr;
                    break;
                case 12: field = name == "HTTP_REFERER" ? &referer : nullptr; break;
                case 14: field = name == "REQUEST_METHOD" ? &method : nullptr; break;
                case 15:
                    field = name == "SERVER_PROTOCOL" ? &protocol : name == "HTTP_USER_AGENT" ? &user_agent : nullptr;
                    break;
                case 17: field = name == "HTTP_X_REQUEST_ID" ? &request_id : nullptr; break;
                default: break;
            }
            if (field != nullptr && field->data() == nullptr) *field = value;
        }
    }
};

}  // namespace

request_log::request_log(const config::logs_config& config)
    : format_(config.access_log_format),
      slow_after_(std::chrono::duration_cast<std::chrono::microseconds>(config.slow_request_time)),
      pid_(static_cast<long>(::getpid())), id_prefix_(std::random_device{}()) {
    if (!config.access_log.empty()) {
        access_ = std::make_unique<log::log_file_writer>(config.access_log);
        line_.reserve(1024);
    }
}

void request_log::written(const request& r) {
    if (access_) write_access_line(r);
    // One compare when on; the slow log is off when slow_after_ is 0.
    if (slow_after_.count() > 0 && r.timing().total() >= slow_after_) warn_slow(r);
}

void request_log::reopen() {
    if (access_) access_->reopen();
}

std::string_view request_log::request_id(std::string_view forwarded) noexcept {
    if (!forwarded.empty() && forwarded.size() <= max_forwarded_id) return forwarded;
    const auto end = fmt::format_to_n(id_text_, sizeof id_text_, "{:08x}-{}", id_prefix_, ++next_id_).out;
    return {id_text_, static_cast<std::size_t>(end - id_text_)};
}

void request_log::write_access_line(const request& r) {
    // The coarse clock: read from memory the kernel updates every tick, no
    // counter read; a log line needs no better than milliseconds.
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    const request_timing& t = r.timing();
    const request_outcome outcome = r.outcome();
    const logged_params params(r);
    log::access_entry entry;
    entry.time = clock_text_.at(format_, now.tv_sec, now.tv_nsec);
    entry.remote_addr = params.remote_addr;
    entry.method = params.method;
    entry.uri = params.uri;
    entry.protocol = params.protocol;
    entry.referer = params.referer;
    entry.user_agent = params.user_agent;
    entry.request_id = request_id(params.request_id);
    entry.status = outcome.status;
    entry.bytes_out = outcome.bytes_out;
    entry.bytes_in = outcome.bytes_in;
    entry.duration_us = count(t.total());
    entry.handle_us = count(t.in_handle());
    entry.deferred_us = count(t.deferred_time());
    entry.writing_us = count(t.writing());
    entry.pid = pid_;
    line_.clear();
    log::append_access_line(line_, format_, entry);
    // A full buffer drops it: counted here for the metrics, and reported by the writer.
    if (!access_->append(line_)) observe::local()[observe::counter_id::access_log_dropped].add();
}

void request_log::warn_slow(const request& r) {
    ++slow_requests_;
    observe::local()[observe::counter_id::slow_requests].add();
    const request_timing& t = r.timing();
    const auto ms = [](std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; };
    const auto receiving = t.dispatched == request_timing::clock::time_point{}
                               ? std::chrono::microseconds{0}
                               : std::chrono::duration_cast<std::chrono::microseconds>(t.dispatched - t.begun);
    spdlog::warn("slow request: {} {} status {} took {:.1f} ms (over {} ms): receiving {:.1f} ms, "
                 "in handle() {:.1f} ms, deferred {:.1f} ms, writing {:.1f} ms",
                 param(r, "REQUEST_METHOD"), param(r, "REQUEST_URI"), r.outcome().status,
                 ms(t.total()), slow_after_.count() / 1000, ms(receiving), ms(t.in_handle()),
                 ms(t.deferred_time()), ms(t.writing()));
}

}  // namespace fcgid::net
