// Load: 64 keep-alive connections over loopback, each with two multiplexed
// requests in flight, driven by 4 threads, 32,000 requests through echo
// (random bodies of 0..8 KiB, and one in ten a bytes=N response of up to
// 256 KiB). Every response is checked byte for byte; zero errors allowed.
// The daemon's RSS is sampled every 100 ms and its peak bounded. Figures go
// to stdout and to the test's properties (ctest --output-on-failure, or the
// XML output) for quoting.
#include <gtest/gtest.h>

#include <atomic>
#include <iomanip>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

constexpr int threads = 4;
constexpr int connections_per_thread = 16;
constexpr int in_flight_per_connection = 2;
constexpr int requests_per_thread = 8000;
constexpr std::size_t max_body = 8 * 1024;
constexpr std::uint64_t max_pattern = 256 * 1024;

struct load_figures {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> errors{0};
    std::mutex mutex;
    std::vector<std::string> first_errors;

    void error(std::string what) {
        ++errors;
        const std::lock_guard lock(mutex);
        if (first_errors.size() < 10) first_errors.push_back(std::move(what));
    }
};

// What one request asked for, to check its answer.
struct expectation {
    std::string body;         // echoed body, when pattern == 0
    std::uint64_t pattern = 0;  // bytes=N
    bool is_pattern = false;
};

bool matches_pattern(std::string_view body, std::uint64_t n) {
    if (body.size() != n) return false;
    for (std::size_t i = 0; i < body.size(); ++i)
        if (body[i] != static_cast<char>('a' + i % 26)) return false;
    return true;
}

void drive(daemon_process& d, int thread_index, const std::string& pool, load_figures& fig) {
    std::mt19937_64 rng(0xfc9d + thread_index);
    std::vector<fcgi_connection> conns;
    for (int i = 0; i < connections_per_thread; ++i) conns.push_back(d.connect());
    std::vector<expectation> expected(connections_per_thread * in_flight_per_connection);
    int done = 0;
    try {
        while (done < requests_per_thread) {
            // Send a round: every connection gets its requests in flight.
            for (int c = 0; c < connections_per_thread; ++c) {
                for (int k = 0; k < in_flight_per_connection; ++k) {
                    expectation& e = expected[c * in_flight_per_connection + k];
                    const auto id = static_cast<std::uint16_t>(k + 1);
                    if (rng() % 10 == 0) {
                        e = {{}, rng() % (max_pattern + 1), true};
                        conns[c].send_request(id, "bytes=" + std::to_string(e.pattern));
                    } else {
                        const std::size_t len = rng() % (max_body + 1);
                        const std::size_t at = rng() % (pool.size() - max_body);
                        e = {pool.substr(at, len), 0, false};
                        conns[c].send_request(id, "", e.body, fcgi::keep_conn, "POST");
                        fig.bytes_sent += len;
                    }
                }
            }
            // Read the round back, checking every byte.
            for (int c = 0; c < connections_per_thread; ++c) {
                for (int k = 0; k < in_flight_per_connection; ++k) {
                    const expectation& e = expected[c * in_flight_per_connection + k];
                    const auto id = static_cast<std::uint16_t>(k + 1);
                    const auto r = conns[c].read_response(id);
                    const auto http = fcgid_test::parse_cgi_response(r.stdout_data);
                    fig.bytes_received += r.stdout_data.size();
                    ++fig.requests;
                    ++done;
                    std::ostringstream what;
                    what << "thread " << thread_index << " connection " << c << " request " << id;
                    if (http.status != 200 || !r.violations.empty() ||
                        r.protocol_status != fcgi::request_complete) {
                        fig.error(what.str() + ": status " + std::to_string(http.status));
                    } else if (e.is_pattern ? !matches_pattern(http.body, e.pattern)
                                            : http.body != e.body ||
                                                  http.header("X-Echo-Length") !=
                                                      std::to_string(e.body.size())) {
                        fig.error(what.str() + ": body of " + std::to_string(http.body.size()) +
                                  " bytes differs (expected " +
                                  std::to_string(e.is_pattern ? e.pattern : e.body.size()) + ")");
                    }
                }
            }
        }
    } catch (const std::exception& ex) {
        fig.error("thread " + std::to_string(thread_index) + " stopped after " +
                  std::to_string(done) + " requests: " + ex.what());
    }
}

TEST(Load, SixtyFourKeptConnections32000EchoRequestsEveryByteChecked) {
    auto t = target::start(fcgid_test::echo_plugin());
    std::string pool(64 * 1024, '\0');
    std::mt19937 fill(7);
    for (char& c : pool) c = static_cast<char>(fill());

    load_figures fig;
    rss_sampler rss(t->daemon().pid(), 100ms);
    const auto started = clock_type::now();
    std::vector<std::thread> drivers;
    for (int i = 0; i < threads; ++i)
        drivers.emplace_back([&, i] { drive(t->daemon(), i, pool, fig); });
    for (auto& th : drivers) th.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    rss.stop();

    const std::uint64_t requests = fig.requests.load();
    std::ostringstream figures;
    figures << std::fixed << std::setprecision(1) << "requests " << requests << ", errors "
            << fig.errors.load() << ", " << seconds << " s, " << requests / seconds
            << " req/s, sent " << fig.bytes_sent.load() / mib << " MiB, received "
            << fig.bytes_received.load() / mib << " MiB, peak RSS "
            << static_cast<double>(rss.peak()) / mib << " MiB (baseline "
            << static_cast<double>(t->baseline()) / mib << " MiB, " << rss.samples() << " samples)";
    std::cout << "[ load     ] " << figures.str() << "\n";
    RecordProperty("requests", std::to_string(requests));
    RecordProperty("seconds", std::to_string(seconds));
    RecordProperty("requests_per_second", std::to_string(static_cast<long>(requests / seconds)));
    RecordProperty("peak_rss_kib", std::to_string(rss.peak() / 1024));
    RecordProperty("baseline_rss_kib", std::to_string(t->baseline() / 1024));

    for (const auto& e : fig.first_errors) ADD_FAILURE() << e;
    EXPECT_EQ(fig.errors.load(), 0u);
    EXPECT_EQ(requests, std::uint64_t{threads} * requests_per_thread);
    EXPECT_LT(seconds, 60.0);
    EXPECT_LT(rss.peak(), 64 * mib + sanitizer_rss_slack) << "peak RSS under load";
    const std::string log = t->daemon().log();
    EXPECT_EQ(log.find("[warning]"), std::string::npos) << log;
    EXPECT_EQ(log.find("[error]"), std::string::npos) << log;
    EXPECT_TRUE(t->survived());
}

}  // namespace
}  // namespace fcgid_hardening
