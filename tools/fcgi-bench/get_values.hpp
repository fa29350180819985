// FCGI_GET_VALUES: what a server says about itself (spec 4.1), asked on a
// connection of its own before the load starts.
#pragma once

#include <map>
#include <string>

#include "endpoint.hpp"

namespace fcgi_bench {

// Asks for FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS and returns the
// pairs the server sent back; empty when it did not answer within
// `timeout_s` (some servers never answer management records).
std::map<std::string, std::string> get_values(const endpoint& to, double timeout_s);

}  // namespace fcgi_bench
