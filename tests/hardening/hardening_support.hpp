// hardening_support.hpp: what the hardening tests add to the integration
// support library (fcgi_client, daemon_process), which they only link.
//
// Every fault test follows one pattern: start a daemon (a `target`), do
// something hostile, then check `target::survived()`: the process is alive,
// its resident memory did not run away, and a request on a NEW connection is
// still answered. `raw_socket` is the hostile client: unlike fcgi_connection
// it never throws when the daemon hangs up on it, since that is often the
// expected outcome, and it can bind a source address or reset the
// connection (SO_LINGER 0).
#ifndef FCGID_TESTS_HARDENING_HARDENING_SUPPORT_HPP
#define FCGID_TESTS_HARDENING_HARDENING_SUPPORT_HPP

#include <sys/resource.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_hardening {

using namespace std::chrono_literals;
using fcgid_test::daemon_process;
using fcgid_test::fcgi_connection;
using fcgid_test::milliseconds;
namespace fcgi = fcgid_test::fcgi;
using clock_type = std::chrono::steady_clock;

inline constexpr std::uint64_t mib = 1024 * 1024;

// The sanitizer pass (FCGID_SANITIZE) builds these tests and the daemon alike.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitizer = true;
#else
inline constexpr bool address_sanitizer = false;
#endif
#else
inline constexpr bool address_sanitizer = false;
#endif

// Under AddressSanitizer freed memory stays resident in its quarantine (up
// to 256 MiB) and shadow memory adds more: resident figures say little there,
// so the RSS bounds get this much slack. The plain build checks them tightly.
inline constexpr std::uint64_t sanitizer_rss_slack = address_sanitizer ? 512 * mib : 0;

// How much a fault may add to the daemon's resident memory. Generous: the
// point is "bounded", not a tight budget (a runaway buffer adds hundreds).
inline constexpr std::uint64_t rss_growth_bound = 64 * mib + sanitizer_rss_slack;

// VmRSS of `pid` from /proc/<pid>/status in bytes; 0 if it cannot be read.
std::uint64_t resident_bytes(pid_t pid);

// Raises this process's soft RLIMIT_NOFILE to at least `wanted` (capped at
// the hard limit) and returns the soft limit now in force. Children started
// afterwards (the daemon) inherit it.
rlim_t raise_fd_limit(rlim_t wanted);

// "127.0.0.1:41234": the local address of a connected socket, as the daemon
// names its peers in log lines.
std::string local_endpoint(int fd);

// Samples a process's RSS every `period` on a thread of its own, keeping the peak.
class rss_sampler {
public:
    explicit rss_sampler(pid_t pid, milliseconds period = 100ms);
    ~rss_sampler();
    rss_sampler(const rss_sampler&) = delete;
    rss_sampler& operator=(const rss_sampler&) = delete;

    void stop();
    std::uint64_t peak() const { return peak_.load(); }
    std::size_t samples() const { return samples_.load(); }

private:
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> peak_{0};
    std::atomic<std::size_t> samples_{0};
    std::thread thread_;
};

// A daemon under test and its resident memory before the fault.
class target {
public:
    // daemon_process::start(plugin, extra), then one request to warm it up,
    // then the baseline RSS. Throws (with the log) if it does not start.
    static std::unique_ptr<target> start(const std::string& plugin,
                                         std::vector<std::string> extra = {});
    // The same for a daemon started by the caller (unix socket, environment).
    // survived() then connects from `probe_source` if given (an address such
    // as 127.0.0.2, for daemons that refuse 127.0.0.1).
    static std::unique_ptr<target> adopt(std::unique_ptr<daemon_process> d, const std::string& plugin,
                                         std::string probe_source = {});

    daemon_process& daemon() { return *daemon_; }
    daemon_process* operator->() { return daemon_.get(); }
    std::uint64_t baseline() const { return baseline_; }

