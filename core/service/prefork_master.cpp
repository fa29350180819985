#include "service/prefork_master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "service/systemd.hpp"

namespace fcgid::service {
namespace {

using clock = std::chrono::steady_clock;

// In a worker: its master's pid, for die_with_master().
pid_t master_pid_ = 0;

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{10'000};
// A worker that crashes sooner than this after starting counts as failing fast.
constexpr std::chrono::seconds stable_after{10};

struct worker {
    pid_t pid = -1;
    int ready_fd = -1;  // read end; closed once the worker said it is ready
    bool ready = false;
    bool retiring = false;  // sent SIGTERM by a rolling restart: do not replace
    clock::time_point started;
};

class master {
public:
    master(const prefork_options& options, const worker_main& serve) : options_(options), serve_(serve) {
        sigemptyset(&signals_);
        for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals_, s);
        sigprocmask(SIG_BLOCK, &signals_, &previous_mask_);
    }

    ~master() {
        for (worker& w : workers_)
            if (w.ready_fd >= 0) ::close(w.ready_fd);
        sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
    }

    int run() {
        for (int i = 0; i < options_.workers; ++i)
            if (!spawn()) break;
        if (static_cast<int>(workers_.size()) < options_.workers) {
            kill_all(SIGKILL);
            reap_all_blocking();
            return 1;
        }
        for (worker& w : workers_) {
            if (!wait_ready(w)) {
                spdlog::error("worker {} failed to start; stopping", w.pid);
                kill_all(SIGKILL);
                reap_all_blocking();
                return 1;
            }
        }
        spdlog::info("{} workers serving (pids {})", workers_.size(), pid_list());
        notify_systemd("READY=1");
        return loop();
    }

private:
    int loop() {
        while (!(stopping_ && workers_.empty())) {
            siginfo_t info{};
            const timespec wait = time_to_next_respawn();
            const int signal_number = sigtimedwait(&signals_, &info, &wait);
            if (signal_number == SIGCHLD) reap();
            else if (signal_number == SIGTERM || signal_number == SIGINT) on_stop_signal(signal_number);
            else if (signal_number == SIGHUP) rolling_restart();
            else if (signal_number < 0 && errno != EAGAIN && errno != EINTR) break;
            respawn_due();
            if (stopping_ && clock::now() >= stop_deadline_ && !workers_.empty()) {
                spdlog::warn("workers still running {} s after SIGTERM: killing them",
                             options_.stop_timeout.count());
                kill_all(SIGKILL);
                exit_code_ = 1;
            }
        }
        spdlog::info("exiting: all workers stopped");
        return exit_code_;
    }

    // Starts one worker; false (logged) if the system refused a pipe or a fork.
    bool spawn() {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
            spdlog::error("cannot start a worker: pipe: {}", std::strerror(errno));
            return false;
        }
        spdlog::default_logger()->flush();
        const pid_t master_pid = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            spdlog::error("cannot start a worker: fork: {}", std::strerror(errno));
            ::close(pipe_fds[0]);
            ::close(pipe_fds[1]);
            return false;
        }
        if (pid == 0) {
            // The child: forget the master, become a plain daemon. Its stop
            // signals stay blocked (pending, not lost) until the worker has
            // installed its handlers: see unblock_worker_signals().
            ::close(pipe_fds[0]);
            for (const worker& w : workers_)
                if (w.ready_fd >= 0) ::close(w.ready_fd);
            // Its own process group: a Ctrl-C (or any signal to the master's
            // group) reaches the master alone, which drains the workers with
            // one SIGTERM each; two would make a worker stop at once.
            ::setpgid(0, 0);
            master_pid_ = master_pid;
            die_with_master();
            int code = 1;
            try {
                code = serve_(pipe_fds[1]);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "fcgid: error: %s\n", e.what());
            } catch (...) {
                // Never unwind into the master's frames from a child.
                std::fprintf(stderr, "fcgid: error: a worker failed to start\n");
            }
            spdlog::default_logger()->flush();
            // No destructors: they belong to the master's copy of the world.
            ::_exit(code);
        }
        ::close(pipe_fds[1]);
        workers_.push_back(worker{pid, pipe_fds[0], false, false, clock::now()});
        return true;
    }

    // Starts a worker, or schedules another try after the backoff.
    void spawn_or_retry() {
        if (spawn()) return;
        backoff_ = std::min(backoff_ * 2, max_backoff);
        respawn_at_.push_back(clock::now() + backoff_);
    }

    // Blocks until `w` reports ready, or exits, or the start timeout passes.
    bool wait_ready(worker& w) {
        const auto deadline = clock::now() + options_.start_timeout;
        pollfd p{w.ready_fd, POLLIN, 0};
        while (clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 1)));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            char byte = 0;
            const bool said_ready = ::read(w.ready_fd, &byte, 1) == 1;
            ::close(w.ready_fd);
            w.ready_fd = -1;
            w.ready = said_ready;  // EOF without a byte: it exited before listening
            return said_ready;
        }
        return false;
    }

    void reap() {
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            const auto it = std::find_if(workers_.begin(), workers_.end(),
                                         [pid](const worker& w) { return w.pid == pid; });
            if (it == workers_.end()) continue;
            if (options_.on_worker_exit) options_.on_worker_exit(pid);
            const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            const auto lived = clock::now() - it->started;
            if (it->ready_fd >= 0) ::close(it->ready_fd);
            const bool replace = !stopping_ && !it->retiring;
            workers_.erase(it);
            if (WIFEXITED(status))
                spdlog::info("worker {} exited with status {}", pid, WEXITSTATUS(status));
            else
                spdlog::warn("worker {} killed by signal {}", pid, WTERMSIG(status));
            if (stopping_ && !clean) exit_code_ = 1;
            if (!replace) continue;
            if (clean) {
                // Recycled by a limit: replace it at once, nothing went wrong.
                spawn_or_retry();
                continue;
            }
            backoff_ = lived >= stable_after ? first_backoff : std::min(backoff_ * 2, max_backoff);
            spdlog::warn("starting a new worker in {} ms", backoff_.count());
            respawn_at_.push_back(clock::now() + backoff_);
        }
    }

    void respawn_due() {
        if (stopping_) {
            respawn_at_.clear();
            return;
        }
        const auto now = clock::now();
        const auto due = std::remove_if(respawn_at_.begin(), respawn_at_.end(),
                                        [now](clock::time_point t) { return t <= now; });
        const auto count = std::distance(due, respawn_at_.end());
        respawn_at_.erase(due, respawn_at_.end());
        for (long i = 0; i < count; ++i) spawn_or_retry();
    }

    timespec time_to_next_respawn() const {
        auto wait = std::chrono::milliseconds(1000);  // also paces the stop deadline check
        const auto now = clock::now();
        for (const auto t : respawn_at_)
            wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::max(t - now, clock::duration::zero())));
        return timespec{static_cast<time_t>(wait.count() / 1000),
                        static_cast<long>((wait.count() % 1000) * 1'000'000)};
    }

    void on_stop_signal(int signal_number) {
        if (stopping_) {
            spdlog::warn("second signal: killing the workers");
            kill_all(SIGKILL);
            exit_code_ = 1;
            return;
        }
        stopping_ = true;
        stop_deadline_ = clock::now() + options_.stop_timeout;
        if (options_.listen_fd >= 0) ::close(options_.listen_fd);
        spdlog::info("draining: signal {}; stopping {} workers",
                     signal_number == SIGINT ? "SIGINT" : "SIGTERM", workers_.size());
        notify_systemd("STOPPING=1");
        kill_all(SIGTERM);
    }

    void rolling_restart() {
        if (stopping_) return;
        std::vector<pid_t> old;
        for (const worker& w : workers_)
            if (!w.retiring) old.push_back(w.pid);
        spdlog::info("SIGHUP: rolling restart of {} workers", old.size());
        for (const pid_t old_pid : old) {
            if (!spawn()) {
                spdlog::error("rolling restart stopped; the running workers keep serving");
                return;
            }
            worker& fresh = workers_.back();
            if (!wait_ready(fresh)) {
                spdlog::error("rolling restart stopped: a new worker failed to start; "
                              "the running workers keep serving");
                ::kill(fresh.pid, SIGKILL);
                fresh.retiring = true;  // reaped later, not replaced
                return;
            }
            const auto it = std::find_if(workers_.begin(), workers_.end(),
                                         [old_pid](const worker& w) { return w.pid == old_pid; });
            if (it == workers_.end()) continue;  // it exited meanwhile
            it->retiring = true;
            ::kill(old_pid, SIGTERM);
        }
        spdlog::info("rolling restart done (pids {})", pid_list());
    }

    void kill_all(int signal_number) {
        for (const worker& w : workers_) ::kill(w.pid, signal_number);
    }

    void reap_all_blocking() {
        while (!workers_.empty()) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, 0);
            if (pid < 0) break;
            std::erase_if(workers_, [pid](const worker& w) { return w.pid == pid; });
        }
    }

    std::string pid_list() const {
        std::string list;
        for (const worker& w : workers_) {
            if (w.retiring) continue;
            if (!list.empty()) list += ' ';
            list += std::to_string(w.pid);
        }
        return list;
    }

    const prefork_options& options_;
    const worker_main& serve_;
    sigset_t signals_{};
    sigset_t previous_mask_{};
    std::vector<worker> workers_;
    std::vector<clock::time_point> respawn_at_;
    std::chrono::milliseconds backoff_ = first_backoff;
    bool stopping_ = false;
    clock::time_point stop_deadline_{};
    int exit_code_ = 0;
};

}  // namespace

void die_with_master() noexcept {
    if (master_pid_ == 0) return;
    // A master killed outright (SIGKILL) must not leave workers holding the
    // port: they drain as if told to stop. The parent check covers a master
    // that died before the request was made.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != master_pid_) ::raise(SIGTERM);
}

void unblock_worker_signals() noexcept {
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals, s);
    sigprocmask(SIG_UNBLOCK, &signals, nullptr);
}

int run_prefork_master(const prefork_options& options, const worker_main& serve) {
    master m(options, serve);
    return m.run();
}

}  // namespace fcgid::service
