// `fcgid run --config FILE` and `--print-config`.
//
// Contract: every run option can be set in the file under its command-line
// name, the command line overrides the file, --print-config prints a file
// that gives the same settings again (round trip), the daemon really uses
// the file's values, and a bad file is one error line "fcgid: error:
// FILE:LINE: ..." naming the key, with a non-zero exit.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <set>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// Option names on lines "name = value" (set) or "# name = value" (default).
std::set<std::string> names_on(const std::string& config, bool commented) {
    std::set<std::string> names;
    for (const std::string& line : lines_of(config)) {
        const bool is_comment = line.rfind("# ", 0) == 0;
        const auto eq = line.find(" = ");
        if (is_comment != commented || eq == std::string::npos) continue;
        names.insert(line.substr(is_comment ? 2 : 0, eq - (is_comment ? 2 : 0)));
    }
    return names;
}

// Every run option set to a value that is not its default, except the
// listener and verbosity options, which exclude each other: each case adds
// one of them and names those left at their defaults.
std::vector<std::string> every_option_but_exclusive(const temp_dir& dir) {
    return {"run", "--plugin", hello_plugin(), "--plugin-option", "a=1", "--plugin-option",
            "b=two words", "--request-limit", "7", "--memory-limit", "64m", "--time-limit", "11",
            "--auto-shutdown", "--shutdown-timeout", "12", "--max-connections", "13",
            "--max-requests", "14", "--max-conn-requests", "15", "--max-params-size", "32k",
            "--max-params-count", "16", "--max-body-size", "2m", "--max-output-buffer", "3m",
            "--idle-timeout", "17", "--read-timeout", "18", "--write-timeout", "19",
            "--request-timeout", "20", "--allow", "127.0.0.1/32", "--allow", "::1", "--socket-mode",
            "0600", "--socket-owner", "nobody", "--socket-group", "nogroup", "--pid-file",
            dir.file("fcgid.pid"), "--workers", "2", "--quarantine-after", "3",
            "--quarantine-window", "21", "--stall-warning", "250", "--stall-kill", "22", "--user",
            "nobody", "--group", "nogroup", "--driver", "userland", "--metrics-listen", "127.0.0.1:9917",
            "--status-path", "/fcgid-status", "--ping-path", "/fcgid-ping", "--ping-response", "alive",
            "--access-log", dir.file("access.log"), "--access-log-format", "json", "--slow-request-time",
            "250"};
}

struct round_trip_case {
    const char* name;
    std::vector<std::string> exclusive;   // the listener and verbosity options used
    std::set<std::string> left_default;  // the options they exclude
};

std::ostream& operator<<(std::ostream& os, const round_trip_case& c) { return os << c.name; }

class ConfigRoundTrip : public ::testing::TestWithParam<round_trip_case> {};

