// --metrics-listen (core/http/metrics_listener): the real daemon's HTTP
// listener asked with a real HTTP client (Boost.Beast's): /health, /ready
// through a drain held open by a request in flight, /metrics by Accept
// header, 404 and 405, and the listener in the --workers master.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

struct http_answer {
    int status = 0;
    std::string content_type;
    std::string allow;
    std::string content_length;
    std::string body;
};

// One request on a new connection, every read and write bounded by a
// socket timeout so a listener that hangs fails the test instead of it.
http_answer http_request(std::uint16_t port, const std::string& target, const std::string& accept = "",
                         bhttp::verb method = bhttp::verb::get) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    const timeval limit{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    bhttp::request<bhttp::empty_body> request(method, target, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    if (!accept.empty()) request.set(bhttp::field::accept, accept);
    bhttp::write(socket, request);
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(method == bhttp::verb::head);
    bhttp::read(socket, buffer, parser);
    const auto& response = parser.get();
    return {static_cast<int>(response.result_int()), std::string(response[bhttp::field::content_type]),
            std::string(response[bhttp::field::allow]), std::string(response[bhttp::field::content_length]),
            response.body()};
}

// The port of the "metrics endpoint on http://127.0.0.1:PORT/" line.
std::uint16_t metrics_port(const daemon_process& d) {
    static constexpr std::string_view marker = "metrics endpoint on http://127.0.0.1:";
    EXPECT_TRUE(d.wait_for_log(marker)) << d.log();
    const std::string log = d.log();
    const std::size_t at = log.find(marker);
    if (at == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::stoul(log.substr(at + marker.size())));
}

void write_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr) << path;
    std::fclose(file);
}

constexpr const char* prometheus_accept =  // what Prometheus 2.x sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

