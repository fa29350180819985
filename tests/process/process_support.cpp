#include "process_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fcgid_process {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

using fcgid_test::exit_code_of;
using fcgid_test::read_file;

// /proc/<pid>/stat after the command name, which may itself hold ") ":
// "S 1234 ..." (state, then the parent's pid).
std::optional<std::string> stat_after_name(pid_t pid) {
    const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
    const std::size_t close = text.rfind(')');
    if (text.empty() || close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
    return text.substr(close + 2);
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> out;
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) fail("cannot read /proc");
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
        out.push_back(static_cast<pid_t>(std::stol(std::string(name))));
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// ---- Answers ----------------------------------------------------------------

const char* name_of(answered_by who) { return who == answered_by::echo ? "echo" : "hello"; }

std::optional<answered_by> classify(const fcgid_test::response& r, std::string_view sent_body,
                                    std::string& why) {
    if (!r.ended) {
        why = "no END_REQUEST";
        return std::nullopt;
    }
    if (r.protocol_status != fcgi::request_complete || !r.violations.empty()) {
        why = "END_REQUEST protocol status " + std::to_string(r.protocol_status) + ", " +
              std::to_string(r.violations.size()) + " protocol violations";
        return std::nullopt;
    }
    const fcgid_test::cgi_response http = fcgid_test::parse_cgi_response(r.stdout_data);
    if (!http.head_complete || http.status != 200) {
        why = "status " + std::to_string(http.status) + " (" + http.status_line + ")";
        return std::nullopt;
    }
    if (const auto length = http.header("X-Echo-Length")) {
        if (http.header("X-Echo-Method") == "POST" && *length == std::to_string(sent_body.size()) &&
            http.body == sent_body)
            return answered_by::echo;
        why = "an echo answer that does not match: X-Echo-Length " + *length + " for " +
              std::to_string(sent_body.size()) + " bytes sent, body of " +
              std::to_string(http.body.size()) + " bytes";
        return std::nullopt;
    }
    if (http.body == hello_body && http.header("Content-Type") == "text/html") return answered_by::hello;
    why = "neither echo's nor hello's answer: " + http.body.substr(0, 80);
    return std::nullopt;
}

answered_by post_once(const std::string& host, std::uint16_t port, std::string_view body,
                      std::string_view query) {
    fcgi_connection c = fcgi_connection::connect_tcp(host, port);
    c.send_request(1, query, body, 0, "POST");
    std::string why;
    const auto who = classify(c.read_response(1), body, why);
    if (!who) fail(why);
    return *who;
}

// ---- Files ------------------------------------------------------------------

void replace_by_rename(const std::string& from, const std::string& to) {
    const std::string staging = to + ".new";
    std::filesystem::copy_file(from, staging, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(staging, to);
}

void replace_in_place(const std::string& from, const std::string& to) {
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// ---- /proc --------------------------------------------------------------------

std::optional<char> process_state(pid_t pid) {
    const auto rest = stat_after_name(pid);
    if (!rest || rest->empty()) return std::nullopt;
    return (*rest)[0];
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    for (const pid_t candidate : all_pids()) {
        const auto rest = stat_after_name(candidate);
        if (!rest) continue;  // gone meanwhile
        std::istringstream fields(*rest);
        char state = 0;
        long parent = 0;
        if (fields >> state >> parent && parent == pid) out.push_back(candidate);
    }
    return out;
}

std::string status_field(pid_t pid, std::string_view name) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
    const std::string prefix = std::string(name) + ":";
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix, 0) != 0) continue;
        std::string value = line.substr(prefix.size());
        value.erase(0, value.find_first_not_of(" \t"));
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
        return value;
    }
    return {};
}

bool wait_gone(pid_t pid, milliseconds timeout) {
    return fcgid_test::poll_until([pid] { return !process_state(pid); }, timeout);
}

std::vector<pid_t> wait_children(pid_t pid, std::size_t count, milliseconds timeout) {
    std::vector<pid_t> children;
    fcgid_test::poll_until(
        [&] {
            children = children_of(pid);
            return children.size() == count && std::none_of(children.begin(), children.end(),
                                                            [](pid_t c) { return process_state(c) == 'Z'; });
        },
        timeout, 10ms);
    return children;
}

std::vector<pid_t> processes_with_argument(std::string_view text) {
    std::vector<pid_t> out;
    for (const pid_t pid : all_pids()) {
        std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(text) != std::string::npos) out.push_back(pid);
    }
    return out;
}

void stop_process(pid_t pid) {
    ::kill(pid, SIGSTOP);
    if (!fcgid_test::poll_until([pid] { return process_state(pid) == 'T'; }, 5000ms, 2ms))
        fail("process " + std::to_string(pid) + " did not stop");
}

void kill_children_and_freeze(pid_t pid) {
    if (!process_state(pid) || process_state(pid) == 'Z') return;
    ::kill(pid, SIGSTOP);
    fcgid_test::poll_until(
        [pid] {
            const auto state = process_state(pid);
            return !state || state == 'T' || state == 'Z';
        },
        2000ms, 1ms);
    for (const pid_t child : children_of(pid)) ::kill(child, SIGKILL);
}

// ---- Log ----------------------------------------------------------------------

