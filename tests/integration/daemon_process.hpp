// daemon_process.hpp: runs the real, installed fcgid binary for one test.
//
// The binary and plugins come from the environment ctest sets
// (FCGID_BIN, FCGID_PLUGIN_DIR, FCGID_TEST_PLUGIN_DIR). Each daemon gets its
// own temporary directory holding its stdout, its stderr (the log) and any
// unix socket the test wants. The destructor SIGKILLs a daemon that is still
// running, and the child is also killed if the test process itself dies
// (PR_SET_PDEATHSIG), so no test leaks a process.
#ifndef FCGID_TESTS_INTEGRATION_DAEMON_PROCESS_HPP
#define FCGID_TESTS_INTEGRATION_DAEMON_PROCESS_HPP

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi_client.hpp"

namespace fcgid_test {

// Paths from the environment. Each throws if its variable is unset.
std::string fcgid_bin();
std::string hello_plugin();
std::string echo_plugin();
std::string test_plugin(std::string_view name);  // e.g. "wrong_abi" -> .../wrong_abi.so

// Lets a crashing daemon die by its signal under AddressSanitizer too (which
// would otherwise end it with its report and exit code 1), for tests that
// check deaths by signal. Sets ASAN_OPTIONS for every daemon started after.
void let_crash_signals_kill();

// A fresh directory under $TMPDIR (or /tmp), removed with its content.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
    std::string path_;
};

// A socket to hand to the daemon as an inherited descriptor.
struct inherited_socket {
    int fd = -1;             // owned by the caller until passed to daemon_process
    std::uint16_t port = 0;  // for TCP sockets
};
// TCP socket bound to 127.0.0.1:0; listening unless `listen` is false.
inherited_socket make_tcp_socket(bool listen = true);

class daemon_process {
public:
    // Starts `fcgid args...` without waiting for anything. When pass_fd >= 0
    // it becomes descriptor `pass_as` in the child (and is closed here);
    // otherwise the child's stdin is /dev/null.
    explicit daemon_process(std::vector<std::string> args, int pass_fd = -1, int pass_as = 0);
    ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    // `run --plugin PLUGIN --host 127.0.0.1 --port 0 EXTRA...`, then waits for
    // the "listening on" line. Throws (with the log) if it does not come.
    static std::unique_ptr<daemon_process> start(const std::string& plugin,
                                                 std::vector<std::string> extra = {});

    // Waits for the "listening on " log line and parses where. Throws with the
    // log attached if the daemon exits first or the line does not come in time.
    void wait_listening(milliseconds timeout = default_timeout);

    // What followed "listening on " up to " (": "127.0.0.1:41234",
    // "unix:/tmp/x/sock", "fd 0".
    const std::string& listen_address() const { return listen_address_; }
    const std::string& host() const { return host_; }
    std::uint16_t port() const { return port_; }
    const std::string& unix_path() const { return unix_path_; }

    // A new connection to where the daemon listens.
    fcgi_connection connect() const;
    // errno of one connect attempt to the daemon's TCP port (0 if accepted).
    int try_connect() const;

    void send_signal(int signo);
    // Exit code (or 128 + signal number if killed), or nullopt if still
    // running after `timeout`.
    std::optional<int> wait_exit(milliseconds timeout = default_timeout);
    bool running();
    pid_t pid() const { return pid_; }

    std::string log() const;  // the daemon's stderr so far
    std::string out() const;  // the daemon's stdout so far
    // Polls the log until it contains `text`; false on timeout.
    bool wait_for_log(std::string_view text, milliseconds timeout = default_timeout) const;
    // Polls the log until `text` occurs at least `count` times; false on timeout.
    bool wait_for_log_count(std::string_view text, std::size_t count,
                            milliseconds timeout = default_timeout) const;
    // Polls until the daemon holds at most `count` open descriptors (see
    // open_fds); false on timeout. The event "it closed those connections".
    bool wait_open_fds_at_most(std::size_t count, milliseconds timeout = default_timeout) const;
    const temp_dir& dir() const { return dir_; }

private:
    temp_dir dir_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string listen_address_;
    std::string host_;
    std::uint16_t port_ = 0;
    std::string unix_path_;
    std::uint16_t inherited_port_ = 0;
};

// The one polling loop of the test support: calls `done` every `interval`
// until it returns true (then true) or `timeout` passes (then false). For
// events with no signal of their own to wait on (a log line appearing, a
// process changing state); never a stand-in for "it has happened by now".
bool poll_until(const std::function<bool()>& done, milliseconds timeout,
                milliseconds interval = 5ms);

// Descriptors process `pid` holds open now (entries of /proc/PID/fd); 0 if
// they cannot be listed. A daemon's count goes down when it closes a
// connection, which is otherwise invisible to a client that already left.
std::size_t open_fds(pid_t pid);

// echo's delay_ms timer completes its deadlines in order: a request for
// `delay` sent now is answered only after every deadline set earlier that
// ends no later than `delay` from now. One round trip on a new connection,
// then, proves that all such earlier delays have ended (and whatever their
// expiry triggers was handed to the loop). Throws if the answer is not 200.
void outlast_echo_delays(const daemon_process& d, milliseconds delay);

// Runs `fcgid args...` to completion (SIGKILL after `timeout`).
struct run_result {
    int exit_code = -1;  // 128 + signal if killed; -1 if it had to be killed on timeout
    std::string out;
    std::string err;
};
run_result run_fcgid(std::vector<std::string> args, milliseconds timeout = default_timeout,
                     int pass_fd = -1, int pass_as = 0);

// The lines of `text` (without their '\n'); a last line without '\n' counts too.
std::vector<std::string> lines_of(std::string_view text);
// Number of non-overlapping occurrences of `needle` in `text`.
std::size_t count_of(std::string_view text, std::string_view needle);
// The whole content of a file ("" if it cannot be read).
std::string read_file(const std::string& path);
// A waitpid() status as a shell would report it: the exit code, or 128 + signal.
int exit_code_of(int status);

}  // namespace fcgid_test

#endif  // FCGID_TESTS_INTEGRATION_DAEMON_PROCESS_HPP