TEST_P(ConfigRoundTrip, PrintedConfigGivesTheSameSettings) {
    const round_trip_case& c = GetParam();
    temp_dir dir;
    std::vector<std::string> args = every_option_but_exclusive(dir);
    args.insert(args.end(), c.exclusive.begin(), c.exclusive.end());
    args.push_back("--print-config");
    run_result first = run_fcgid(args);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(first.err, "");
    // Every option is printed set, but the ones this case excludes: an
    // option added to `run` and not to this test shows up here.
    EXPECT_EQ(names_on(first.out, true), c.left_default) << first.out;
    EXPECT_NE(first.out.find("max-body-size = \"2m\"\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("allow = [\"127.0.0.1/32\", \"::1\"]\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("metrics-listen = \"127.0.0.1:9917\"\n"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("plugin-option = [\"a=1\", \"b=two words\"]\n"), std::string::npos)
        << first.out;

    write_text(dir.file("printed.toml"), first.out);
    run_result second = run_fcgid({"run", "--config", dir.file("printed.toml"), "--print-config"});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.out, first.out);
}

INSTANTIATE_TEST_SUITE_P(
    Listeners, ConfigRoundTrip,
    ::testing::Values(
        round_trip_case{"Tcp", {"--host", "127.0.0.2", "--port", "5000", "-vv"}, {"socket", "fd", "quiet"}},
        round_trip_case{"UnixSocket", {"--socket", "/tmp/fcgid-config-test.sock", "-q"},
                        {"port", "host", "fd", "verbose"}},
        round_trip_case{"InheritedFd", {"--fd", "3", "-v"}, {"port", "host", "socket", "quiet"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigFile, PrintConfigWithoutConfigOrPluginShowsTheDefaults) {
    run_result r = run_fcgid({"run", "--print-config"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(names_on(r.out, false).empty()) << r.out;
    for (const char* line : {"# port = 0\n", "# max-body-size = \"64m\"\n", "# idle-timeout = 60\n",
                             "# allow = []\n", "# socket-mode = \"0660\"\n", "# auto-shutdown = false\n"})
        EXPECT_NE(r.out.find(line), std::string::npos) << line << "missing from:\n" << r.out;
}

TEST(ConfigFile, DaemonListensWhereTheFileSaysAndUsesItsLimits) {
    temp_dir dir;
    // A port free a moment ago (bound, never listened on, closed).
    inherited_socket probe = make_tcp_socket(false);
    const std::uint16_t port = probe.port;
    ::close(probe.fd);
    write_text(dir.file("app.toml"), "# an operator's file\nplugin = \"" + echo_plugin() +
                                         "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
                                         "\nmax-body-size = \"1k\"\n");
    daemon_process d({"run", "--config", dir.file("app.toml")});
    d.wait_listening();
    EXPECT_EQ(d.port(), port);
    auto conn = d.connect();
    response ok = conn.round_trip(1, "", std::string(1000, 'x'), fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(ok.stdout_data).status, 200) << ok.stdout_data;
    response too_big = conn.round_trip(2, "", std::string(2000, 'x'), fcgi::keep_conn, "POST");
    EXPECT_EQ(parse_cgi_response(too_big.stdout_data).status, 413) << too_big.stdout_data;
}

TEST(ConfigFile, CommandLineOverridesTheFile) {
    temp_dir dir;
    write_text(dir.file("app.toml"),
               "plugin = \"" + hello_plugin() +
                   "\"\nhost = \"127.0.0.1\"\nport = 5000\nmax-body-size = \"2m\"\nverbose = 1\n");
    run_result r = run_fcgid({"run", "--config", dir.file("app.toml"), "--max-body-size", "5m",
                              "--socket", dir.file("s.sock"), "-q", "--print-config"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("max-body-size = \"5m\"\n"), std::string::npos) << r.out;
    // --socket wins over the file's port (and host, which needs it), -q
    // over its verbose.
    EXPECT_NE(r.out.find("socket = \"" + dir.file("s.sock") + "\"\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("quiet = true\n"), std::string::npos) << r.out;
    for (const char* name : {"port", "host", "verbose"})
        EXPECT_EQ(names_on(r.out, false).count(name), 0u) << name << " still set:\n" << r.out;

    // And for real: the command line's port, not the file's.
    daemon_process d({"run", "--config", dir.file("app.toml"), "--port", "0"});
    d.wait_listening();
    EXPECT_NE(d.port(), 5000);
    EXPECT_EQ(d.host(), "127.0.0.1");
    EXPECT_EQ(parse_cgi_response(d.connect().round_trip(1, "").stdout_data).status, 200);
}

struct bad_file_case {
    const char* name;
    std::string content;
    std::string where;                  // ":LINE:" after the path
    std::vector<std::string> mentions;  // each must appear in the error line
};

std::ostream& operator<<(std::ostream& os, const bad_file_case& c) { return os << c.name; }

class BadConfigFile : public ::testing::TestWithParam<bad_file_case> {};

TEST_P(BadConfigFile, GivesOneLineWithFileLineAndKey) {
    const bad_file_case& c = GetParam();
    temp_dir dir;
    const std::string path = dir.file("app.toml");
    write_text(path, "# fcgid\nplugin = \"" + hello_plugin() + "\"\n" + c.content);
    run_result r = run_fcgid({"run", "--config", path, "--port", "0"}, 5000ms);
    EXPECT_NE(r.exit_code, 0);
    std::vector<std::string> lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("fcgid: error: " + path + c.where + " ", 0), 0u) << lines[0];
    for (const auto& m : c.mentions) EXPECT_NE(lines[0].find(m), std::string::npos) << m << ": " << lines[0];
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadConfigFile,
    ::testing::Values(
        bad_file_case{"UnknownKey", "workers = 2\n\nmax-body = \"1m\"\n", ":5:", {"unknown option 'max-body'"}},
        bad_file_case{"PortOutOfRange", "socket-mode = \"0600\"\nport = 70000\n", ":4:", {"'port'", "70000"}},
        bad_file_case{"SizeNotASize", "max-body-size = \"12x\"\n", ":3:", {"'max-body-size'", "12x"}},
        bad_file_case{"WordForANumber", "idle-timeout = \"soon\"\n", ":3:", {"'idle-timeout'", "soon"}},
        bad_file_case{"BadAddressInList", "allow = [\"127.0.0.1/32\",\n  \"not-an-address\"]\n", ":3:",
                      {"'allow'", "not-an-address"}},
        bad_file_case{"FlagNotABoolean", "auto-shutdown = maybe\n", ":3:", {"'auto-shutdown'", "maybe"}},
        bad_file_case{"NoEquals", "port 5000\n", ":3:", {"KEY = VALUE", "port 5000"}},
        bad_file_case{"NoValue", "workers =\n", ":3:", {"'workers' has no value"}},
        bad_file_case{"UnterminatedString", "pid-file = \"/run/x.pid\n", ":3:", {"unterminated", "'pid-file'"}},
        bad_file_case{"HashInsideQuotes", "socket-owner = \"a#b\"\n", ":3:", {"'socket-owner'", "comment"}},
        bad_file_case{"UnterminatedArray", "allow = [\"::1\",\n\n", ":3:", {"unterminated array", "'allow'"}},
        bad_file_case{"Section", "[run]\nport = 1\n", ":3:", {"sections"}},
        bad_file_case{"SetTwice", "workers = 1\nworkers = 2\n", ":4:", {"'workers'", "line 3"}},
        bad_file_case{"ExcludingKeys", "verbose = 1\nquiet = true\n", ":4:", {"'quiet'", "'verbose'"}},
        bad_file_case{"NotConfigurable", "print-config = true\n", ":3:", {"'print-config'"}},
        bad_file_case{"Help", "help = true\n", ":3:", {"'help'"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigFile, KeyNeedingAnAbsentOptionIsNamed) {
    temp_dir dir;
    write_text(dir.file("app.toml"), "plugin = \"" + hello_plugin() + "\"\nhost = \"127.0.0.1\"\n");
    run_result r = run_fcgid({"run", "--config", dir.file("app.toml")}, 5000ms);
    EXPECT_NE(r.exit_code, 0);
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err, "fcgid: error: " + dir.file("app.toml") + ":2: 'host' needs 'port'\n");
}

TEST(ConfigFile, MissingOrUnreadableFileIsOneLine) {
    temp_dir dir;
    run_result missing = run_fcgid({"run", "--config", dir.file("none.toml"), "--print-config"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_EQ(missing.err, "fcgid: error: config file " + dir.file("none.toml") +
                               ": No such file or directory\n");
    run_result directory = run_fcgid({"run", "--config", dir.path(), "--print-config"});
    EXPECT_NE(directory.exit_code, 0);
    EXPECT_EQ(directory.err, "fcgid: error: config file " + dir.path() + ": is a directory\n");
}

}  // namespace
}  // namespace fcgid_test
