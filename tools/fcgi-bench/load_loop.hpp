// The load itself: N connections on one epoll loop, each keeping M requests
// in flight (closed loop: a new request as soon as one is answered), every
// answer checked down to its END_REQUEST.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "endpoint.hpp"
#include "options.hpp"
#include "request_encoder.hpp"

namespace fcgi_bench {

struct run_result {
    double seconds = 0;              // the measured window
    std::uint64_t answered = 0;      // END_REQUEST received in the window, whatever the status
    std::uint64_t status_200 = 0;
    std::uint64_t other_status = 0;  // answered, but not 200
    std::uint64_t unanswered = 0;    // still in flight when the run ended
    std::uint64_t stderr_records = 0;
    std::uint64_t body_bytes = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t reconnects = 0;  // keep-conn on, but the server closed an idle connection
    std::map<std::string, std::uint64_t> errors;  // by kind; each counts one request or connection
    std::vector<std::uint64_t> latencies_ns;     // one per answered request in the window
    std::vector<std::uint64_t> served;           // answered in the window, per connection slot

    std::uint64_t error_count() const;
};

run_result run_load(const bench_options& options, const endpoint& to, const param_list& params);

}  // namespace fcgi_bench
