#include "daemon_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fcgid_test {

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string env_or_fail(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        fail(std::string(name) + " is not set: run the integration tests through ctest");
    }
    return v;
}

// fork + exec with stdout/stderr to files. Everything the child needs is
// prepared before fork(): between fork and exec only async-signal-safe calls.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path, int pass_fd, int pass_as) {
    std::string bin = fcgid_bin();
    std::vector<std::string> argv_store;
    argv_store.push_back(bin);
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) fail("cannot open the daemon's output files");
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Die with the test process, whatever kills it (ctest timeout included).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        // Move the passed fd out of the way before the dup2s onto 0..2 can clobber it.
        int passed = -1;
        if (pass_fd >= 0) passed = ::fcntl(pass_fd, F_DUPFD_CLOEXEC, 10);
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        // Nothing else the test process inherited (ctest's log, a CI
        // runner's pipes) reaches the daemon: tests that look at what the
        // daemon holds see only what it opened itself.
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (passed >= 0) ::dup2(passed, pass_as);  // dup2 clears FD_CLOEXEC on the copy
        // Reset what the test process may have changed.
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(null_fd);
    if (pass_fd >= 0) ::close(pass_fd);  // the daemon alone holds the listener now
    return pid;
}

void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

std::uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return 0;
}

}  // namespace

// ---- Environment --------------------------------------------------------------

std::string fcgid_bin() { return env_or_fail("FCGID_BIN"); }
std::string hello_plugin() { return env_or_fail("FCGID_PLUGIN_DIR") + "/hello.so"; }
std::string echo_plugin() { return env_or_fail("FCGID_PLUGIN_DIR") + "/echo.so"; }
std::string test_plugin(std::string_view name) {
    return env_or_fail("FCGID_TEST_PLUGIN_DIR") + "/" + std::string(name) + ".so";
}

// ---- temp_dir -------------------------------------------------------------------

void let_crash_signals_kill() {
    static const bool done = [] {
        const char* old = ::getenv("ASAN_OPTIONS");
        std::string options = old != nullptr ? std::string(old) + ":" : std::string();
        options += "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
        ::setenv("ASAN_OPTIONS", options.c_str(), 1);
        return true;
    }();
    (void)done;
}

temp_dir::temp_dir() {
    const char* base = std::getenv("TMPDIR");
    // Unix socket paths are limited to 107 bytes: keep the prefix short.
    std::string templ = std::string(base && *base && std::strlen(base) < 40 ? base : "/tmp") +
                        "/fcgid-it-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) fail(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = templ;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

// ---- Sockets --------------------------------------------------------------------

inherited_socket make_tcp_socket(bool listen) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        fail(std::string("bind: ") + std::strerror(errno));
    }
    if (listen && ::listen(fd, 64) != 0) fail(std::string("listen: ") + std::strerror(errno));
    return {fd, local_port(fd)};
}

// ---- daemon_process ----------------------------------------------------------------

daemon_process::daemon_process(std::vector<std::string> args, int pass_fd, int pass_as) {
    if (pass_fd >= 0) inherited_port_ = local_port(pass_fd);
    pid_ = spawn(args, dir_.file("stdout.log"), dir_.file("stderr.log"), pass_fd, pass_as);
}

daemon_process::~daemon_process() {
    if (pid_ > 0 && !exit_code_) kill_and_reap(pid_);
}

std::unique_ptr<daemon_process> daemon_process::start(const std::string& plugin,
                                                      std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--plugin", plugin, "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto d = std::make_unique<daemon_process>(std::move(args));
    d->wait_listening();
    return d;
}

