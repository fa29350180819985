// --status-path and --ping-path through the real daemon: answered before the
// plugin, in each format, with figures that match what the test sent, in
// one process and with --workers 3.
#include <csignal>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using json = nlohmann::json;

const std::vector<std::string> status_options = {"--status-path", "/fcgid-status", "--ping-path",
                                                 "/fcgid-ping"};

// A whole GET as one web server write, with REQUEST_URI `uri` (and the
// query after its '?'), or without REQUEST_URI when `uri` is empty.
std::string get_bytes(std::uint16_t id, const std::string& uri, const std::string& script_name = "/index.php") {
    name_value_list params = {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", script_name},
                              {"SERVER_PROTOCOL", "HTTP/1.1"}};
    if (!uri.empty()) {
        params.emplace_back("REQUEST_URI", uri);
        const auto mark = uri.find('?');
        params.emplace_back("QUERY_STRING", mark == std::string::npos ? "" : uri.substr(mark + 1));
    }
    return encode_begin_request(id, fcgi::responder, fcgi::keep_conn) +
           encode_stream(fcgi::params, id, encode_name_values(params)) + encode_record(fcgi::params, id, {}) +
           encode_record(fcgi::stdin_, id, {});
}

cgi_response get(fcgi_connection& conn, std::uint16_t id, const std::string& uri,
                 std::uint64_t* bytes_sent = nullptr) {
    const std::string bytes = get_bytes(id, uri);
    if (bytes_sent != nullptr) *bytes_sent += bytes.size();
    conn.send_raw(bytes);
    const response r = conn.read_response(id);
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    return parse_cgi_response(r.stdout_data);
}

json status_json(fcgi_connection& conn, std::uint16_t id, const std::string& query,
                 std::uint64_t* bytes_sent = nullptr) {
    const cgi_response http = get(conn, id, "/fcgid-status?" + query, bytes_sent);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.header("Content-Type"), "application/json");
    return json::parse(http.body);
}

TEST(Status, PingAnswersBeforeThePluginWithItsText) {
    std::vector<std::string> options = status_options;
    options.insert(options.end(), {"--ping-response", "alive"});
    auto d = daemon_process::start(hello_plugin(), options);
    auto conn = d->connect();
    const cgi_response ping = get(conn, 1, "/fcgid-ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, "alive\n");
    EXPECT_EQ(ping.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(ping.header("Cache-Control"), "no-store");
    // The query is not part of the path.
    EXPECT_EQ(get(conn, 2, "/fcgid-ping?x=1").body, "alive\n");
    // Another path, even one the ping path starts, goes to the plugin.
    EXPECT_EQ(get(conn, 3, "/fcgid-ping/more").body, "<h1>Hello, World!</h1>");
    EXPECT_EQ(get(conn, 4, "/fcgid-pingx").body, "<h1>Hello, World!</h1>");
}

TEST(Status, MatchesScriptNameOnlyWithoutRequestUri) {
    auto d = daemon_process::start(hello_plugin(), status_options);
    auto conn = d->connect();
    // No REQUEST_URI: SCRIPT_NAME is the path.
    conn.send_raw(get_bytes(1, "", "/fcgid-ping"));
    EXPECT_EQ(parse_cgi_response(conn.read_response(1).stdout_data).body, "pong\n");
    // REQUEST_URI wins over a SCRIPT_NAME that names the ping.
    conn.send_raw(get_bytes(2, "/app", "/fcgid-ping"));
    EXPECT_EQ(parse_cgi_response(conn.read_response(2).stdout_data).body, "<h1>Hello, World!</h1>");
}

TEST(Status, APathThatCouldNeverMatchIsAOneLineError) {
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"--status-path", "fcgid-status"}, {"--ping-path", "/ping?x"}}) {
        std::vector<std::string> args = {"run", "--plugin", hello_plugin(), "--port", "0"};
        args.insert(args.end(), bad.begin(), bad.end());
        const run_result r = run_fcgid(args);
        EXPECT_NE(r.exit_code, 0) << bad[0];
        EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
        EXPECT_NE(r.err.find(bad[0] + ": '" + bad[1] + "'"), std::string::npos) << r.err;
    }
}

TEST(Status, OffByDefault) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    EXPECT_EQ(get(conn, 1, "/fcgid-status?json").body, "<h1>Hello, World!</h1>");
    EXPECT_EQ(get(conn, 2, "/fcgid-ping").body, "<h1>Hello, World!</h1>");
}

