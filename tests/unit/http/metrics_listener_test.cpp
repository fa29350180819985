// Tests core/http/metrics_listener.cpp's pure parts: the Accept header
// negotiation and the --metrics-listen address. The listener itself is
// tested through the real daemon (tests/integration/metrics_listen_test.cpp).
#include "http/metrics_listener.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace fcgid::http {
namespace {

TEST(NegotiateMetricsFormat, PrometheusScrapeGetsOpenMetrics) {
    EXPECT_EQ(negotiate_metrics_format("application/openmetrics-text;version=1.0.0,application/"
                                       "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
                                       "q=0.5,*/*;q=0.1"),
              metrics_format::openmetrics);
    EXPECT_EQ(negotiate_metrics_format("text/plain, Application/OpenMetrics-Text ; version=1.0.0"),
              metrics_format::openmetrics);
}

TEST(NegotiateMetricsFormat, EverythingElseGetsPrometheusText) {
    for (const char* accept : {"", "text/plain", "text/plain;version=0.0.4", "*/*", "application/json",
                               "application/openmetrics-text;q=0", "application/openmetrics-text; q=0.0, text/plain",
                               "application/openmetrics-textx"})
        EXPECT_EQ(negotiate_metrics_format(accept), metrics_format::prometheus) << accept;
}

TEST(ContentTypeOf, NamesTheVersions) {
    EXPECT_EQ(std::string(content_type_of(metrics_format::openmetrics)),
              "application/openmetrics-text; version=1.0.0; charset=utf-8");
    EXPECT_EQ(std::string(content_type_of(metrics_format::prometheus)), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(ParseListenAddress, Forms) {
    listen_address a = parse_listen_address("9100");
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_EQ(a.port, 9100);
    a = parse_listen_address("0.0.0.0:0");
    EXPECT_EQ(a.host, "0.0.0.0");
    EXPECT_EQ(a.port, 0);
    a = parse_listen_address("[::1]:65535");
    EXPECT_EQ(a.host, "::1");
    EXPECT_EQ(a.port, 65535);
    a = parse_listen_address("localhost:9100");
    EXPECT_EQ(a.host, "localhost");
}

TEST(ParseListenAddress, RefusesMalformed) {
    for (const char* text : {"", "x", "1.2.3.4:", ":9100", "1.2.3.4:65536", "::1:9100", "[::1]", "1.2.3.4:9x",
                             "1.2.3.4:-1"})
        EXPECT_THROW(parse_listen_address(text), std::invalid_argument) << text;
}

}  // namespace
}  // namespace fcgid::http
