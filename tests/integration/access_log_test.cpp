// --access-log, --access-log-format, --slow-request-time, SIGUSR1 and the
// shipped logrotate file, with the real daemon.
//
// Contract: one line per answered request, also under load on several
// connections and with --workers; both formats carry the request's fields,
// escaped so that a hostile URI or user agent cannot break a line (JSON
// lines parse); `-` is stdout; SIGUSR1 reopens the file, so a rename
// followed by SIGUSR1 (what logrotate does) loses and duplicates no line;
// a clean SIGTERM writes every line out before exit. A request slower than
// --slow-request-time gets one warning naming its URI and its times.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using json = nlohmann::json;

// A GET for `uri` with the given extra params (user agent, referer...).
response get(fcgi_connection& conn, std::uint16_t id, const std::string& uri,
             const name_value_list& extra = {}) {
    name_value_list params = cgi_params("GET", "");
    // Each extra param replaces the usual one of that name, or is added.
    for (const auto& [extra_name, extra_value] : extra) {
        bool replaced = false;
        for (auto& [name, value] : params)
            if (name == extra_name) value = extra_value, replaced = true;
        if (!replaced) params.emplace_back(extra_name, extra_value);
    }
    for (auto& [name, value] : params)
        if (name == "REQUEST_URI") value = uri;
    conn.send_begin(id);
    conn.send_params(id, params);
    conn.send_stdin(id, "");
    return conn.read_response(id);
}

// Stops the daemon as a process manager would (SIGTERM) and waits for it:
// every line must be in the file by then.
void stop(daemon_process& d) {
    d.send_signal(SIGTERM);
    ASSERT_EQ(d.wait_exit(), 0) << d.log();
}

// `requests` keep-alive GETs on each of `connections` connections at once.
void load(const daemon_process& d, int connections, int requests) {
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int c = 0; c < connections; ++c)
        threads.emplace_back([&] {
            try {
                auto conn = d.connect();
                for (int i = 0; i < requests; ++i)
                    if (parse_cgi_response(conn.round_trip(1, "").stdout_data).status != 200) ++failed;
            } catch (...) {
                ++failed;
            }
        });
    for (auto& t : threads) t.join();
    ASSERT_EQ(failed.load(), 0);
}

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    for (const std::string& line : lines_of(text)) out.push_back(json::parse(line));
    return out;
}

// The request id: the last field of a combined line.
std::string combined_id(const std::string& line) { return line.substr(line.rfind(' ') + 1); }

const name_value_list hostile = {
    {"HTTP_USER_AGENT", "Agent \"quoted\"\\back\nNext: line\x01\xff\xc3\xa9"},
    {"HTTP_REFERER", "https://example.test/from?a=\"b\""},
    {"REMOTE_ADDR", "203.0.113.7"},
};
const std::string hostile_uri = "/p\"a\\t h?q=\x7f\xe2\x82\xac";

TEST(AccessLog, CombinedLineNamesTheRequestAndEscapesHostileFields) {
    temp_dir dir;
    auto d = daemon_process::start(hello_plugin(), {"--access-log", dir.file("access.log")});
    auto conn = d->connect();
    response r = get(conn, 1, hostile_uri, hostile);
    const std::string body = parse_cgi_response(r.stdout_data).body;
    stop(*d);
    const std::vector<std::string> lines = lines_of(read_file(dir.file("access.log")));
    ASSERT_EQ(lines.size(), 1u) << read_file(dir.file("access.log"));
    const std::string& line = lines[0];
    // ADDR - - [TIME] "REQUEST" STATUS BYTES "REFERER" "AGENT" DURATION PID ID
    EXPECT_EQ(line.rfind("203.0.113.7 - - [", 0), 0u) << line;
    const std::string after_time = line.substr(line.find("] ") + 2);
    EXPECT_EQ(after_time.rfind("\"GET /p\\x22a\\x5ct h?q=\\x7f\\xe2\\x82\\xac HTTP/1.1\" 200 " +
                                   std::to_string(body.size()) +
                                   " \"https://example.test/from?a=\\x22b\\x22\" "
                                   "\"Agent \\x22quoted\\x22\\x5cback\\x0aNext: line\\x01\\xff\\xc3\\xa9\" ",
                               0),
              0u)
        << line;
    // Then the duration in µs, the worker's pid and the request id.
    std::istringstream tail(line.substr(line.rfind("\" ") + 2));
    long duration = -1;
    long pid = -1;
    std::string id;
    tail >> duration >> pid >> id;
    EXPECT_GE(duration, 0) << line;
    EXPECT_EQ(pid, d->pid()) << line;
    EXPECT_FALSE(id.empty()) << line;
}

