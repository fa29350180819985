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

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "observe/metrics_table.hpp"
#include "service/respawn_policy.hpp"
#include "service/systemd.hpp"

namespace fcgid::service {
namespace {

using clock = std::chrono::steady_clock;

// In a worker: its master's pid, for die_with_master().
pid_t master_pid_ = 0;

// While no worker serves, the line that says so comes at most this often.
constexpr std::chrono::seconds none_serving_log_period{10};

struct worker {
    pid_t pid = -1;
    std::size_t slot = 0;  // which of the --workers places it fills
    int ready_fd = -1;  // read end; closed once the worker said it is ready
    bool ready = false;
    bool retiring = false;  // sent SIGTERM by a rolling restart: do not replace
};

std::string signal_name(int signal_number) {
    const char* abbreviation = ::sigabbrev_np(signal_number);
    return abbreviation != nullptr ? std::string("SIG") + abbreviation : std::to_string(signal_number);
}

class master {
public:
    master(const prefork_options& options, const worker_main& serve)
        : options_(options), serve_(serve), policy_(static_cast<std::size_t>(options.workers)) {
        sigemptyset(&signals_);
        for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1}) sigaddset(&signals_, s);
        sigprocmask(SIG_BLOCK, &signals_, &previous_mask_);
    }

    ~master() {
        for (worker& w : workers_)
            if (w.ready_fd >= 0) ::close(w.ready_fd);
        sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
    }