std::string lines_with(std::string_view log, std::string_view text) {
    std::string out;
    for (const std::string& line : fcgid_test::lines_of(log))
        if (line.find(text) != std::string::npos) out += line + "\n";
    return out;
}

std::string excerpt_around(std::string_view log, std::string_view text, std::size_t context) {
    const auto all = fcgid_test::lines_of(log);
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i].find(text) == std::string::npos) continue;
        std::string out;
        for (std::size_t j = i > context ? i - context : 0; j < std::min(all.size(), i + context + 1); ++j)
            out += all[j] + "\n";
        return out;
    }
    return {};
}

std::vector<pid_t> worker_pids_listening(std::string_view log) {
    static constexpr std::string_view open = "[worker ";
    static constexpr std::string_view close = "] listening on ";
    std::vector<pid_t> out;
    for (const std::string& line : fcgid_test::lines_of(log)) {
        const std::size_t at = line.find(open);
        if (at == std::string::npos) continue;
        const std::size_t end = line.find(close, at);
        if (end == std::string::npos) continue;
        out.push_back(static_cast<pid_t>(std::stol(line.substr(at + open.size(), end - at - open.size()))));
    }
    return out;
}

bool wait_for_count(const daemon_process& d, std::string_view text, std::size_t count,
                    milliseconds timeout) {
    return d.wait_for_log_count(text, count, timeout);
}

std::string tail_of(std::string_view log, std::size_t lines) {
    const auto all = fcgid_test::lines_of(log);
    std::string out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
        out += all[i] + "\n";
    return out;
}

// ---- spawned_fcgid ----------------------------------------------------------------

spawned_fcgid::spawned_fcgid(spawn_options options) {
    std::vector<std::string> argv_store{fcgid_test::fcgid_bin()};
    argv_store.insert(argv_store.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    // The environment: ours, minus what the options set, plus the options.
    std::vector<std::string> names;
    for (const std::string& e : options.env) names.push_back(e.substr(0, e.find('=')));
    if (options.listen_pid) names.emplace_back("LISTEN_PID");
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry = *e;
        const std::string name(entry.substr(0, entry.find('=')));
        if (std::find(names.begin(), names.end(), name) == names.end()) env_store.emplace_back(entry);
    }
    env_store.insert(env_store.end(), options.env.begin(), options.env.end());
    static constexpr std::string_view listen_pid_prefix = "LISTEN_PID=";
    if (options.listen_pid) env_store.push_back(std::string(listen_pid_prefix) + std::string(24, '\0'));
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    // The child writes its own pid here (its copy of this memory) before exec.
    char* const listen_pid_digits =
        options.listen_pid ? env_store.back().data() + listen_pid_prefix.size() : nullptr;

    const int out_fd = ::open(dir_.file("stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(dir_.file("stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) fail("cannot open the daemon's output files");
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        // Only async-signal-safe calls from here to exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int passed = options.fd3 >= 0 ? ::fcntl(options.fd3, F_DUPFD_CLOEXEC, 10) : -1;
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        if (passed >= 0) ::dup2(passed, 3);  // dup2 clears FD_CLOEXEC on the copy
        if (listen_pid_digits != nullptr) {
            char reversed[24];
            int n = 0;
            for (long p = ::getpid(); p > 0; p /= 10) reversed[n++] = static_cast<char>('0' + p % 10);
            for (int i = 0; i < n; ++i) listen_pid_digits[i] = reversed[n - 1 - i];
            listen_pid_digits[n] = '\0';
        }
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(null_fd);
    if (options.fd3 >= 0) ::close(options.fd3);
}

spawned_fcgid::~spawned_fcgid() {
    if (pid_ > 0 && running()) {
        kill_children_and_freeze(pid_);
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

std::string spawned_fcgid::log() const { return read_file(dir_.file("stderr.log")); }

bool spawned_fcgid::wait_for_log(std::string_view text, milliseconds timeout) const {
    return fcgid_test::poll_until([&] { return log().find(text) != std::string::npos; }, timeout);
}

void spawned_fcgid::send_signal(int signo) {
    if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

bool spawned_fcgid::running() {
    if (exit_code_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = exit_code_of(status);
        return false;
    }
    return true;
}

std::optional<int> spawned_fcgid::wait_exit(milliseconds timeout) {
    if (!fcgid_test::poll_until([this] { return !running(); }, timeout)) return std::nullopt;
    return exit_code_;
}

// ---- notify_socket ----------------------------------------------------------------

notify_socket::notify_socket(std::string path) : path_(std::move(path)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof address.sun_path) fail("notify socket path too long: " + path_);
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail(std::string("socket(AF_UNIX, SOCK_DGRAM): ") + std::strerror(errno));
    const int one = 1;
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
        fail("cannot bind the notify socket " + path_ + ": " + std::strerror(errno));
}

notify_socket::~notify_socket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
}

std::optional<notification> notify_socket::receive(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int rc;
    while ((rc = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    if (rc <= 0) return std::nullopt;
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{data, sizeof data};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &message, 0);
    if (n < 0) fail(std::string("recvmsg: ") + std::strerror(errno));
    notification out;
    out.text.assign(data, static_cast<std::size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            ucred credentials{};
            std::memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
            out.sender = credentials.pid;
        }
    }
    return out;
}

}  // namespace fcgid_process
