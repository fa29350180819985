// process_support.hpp: what the process tests add to the integration support
// library (fcgi_client, daemon_process), which they only link.
//
//  - spawned_fcgid: fcgid started with extra environment variables and an
//    inherited socket as fd 3, optionally with LISTEN_PID set to the child's
//    own pid in the child itself (socket activation), which daemon_process
//    cannot do.
//  - /proc readers: children of a process, its state, its ids.
//  - notify_socket: a datagram socket standing in for systemd's NOTIFY_SOCKET.
//  - answers: checking that a response is exactly echo's or hello's.
#ifndef FCGID_TESTS_PROCESS_PROCESS_SUPPORT_HPP
#define FCGID_TESTS_PROCESS_PROCESS_SUPPORT_HPP

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_process {

using namespace std::chrono_literals;
using fcgid_test::daemon_process;
using fcgid_test::fcgi_connection;
using fcgid_test::milliseconds;
using fcgid_test::temp_dir;
namespace fcgi = fcgid_test::fcgi;
using clock_type = std::chrono::steady_clock;

inline constexpr std::string_view hello_body = "<h1>Hello, World!</h1>";

// ---- Answers ----------------------------------------------------------------

enum class answered_by { echo, hello };
const char* name_of(answered_by who);

// Which plugin answered a POST of `sent_body`: echo (200, X-Echo-Length and
// body exactly the bytes sent) or hello (200, text/html, exactly hello_body).
// Anything else (no END_REQUEST status 0 / FCGI_REQUEST_COMPLETE, another
// status, a body of neither) is nullopt with the reason in `why`.
std::optional<answered_by> classify(const fcgid_test::response& r, std::string_view sent_body,
                                    std::string& why);

// One POST of `body` on a NEW connection (FCGI_KEEP_CONN off); who answered.
// Throws std::runtime_error with the reason when the answer is neither.
answered_by post_once(const std::string& host, std::uint16_t port, std::string_view body,
                      std::string_view query = {});

// ---- Files ------------------------------------------------------------------

// Copies `from` to `to` under a temporary name in to's directory, then renames
// it over `to`: how a deployment replaces a file atomically.
void replace_by_rename(const std::string& from, const std::string& to);
// Overwrites `to` in place (truncate and write, as `cp from to` does).
void replace_in_place(const std::string& from, const std::string& to);

// ---- /proc --------------------------------------------------------------------

// The state letter of /proc/<pid>/stat (R, S, T, Z...), nullopt if there is no such process.
std::optional<char> process_state(pid_t pid);
// Processes whose parent is `pid`, zombies included, in pid order.
std::vector<pid_t> children_of(pid_t pid);
// The value of a /proc/<pid>/status line ("Uid" -> "65534\t65534\t65534\t65534").
std::string status_field(pid_t pid, std::string_view name);
// Polls until /proc/<pid> is gone; false on timeout.
bool wait_gone(pid_t pid, milliseconds timeout = 5000ms);
// Polls until `pid` has exactly `count` children, none a zombie; their pids, or
// what it had at the timeout.
std::vector<pid_t> wait_children(pid_t pid, std::size_t count, milliseconds timeout = 5000ms);
// Processes whose command line contains `text` (to find strays by a unique path).
std::vector<pid_t> processes_with_argument(std::string_view text);
// SIGSTOP `pid` and wait until it is stopped (state T); SIGCONT undoes it.
void stop_process(pid_t pid);
// SIGKILLs the children of `pid` (a --workers master's workers) and leaves
// `pid` itself stopped, so it can start no new one: its owner kills and reaps
// it next. A worker whose master is killed does not exit by itself, so a test
// that ends with a master still running must not leave its workers behind.
void kill_children_and_freeze(pid_t pid);

// ---- Log ----------------------------------------------------------------------

// The lines of `log` that contain `text`, for failure messages.
std::string lines_with(std::string_view log, std::string_view text);
// `context` lines either side of the first line containing `text` (empty if none).
std::string excerpt_around(std::string_view log, std::string_view text, std::size_t context = 6);
// Pids of the "[worker <pid>] listening on" lines, in log order.
std::vector<pid_t> worker_pids_listening(std::string_view log);
// Polls the log until `text` occurs `count` times; false on timeout.
bool wait_for_count(const daemon_process& d, std::string_view text, std::size_t count,
                    milliseconds timeout = fcgid_test::default_timeout);
// The last `lines` lines of a log, to attach to a failure.
std::string tail_of(std::string_view log, std::size_t lines = 40);

// ---- A daemon with its own environment ---------------------------------------

struct spawn_options {
    std::vector<std::string> args;  // after the binary: "run", "--plugin", ...
    std::vector<std::string> env;   // "NAME=VALUE", added to (or replacing in) this process's environment
    int fd3 = -1;                   // becomes fd 3 in the child (closed here); -1: none
    bool listen_pid = false;        // LISTEN_PID=<the child's own pid>, set between fork and exec
};

class spawned_fcgid {
public:
    explicit spawned_fcgid(spawn_options options);
    ~spawned_fcgid();  // SIGKILLs and reaps a child still running, and its children
    spawned_fcgid(const spawned_fcgid&) = delete;
    spawned_fcgid& operator=(const spawned_fcgid&) = delete;

    pid_t pid() const { return pid_; }
    std::string log() const;
    bool wait_for_log(std::string_view text, milliseconds timeout = fcgid_test::default_timeout) const;
    void send_signal(int signo);
    std::optional<int> wait_exit(milliseconds timeout = fcgid_test::default_timeout);
    bool running();

private:
    temp_dir dir_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

// ---- systemd's notification socket ---------------------------------------------

struct notification {
    std::string text;  // "READY=1"
    pid_t sender = 0;  // from SCM_CREDENTIALS, as systemd checks it (NotifyAccess=main)
};

class notify_socket {
public:
    explicit notify_socket(std::string path);  // binds an AF_UNIX SOCK_DGRAM socket there
    ~notify_socket();
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    const std::string& path() const { return path_; }
    // The next datagram, or nullopt after `timeout`.
    std::optional<notification> receive(milliseconds timeout);

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace fcgid_process

#endif  // FCGID_TESTS_PROCESS_PROCESS_SUPPORT_HPP