void daemon_process::wait_listening(milliseconds timeout) {
    static constexpr std::string_view marker = "listening on ";
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        std::string text = log();
        std::size_t at = text.find(marker);
        if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
            std::string line = text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
            std::size_t paren = line.find(" (");
            listen_address_ = paren == std::string::npos ? line : line.substr(0, paren);
            if (listen_address_.rfind("unix:", 0) == 0) {
                unix_path_ = listen_address_.substr(5);
            } else if (listen_address_.rfind("fd ", 0) == 0) {
                host_ = "127.0.0.1";
                port_ = inherited_port_;
            } else {
                std::size_t colon = listen_address_.rfind(':');
                if (colon == std::string::npos) fail("cannot parse the listening line: " + line);
                host_ = listen_address_.substr(0, colon);
                if (host_.size() >= 2 && host_.front() == '[' && host_.back() == ']') {
                    host_ = host_.substr(1, host_.size() - 2);
                }
                port_ = static_cast<std::uint16_t>(std::stoul(listen_address_.substr(colon + 1)));
                if (port_ == 0) fail("the daemon says it listens on port 0: " + line);
            }
            return;
        }
        if (!running()) {
            fail("fcgid exited with code " + std::to_string(*exit_code_) +
                 " before listening; its log:\n" + log());
        }
        if (clock_type::now() > deadline) {
            fail("no \"listening on\" line within " + std::to_string(timeout.count()) +
                 " ms; log so far:\n" + text);
        }
        std::this_thread::sleep_for(5ms);  // the poll interval, not a wait for the event
    }
}

fcgi_connection daemon_process::connect() const {
    if (!unix_path_.empty()) return fcgi_connection::connect_unix(unix_path_);
    if (port_ == 0) fail("connect(): the daemon's address is not known (wait_listening first)");
    return fcgi_connection::connect_tcp(host_, port_);
}

int daemon_process::try_connect() const { return fcgi_connection::try_connect_tcp(host_, port_); }

void daemon_process::send_signal(int signo) {
    if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

std::optional<int> daemon_process::wait_exit(milliseconds timeout) {
    if (!poll_until([this] { return !running(); }, timeout)) return std::nullopt;
    return exit_code_;
}

bool daemon_process::running() {
    if (exit_code_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exit_code_ = exit_code_of(status);
        return false;
    }
    return true;
}

std::string daemon_process::log() const { return read_file(dir_.file("stderr.log")); }
std::string daemon_process::out() const { return read_file(dir_.file("stdout.log")); }

bool daemon_process::wait_for_log(std::string_view text, milliseconds timeout) const {
    return poll_until([&] { return log().find(text) != std::string::npos; }, timeout);
}

bool daemon_process::wait_for_log_count(std::string_view text, std::size_t count,
                                        milliseconds timeout) const {
    return poll_until([&] { return count_of(log(), text) >= count; }, timeout);
}

bool daemon_process::wait_open_fds_at_most(std::size_t count, milliseconds timeout) const {
    return poll_until([&] { return open_fds(pid_) <= count; }, timeout);
}

// ---- Waiting for events --------------------------------------------------------------

bool poll_until(const std::function<bool()>& done, milliseconds timeout, milliseconds interval) {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (clock_type::now() > deadline) return false;
        std::this_thread::sleep_for(interval);  // the poll interval, not a wait for the event
    }
}

std::size_t open_fds(pid_t pid) {
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
    if (ec) return 0;
    std::size_t n = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) return n;
        ++n;
    }
    return n;
}

void outlast_echo_delays(const daemon_process& d, milliseconds delay) {
    fcgi_connection conn = d.connect();
    response r = conn.round_trip(1, "delay_ms=" + std::to_string(delay.count()));
    if (parse_cgi_response(r.stdout_data).status != 200) {
        fail("echo did not answer the delay_ms=" + std::to_string(delay.count()) + " request with 200");
    }
}

// ---- One-shot runs ------------------------------------------------------------------

run_result run_fcgid(std::vector<std::string> args, milliseconds timeout, int pass_fd,
                     int pass_as) {
    daemon_process d(std::move(args), pass_fd, pass_as);
    run_result r;
    auto code = d.wait_exit(timeout);
    r.exit_code = code ? *code : -1;
    r.out = d.out();
    r.err = d.log();
    return r;  // the destructor kills it if it is still running
}

std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t eol = text.find('\n', at);
        if (eol == std::string_view::npos) {
            out.emplace_back(text.substr(at));
            break;
        }
        out.emplace_back(text.substr(at, eol - at));
        at = eol + 1;
    }
    return out;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace fcgid_test
