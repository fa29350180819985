// The hello plugin through the real daemon: the simplest full round trip.
#include <gtest/gtest.h>

#include <regex>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

TEST(Hello, GetRequestGets200AndHelloWorld) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    response r = conn.round_trip(1, "");

    EXPECT_TRUE(r.violations.empty()) << ::testing::PrintToString(r.violations);
    EXPECT_EQ(r.protocol_status, fcgi::request_complete);
    EXPECT_EQ(r.app_status, 0u);
    EXPECT_TRUE(r.stdout_terminated) << "no empty STDOUT record before END_REQUEST";
    EXPECT_EQ(r.stderr_data, "");
    // The exact head layout is part of the contract: Status line first.
    EXPECT_EQ(r.stdout_data.rfind("Status: 200 OK\r\n", 0), 0u) << r.stdout_data;
    cgi_response http = parse_cgi_response(r.stdout_data);
    ASSERT_TRUE(http.head_complete) << r.stdout_data;
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.header("Content-Type"), "text/html");
    EXPECT_EQ(http.body, "<h1>Hello, World!</h1>");
}

TEST(Hello, PostWithBodyStillGetsHelloWorld) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    response r = conn.round_trip(7, "a=b", std::string(3000, 'x'), fcgi::keep_conn, "POST");
    cgi_response http = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(http.status, 200);
    EXPECT_EQ(http.body, "<h1>Hello, World!</h1>");
}

TEST(Hello, RequestIdAbove255IsAnsweredUnderThatId) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    response r = conn.round_trip(0xfffe, "");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200);
}

TEST(Hello, ListeningLineHasTimestampLevelPortAndPlugin) {
    auto d = daemon_process::start(hello_plugin());
    std::string log = d->log();
    // "YYYY-mm-dd HH:MM:SS.mmm [info] listening on 127.0.0.1:PORT (plugin hello VERSION from PATH)"
    // VERSION is whatever the plugin's descriptor reports: hello versions
    // apart from the product, so only its presence is promised.
    const std::string head = "listening on 127.0.0.1:" + std::to_string(d->port()) + " (plugin hello ";
    const std::string tail = " from " + hello_plugin() + ")";
    bool found = false;
    std::regex stamp(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[info\] )");
    for (const auto& line : lines_of(log)) {
        if (line.find("listening on ") == std::string::npos) continue;
        found = true;
        EXPECT_TRUE(std::regex_search(line, stamp)) << line;
        const std::size_t at = line.find(head);
        ASSERT_NE(at, std::string::npos) << line;
        ASSERT_GT(line.size(), at + head.size() + tail.size()) << line;
        EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
        const std::string version =
            line.substr(at + head.size(), line.size() - tail.size() - at - head.size());
        EXPECT_FALSE(version.empty()) << line;
        EXPECT_EQ(version.find(' '), std::string::npos) << "version \"" << version << "\" in " << line;
    }
    EXPECT_TRUE(found) << log;
}

TEST(Hello, FiftySequentialRequestsOnOneKeptConnection) {
    auto d = daemon_process::start(hello_plugin());
    auto conn = d->connect();
    for (int i = 0; i < 50; ++i) {
        response r = conn.round_trip(1, "");
        ASSERT_EQ(parse_cgi_response(r.stdout_data).body, "<h1>Hello, World!</h1>") << "request " << i;
    }
    EXPECT_TRUE(conn.is_open());
}

TEST(Hello, TwentyConnectionsOpenAtOnceAreAllServed) {
    auto d = daemon_process::start(hello_plugin());
    std::vector<fcgi_connection> conns;
    for (int i = 0; i < 20; ++i) conns.push_back(d->connect());
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].send_request(static_cast<std::uint16_t>(i + 1), "");
    }
    for (std::size_t i = 0; i < conns.size(); ++i) {
        response r = conns[i].read_response(static_cast<std::uint16_t>(i + 1));
        EXPECT_EQ(parse_cgi_response(r.stdout_data).status, 200) << "connection " << i;
    }
}

}  // namespace
}  // namespace fcgid_test
