#include "report.hpp"

#include <algorithm>
#include <cstdio>

namespace fcgi_bench {
namespace {

// The p-th percentile (0..100) by nearest rank, in milliseconds; reorders `ns`.
double percentile_ms(std::vector<std::uint64_t>& ns, double p) {
    if (ns.empty()) return 0;
    auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(ns.size()));
    rank = std::min(rank, ns.size() - 1);
    std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(rank), ns.end());
    return static_cast<double>(ns[rank]) / 1e6;
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::string value_or_dash(const std::map<std::string, std::string>& values, const std::string& name) {
    const auto it = values.find(name);
    return it == values.end() || it->second.empty() ? "-" : it->second;
}

}  // namespace

void print_get_values(std::ostream& out, const std::map<std::string, std::string>& values) {
    if (values.empty()) {
        out << "get-values   no answer to FCGI_GET_VALUES\n";
        return;
    }
    out << "get-values  ";
    for (const auto& [name, value] : values) out << ' ' << name << '=' << value;
    out << '\n';
}

void print_report(std::ostream& out, const bench_options& options, run_result& result,
                  const std::map<std::string, std::string>& values) {
    const double rate = result.seconds > 0 ? static_cast<double>(result.answered) / result.seconds : 0;
    const double max_ms = result.latencies_ns.empty()
                              ? 0
                              : static_cast<double>(*std::max_element(result.latencies_ns.begin(),
                                                                      result.latencies_ns.end())) / 1e6;
    const double p50 = percentile_ms(result.latencies_ns, 50);
    const double p99 = percentile_ms(result.latencies_ns, 99);
    const auto [min_it, max_it] = std::minmax_element(result.served.begin(), result.served.end());
    const std::uint64_t conn_min = min_it == result.served.end() ? 0 : *min_it;
    const std::uint64_t conn_max = max_it == result.served.end() ? 0 : *max_it;
    const auto served_conns = static_cast<std::size_t>(
        std::count_if(result.served.begin(), result.served.end(), [](std::uint64_t n) { return n > 0; }));

    out << "requests     " << result.answered << " answered in " << fixed(result.seconds, 2) << " s ("
        << result.status_200 << " with 200, " << result.other_status << " other status), "
        << result.error_count() << " errors, " << result.unanswered << " unanswered at the end\n";
    for (const auto& [kind, count] : result.errors) out << "  error      " << count << " x " << kind << '\n';
    out << "rate         " << fixed(rate, 1) << " req/s\n";
    out << "latency      p50 " << fixed(p50, 3) << " ms, p99 " << fixed(p99, 3) << " ms, max "
        << fixed(max_ms, 3) << " ms\n";
    out << "connections  " << served_conns << " of " << options.connections
        << " served requests (per connection: min " << conn_min << ", max " << conn_max << "); "
        << result.connections_opened << " opened, " << result.reconnects << " closed by the server while idle\n";
    if (result.stderr_records > 0) out << "stderr       " << result.stderr_records << " FCGI_STDERR records\n";
    out << "RESULT rps=" << fixed(rate, 1) << " p50_ms=" << fixed(p50, 3) << " p99_ms=" << fixed(p99, 3)
        << " max_ms=" << fixed(max_ms, 3) << " answered=" << result.answered << " ok=" << result.status_200
        << " non200=" << result.other_status << " errors=" << result.error_count()
        << " unanswered=" << result.unanswered << " conns=" << options.connections
        << " served_conns=" << served_conns << " conn_min=" << conn_min << " conn_max=" << conn_max
        << " opened=" << result.connections_opened << " body_bytes=" << result.body_bytes
        << " mpxs_conns=" << value_or_dash(values, "FCGI_MPXS_CONNS")
        << " max_conns=" << value_or_dash(values, "FCGI_MAX_CONNS")
        << " max_reqs=" << value_or_dash(values, "FCGI_MAX_REQS") << '\n';
}

int exit_status(const bench_options& options, const run_result& result) {
    if (result.answered == 0 || result.error_count() > 0 || result.other_status > 0) return 1;
    if (options.strict) {
        if (result.unanswered > 0) return 1;
        if (std::any_of(result.served.begin(), result.served.end(), [](std::uint64_t n) { return n == 0; }))
            return 1;
    }
    return 0;
}

}  // namespace fcgi_bench
