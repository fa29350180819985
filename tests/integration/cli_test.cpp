// The command line: errors, --version, --help, accepted options.
//
// Contract: a bad value gives exactly one stderr line starting "fcgid: error: ",
// a non-zero exit (2 for usage errors, 1 for startup failures) and nothing served.
#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"
#include "fcgid/version.h"

namespace fcgid_test {
namespace {

// The one error line, after checking it is the only stderr output.
std::string single_error_line(const run_result& r) {
    std::vector<std::string> lines = lines_of(r.err);
    EXPECT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
    EXPECT_TRUE(r.err.empty() || r.err.back() == '\n') << "error line not terminated";
    if (lines.empty()) return {};
    EXPECT_EQ(lines[0].rfind("fcgid: error: ", 0), 0u) << lines[0];
    EXPECT_EQ(r.err.find("listening on"), std::string::npos);
    return lines[0];
}

struct cli_error_case {
    const char* name;
    std::vector<std::string> args;  // after "run", and after "--plugin <hello>" unless plugin_given
    bool plugin_given;
    int exit_code;
    std::vector<std::string> mentions;  // each must appear in the error line
};

std::ostream& operator<<(std::ostream& os, const cli_error_case& c) { return os << c.name; }

class CliError : public ::testing::TestWithParam<cli_error_case> {};

TEST_P(CliError, GivesOneErrorLineAndExitCode) {
    const cli_error_case& c = GetParam();
    std::vector<std::string> args = {"run"};
    if (!c.plugin_given) {
        args.push_back("--plugin");
        args.push_back(hello_plugin());
    }
    for (const auto& a : c.args) {
        // "@name" stands for the path of a test plugin, known only at run time.
        args.push_back(a.size() > 1 && a[0] == '@' ? test_plugin(a.substr(1)) : a);
    }
    run_result r = run_fcgid(args, 5000ms);  // an accepted bad value would serve forever
    EXPECT_EQ(r.exit_code, c.exit_code) << "stderr:\n" << r.err;
    std::string line = single_error_line(r);
    for (const auto& m : c.mentions) {
        std::string want = m.size() > 1 && m[0] == '@' ? test_plugin(m.substr(1)) : m;
        EXPECT_NE(line.find(want), std::string::npos) << "error line does not mention \"" << want
                                                      << "\": " << line;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Usage, CliError,
    ::testing::Values(
        cli_error_case{"UnknownOption", {"--port", "0", "--bogus"}, false, 2, {"--bogus"}},
        cli_error_case{"PortAbc", {"--port", "abc"}, false, 2, {"abc"}},
        cli_error_case{"Port70000", {"--port", "70000"}, false, 2, {"70000"}},
        cli_error_case{"MemoryLimit12x", {"--port", "0", "--memory-limit", "12x"}, false, 2, {"12x"}},
        cli_error_case{"HostWithoutPort", {"--host", "127.0.0.1"}, false, 2, {"--host", "--port"}},
        cli_error_case{"DriverBogus", {"--port", "0", "--driver", "bogus"}, false, 2, {"bogus"}},
        cli_error_case{"RunWithoutPlugin", {"--port", "0"}, true, 2, {"--plugin"}},
        cli_error_case{"RequestLimitMinus1", {"--port", "0", "--request-limit", "-1"}, false, 2,
                       {"-1"}},
        cli_error_case{"RequestLimit2Pow64", {"--port", "0", "--request-limit", "18446744073709551616"},
                       false, 2, {"18446744073709551616"}},
        cli_error_case{"FdMinus1", {"--fd", "-1"}, false, 2, {"-1"}},
        cli_error_case{"TimeLimitAbc", {"--port", "0", "--time-limit", "abc"}, false, 2, {"abc"}},
        cli_error_case{"PluginOptionWithoutEquals", {"--port", "0", "--plugin-option", "novalue"},
                       false, 2, {"novalue"}},
        cli_error_case{"ShutdownTimeoutAbc", {"--port", "0", "--shutdown-timeout", "abc"}, false, 2,
                       {"abc"}}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Plugin, CliError,
    ::testing::Values(
        cli_error_case{"MissingFile", {"--plugin", "@does_not_exist", "--port", "0"}, true, 1,
                       {"@does_not_exist"}},
        cli_error_case{"NoEntry", {"--plugin", "@no_entry", "--port", "0"}, true, 1,
                       {"fcgid_plugin_entry", "@no_entry"}},
        cli_error_case{"WrongAbi", {"--plugin", "@wrong_abi", "--port", "0"}, true, 1,
                       {"ABI"}},
        cli_error_case{"RefusesHost", {"--plugin", "@refuses_host", "--port", "0"}, true, 1,
                       {"ABI"}},
        cli_error_case{"FailingInit", {"--plugin", "@failing_init", "--port", "0"}, true, 1,
                       {"database unreachable"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Cli, VersionPrintsTheVersionAndExits0) {
    run_result r = run_fcgid({"--version"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(FCGID_VERSION_STRING), std::string::npos) << "stdout: " << r.out;
}

TEST(Cli, HelpExits0AndNamesTheRunCommand) {
    run_result r = run_fcgid({"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("run"), std::string::npos) << r.out;
}

TEST(Cli, RunHelpExits0AndListsTheOptions) {
    run_result r = run_fcgid({"run", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* opt : {"--plugin", "--port", "--host", "--socket", "--fd", "--request-limit",
                            "--memory-limit", "--time-limit", "--auto-shutdown",
                            "--shutdown-timeout", "--plugin-option", "--driver"}) {
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " missing from run --help";
    }
}

class Driver : public ::testing::TestWithParam<std::string> {};

TEST_P(Driver, DriverIsAcceptedAndServesRequests) {
    auto d = daemon_process::start(echo_plugin(), {"--driver", GetParam()});
    auto conn = d->connect();
    for (std::uint16_t id = 1; id <= 3; ++id) {
        response r = conn.round_trip(id, "bytes=70000");
        EXPECT_EQ(parse_cgi_response(r.stdout_data).body.size(), 70000u);
    }
    response delayed = conn.round_trip(4, "delay_ms=50", "d", fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(delayed.stdout_data).body, "d");
}

INSTANTIATE_TEST_SUITE_P(Cli, Driver, ::testing::Values("asio", "userland"),
                         [](const auto& info) { return info.param; });

TEST(Cli, PluginOptionsAndVerbosityAreAccepted) {
    auto d = daemon_process::start(hello_plugin(), {"--plugin-option", "greeting=hi",
                                                    "--plugin-option", "empty=", "-v"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "").stdout_data).status, 200);
}

TEST(Cli, QuietLogsNoInfoLines) {
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--host", "127.0.0.1", "--port", "0",
                              "-q", "--time-limit", "1"},
                             5000ms);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("[info]"), std::string::npos) << r.err;
}

TEST(Cli, MemoryLimitWithGSuffixIsAccepted) {
    auto d = daemon_process::start(hello_plugin(), {"--memory-limit", "1g"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "").stdout_data).status, 200);
}

}  // namespace
}  // namespace fcgid_test
