#include "log/log_file_writer.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

namespace fcgid::log {
namespace {

// Access logs name client addresses: readable by the owner and its group
// (adm, for log readers on Debian), not by everyone.
constexpr mode_t log_file_mode = 0640;

int open_log(const std::string& path) noexcept {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, log_file_mode);
}

bool is_regular(int fd) noexcept {
    struct stat info {};
    return ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
}

}  // namespace

log_file_writer::log_file_writer(std::string path, settings how)
    : path_(std::move(path)), settings_(how) {
    if (path_ == "-") {
        fd_ = STDOUT_FILENO;
    } else {
        fd_ = open_log(path_);
        if (fd_ < 0)
            throw std::runtime_error("cannot open log file " + path_ + ": " + std::strerror(errno));
        owns_fd_ = true;
    }
    regular_file_ = is_regular(fd_);
    filling_.reserve(settings_.capacity);
    writing_.reserve(settings_.capacity);
    thread_ = std::thread([this] { run(); });
}

log_file_writer::~log_file_writer() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    if (owns_fd_) ::close(fd_);
}

bool log_file_writer::append(std::string_view lines) noexcept {
    bool nudge = false;
    {
        const std::lock_guard lock(mutex_);
        if (filling_.size() + lines.size() > settings_.capacity) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        filling_.append(lines);  // within the reserved capacity: no allocation
        if (!nudged_ && filling_.size() >= settings_.wake_at) nudge = nudged_ = true;
    }
    if (nudge) wake_.notify_one();
    return true;
}

void log_file_writer::reopen() noexcept {
    {
        const std::lock_guard lock(mutex_);
        reopen_requested_ = true;
    }
    wake_.notify_one();
}

void log_file_writer::run() noexcept {
    for (;;) {
        bool reopen = false;
        bool stop = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, settings_.flush_interval,
                           [this] { return stopping_ || reopen_requested_ || nudged_; });
            writing_.swap(filling_);
            nudged_ = false;
            reopen = std::exchange(reopen_requested_, false);
            stop = stopping_;
        }
        // Lines taken before a reopen belong to the file they were meant for.
        write_out(writing_);
        writing_.clear();
        if (reopen) open_again();
        report_dropped(stop);
        if (stop) return;  // the loop appends nothing once the destructor runs
    }
}

void log_file_writer::write_out(std::string_view data) noexcept {
    if (data.empty()) return;
    if (regular_file_) {
        write_atomically(data);
        return;
    }
    // A pipe: pieces of whole lines up to PIPE_BUF, each atomic. A longer
    // line goes alone (it cannot be atomic in a pipe anyway).
    while (!data.empty()) {
        std::size_t piece = 0;
        for (;;) {
            const std::size_t end = data.find('\n', piece);
            const std::size_t next = end == std::string_view::npos ? data.size() : end + 1;
            if (piece != 0 && next > PIPE_BUF) break;
            piece = next;
            if (piece >= data.size() || piece >= PIPE_BUF) break;
        }
        write_atomically(data.substr(0, piece));
        data.remove_prefix(piece);
    }
}

void log_file_writer::write_atomically(std::string_view data) noexcept {
    while (!data.empty()) {
        const ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // Disk full, a closed pipe: what is left of this batch is lost.
            // Said once until a write succeeds again, not once per batch.
            if (!write_error_logged_)
                spdlog::error("log file {}: write failed ({}); lines are lost until it works again",
                              path_, n < 0 ? std::strerror(errno) : "nothing written");
            write_error_logged_ = true;
            return;
        }
        write_error_logged_ = false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void log_file_writer::open_again() noexcept {
    if (!owns_fd_) return;  // stdout is the process manager's to rotate
    const int fresh = open_log(path_);
    if (fresh < 0) {
        spdlog::error("log file {}: cannot reopen ({}); still writing to the file opened before",
                      path_, std::strerror(errno));
        return;
    }
    ::close(fd_);
    fd_ = fresh;
    regular_file_ = is_regular(fd_);
    spdlog::info("log file {} reopened", path_);
}

void log_file_writer::report_dropped(bool at_exit) noexcept {
    const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    if (dropped == dropped_reported_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!at_exit && last_warning_ != std::chrono::steady_clock::time_point{} &&
        now - last_warning_ < settings_.warn_interval)
        return;
    spdlog::warn("log file {}: {} lines dropped since the last report ({} in all): the disk does "
                 "not keep up with the requests",
                 path_, dropped - dropped_reported_, dropped);
    dropped_reported_ = dropped;
    last_warning_ = now;
}

}  // namespace fcgid::log