    // After a fault: the daemon is still running, its RSS is less than
    // rss_growth_bound above the baseline, and a POST on a NEW connection
    // gets 200 with the expected body (the hello page, or the body echoed by
    // echo and the misbehaving test plugins). The probe sends only four
    // params, to pass --max-params-count 10. Names what failed, with the log.
    ::testing::AssertionResult survived();

private:
    target(std::unique_ptr<daemon_process> d, std::string plugin, std::string probe_source);
    // One POST on a new connection: its status and body. Throws on failure.
    fcgid_test::cgi_response probe(const std::string& body);

    std::unique_ptr<daemon_process> daemon_;
    std::string plugin_;
    std::string probe_source_;
    std::uint64_t baseline_ = 0;
    int probes_ = 0;
};

struct send_result {
    std::size_t sent = 0;
    int error = 0;           // errno that stopped sending (EPIPE, ECONNRESET...), 0 if none
    bool timed_out = false;  // the daemon stopped reading
};

struct read_result {
    std::string data;
    bool closed = false;  // EOF or reset seen (else: timed out)
    bool reset = false;   // ECONNRESET
};

// A TCP client socket that reports instead of throwing.
class raw_socket {
public:
    // Connects to host:port, from `source` (an IPv4 address, port 0) if given.
    // Throws if the connection cannot be made.
    static raw_socket connect(const std::string& host, std::uint16_t port,
                              const std::string& source = {});
    raw_socket(raw_socket&& other) noexcept;
    raw_socket& operator=(raw_socket&& other) noexcept;
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;
    ~raw_socket();

    int fd() const { return fd_; }

    // Sends as much of `bytes` as the daemon takes within `timeout`; stops at
    // the first error rather than throwing.
    send_result send_some(std::string_view bytes, milliseconds timeout = 10'000ms);
    // Reads until the daemon closes or `timeout` passes.
    read_result read_until_closed(milliseconds timeout);
    // Reads until `count` bytes arrived, the daemon closed or `timeout` passed.
    read_result read_some(std::size_t count, milliseconds timeout);
    // Sends an FCGI_GET_VALUES and reads up to and including its result:
    // the daemon handles records in order, so then everything sent before
    // was read and acted on (see fcgi_connection::sync). False if the daemon
    // closed, sent another record first, or `timeout` passed.
    bool sync(milliseconds timeout = 10'000ms);
    // Closes with SO_LINGER {on, 0}: the kernel sends RST, not FIN.
    void reset();
    void close();

private:
    explicit raw_socket(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// True once a thread of process `pid` whose name (/proc comm) is `name` has
// been asleep in the kernel for a whole poll interval: seen sleeping twice in
// a row with no voluntary context switch in between, so it did not run
// meanwhile. For "the plugin's writer is blocked now", which has no signal of
// its own; false if that is not seen within `timeout`.
bool wait_thread_blocked(pid_t pid, std::string_view name, milliseconds timeout = 10'000ms);

// One POST of `body` to echo (or any plugin) over a new TCP connection made
// from `source`, read until END_REQUEST; throws if it does not come.
fcgid_test::cgi_response post_from(const std::string& source, const std::string& host,
                                   std::uint16_t port, const std::string& body);

// The complete records at the start of `bytes`, in order.
std::vector<fcgid_test::record> split_records(std::string_view bytes);

// True if nothing arrives on `conn` and it stays open for `quiet` (no
// record, no close); false as soon as either happens.
bool stays_quiet(fcgi_connection& conn, milliseconds quiet);

// An echo POST of `body` on `conn` under `id`, parsed.
fcgid_test::cgi_response echo_post(fcgi_connection& conn, std::uint16_t id, std::string_view body,
                                   std::string_view query = {});

// Reads the response to `id` record by record, checking the body against
// echo's pattern ('a' + i % 26) as it arrives, so a large body is never held
// here. Pauses `pause` every 16 records to read slowly. Returns the body
// length; throws if the daemon closes first.
std::uint64_t read_pattern_response(fcgi_connection& conn, std::uint16_t id, milliseconds pause);

}  // namespace fcgid_hardening

#endif  // FCGID_TESTS_HARDENING_HARDENING_SUPPORT_HPP
