// Where this process is in its life, for readiness probes (/ready of
// --metrics-listen) and status pages: starting -> serving -> draining ->
// stopping. One atomic per process: the serving loop (or the --workers
// master) writes it, any thread may read it. With --workers the master's
// value speaks for the whole service; each worker keeps its own.
#pragma once

namespace fcgid::service {

enum class process_state {
    starting,  // binding, loading the plugin, waiting for the first workers
    serving,   // accepting and answering requests
    draining,  // a drain began (signal, limit): in-flight work finishes, nothing new
    stopping,  // the drain is over; the process is about to exit
};

void set_process_state(process_state state) noexcept;
process_state current_process_state() noexcept;

// "starting", "serving", "draining", "stopping".
const char* process_state_name(process_state state) noexcept;

}  // namespace fcgid::service
