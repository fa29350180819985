// What one fcgi-bench run is asked to do, as plain values (filled by main.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace fcgi_bench {

struct bench_options {
    std::string address;             // host:port, [v6]:port or unix:/path
    std::size_t connections = 32;    // client connections, all open at once
    double duration_s = 10;          // measuring time; ignored when requests > 0
    std::uint64_t requests = 0;      // measured requests in total; 0 = run for duration_s
    std::uint64_t warmup_requests = 0;  // before measuring, on the same connections; 0 = none
    bool keep_conn = true;           // FCGI_KEEP_CONN; off = a new connection per request
    std::size_t multiplex = 1;       // requests in flight per connection (keep_conn only)
    std::string uri = "/";           // REQUEST_URI, DOCUMENT_URI, SCRIPT_NAME
    std::vector<std::pair<std::string, std::string>> params;  // added or replacing the defaults
    std::uint64_t body_size = 0;     // > 0: a POST with this many body bytes (FCGI_STDIN)
    bool get_values = false;         // ask FCGI_GET_VALUES first and print the answer
    pid_t signal_pid = 0;            // SIGUSR2 to this process when measuring starts and ends; 0 = none
    double drain_timeout_s = 2;      // after the window closed, wait this long for answers
    double max_time_s = 300;         // with requests > 0: stop measuring after this long whatever is left
    bool strict = false;             // unanswered requests or idle connections fail the run
    std::size_t idle = 0;            // more connections opened first, served one request each, then held idle
    double idle_pause_s = 0;         // after opening them, wait this long before the load
};

}  // namespace fcgi_bench