TEST(MetricsListen, HealthAndReadyWhileServing) {
    auto d = daemon_process::start(hello_plugin(), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    http_answer health = http_request(port, "/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "alive\n");
    http_answer ready = http_request(port, "/ready");
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, "ready\n");
    EXPECT_EQ(http_request(port, "/ready?verbose").status, 200);  // the query is not the path
}

TEST(MetricsListen, MetricsFormatFollowsTheAcceptHeader) {
    auto d = daemon_process::start(hello_plugin(), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);

    http_answer open = http_request(port, "/metrics", prometheus_accept);
    EXPECT_EQ(open.status, 200);
    EXPECT_EQ(open.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    EXPECT_NE(open.body.find("\nfcgid_uptime_seconds "), std::string::npos) << open.body;
    EXPECT_EQ(open.body.substr(open.body.size() - 6), "# EOF\n") << open.body;

    for (const std::string accept : {"", "text/plain", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                                     "application/openmetrics-text;q=0, text/plain"}) {
        http_answer text = http_request(port, "/metrics", accept);
        EXPECT_EQ(text.status, 200) << accept;
        EXPECT_EQ(text.content_type, "text/plain; version=0.0.4; charset=utf-8") << accept;
        EXPECT_NE(text.body.find("\nfcgid_uptime_seconds "), std::string::npos) << text.body;
        EXPECT_EQ(text.body.find("# EOF"), std::string::npos) << accept << ": " << text.body;
    }

    http_answer head = http_request(port, "/metrics", "", bhttp::verb::head);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(head.content_length, std::to_string(http_request(port, "/metrics").body.size()));
}

TEST(MetricsListen, UnknownPathIs404AndOtherMethodsAre405) {
    auto d = daemon_process::start(hello_plugin(), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    EXPECT_EQ(http_request(port, "/").status, 404);
    EXPECT_EQ(http_request(port, "/metricsx").status, 404);
    http_answer post = http_request(port, "/metrics", "", bhttp::verb::post);
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.allow, "GET, HEAD");
    EXPECT_EQ(http_request(port, "/health", "", bhttp::verb::delete_).status, 405);
}

TEST(MetricsListen, ReadyTurns503WhenADrainStartsAndHealthStays200) {
    // sdk_probe's /hold keeps its response until the shutdown timeout cuts
    // it, so the drain stays open meanwhile.
    auto d = daemon_process::start(test_plugin("sdk_probe"),
                                   {"--metrics-listen", "127.0.0.1:0", "--shutdown-timeout", "2"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    fcgi_connection held = d->connect();
    held.send_begin(1);
    held.send_params(1, {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/hold?n=1"}, {"QUERY_STRING", "n=1"}});
    held.send_stdin(1, "");
    ASSERT_TRUE(d->wait_for_log("sdk_probe: holding /hold?n=1")) << d->log();
    EXPECT_EQ(http_request(port, "/ready").status, 200);

    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM")) << d->log();
    http_answer ready = http_request(port, "/ready");
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(ready.body, "not ready\n");
    EXPECT_EQ(http_request(port, "/health").status, 200);
    EXPECT_EQ(http_request(port, "/metrics").status, 200);

    const auto code = d->wait_exit(5000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(fcgi_connection::try_connect_tcp("127.0.0.1", port), ECONNREFUSED) << "still listening after exit";
}

TEST(MetricsListen, WithWorkersTheMasterAnswers) {
    auto d = daemon_process::start(hello_plugin(), {"--workers", "2", "--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    ASSERT_TRUE(d->wait_for_log("2 workers serving")) << d->log();
    EXPECT_EQ(http_request(port, "/ready").status, 200);
    EXPECT_EQ(http_request(port, "/metrics").status, 200);
    // Only the master holds the port: its workers closed their copies.
    d->send_signal(SIGTERM);
    const auto code = d->wait_exit();
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 0) << d->log();
    EXPECT_EQ(fcgi_connection::try_connect_tcp("127.0.0.1", port), ECONNREFUSED);
}

// /ready's answer, polled until it is `status` (the state changes on the
// serving thread just after the log line a test can wait for).
bool ready_becomes(std::uint16_t port, int status) {
    return poll_until([&] { return http_request(port, "/ready").status == status; }, default_timeout, 10ms);
}

TEST(MetricsListen, ReadyIs503WhileThePluginStarts) {
    temp_dir dir;
    const std::string go = dir.file("go");
    daemon_process d({"run", "--plugin", test_plugin("slow_init"), "--plugin-option", "until=" + go, "--host",
                      "127.0.0.1", "--port", "0", "--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(d);
    ASSERT_NE(port, 0);
    ASSERT_TRUE(d.wait_for_log("slow_init: waiting for")) << d.log();
    EXPECT_EQ(http_request(port, "/ready").status, 503);
    EXPECT_EQ(http_request(port, "/health").status, 200);
    write_file(go);
    d.wait_listening();
    EXPECT_TRUE(ready_becomes(port, 200)) << d.log();
}

TEST(MetricsListen, WithWorkersReadyFollowsTheMaster) {
    temp_dir dir;
    const std::string go = dir.file("go");
    daemon_process d({"run", "--plugin", test_plugin("slow_init"), "--plugin-option", "until=" + go, "--host",
                      "127.0.0.1", "--port", "0", "--workers", "2", "--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(d);
    ASSERT_NE(port, 0);
    ASSERT_TRUE(d.wait_for_log("slow_init: waiting for")) << d.log();
    EXPECT_EQ(http_request(port, "/ready").status, 503);  // no worker is ready
    write_file(go);
    ASSERT_TRUE(d.wait_for_log("2 workers serving")) << d.log();
    EXPECT_TRUE(ready_becomes(port, 200)) << d.log();
}

TEST(MetricsListen, WithWorkersReadyTurns503WhenTheMasterDrains) {
    auto d = daemon_process::start(test_plugin("sdk_probe"), {"--workers", "2", "--metrics-listen", "127.0.0.1:0",
                                                              "--shutdown-timeout", "2"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    ASSERT_TRUE(d->wait_for_log("2 workers serving")) << d->log();
    EXPECT_TRUE(ready_becomes(port, 200)) << d->log();
    fcgi_connection held = d->connect();
    held.send_begin(1);
    held.send_params(1, {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/hold?n=1"}, {"QUERY_STRING", "n=1"}});
    held.send_stdin(1, "");
    ASSERT_TRUE(d->wait_for_log("sdk_probe: holding /hold?n=1")) << d->log();
    d->send_signal(SIGTERM);
    ASSERT_TRUE(d->wait_for_log("draining: signal SIGTERM; stopping 2 workers")) << d->log();
    EXPECT_EQ(http_request(port, "/ready").status, 503);
    EXPECT_EQ(http_request(port, "/health").status, 200);
    ASSERT_TRUE(d->wait_exit(8000ms).has_value()) << d->log();
}

TEST(MetricsListen, RequestHeadOverTheLimitIs431) {
    auto d = daemon_process::start(hello_plugin(), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    EXPECT_EQ(http_request(port, "/metrics", std::string(16 * 1024, 'a')).status, 431);
    EXPECT_EQ(http_request(port, "/health").status, 200);  // and it goes on serving
}

// 16 connections at once; beyond, accepting pauses until one closes, and
// then goes on (an idle connection holds its place up to the 10 s timeout).
TEST(MetricsListen, ConnectionsBeyondTheCapWaitForOneToClose) {
    auto d = daemon_process::start(hello_plugin(), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    const std::size_t before = open_fds(d->pid());
    asio::io_context io;
    std::vector<asio::ip::tcp::socket> idle;
    for (int i = 0; i < 16; ++i) {
        idle.emplace_back(io);
        idle.back().connect({asio::ip::make_address("127.0.0.1"), port});
    }
    ASSERT_TRUE(poll_until([&] { return open_fds(d->pid()) >= before + 16; }, default_timeout))
        << "the listener did not take 16 connections";
    // The 17th waits in the kernel's queue; it is answered once one closes.
    std::optional<http_answer> answer;
    std::thread asker([&] {
        try {
            answer = http_request(port, "/health");
        } catch (const std::exception&) {  // no answer within the socket timeout: left empty
        }
    });
    idle.front().close();
    asker.join();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 200);
    idle.clear();
    EXPECT_TRUE(d->wait_open_fds_at_most(before)) << "idle connections still open";
    EXPECT_EQ(http_request(port, "/health").status, 200);
}

// spawns_child.so answers with the descriptors of a shell it started.
TEST(MetricsListen, ProgramsThePluginStartsInheritNoMetricsSocket) {
    auto d = daemon_process::start(test_plugin("spawns_child"), {"--metrics-listen", "127.0.0.1:0"});
    const std::uint16_t port = metrics_port(*d);
    ASSERT_NE(port, 0);
    const cgi_response listing = parse_cgi_response(d->connect().round_trip(1, "").stdout_data);
    EXPECT_EQ(listing.status, 200);
    EXPECT_NE(listing.body.find("1 -> pipe:"), std::string::npos) << listing.body;
    EXPECT_EQ(listing.body.find("socket:"), std::string::npos) << listing.body;
}

TEST(MetricsListen, BadAddressIsOneUsageLine) {
    for (const std::string value : {"nowhere", "127.0.0.1:70000", "::1:9100", ":9100"}) {
        run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--metrics-listen", value});
        EXPECT_EQ(r.exit_code, 2) << value << ": " << r.err;
        EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
        EXPECT_NE(r.err.find("--metrics-listen"), std::string::npos) << r.err;
    }
    // Well formed, but not an address of this host: a start failure.
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--port", "0", "--metrics-listen", "192.0.2.1:9100"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("fcgid: error: cannot listen for metrics on 192.0.2.1:9100: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fcgid_test