TEST(Status, JsonFiguresMatchTheRequestsSentToOneProcess) {
    std::vector<std::string> options = status_options;
    options.insert(options.end(), {"--max-body-size", "1k"});
    auto d = daemon_process::start(hello_plugin(), options);
    auto conn = d->connect();
    std::uint64_t sent = 0;
    for (std::uint16_t id = 1; id <= 10; ++id) EXPECT_EQ(get(conn, id, "/app?n=" + std::to_string(id), &sent).status, 200);
    EXPECT_EQ(get(conn, 11, "/fcgid-ping", &sent).body, "pong\n");
    // A body announced over --max-body-size: 413 without the plugin.
    const std::string too_large = encode_begin_request(12, fcgi::responder, fcgi::keep_conn) +
                                  encode_stream(fcgi::params, 12,
                                                encode_name_values(cgi_params("POST", "", 5000))) +
                                  encode_record(fcgi::params, 12, {});
    sent += too_large.size();
    conn.send_raw(too_large);
    EXPECT_EQ(parse_cgi_response(conn.read_response(12).stdout_data).status, 413);

    const json s = status_json(conn, 13, "json", &sent);
    const json& total = s["total"];
    // 10 to the plugin, the ping, the 413; the status request itself is in
    // flight while it renders, and counted once answered.
    EXPECT_EQ(total["requests"], 12) << s.dump(2);
    EXPECT_EQ(total["responses_2xx"], 11);
    EXPECT_EQ(total["responses_4xx"], 1);
    EXPECT_EQ(total["responses_5xx"], 0);
    EXPECT_EQ(total["body_too_large"], 1);
    EXPECT_EQ(total["requests_in_flight"], 1);
    EXPECT_EQ(total["connections_accepted"], 1);
    EXPECT_EQ(total["connections_active"], 1);
    EXPECT_EQ(total["received_bytes"], sent) << "every byte the test sent, the status request's too";
    EXPECT_GT(total["sent_bytes"].get<std::uint64_t>(), 10 * std::string("<h1>Hello, World!</h1>").size());
    EXPECT_EQ(total["request_duration"]["count"], 12);
    EXPECT_EQ(total["handle_duration"]["count"], 10) << "the ping, the 413 and the status bypass the plugin";
    EXPECT_EQ(s["state"], "serving");
    EXPECT_EQ(s["ready"], true);
    EXPECT_EQ(s["pid"], d->pid());
    EXPECT_EQ(s["workers_configured"], 0);
    EXPECT_EQ(s["plugin"]["name"], "hello");
    EXPECT_GT(s["resident_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_TRUE(s["listen_queue"].is_object()) << "a TCP listener reports its queue";
    EXPECT_FALSE(s.contains("workers"));

    // The first status request is counted now, and counters only grow.
    const json again = status_json(conn, 14, "json&full");
    EXPECT_EQ(again["total"]["requests"], 13);
    ASSERT_EQ(again["workers"].size(), 1u);
    EXPECT_EQ(again["workers"][0]["pid"], d->pid());
    EXPECT_EQ(again["workers"][0]["requests"], 13);
}

TEST(Status, EachFormatHasItsContentType) {
    auto d = daemon_process::start(hello_plugin(), status_options);
    auto conn = d->connect();
    const cgi_response text = get(conn, 1, "/fcgid-status");
    EXPECT_EQ(text.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(text.header("Cache-Control"), "no-store");
    EXPECT_NE(text.body.find("state:                    serving (ready)\n"), std::string::npos) << text.body;
    const cgi_response prometheus = get(conn, 2, "/fcgid-status?prometheus");
    EXPECT_EQ(prometheus.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(prometheus.body.find("\nfcgid_requests_total 1\n"), std::string::npos) << prometheus.body;
    const cgi_response openmetrics = get(conn, 3, "/fcgid-status?openmetrics&full");
    EXPECT_EQ(openmetrics.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    ASSERT_GE(openmetrics.body.size(), 6u);
    EXPECT_EQ(openmetrics.body.substr(openmetrics.body.size() - 6), "# EOF\n");
    EXPECT_NE(openmetrics.body.find("fcgid_worker_requests_total{worker=\"0\",pid=\"" + std::to_string(d->pid()) +
                                    "\"} 2\n"),
              std::string::npos)
        << openmetrics.body;
}

// A request the plugin holds (FCGID_DEFERRED) counts as deferred and in
// flight; --request-timeout answers it 504 and counts the timeout, while
// the plugin, which never lets go, still holds it.
TEST(Status, DeferredAndTimedOutRequestsAreCounted) {
    std::vector<std::string> options = status_options;
    options.insert(options.end(), {"--request-timeout", "1"});
    auto d = daemon_process::start(test_plugin("never_finishes"), options);
    auto held = d->connect();
    held.send_raw(get_bytes(1, "/app?hold"));
    held.sync();
    auto conn = d->connect();
    const json during = status_json(conn, 1, "json");
    EXPECT_EQ(during["total"]["requests_deferred"], 1) << during.dump(2);
    EXPECT_EQ(during["total"]["requests_in_flight"], 2) << "the held one and the status request";
    EXPECT_EQ(during["total"]["handle_duration"]["count"], 1);
    EXPECT_EQ(during["total"]["request_timeouts"], 0);

    EXPECT_EQ(parse_cgi_response(held.read_response(1).stdout_data).status, 504);
    const json after = status_json(conn, 2, "json");
    EXPECT_EQ(after["total"]["request_timeouts"], 1) << after.dump(2);
    EXPECT_EQ(after["total"]["responses_5xx"], 1);
    EXPECT_EQ(after["total"]["requests_deferred"], 1) << "the plugin still holds it";
    EXPECT_EQ(after["total"]["requests_in_flight"], 1) << "only the status request";
}

// Three workers share one table: any of them answers for all, and what an
// exited worker counted stays in the totals.
TEST(Status, WorkersShareOneTableAndTotalsSurviveAWorkerExit) {
    std::vector<std::string> options = status_options;
    options.insert(options.end(), {"--workers", "3"});
    auto d = daemon_process::start(hello_plugin(), options);
    ASSERT_TRUE(d->wait_for_log("3 workers serving")) << d->log();
    // New connections, so that the kernel spreads them over the workers.
    for (std::uint16_t id = 1; id <= 30; ++id) {
        auto conn = d->connect();
        EXPECT_EQ(get(conn, id, "/app").status, 200);
    }
    auto conn = d->connect();
    const json s = status_json(conn, 31, "json&full");
    EXPECT_EQ(s["total"]["requests"], 30) << s.dump(2);
    EXPECT_EQ(s["total"]["connections_accepted"], 31);
    EXPECT_EQ(s["workers_configured"], 3);
    EXPECT_EQ(s["workers_live"], 3);
    EXPECT_EQ(s["pid"], d->pid()) << "the master's";
    EXPECT_EQ(s["ready"], true);
    ASSERT_EQ(s["workers"].size(), 3u);
    std::uint64_t sum = 0;
    std::set<int> pids;
    for (const json& w : s["workers"]) {
        sum += w["requests"].get<std::uint64_t>();
        pids.insert(w["pid"].get<int>());
        EXPECT_EQ(w["state"], "serving");
        EXPECT_GT(w["resident_bytes"].get<std::uint64_t>(), 0u);
    }
    EXPECT_EQ(sum, 30u);
    EXPECT_EQ(pids.size(), 3u);
    EXPECT_EQ(pids.count(d->pid()), 0u);

    // A worker that exits cleanly (a limit would do the same) is replaced;
    // its counts move to the totals the master keeps.
    int busiest = 0;
    std::uint64_t most = 0;
    for (const json& w : s["workers"])
        if (w["requests"].get<std::uint64_t>() >= most) {
            most = w["requests"].get<std::uint64_t>();
            busiest = w["pid"].get<int>();
        }
    ASSERT_EQ(::kill(busiest, SIGTERM), 0);
    ASSERT_TRUE(d->wait_for_log("worker " + std::to_string(busiest) + " exited with status 0")) << d->log();
    json after;
    ASSERT_TRUE(poll_until(
        [&] {
            auto probe = d->connect();
            after = status_json(probe, 1, "json&full");
            return after["workers_live"] == 3 && after["worker_restarts_limit"] == 1;
        },
        default_timeout, 20ms))
        << after.dump(2) << d->log();
    // 30, the first status request, and this one's probes before it (each
    // counted once answered): at least 31, and never fewer than before.
    EXPECT_GE(after["total"]["requests"].get<std::uint64_t>(), 31u) << after.dump(2);
    EXPECT_EQ(after["total"]["responses_2xx"], after["total"]["requests"]);
    EXPECT_EQ(after["worker_restarts_crash"], 0);

    d->send_signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->log();
}

// A worker that crashes is replaced; the master counts why, and what the
// dead worker had answered stays in the totals.
TEST(Status, AWorkerCrashIsCountedAndItsFiguresKept) {
    std::vector<std::string> options = status_options;
    options.insert(options.end(), {"--workers", "2", "--quarantine-after", "0"});
    let_crash_signals_kill();
    auto d = daemon_process::start(test_plugin("faulty"), options);
    ASSERT_TRUE(d->wait_for_log("2 workers serving")) << d->log();
    for (std::uint16_t id = 1; id <= 10; ++id) {
        auto conn = d->connect();
        EXPECT_EQ(get(conn, id, "/app?ok").status, 200);
    }
    auto conn = d->connect();
    const std::uint64_t before = status_json(conn, 1, "json")["total"]["requests"].get<std::uint64_t>();
    EXPECT_EQ(before, 10u);
    auto victim = d->connect();
    victim.send_raw(get_bytes(1, "/app?crash"));
    EXPECT_TRUE(victim.wait_closed()) << "the worker serving it died";
    ASSERT_TRUE(d->wait_for_log("killed by signal SIGSEGV")) << d->log();
    json after;
    ASSERT_TRUE(poll_until(
        [&] {
            auto probe = d->connect();
            after = status_json(probe, 1, "json");
            return after["worker_restarts_crash"] == 1 && after["workers_live"] == 2;
        },
        default_timeout, 20ms))
        << after.dump(2) << d->log();
    // The 10, and the status request answered before the crash, whichever
    // worker answered them.
    EXPECT_GE(after["total"]["requests"].get<std::uint64_t>(), before + 1) << after.dump(2);
    EXPECT_EQ(after["worker_restarts_limit"], 0);
    d->send_signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->log();
}

}  // namespace
}  // namespace fcgid_test
