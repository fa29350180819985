// What is told about each request once its response is written: the
// access log line (--access-log) and the slow-request warning
// (--slow-request-time). The connection calls written() for every request
// it answered, when the write holding its END_REQUEST has completed, so
// the times cover what the web server waited. A leaf: it calls nothing back.
//
// Off (neither option given), enabled() is false and connections hold no
// request past its end: nothing costs anything.
//
// Loop thread only; the access log's file is written by its own thread
// (log/log_file_writer.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/server_config.hpp"
#include "log/access_line.hpp"
#include "log/log_file_writer.hpp"

namespace fcgid::net {

class request;

class request_log {
public:
    // Opens the access log, if any: throws std::runtime_error if it cannot.
    explicit request_log(const config::logs_config& config);

    // Whether connections are to report requests to written().
    bool enabled() const noexcept { return access_ != nullptr || slow_after_.count() > 0; }
    // `r` has been answered: its END_REQUEST is written (timing().written
    // set), or its connection closed after the answer was queued.
    void written(const request& r);
    // SIGUSR1: open the log files again (after logrotate renamed them).
    void reopen();

    // For the metrics.
    std::uint64_t slow_requests() const noexcept { return slow_requests_; }
    std::uint64_t access_lines_dropped() const noexcept { return access_ ? access_->dropped() : 0; }

private:
    void write_access_line(const request& r);
    void warn_slow(const request& r);
    // The web server's X-Request-ID (`forwarded`), or this process's next id.
    std::string_view request_id(std::string_view forwarded) noexcept;

    std::unique_ptr<log::log_file_writer> access_;  // nullptr: no access log
    log::access_format format_;
    std::chrono::microseconds slow_after_;  // 0: no slow log
    std::uint64_t slow_requests_ = 0;

    std::string line_;  // formatting scratch, kept for its capacity
    log::wall_clock_text clock_text_;
    long pid_;
    // Ids of our own: "<8 hex digits random per process>-<counter>", unique
    // across workers and restarts without any coordination.
    std::uint32_t id_prefix_;
    std::uint64_t next_id_ = 0;
    char id_text_[32] = {};
};

}  // namespace fcgid::net
