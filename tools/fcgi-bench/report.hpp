// What a run prints: a few lines for people, then one RESULT line of
// key=value pairs for scripts (bench/run.sh reads it).
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "load_loop.hpp"
#include "options.hpp"

namespace fcgi_bench {

void print_get_values(std::ostream& out, const std::map<std::string, std::string>& values);

void print_report(std::ostream& out, const bench_options& options, run_result& result,
                  const std::map<std::string, std::string>& values);

// 0 when every request was answered with 200 and nothing went wrong; 1
// otherwise. Timing never decides it.
int exit_status(const bench_options& options, const run_result& result);

}  // namespace fcgi_bench
