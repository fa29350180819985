#include "workers_support.hpp"

#include <signal.h>

#include <stdexcept>

namespace fcgid_process {

void master_deleter::operator()(daemon_process* d) const {
    if (d->running()) kill_children_and_freeze(d->pid());
    delete d;  // SIGKILLs and reaps the master
}

master_process start_two_workers(const std::string& plugin, std::vector<std::string> extra) {
    std::vector<std::string> args{"run", "--plugin", plugin, "--host", "127.0.0.1", "--port", "0", "--workers", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    master_process d(new daemon_process(std::move(args)));
    d->wait_listening();
    if (!d->wait_for_log("2 workers serving"))
        throw std::runtime_error("no \"2 workers serving\" line; log:\n" + d->log());
    return d;
}

std::map<pid_t, answered_by> ask_each_worker(const daemon_process& d, const std::vector<pid_t>& workers) {
    std::map<pid_t, answered_by> answers;
    for (const pid_t asked : workers) {
        std::vector<pid_t> stopped;
        // Continues the stopped workers on every way out, exceptions included.
        struct resume {
            std::vector<pid_t>& pids;
            ~resume() {
                for (const pid_t p : pids) ::kill(p, SIGCONT);
            }
        } resume_stopped{stopped};
        for (const pid_t other : workers) {
            if (other == asked) continue;
            stopped.push_back(other);
            stop_process(other);
        }
        answers[asked] = post_once(d.host(), d.port(), "asked worker " + std::to_string(asked));
    }
    return answers;
}

}  // namespace fcgid_process