TEST(AccessLog, JsonLinesParseWithEveryField) {
    temp_dir dir;
    auto d = daemon_process::start(hello_plugin(), {"--access-log", dir.file("access.log"),
                                                    "--access-log-format", "json"});
    auto conn = d->connect();
    response r = get(conn, 1, hostile_uri, hostile);
    const std::string body = parse_cgi_response(r.stdout_data).body;
    name_value_list with_id = {{"HTTP_X_REQUEST_ID", "from-the-web-server-42"}};
    get(conn, 2, "/second", with_id);
    stop(*d);
    std::vector<json> lines;
    ASSERT_NO_THROW(lines = json_lines(read_file(dir.file("access.log")))) << read_file(dir.file("access.log"));
    ASSERT_EQ(lines.size(), 2u);
    const json& first = lines[0];
    EXPECT_EQ(first["remote_addr"], "203.0.113.7");
    EXPECT_EQ(first["method"], "GET");
    // Valid UTF-8 (the euro sign) kept, the control character escaped.
    EXPECT_EQ(first["uri"], "/p\"a\\t h?q=\x7f\xe2\x82\xac");
    EXPECT_EQ(first["protocol"], "HTTP/1.1");
    EXPECT_EQ(first["status"], 200);
    EXPECT_EQ(first["bytes_out"], body.size());
    EXPECT_GT(first["bytes_in"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(first["pid"], d->pid());
    // The invalid byte 0xff became U+FFFD; the rest is as sent.
    EXPECT_EQ(first["user_agent"], "Agent \"quoted\"\\back\nNext: line\x01\xef\xbf\xbd\xc3\xa9");
    EXPECT_EQ(first["referer"], "https://example.test/from?a=\"b\"");
    for (const char* field : {"duration_us", "handle_us", "deferred_us", "writing_us"})
        EXPECT_TRUE(first[field].is_number_unsigned()) << field;
    EXPECT_GE(first["duration_us"].get<std::uint64_t>(), first["handle_us"].get<std::uint64_t>());
    EXPECT_EQ(first["deferred_us"], 0);
    EXPECT_EQ(first["time"].get<std::string>().size(), std::string("2026-12-07T12:21:26.123Z").size());
    // Our own id when the web server sends none; the web server's when it does.
    EXPECT_FALSE(first["request_id"].get<std::string>().empty());
    EXPECT_EQ(lines[1]["request_id"], "from-the-web-server-42");
    EXPECT_EQ(lines[1]["uri"], "/second");
}

TEST(AccessLog, DashWritesToStdout) {
    auto d = daemon_process::start(hello_plugin(), {"--access-log", "-"});
    auto conn = d->connect();
    get(conn, 1, "/to-stdout");
    // Written within the flush interval, not only at exit.
    EXPECT_TRUE(poll_until([&] { return d->out().find("\"GET /to-stdout HTTP/1.1\" 200") != std::string::npos; },
                           default_timeout))
        << d->out();
    stop(*d);
    EXPECT_EQ(lines_of(d->out()).size(), 1u) << d->out();
}

class AccessLogUnderLoad : public ::testing::TestWithParam<int> {};

TEST_P(AccessLogUnderLoad, OneLinePerRequestNoneLostNoneDuplicated) {
    temp_dir dir;
    auto d = daemon_process::start(hello_plugin(), {"--access-log", dir.file("access.log"), "--workers",
                                                    std::to_string(GetParam())});
    constexpr int connections = 8;
    constexpr int per_connection = 250;
    load(*d, connections, per_connection);
    stop(*d);
    const std::vector<std::string> lines = lines_of(read_file(dir.file("access.log")));
    ASSERT_EQ(lines.size(), std::size_t{connections * per_connection});
    std::set<std::string> ids;
    std::set<std::string> pids;
    for (const std::string& line : lines) {
        ASSERT_NE(line.find("\"GET /app HTTP/1.1\" 200 "), std::string::npos) << line;
        ids.insert(combined_id(line));
    }
    EXPECT_EQ(ids.size(), lines.size()) << "request ids repeat";
}

INSTANTIATE_TEST_SUITE_P(Processes, AccessLogUnderLoad, ::testing::Values(0, 2),
                         [](const auto& info) { return info.param == 0 ? std::string("OneProcess")
                                                                       : "Workers" + std::to_string(info.param); });

class AccessLogReopen : public ::testing::TestWithParam<int> {};

TEST_P(AccessLogReopen, RenameThenSigusr1MovesLaterLinesToTheNewFile) {
    temp_dir dir;
    const int workers = GetParam();
    auto d = daemon_process::start(hello_plugin(), {"--access-log", dir.file("access.log"), "--workers",
                                                    std::to_string(workers)});
    load(*d, 4, 50);
    ASSERT_EQ(std::rename(dir.file("access.log").c_str(), dir.file("access.log.1").c_str()), 0);
    d->send_signal(SIGUSR1);
    // Each process that writes the log reopens it (every worker with --workers).
    ASSERT_TRUE(d->wait_for_log_count("reopened", workers == 0 ? 1 : workers)) << d->log();
    load(*d, 4, 75);
    stop(*d);
    EXPECT_EQ(lines_of(read_file(dir.file("access.log.1"))).size(), 200u);
    EXPECT_EQ(lines_of(read_file(dir.file("access.log"))).size(), 300u);
}

INSTANTIATE_TEST_SUITE_P(Processes, AccessLogReopen, ::testing::Values(0, 2),
                         [](const auto& info) { return info.param == 0 ? std::string("OneProcess")
                                                                       : "Workers" + std::to_string(info.param); });

// The shipped packaging/logrotate/fcgid, with its paths pointed at the test's
// directory and its postrotate signalling this daemon.
std::string logrotate_config(const std::string& dir, pid_t pid) {
    std::string text = read_file(std::string(FCGID_SOURCE_DIR) + "/packaging/logrotate/fcgid");
    EXPECT_NE(text.find("/var/log/fcgid/"), std::string::npos) << text;
    for (std::size_t at; (at = text.find("/var/log/fcgid/")) != std::string::npos;)
        text.replace(at, std::string("/var/log/fcgid/").size(), dir + "/");
    const auto begin = text.find("postrotate");
    const auto end = text.find("endscript");
    EXPECT_TRUE(begin != std::string::npos && end != std::string::npos) << text;
    text.replace(begin, end - begin, "postrotate\n        kill -USR1 " + std::to_string(pid) + "\n    ");
    return text;
}

std::string run_shell(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
    return out;
}

TEST(AccessLog, RealLogrotateWhileRequestsFlowLosesAndDuplicatesNothing) {
    if (::access("/usr/sbin/logrotate", X_OK) != 0) GTEST_SKIP() << "logrotate is not installed";
    temp_dir dir;
    temp_dir state;
    auto d = daemon_process::start(hello_plugin(), {"--access-log", dir.file("app.access.log")});
    {
        std::ofstream(state.file("logrotate.conf")) << logrotate_config(dir.path(), d->pid());
    }
    std::atomic<bool> stop_load{false};
    std::atomic<int> sent{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> clients;
    // The clients stop and are joined however the test ends.
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~joiner() {
            stop = true;
            for (auto& t : threads)
                if (t.joinable()) t.join();
        }
    } join_clients{stop_load, clients};
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&] {
            try {
                auto conn = d->connect();
                while (!stop_load) {
                    if (parse_cgi_response(conn.round_trip(1, "").stdout_data).status == 200) ++sent;
                    else ++failed;
                }
            } catch (...) {
                ++failed;
            }
        });
    // Three forced rotations while the clients run: app.access.log.1 stays
    // plain (delaycompress), older ones are gzipped.
    for (int rotation = 1; rotation <= 3; ++rotation) {
        const int before = sent;
        ASSERT_TRUE(poll_until([&] { return sent >= before + 200; }, default_timeout));
        // Written (within the flush interval): logrotate skips an empty file (notifempty).
        ASSERT_TRUE(poll_until([&] { return !read_file(dir.file("app.access.log")).empty(); }, default_timeout));
        const std::string output = run_shell("/usr/sbin/logrotate -f -s " + state.file("status") + " " +
                                             state.file("logrotate.conf") + " 2>&1; echo rc=$?");
        ASSERT_NE(output.find("rc=0"), std::string::npos) << output;
        ASSERT_TRUE(d->wait_for_log_count("reopened", static_cast<std::size_t>(rotation))) << d->log();
    }
    const int at_last_rotation = sent;
    ASSERT_TRUE(poll_until([&] { return sent >= at_last_rotation + 200; }, default_timeout));
    stop_load = true;
    for (auto& t : clients) t.join();
    ASSERT_EQ(failed.load(), 0);
    stop(*d);

    std::string all = read_file(dir.file("app.access.log")) + read_file(dir.file("app.access.log.1"));
    for (const char* gz : {"app.access.log.2.gz", "app.access.log.3.gz"}) {
        ASSERT_EQ(::access(dir.file(gz).c_str(), R_OK), 0) << gz << " missing: " << run_shell("ls -l " + dir.path());
        all += run_shell("zcat " + dir.file(gz));
    }
    const std::vector<std::string> lines = lines_of(all);
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(sent.load()));
    std::set<std::string> ids;
    for (const std::string& line : lines) ids.insert(combined_id(line));
    EXPECT_EQ(ids.size(), lines.size()) << "a line was written twice";
}

