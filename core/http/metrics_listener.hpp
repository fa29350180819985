// --metrics-listen: a small HTTP/1.1 listener (Boost.Beast) for what cannot
// speak FastCGI: Prometheus scrapes /metrics, Kubernetes probes /health and
// /ready. It runs on a thread of its own with its own io_context, so a
// scrape never waits for the serving loop and the loop never waits for a
// scrape; and with --workers it runs in the master, which has no loop.
//
// It knows nothing of what it serves: the metrics text and the readiness
// come from callbacks, called on the listener's thread (so they must be
// safe to call from there: read atomics or shared memory, take no lock the
// loop holds long).
//
//   GET /metrics  200, OpenMetrics 1.0.0 or Prometheus text 0.0.4 by the
//                 Accept header, as Prometheus' client libraries choose
//   GET /health   200 while the process is alive
//   GET /ready    200 while ready() is true, else 503
//   other paths   404; methods other than GET and HEAD: 405
//
// Bounded: request head 8 KiB, body 4 KiB (431 / 413 and close), one
// timeout per connection for the whole exchange, and a cap on connections
// at once (beyond it, accepting pauses until one closes).
//
// The listener's thread never logs: with --workers the master forks while
// it runs, and a child must not inherit a logger mutex held by this thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace fcgid::http {

enum class metrics_format {
    prometheus,   // text/plain; version=0.0.4
    openmetrics,  // application/openmetrics-text; version=1.0.0
};

// The format to answer a scrape with, from its Accept header: OpenMetrics
// when the client accepts application/openmetrics-text (with q above 0),
// otherwise the Prometheus text format; an absent header gets the latter.
metrics_format negotiate_metrics_format(std::string_view accept);

// The Content-Type header of each format.
const char* content_type_of(metrics_format format) noexcept;

// Where to listen, from `--metrics-listen`: HOST:PORT, [IPV6]:PORT or a bare
// PORT, which means 127.0.0.1:PORT. Port 0: one the kernel picks.
struct listen_address {
    std::string host;
    std::uint16_t port = 0;
};
// Throws std::invalid_argument with a one-line reason.
listen_address parse_listen_address(const std::string& text);

struct metrics_listener_options {
    listen_address address;
    std::function<std::string(metrics_format)> metrics_body;
    std::function<bool()> ready;
    std::size_t max_connections = 16;
    std::chrono::milliseconds connection_timeout{10000};  // per request, read and write together
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 4 * 1024;
};

class metrics_session;

class metrics_listener {
public:
    // Binds on the calling thread (so a bad address is a one-line
    // std::runtime_error at start: "cannot listen for metrics on ...: ...")
    // and then starts serving on a new thread, with every signal blocked there.
    explicit metrics_listener(metrics_listener_options options);
    // Stops accepting, closes what is open and joins the thread.
    ~metrics_listener();
    metrics_listener(const metrics_listener&) = delete;
    metrics_listener& operator=(const metrics_listener&) = delete;

    // Where it listens, e.g. "127.0.0.1:9100" (the real port when 0 was asked).
    const std::string& description() const noexcept;
    // Whether the address is a loopback one (else it is reachable from other hosts).
    bool loopback() const noexcept;

    // In a child forked while the listener runs (a --workers worker): closes
    // the child's copy of the listening socket, so the port is the master's
    // alone. Touches nothing else: the thread does not exist in the child.
    void forget_in_forked_child() noexcept;

private:
    struct state;
    friend class metrics_session;  // one connection, reads the state
    std::unique_ptr<state> state_;
};

}  // namespace fcgid::http
