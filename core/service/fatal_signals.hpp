// What a serving process does when its plugin crashes it: name the request.
//
// On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the handler looks at the
// request that is inside a plugin callback on the loop thread, if any, and
//  - with --workers, records the crash and a quarantine strike in the memory
//    the master shares (crash_reports.hpp); the master logs it;
//  - without, writes one line to stderr naming the signal and the request.
// Then the process dies exactly as it would have: the handler that was there
// before (a sanitizer's, or the default action) takes the signal again.
//
// A crash on another thread (a plugin's own) names no request: the loop
// thread's request did not cause it. Everything the handler does is
// async-signal-safe: atomics, memory reads, write(2), clock_gettime(2).
#pragma once

#include "service/quarantine.hpp"

namespace fcgid::service {

class crash_reports;

// Fills `out` with views into the request `request` (a net::request); false
// if it cannot. Called from the signal handler: must only read memory.
using describe_request_fn = bool (*)(const void* request, request_description& out) noexcept;

// Installs the handlers in this process; the calling thread is the loop
// thread. `reports` is null without --workers. Call once, before serving.
// The request in handle() is the one the loop thread marked with a
// plugin_call (plugin_call_mark.hpp).
void install_fatal_signal_handlers(describe_request_fn describe, crash_reports* reports) noexcept;

}  // namespace fcgid::service