TEST(SlowRequestLog, WarnsOnceForTheSlowRequestWithItsTimes) {
    auto d = daemon_process::start(test_plugin("sleeps_in_handle"), {"--slow-request-time", "100"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "sleep_ms=300").stdout_data).status, 200);
    for (int i = 0; i < 20; ++i) conn.round_trip(1, "");
    ASSERT_TRUE(d->wait_for_log("slow request: GET /app?sleep_ms=300 status 200 took ")) << d->log();
    stop(*d);
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "slow request:"), 1u) << log;
    // Most of it inside handle(), none deferred.
    const std::string line = log.substr(log.find("slow request:"));
    double in_handle = 0;
    ASSERT_EQ(std::sscanf(line.c_str() + line.find("in handle() "), "in handle() %lf ms", &in_handle), 1) << line;
    EXPECT_GE(in_handle, 290.0) << line;
    EXPECT_NE(line.find("deferred 0.0 ms"), std::string::npos) << line;
}

TEST(SlowRequestLog, DeferredTimeIsCountedApart) {
    auto d = daemon_process::start(echo_plugin(), {"--slow-request-time", "100"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "delay_ms=250").stdout_data).status, 200);
    conn.round_trip(2, "");
    ASSERT_TRUE(d->wait_for_log("slow request: GET /app?delay_ms=250 status 200")) << d->log();
    stop(*d);
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "slow request:"), 1u) << log;
    const std::string line = log.substr(log.find("slow request:"));
    double deferred = 0;
    ASSERT_EQ(std::sscanf(line.c_str() + line.find("deferred "), "deferred %lf ms", &deferred), 1) << line;
    EXPECT_GE(deferred, 240.0) << line;
}

TEST(SlowRequestLog, BadValueIsAOneLineError) {
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--slow-request-time", "-5"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

TEST(AccessLog, UnwritablePathIsAOneLineErrorAtStart) {
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--port", "0", "--access-log",
                              "/nonexistent-dir/access.log"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("cannot open log file /nonexistent-dir/access.log"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fcgid_test
