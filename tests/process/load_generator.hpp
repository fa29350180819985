// load_generator.hpp: a steady FastCGI load on a few threads, for the tests
// that change the daemon's processes or code while it serves (reload, worker
// recycling, rolling restart).
//
// Every request is a POST with a body unique to it, and every answer is
// checked to be exactly echo's (the body back) or hello's, whichever plugin
// answered; each finished request is kept as a sample (when it was sent and
// answered, by whom) so a test can check WHICH code answered WHEN.
//
// Three kinds of clients, each on its own thread:
//  - keep_alive: one connection, FCGI_KEEP_CONN, requests one after another;
//  - new_connection: a new connection per request, FCGI_KEEP_CONN off;
//  - delayed: like keep_alive, with ?delay_ms=N, so requests are in flight
//    (held by the plugin) at any moment.
//
// Zero failures is the goal: a failure is a request without a complete,
// correct answer. One exception, only when `retry_closed_keep_alive` is set:
// a draining process closes an idle keep-alive connection (README, "Limits":
// "every connection is closed as soon as it has nothing in flight"), so the
// next request sent on it may find it closed before any byte of its answer.
// A web server retries such a request on a new connection; so does the load,
// and it counts those retries apart.
#ifndef FCGID_TESTS_PROCESS_LOAD_GENERATOR_HPP
#define FCGID_TESTS_PROCESS_LOAD_GENERATOR_HPP

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process_support.hpp"

namespace fcgid_process {

enum class client_kind { keep_alive, new_connection, delayed };

struct load_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    int keep_alive_clients = 1;
    int new_connection_clients = 2;
    int delayed_clients = 1;
    std::uint32_t delay_ms = 300;
    bool retry_closed_keep_alive = false;
};

struct load_sample {
    clock_type::time_point sent;      // before the first byte of the request was written
    clock_type::time_point answered;  // once its END_REQUEST was read
    client_kind kind;
    answered_by by;
};

class load_generator {
public:
    explicit load_generator(load_options options);  // starts the clients
    ~load_generator();                              // stops them
    load_generator(const load_generator&) = delete;
    load_generator& operator=(const load_generator&) = delete;

    // Tells the clients to stop after the request each is in; returns at once.
    void request_stop() { stop_ = true; }
    // Stops the clients (each finishes the request it is in) and joins them.
    void stop();

    // While the clients run: waits until at least `count` requests for which
    // `which` holds (all, when empty) were answered correctly; false if that
    // does not happen within `timeout`. The way to let the load "run a
    // while": until it has done something, however slow the machine.
    bool wait_answered(std::size_t count, milliseconds timeout,
                       const std::function<bool(const load_sample&)>& which = {});

    // After stop():
    const std::vector<load_sample>& samples() const { return samples_; }
    std::uint64_t failures() const { return failures_.load(); }
    std::uint64_t retries() const { return retries_.load(); }
    const std::vector<std::string>& first_failures() const { return first_failures_; }
    std::size_t count(answered_by who) const;
    // "N requests answered (E by echo, H by hello; K keep-alive, C new-connection,
    // D delayed), F failed, R retried after a keep-alive close".
    std::string summary() const;

private:
    void run_client(client_kind kind, int index);
    void record_failure(std::string what);

    load_options options_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> failures_{0};
    std::atomic<std::uint64_t> retries_{0};
    std::mutex mutex_;  // guards samples_ and first_failures_ while clients run
    std::vector<load_sample> samples_;
    std::vector<std::string> first_failures_;
    std::vector<std::thread> threads_;
};

}  // namespace fcgid_process

#endif  // FCGID_TESTS_PROCESS_LOAD_GENERATOR_HPP
