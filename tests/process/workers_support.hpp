// workers_support.hpp: starting fcgid with --workers and asking each worker
// in turn, for workers_test.cpp and workers_load_test.cpp.
#ifndef FCGID_TESTS_PROCESS_WORKERS_SUPPORT_HPP
#define FCGID_TESTS_PROCESS_WORKERS_SUPPORT_HPP

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "process_support.hpp"

namespace fcgid_process {

// Deletes a daemon_process that runs a --workers master: its workers are
// killed first, since they would outlive the master (see kill_children_and_freeze).
struct master_deleter {
    void operator()(daemon_process* d) const;
};
using master_process = std::unique_ptr<daemon_process, master_deleter>;

// `run --plugin PLUGIN --host 127.0.0.1 --port 0 --workers 2 EXTRA...`, then
// waits for the master's "2 workers serving" line. Throws with the log if it
// does not come.
master_process start_two_workers(const std::string& plugin, std::vector<std::string> extra = {});

// Asks every worker in `workers`, one at a time, with all the others stopped
// (SIGSTOP): only that one can accept the new connection. Which plugin each
// answered with. The others are continued (SIGCONT) whatever happens.
std::map<pid_t, answered_by> ask_each_worker(const daemon_process& d, const std::vector<pid_t>& workers);

}  // namespace fcgid_process

#endif  // FCGID_TESTS_PROCESS_WORKERS_SUPPORT_HPP
