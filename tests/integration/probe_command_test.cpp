// `fcgid ping ADDRESS` and `fcgid status ADDRESS` (cmd/fcgid/probe_commands):
// the real binary asking a real daemon over TCP and a unix socket, and the
// one clear line plus exit code 1 when there is nothing to ask or no answer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <exception>
#include <string>
#include <vector>

#include "daemon_process.hpp"

namespace fcgid_test {
namespace {

std::string tcp_address(const daemon_process& d) { return "127.0.0.1:" + std::to_string(d.port()); }

// The one stderr line of a failed probe, and nothing on stdout.
void expect_one_error_line(const run_result& r, const std::string& line) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "fcgid: error: " + line + "\n");
    EXPECT_EQ(r.out, "");
}

// "<first body line> (200) in N.N ms\n"
void expect_ping_line(const run_result& r, const std::string& said) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const std::string prefix = said + " (200) in ";
    EXPECT_EQ(r.out.rfind(prefix, 0), 0u) << r.out;
    EXPECT_EQ(lines_of(r.out).size(), 1u) << r.out;
    EXPECT_NE(r.out.find(" ms\n", prefix.size()), std::string::npos) << r.out;
}

TEST(ProbeCommand, PingOverTcpAnswers0WithTheBodysFirstLine) {
    auto d = daemon_process::start(hello_plugin());
    expect_ping_line(run_fcgid({"ping", tcp_address(*d)}), "<h1>Hello, World!</h1>");
}

TEST(ProbeCommand, PingOverUnixSocketByPrefixAndByPath) {
    temp_dir dir;
    const std::string socket = dir.file("fcgid.sock");
    daemon_process d({"run", "--plugin", hello_plugin(), "--socket", socket});
    d.wait_listening();
    expect_ping_line(run_fcgid({"ping", "unix:" + socket}), "<h1>Hello, World!</h1>");
    expect_ping_line(run_fcgid({"ping", socket}), "<h1>Hello, World!</h1>");
}

TEST(ProbeCommand, PingOverIpv6Loopback) {
    daemon_process d({"run", "--plugin", hello_plugin(), "--host", "::1", "--port", "0"});
    try {
        d.wait_listening();
    } catch (const std::exception&) {
        GTEST_SKIP() << "no IPv6 loopback here:\n" << d.log();
    }
    expect_ping_line(run_fcgid({"ping", "[::1]:" + std::to_string(d.port())}), "<h1>Hello, World!</h1>");
}

TEST(ProbeCommand, PingSendsTheRequestAWebServerWould) {
    // sdk_probe's /request lists what the handler saw.
    auto d = daemon_process::start(test_plugin("sdk_probe"));
    run_result r = run_fcgid({"status", tcp_address(*d), "--path", "/request", "--json", "--full"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("method=GET\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("target=/request?json&full\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("path=/request\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("remote=127.0.0.1:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("user-agent=fcgid-probe/"), std::string::npos) << r.out;
}

TEST(ProbeCommand, StatusPrintsTheBodyAsAnswered) {
    auto d = daemon_process::start(hello_plugin());
    run_result r = run_fcgid({"status", tcp_address(*d)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "<h1>Hello, World!</h1>\n");  // a newline added for the terminal
    EXPECT_EQ(r.err, "");
}

TEST(ProbeCommand, Non2xxAnswerIsExit1WithTheStatus) {
    auto d = daemon_process::start(test_plugin("sdk_probe"));
    expect_one_error_line(run_fcgid({"ping", tcp_address(*d), "--path", "/nowhere"}),
                          "ping " + tcp_address(*d) + ": answered 404 Not Found");
    auto failing = daemon_process::start(test_plugin("failing_handler"));
    expect_one_error_line(run_fcgid({"status", tcp_address(*failing)}),
                          "status " + tcp_address(*failing) + ": answered 500 Internal Server Error");
}

TEST(ProbeCommand, DeadTcpAddressIsConnectionRefused) {
    inherited_socket bound = make_tcp_socket(/*listen=*/false);  // bound, not listening
    const std::string address = "127.0.0.1:" + std::to_string(bound.port);
    expect_one_error_line(run_fcgid({"ping", address}), "ping " + address + ": connection refused");
    ::close(bound.fd);
}

TEST(ProbeCommand, MissingSocketFileIsNoSuchSocket) {
    temp_dir dir;
    const std::string socket = dir.file("absent.sock");
    expect_one_error_line(run_fcgid({"ping", "unix:" + socket}), "ping unix:" + socket + ": no such socket");
    expect_one_error_line(run_fcgid({"status", socket}), "status " + socket + ": no such socket");
}

TEST(ProbeCommand, PeerRefusedByAllowIsSaidSo) {
    auto d = daemon_process::start(hello_plugin(), {"--allow", "192.0.2.0/24"});
    expect_one_error_line(run_fcgid({"ping", tcp_address(*d)}),
                          "ping " + tcp_address(*d) +
                              ": the connection was closed without an answer (is this host allowed to connect?)");
}

TEST(ProbeCommand, ListenerThatNeverAnswersTimesOut) {
    // Listening, so the kernel completes the connect, but nobody accepts or answers.
    inherited_socket silent = make_tcp_socket(/*listen=*/true);
    const std::string address = "127.0.0.1:" + std::to_string(silent.port);
    // run_fcgid kills a run still going after 5 s and reports -1: the
    // --timeout bound is what makes this exit 1.
    expect_one_error_line(run_fcgid({"ping", address, "--timeout", "0.3"}, 5000ms),
                          "ping " + address + ": no answer within 0.3 s (waiting for the answer)");
    ::close(silent.fd);
}

TEST(ProbeCommand, BadAddressIsOneUsageLine) {
    for (const std::string address : {"nonsense", "127.0.0.1:99999", "::1:9000", "127.0.0.1:", "unix:"}) {
        run_result r = run_fcgid({"ping", address});
        EXPECT_EQ(r.exit_code, 2) << address << ": " << r.err;
        EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
        EXPECT_EQ(r.err.rfind("fcgid: error: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(address.empty() ? "?" : address), std::string::npos) << r.err;
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"ping"}, {"ping", "127.0.0.1:9", "--timeout", "0"},
          {"status", "127.0.0.1:9", "--path", "status"}, {"ping", "127.0.0.1:9", "--json"}}) {
        run_result r = run_fcgid(args);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
        EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    }
}

}  // namespace
}  // namespace fcgid_test
