// --driver: accepted because the original FastCGIDaemon's users pass it,
// and otherwise ignored on purpose (fcgid has one event loop, Boost.Asio).
// cli_test.cpp checks that both of the original's values serve and that
// another value is refused; this file checks the rest of that promise.
#include <gtest/gtest.h>

#include <string>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

// The --help line (or lines, if CLI11 wraps) that describe --driver.
std::string help_of_driver() {
    run_result r = run_fcgid({"run", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto at = r.out.find("--driver");
    if (at == std::string::npos) return {};
    const auto next_option = r.out.find("\n  -", at);
    return r.out.substr(at, next_option == std::string::npos ? std::string::npos : next_option - at);
}

TEST(DriverOption, HelpSaysItIsAcceptedForTheOriginalAndIgnored) {
    const std::string help = help_of_driver();
    ASSERT_FALSE(help.empty()) << "--driver missing from run --help";
    EXPECT_NE(help.find("FastCGIDaemon"), std::string::npos) << help;
    EXPECT_NE(help.find("ignored"), std::string::npos) << help;
    EXPECT_NE(help.find("userland"), std::string::npos) << help;
}

TEST(DriverOption, StillTakesAValue) {
    // Bound to no variable, it must still be an option with a value, as in
    // the original: a bare --driver is a usage error, not a flag.
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--host", "127.0.0.1", "--port", "0",
                              "--driver"},
                             5000ms);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("fcgid: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("--driver"), std::string::npos) << r.err;
}

TEST(DriverOption, TheOriginalsSpellingIsServedAndLeavesNoTrace) {
    // --driver=userland, as the original's docs write it; nothing in the log
    // depends on it, because nothing reads it.
    auto d = daemon_process::start(hello_plugin(), {"--driver=userland"});
    auto conn = d->connect();
    EXPECT_EQ(parse_cgi_response(conn.round_trip(1, "").stdout_data).status, 200);
    const std::string log = d->log();
    EXPECT_EQ(log.find("userland"), std::string::npos) << log;
    EXPECT_EQ(log.find("driver"), std::string::npos) << log;
}

}  // namespace
}  // namespace fcgid_test
