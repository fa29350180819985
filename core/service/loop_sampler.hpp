// Takes the loop thread's stack, and the request it is serving, from another
// thread of the process: no ptrace, so it works in a container without
// CAP_SYS_PTRACE and under a process manager that forbids tracing.
//
// The asking thread sends the loop thread a signal (pthread_kill). The
// handler, on the loop thread, copies what the loop thread is inside of
// (plugin_call_mark.hpp) and its return addresses (glibc's backtrace(),
// warmed up at install: its first call loads libgcc_s, which is not
// async-signal-safe; later calls only unwind) into memory set aside for it,
// and posts a semaphore (sem_post is async-signal-safe). Symbolising
// (dladdr, demangling) allocates and takes locks, so the asking thread does
// it, never the handler.
//
// The signal is SIGRTMIN+6, a realtime signal: those are left to
// applications, nothing fcgid links uses this one (Asio takes no signal of
// its own; the sanitizers use the fault signals), and the usual ones are
// taken: SIGURG preempts goroutines in a Go plugin, SIGPROF is a
// profiler's, SIGUSR1/SIGUSR2 are the log reopen's and JVMs'. A plugin that
// installs its own handler for it only loses the stack in stall reports.
//
// A blocking call the loop thread is in when the signal lands is restarted
// (SA_RESTART) or, for sleeps and waits, returns early with EINTR, as under
// any sampling profiler. It happens once per stall.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "service/fatal_signals.hpp"
#include "service/plugin_call_mark.hpp"

namespace fcgid::service {

struct loop_sample {
    static constexpr std::size_t max_frames = 64;
    static constexpr std::size_t method_room = 16;
    static constexpr std::size_t uri_room = 512;

    // False: the loop thread had left the call asked about when it answered.
    bool in_that_call = false;
    plugin_callback callback = plugin_callback::none;
    bool has_request = false;
    std::uint16_t request_id = 0;
    std::size_t method_length = 0;
    std::size_t uri_length = 0;
    char method[method_room];
    char uri[uri_room];
    std::size_t frame_count = 0;
    void* frames[max_frames];

    std::string_view method_text() const noexcept { return {method, method_length}; }
    std::string_view uri_text() const noexcept { return {uri, uri_length}; }
};

class loop_sampler {
public:
    static int signal_number() noexcept;

    // On the loop thread, once: installs the handler and warms backtrace().
    // False (logged) if the handler could not be installed.
    static bool install(describe_request_fn describe) noexcept;

    // On another thread: asks the loop thread for its stack, if it is still in
    // the call that `edges` (plugin_call_state::edges) marks. False when it did
    // not answer within `wait` (signal blocked, or the thread is stopped).
    static bool sample(std::uint64_t edges, loop_sample& out, std::chrono::milliseconds wait);

    // One line per frame: "#0 spin_in_handle+0x1d (/path/plugin.so+0x1139)".
    // Allocates and takes the loader's lock: never from a signal handler.
    // A function the object does not export (a plugin's static functions: the
    // plugin link script exports fcgid_plugin_entry alone; fcgid itself) shows
    // as "#3 ?? (/usr/bin/fcgid+0x4a2b1)": `addr2line -f -C -e FILE OFFSET`
    // names it from the file's symbols or debug info.
    static std::vector<std::string> symbolise(const loop_sample& sample);

    // The plugin host loads a private copy of the plugin (/proc/self/fd/N):
    // frames in it are shown with the file it was copied from. The copy is
    // what ran: if the file was replaced since, addr2line reads the new one.
    static void name_object(const std::string& loaded_as, const std::string& file);
};

}  // namespace fcgid::service
