// The Boost.Beast adapter (include/fcgid/sdk/beast.hpp) through the real
// daemon, with plugins/beast_hello: what reaches the Beast request, what of
// the Beast response reaches the web server. Every test runs twice: with the
// handlers on the loop thread (beast::handle(h)) and on a worker pool
// (beast::handle(pool, h), --plugin-option threads=2), which must answer the
// same.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

std::string beast_hello_plugin() {
    const char* dir = std::getenv("FCGID_PLUGIN_DIR");
    if (dir == nullptr || *dir == '\0') throw std::runtime_error("FCGID_PLUGIN_DIR is not set");
    return std::string(dir) + "/beast_hello.so";
}

struct answer {
    response raw;
    cgi_response http;
};

// The params nginx sends for METHOD URI with `body` (fastcgi_params), plus `extra`.
name_value_list params_for(std::string_view method, std::string_view uri, std::string_view body,
                           const name_value_list& extra, std::string_view protocol = "HTTP/1.1") {
    const std::string target(uri);
    const auto q = target.find('?');
    name_value_list params = {
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"REQUEST_METHOD", std::string(method)},
        {"REQUEST_URI", target},
        {"SCRIPT_NAME", target.substr(0, q)},
        {"QUERY_STRING", q == std::string::npos ? "" : target.substr(q + 1)},
        {"SERVER_PROTOCOL", std::string(protocol)},
        {"SERVER_NAME", "localhost"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "40000"},
        // nginx sends both, empty when the client sent no body.
        {"CONTENT_TYPE", ""},
        {"CONTENT_LENGTH", body.empty() ? "" : std::to_string(body.size())},
        {"HTTP_HOST", "localhost"},
    };
    for (const auto& [name, value] : extra) {
        bool replaced = false;
        for (auto& p : params) {
            if (p.first != name) continue;
            p.second = value;
            replaced = true;
        }
        if (!replaced) params.emplace_back(name, value);
    }
    return params;
}

class Beast : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::vector<std::string> extra;
        if (GetParam() == "pool") extra = {"--plugin-option", "threads=2"};
        daemon_ = daemon_process::start(beast_hello_plugin(), extra);
        conn_.emplace(daemon_->connect());
    }

    answer ask(std::string_view method, std::string_view uri, const name_value_list& extra = {},
               std::string_view body = {}, std::string_view protocol = "HTTP/1.1") {
        const std::uint16_t id = next_id_++;
        conn_->send_begin(id);
        conn_->send_params(id, params_for(method, uri, body, extra, protocol));
        conn_->send_stdin(id, body);
        answer a{conn_->read_response(id), {}};
        a.http = parse_cgi_response(a.raw.stdout_data);
        EXPECT_TRUE(a.raw.violations.empty()) << ::testing::PrintToString(a.raw.violations);
        EXPECT_EQ(a.raw.protocol_status, fcgi::request_complete);
        EXPECT_TRUE(a.http.head_complete) << a.raw.stdout_data;
        return a;
    }

    // The fields fcgid must never pass on from a Beast response.
    static void expect_no_framing_or_hop_fields(const cgi_response& http) {
        for (const char* name : {"Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade"})
            EXPECT_EQ(http.header(name), std::nullopt) << name << " passed through";
    }

    std::unique_ptr<daemon_process> daemon_;
    std::optional<fcgi_connection> conn_;
    std::uint16_t next_id_ = 1;
};

TEST_P(Beast, GetRootGreetsWithTheUserAgentAndTheTarget) {
    const answer a = ask("GET", "/?name=x%20y", {{"HTTP_USER_AGENT", "curl/8.0 (beast test)"}});
    EXPECT_EQ(a.http.status, 200) << a.raw.stdout_data;
    EXPECT_EQ(a.http.body, "Hello, curl/8.0 (beast test)! You asked for /?name=x%20y.\n");
    EXPECT_EQ(a.http.header("Content-Type"), "text/plain");
    EXPECT_EQ(a.http.header("Server"), "beast_hello");
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, HeaderParamsBecomeBeastFieldsWithCanonicalNames) {
    const answer a = ask("GET", "/request?a=1",
                         {{"HTTP_USER_AGENT", "agent/1"},
                          {"HTTP_X_FOO_BAR", "baz"},
                          {"HTTP_ETAG", "\"e1\""},
                          {"HTTP_ACCEPT", "text/plain, */*"}});
    EXPECT_EQ(a.http.status, 200);
    // Beast writes the request line and the fields in the order inserted.
    EXPECT_EQ(a.http.body,
              "GET /request?a=1 HTTP/1.1\r\n"
              "Host: localhost\r\n"
              "User-Agent: agent/1\r\n"
              "X-Foo-Bar: baz\r\n"
              "ETag: \"e1\"\r\n"
              "Accept: text/plain, */*\r\n"
              "\r\n");
}

