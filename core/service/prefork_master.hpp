// --workers N: a small master that keeps N single-threaded worker processes
// serving one listening socket.
//
// The master opens nothing itself and loads no plugin: it forks workers,
// each of which is exactly the single-process daemon (run on the inherited
// socket), and then only watches them. It uses no event loop of its own:
// signals are blocked and taken one by one with sigtimedwait, so a forked
// child inherits no loop state to untangle.
//
//  - A worker that exits is started again: at once after a clean exit (a
//    limit recycled it) or a crash while serving; after a failed start, per
//    slot with doubling backoff (100 ms to 10 s), and never with every slot
//    waiting longer than a second (respawn_policy.hpp).
//  - SIGTERM/SIGINT: every worker drains (SIGTERM); the master exits 0 when
//    all have exited 0. A second signal kills them (SIGKILL) and exits 1.
//  - SIGHUP: a rolling restart. One worker at a time, a fresh one is started
//    and, once it reports ready, the old one drains. A fresh worker that
//    fails to start stops the roll; the old workers keep serving.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

namespace fcgid::observe {
struct process_area;
}

namespace fcgid::service {

// What a worker left behind about its death (crash_reports.hpp).
struct worker_exit_note {
    std::string detail;  // added to the line that logs the death
    // It killed itself (SIGKILL) because the plugin stalled its loop for
    // --stall-kill: a death while serving, replaced at once.
    bool stall_killed = false;
};

struct prefork_options {
    int workers = 1;
    // The master's copy of the listening socket, kept to hand to new workers
    // and closed when the stop begins: once every worker has closed its copy
    // too, connect() is refused instead of queueing for no one.
    int listen_fd = -1;
    // How long a worker may take to report ready (its plugin's init included).
    std::chrono::seconds start_timeout{30};
    // How long the master waits for draining workers before killing them.
    std::chrono::seconds stop_timeout{35};
    // Called with the pid of every worker that has exited, however it ended.
    // What it returns is added to the line that logs the death: what the
    // worker was serving when it crashed (crash_reports.hpp), or nothing.
    std::function<worker_exit_note(pid_t)> on_worker_exit;
    // Where the master notes its state, reloads and worker restarts, if anywhere.
    observe::process_area* metrics = nullptr;
};

// Runs a worker in a forked child: serve until drained, writing one byte to
// `ready_fd` once listening. Returns the child's exit code.
using worker_main = std::function<int(int ready_fd)>;

// In a worker: asks for SIGTERM when the master dies (and raises it if the
// master is already gone). Called at fork and again after dropping
// privileges, because changing the user id clears that request.
void die_with_master() noexcept;

// A forked worker starts with SIGTERM, SIGINT, SIGHUP and SIGCHLD blocked, so
// a signal sent before it has its handlers waits instead of killing it. The
// worker calls this once its handlers are installed.
void unblock_worker_signals() noexcept;

// Runs the master until every worker has stopped. Returns the exit code:
// 1 if the first workers could not start, or the stop was forced.
int run_prefork_master(const prefork_options& options, const worker_main& serve);

}  // namespace fcgid::service