    int run() {
        for (int i = 0; i < options_.workers; ++i)
            if (!spawn(static_cast<std::size_t>(i))) break;
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
        if (options_.metrics != nullptr) options_.metrics->set_state(observe::run_state::serving);
        notify_systemd("READY=1");
        return loop();
    }

private:
    int loop() {
        while (!(stopping_ && workers_.empty())) {
            siginfo_t info{};
            const timespec wait = time_to_next_wake();
            const int signal_number = sigtimedwait(&signals_, &info, &wait);
            if (signal_number == SIGCHLD) reap();
            else if (signal_number == SIGTERM || signal_number == SIGINT) on_stop_signal(signal_number);
            else if (signal_number == SIGHUP) rolling_restart();
            // Reopen the log files (logrotate): each worker writes its own
            // lines, so each reopens. One still starting gets it once its
            // handlers are in place (it starts with the signal blocked).
            else if (signal_number == SIGUSR1) kill_all(SIGUSR1);
            else if (signal_number < 0 && errno != EAGAIN && errno != EINTR) break;
            respawn_due();
            say_if_none_serving();
            publish_state();
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

    // Starts one worker in `slot`; false (logged) if the system refused a pipe or a fork.
    bool spawn(std::size_t slot) {
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
        workers_.push_back(worker{pid, slot, pipe_fds[0], false, false});
        policy_.started(slot);
        return true;
    }

    // Starts a worker in `slot`, or schedules another try as after a failed start.
    void spawn_or_retry(std::size_t slot) {
        if (spawn(slot)) return;
        policy_.exited(slot, respawn_policy::exit_kind::failed_start, clock::now());
    }

    // Whether `w` had reported ready: its byte waits in the pipe even after
    // it died, and with the writer gone the read cannot block.
    static bool was_ready(worker& w) {
        if (w.ready || w.ready_fd < 0) return w.ready;
        char byte = 0;
        return ::read(w.ready_fd, &byte, 1) == 1;
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
            const worker_exit_note note =
                options_.on_worker_exit ? options_.on_worker_exit(pid) : worker_exit_note{};
            const std::string& serving = note.detail;
            // A worker this master told to stop (the stop, a rolling restart)
            // drains on SIGTERM; it can die of it only in the instant after
            // its drain, once its handlers are gone and nothing is in flight:
            // that is a clean exit, not a crash.
            const bool ended_by_our_term = (stopping_ || it->retiring) && WIFSIGNALED(status) &&
                                           WTERMSIG(status) == SIGTERM;
            const bool clean = (WIFEXITED(status) && WEXITSTATUS(status) == 0) || ended_by_our_term;
            const bool ready = was_ready(*it);
            if (it->ready_fd >= 0) ::close(it->ready_fd);
            const std::size_t slot = it->slot;
            const bool retiring = it->retiring;
            workers_.erase(it);
            // A rolling restart may have started its successor already.
            const bool slot_taken = std::any_of(workers_.begin(), workers_.end(), [slot](const worker& w) {
                return w.slot == slot && !w.retiring;
            });
            const bool replace = !stopping_ && !retiring && !slot_taken;
            if (stopping_ && !clean) exit_code_ = 1;
            count_restart(retiring && !stopping_ && ready, replace, clean, ready, note.stall_killed);
            const std::string how = ended_by_our_term ? std::string("exited on the SIGTERM sent to stop it, after its drain")
                                    : WIFEXITED(status)
                                        ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                        : fmt::format("killed by signal {}{}", signal_name(WTERMSIG(status)),
                                                      WTERMSIG(status) == SIGKILL && !note.stall_killed
                                                          ? " (from outside: the OOM killer, or an operator)"
                                                          : "");
            if (!replace) {
                log_death(clean, "worker {} {}{}", pid, how, serving);
                continue;
            }
            using kind = respawn_policy::exit_kind;
            const kind k = clean                ? kind::recycled
                           : note.stall_killed ? kind::stalled
                           : ready             ? kind::crashed
                                               : kind::failed_start;
            const auto now = clock::now();
            const auto due = policy_.exited(slot, k, now);
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
            log_death(clean, "worker {} {}{}{}; {}", pid, how, ready ? "" : " before it was ready", serving,
                      wait.count() <= 0 ? std::string("replacing it now")
                                        : fmt::format("next try in {} ms", wait.count()));
        }
    }

    // Why a worker is replaced, for the metrics: a rolling restart, a limit
    // (a clean exit), a stall its watchdog ended (--stall-kill), a crash
    // while serving, or a failed start.
    void count_restart(bool by_reload, bool replaced, bool clean, bool ready, bool stall_killed) {
        if (options_.metrics == nullptr) return;
        using id = observe::process_counter_id;
        observe::process_area& m = *options_.metrics;
        if (by_reload) m[id::worker_restarts_reload].add();
        else if (!replaced) return;
        else if (!ready) m[id::worker_failed_starts].add();
        else if (clean) m[id::worker_restarts_limit].add();
        else if (stall_killed) m[id::stall_kills].add();
        else m[id::worker_restarts_crash].add();
    }

    template <typename... Args>
    static void log_death(bool clean, fmt::format_string<Args...> format, Args&&... args) {
        if (clean) spdlog::info(format, std::forward<Args>(args)...);
        else spdlog::warn(format, std::forward<Args>(args)...);
    }

    void respawn_due() {
        if (stopping_) return;
        for (const std::size_t slot : policy_.take_due(clock::now())) spawn_or_retry(slot);
    }

    // For readiness probes: serving while some worker is, not while every
    // slot waits for a retry after failed starts (back to starting).
    void publish_state() const {
        if (stopping_) return;  // on_stop_signal said draining
        if (options_.metrics != nullptr)
            options_.metrics->set_state(policy_.none_running() ? observe::run_state::starting
                                                               : observe::run_state::serving);
    }

    // The host has its socket open and no worker to serve it: say so, once
    // per period while it lasts.
    void say_if_none_serving() {
        if (stopping_ || !policy_.none_running()) {
            none_serving_since_.reset();
            return;
        }
        const auto now = clock::now();
        if (none_serving_since_ && now - *none_serving_logged_ < none_serving_log_period) return;
        if (!none_serving_since_) none_serving_since_ = now;
        none_serving_logged_ = now;
        spdlog::error("no worker is serving: all {} failed to start (for {} s now); trying one again at least "
                      "every {} ms while connections wait in the listen queue",
                      options_.workers,
                      std::chrono::duration_cast<std::chrono::seconds>(now - *none_serving_since_).count(),
                      policy_.config().keep_trying_every.count());
    }

    timespec time_to_next_wake() const {
        auto wait = std::chrono::milliseconds(1000);  // also paces the stop deadline check
        if (const auto due = policy_.next_due(); due && !stopping_)
            wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::max(*due - clock::now(), clock::duration::zero())));
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
        if (options_.metrics != nullptr) options_.metrics->set_state(observe::run_state::draining);
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
            const auto old_worker = std::find_if(workers_.begin(), workers_.end(),
                                                 [old_pid](const worker& w) { return w.pid == old_pid; });
            if (old_worker == workers_.end()) continue;  // it exited meanwhile, and was replaced
            if (!spawn(old_worker->slot)) {
                spdlog::error("rolling restart stopped; the running workers keep serving");
                count_reload(false);
                return;
            }
            worker& fresh = workers_.back();
            if (!wait_ready(fresh)) {
                spdlog::error("rolling restart stopped: a new worker failed to start; "
                              "the running workers keep serving");
                ::kill(fresh.pid, SIGKILL);
                fresh.retiring = true;  // reaped later, not replaced
                count_reload(false);
                return;
            }
            const auto it = std::find_if(workers_.begin(), workers_.end(),
                                         [old_pid](const worker& w) { return w.pid == old_pid; });
            if (it == workers_.end()) continue;  // it exited meanwhile
            it->retiring = true;
            ::kill(old_pid, SIGTERM);
        }
        spdlog::info("rolling restart done (pids {})", pid_list());
        count_reload(true);
    }

    void count_reload(bool done) {
        if (options_.metrics == nullptr) return;
        (*options_.metrics)[done ? observe::process_counter_id::reloads : observe::process_counter_id::reload_failures]
            .add();
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
    respawn_policy policy_;
    std::optional<clock::time_point> none_serving_since_;
    std::optional<clock::time_point> none_serving_logged_;
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
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1}) sigaddset(&signals, s);
    sigprocmask(SIG_UNBLOCK, &signals, nullptr);
}

int run_prefork_master(const prefork_options& options, const worker_main& serve) {
    master m(options, serve);
    return m.run();
}

}  // namespace fcgid::service