TEST_P(Beast, UnknownMethodReachesTheHandlerAsItsString) {
    const answer a = ask("PURGE", "/request");
    EXPECT_EQ(a.http.status, 200);
    EXPECT_EQ(a.http.body.substr(0, a.http.body.find("\r\n")), "PURGE /request HTTP/1.1");
}

TEST_P(Beast, Http10RequestHasVersion10) {
    const answer a = ask("DELETE", "/request", {}, {}, "HTTP/1.0");
    EXPECT_EQ(a.http.body.substr(0, a.http.body.find("\r\n")), "DELETE /request HTTP/1.0");
}

TEST_P(Beast, PostBodyIsEchoedByteForByteWithItsContentType) {
    std::string body;
    for (int i = 0; i < 3 * 256; ++i) body.push_back(static_cast<char>(i * 7 + i / 256));
    const answer a = ask("POST", "/echo", {{"CONTENT_TYPE", "application/x-beast; charset=binary"}}, body);
    EXPECT_EQ(a.http.status, 200);
    EXPECT_EQ(a.http.header("Content-Type"), "application/x-beast; charset=binary");
    EXPECT_TRUE(a.http.body == body) << "echoed body differs (" << a.http.body.size() << " bytes)";
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, PostRequestCarriesContentTypeAndContentLength) {
    const answer a = ask("POST", "/request", {{"CONTENT_TYPE", "text/csv"}}, "a,b\n");
    EXPECT_NE(a.http.body.find("\r\nContent-Type: text/csv\r\n"), std::string::npos) << a.http.body;
    EXPECT_NE(a.http.body.find("\r\nContent-Length: 4\r\n"), std::string::npos) << a.http.body;
}

TEST_P(Beast, EmptyContentParamsBecomeNoFields) {
    const answer a = ask("GET", "/request");
    EXPECT_EQ(a.http.body.find("Content-"), std::string::npos) << a.http.body;
}

TEST_P(Beast, UnknownPathIsA404InBeastsWords) {
    const answer a = ask("GET", "/nowhere?x");
    EXPECT_EQ(a.http.status, 404);
    EXPECT_EQ(a.http.body, "The resource '/nowhere?x' was not found.");
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, ConnectionCloseFromKeepAliveFalseIsNotPassedOn) {
    // req.keep_alive() is false, so the handler's res.keep_alive() writes
    // "Connection: close".
    const answer a = ask("GET", "/", {{"HTTP_CONNECTION", "close"}});
    EXPECT_EQ(a.http.status, 200);
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, ConnectionKeepAliveOnHttp10IsNotPassedOn) {
    const answer a = ask("GET", "/", {{"HTTP_CONNECTION", "keep-alive"}}, {}, "HTTP/1.0");
    EXPECT_EQ(a.http.status, 200);
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, HeadGetsTheHeadersAndNoBody) {
    const answer a = ask("HEAD", "/", {{"HTTP_USER_AGENT", "head"}});
    EXPECT_EQ(a.http.status, 200);
    EXPECT_EQ(a.http.header("Content-Type"), "text/plain");
    EXPECT_EQ(a.http.body, "");
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, ChunkedVectorBodyArrivesWholeWithoutTransferEncoding) {
    const answer a = ask("GET", "/bytes");
    EXPECT_EQ(a.http.status, 200);
    EXPECT_EQ(a.http.header("Content-Type"), "application/octet-stream");
    ASSERT_EQ(a.http.body.size(), 256u);
    for (int i = 0; i < 256; ++i) ASSERT_EQ(static_cast<unsigned char>(a.http.body[i]), i);
    expect_no_framing_or_hop_fields(a.http);
}

TEST_P(Beast, EmptyBodyAnswers204WithItsFields) {
    const answer a = ask("GET", "/nothing");
    EXPECT_EQ(a.http.status, 204);
    EXPECT_EQ(a.http.header("X-Nothing"), "here");
    EXPECT_EQ(a.http.body, "");
}

TEST_P(Beast, HandlerExceptionIsA500AndOneLogLine) {
    const answer a = ask("GET", "/fail?why");
    EXPECT_EQ(a.http.status, 500);
    EXPECT_TRUE(daemon_->wait_for_log("GET /fail?why: unhandled exception: beast_hello: /fail always fails"))
        << daemon_->log();
    // And the next request is served as usual.
    EXPECT_EQ(ask("GET", "/").http.status, 200);
}

TEST_P(Beast, ManyRequestsOnOneConnectionKeepAnsweringInOrder) {
    for (int i = 0; i < 50; ++i) {
        const std::string body = "request " + std::to_string(i);
        const answer a = ask("POST", "/echo", {{"CONTENT_TYPE", "text/plain"}}, body);
        ASSERT_EQ(a.http.body, body);
    }
}

INSTANTIATE_TEST_SUITE_P(Handlers, Beast, ::testing::Values("loop", "pool"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace fcgid_test
