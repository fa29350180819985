// Plugins that fail at request time: the web server gets a 500, the daemon lives on.
#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

class FailingPlugin : public ::testing::TestWithParam<std::string> {};

TEST_P(FailingPlugin, EveryRequestGets500AndTheDaemonKeepsServing) {
    auto d = daemon_process::start(test_plugin(GetParam()));
    auto conn = d->connect();
    for (std::uint16_t id = 1; id <= 3; ++id) {
        response r = conn.round_trip(id, "", "body", fcgi::keep_conn, "POST");
        EXPECT_EQ(r.stdout_data, "Status: 500 Internal Server Error\r\n\r\n") << "request " << id;
        EXPECT_TRUE(r.stdout_terminated);
        EXPECT_EQ(r.protocol_status, fcgi::request_complete);
        EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    }
    // A new connection is served too, and the process is alive.
    auto other = d->connect();
    response r = other.round_trip(1, "");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 500);
    EXPECT_TRUE(d->running());
    // The failure is logged, once per request, beyond the startup line.
    EXPECT_GE(lines_of(d->log()).size(), 2u) << d->log();
    if (GetParam() == "throwing_handler") {
        // fcgid::guard logs the exception's text (tests/plugins/README.md).
        EXPECT_NE(d->log().find("handler exploded"), std::string::npos) << d->log();
    }
    if (GetParam() == "unguarded_throw") {
        // No guard: fcgid's own catch (...) around handle() names the plugin.
        EXPECT_NE(d->log().find("[unguarded_throw] handler threw an exception across the plugin ABI"),
                  std::string::npos)
            << d->log();
    }
}

INSTANTIATE_TEST_SUITE_P(BrokenPlugins, FailingPlugin,
                         ::testing::Values("failing_handler", "throwing_handler", "unguarded_throw"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fcgid_test
