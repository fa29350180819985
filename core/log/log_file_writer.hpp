// A log file written off the loop: the loop hands over whole lines, a
// thread of this class writes them.
//
// The loop appends to a bounded buffer under a mutex held only for a
// memcpy; the writer thread swaps it with its own (so steady state
// allocates nothing) and writes it out, every flush interval or as soon as
// wake_at bytes are waiting. A disk that cannot keep up never blocks the loop: when
// the buffer is full, lines are dropped and counted (dropped()), and the
// writer warns with the count at most once per warn interval.
//
// The file is opened O_APPEND, and a batch goes out in one write() that ends
// on a line boundary, so processes sharing the file (--workers) never
// interleave parts of lines. A pipe or terminal ("-" is stdout) is written
// in pieces of whole lines of at most PIPE_BUF bytes, which the kernel
// writes atomically among writers sharing the pipe.
//
// reopen() (SIGUSR1, after logrotate renamed the file): lines appended
// before it are written to the old file, later ones to the new one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace fcgid::log {

class log_file_writer {
public:
    struct settings {
        // Bytes buffered before lines are dropped: about 10,000 lines, a
        // tenth of a second at 100,000 requests/s, for a writer thread that a
        // busy machine schedules late. Pages are touched only as it fills.
        std::size_t capacity = 4 * 1024 * 1024;
        // The writer wakes when this much is buffered (or after flush_interval).
        std::size_t wake_at = 256 * 1024;
        std::chrono::milliseconds flush_interval{100};  // longest a line waits to be written
        std::chrono::seconds warn_interval{5};          // at most one "dropped" warning per
    };

    // Opens `path` ("-" for stdout) and starts the writer thread. Throws
    // std::runtime_error naming the path and the reason if it cannot open it.
    log_file_writer(std::string path, settings how);
    explicit log_file_writer(std::string path) : log_file_writer(std::move(path), settings{}) {}
    // Writes what is buffered, then stops the thread: nothing appended is lost.
    ~log_file_writer();
    log_file_writer(const log_file_writer&) = delete;
    log_file_writer& operator=(const log_file_writer&) = delete;

    // One or more whole lines, each ending in '\n'. False when they did not
    // fit: dropped and counted. Any thread; never waits for the disk.
    bool append(std::string_view lines) noexcept;
    // Opens the path again, on the writer thread (logrotate's convention).
    // Any thread, but not a raw signal handler: it takes a mutex.
    void reopen() noexcept;
    // Lines dropped since the start because the buffer was full.
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    const std::string& path() const noexcept { return path_; }

private:
    void run() noexcept;
    void write_out(std::string_view data) noexcept;
    void write_atomically(std::string_view data) noexcept;
    void open_again() noexcept;
    void report_dropped(bool at_exit) noexcept;

    const std::string path_;
    const settings settings_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::string filling_;        // the loop's side, under mutex_
    bool nudged_ = false;        // under mutex_: woken for wake_at bytes
    bool reopen_requested_ = false;
    bool stopping_ = false;
    std::atomic<std::uint64_t> dropped_{0};

    // The writer thread's own.
    std::string writing_;
    int fd_ = -1;
    bool owns_fd_ = false;      // not for stdout
    bool regular_file_ = false;
    std::uint64_t dropped_reported_ = 0;
    std::chrono::steady_clock::time_point last_warning_{};
    bool write_error_logged_ = false;

    std::thread thread_;  // last: started once the rest is set up
};

}  // namespace fcgid::log
