// The C++ SDK (include/fcgid/sdk.hpp) through the real daemon, with
// tests/plugins/sdk_probe.cpp: what a handler reads from a request, what a
// response sends, how errors, exceptions, dropped and aborted deferred
// responses and a full worker pool are answered, and how bad
// --plugin-options fail init.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

using namespace std::chrono_literals;

std::string probe() { return test_plugin("sdk_probe"); }

struct answer {
    response raw;
    cgi_response http;
};

// One request on `c` with the params a web server sends for METHOD URI.
answer ask(fcgi_connection& c, std::uint16_t id, std::string_view method, std::string_view uri,
           name_value_list extra = {}, std::string_view body = {}) {
    const std::string target(uri);
    const auto q = target.find('?');
    name_value_list params = {
        {"REQUEST_METHOD", std::string(method)},
        {"REQUEST_URI", target},
        {"SCRIPT_NAME", target.substr(0, q)},
        {"QUERY_STRING", q == std::string::npos ? "" : target.substr(q + 1)},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REMOTE_ADDR", "127.0.0.7"},
        {"REMOTE_PORT", "40123"},
        {"CONTENT_LENGTH", std::to_string(body.size())},
    };
    params.insert(params.end(), extra.begin(), extra.end());
    c.send_begin(id);
    c.send_params(id, params);
    c.send_stdin(id, body);
    answer a{c.read_response(id), {}};
    a.http = parse_cgi_response(a.raw.stdout_data);
    return a;
}

answer ask(daemon_process& d, std::string_view method, std::string_view uri, name_value_list extra = {},
           std::string_view body = {}) {
    fcgi_connection c = d.connect();
    return ask(c, 1, method, uri, std::move(extra), body);
}

class Sdk : public ::testing::Test {
protected:
    void SetUp() override { d_ = daemon_process::start(probe()); }
    std::unique_ptr<daemon_process> d_;
};

TEST_F(Sdk, TheRequestReadsDecodedPathQueryHeadersAnyCaseCookiesAndThePeer) {
    const answer a = ask(*d_, "GET", "/request?q=a+b%21&q=2",
                         {{"HTTP_USER_AGENT", "curl/7.88"}, {"HTTP_X_CUSTOM_THING", "yes"},
                          {"HTTP_COOKIE", "a=1; b=2"}, {"HTTPS", "on"}});
    EXPECT_EQ(a.http.status, 200) << a.raw.stdout_data;
    EXPECT_EQ(a.http.body,
              "method=GET\ntarget=/request?q=a+b%21&q=2\npath=/request\nq=a b!\nq-count=2\n"
              "user-agent=curl/7.88\nx-custom-thing=yes\ncookie-a=1\nremote=127.0.0.7:40123\nhttps=yes\n");
}

TEST_F(Sdk, PathValuesComeFromTheRouteAndThePathIsDecodedBeforeRouting) {
    EXPECT_EQ(ask(*d_, "GET", "/items/42/tags/a/b").http.body, "id=42 tag=a/b");
    EXPECT_EQ(ask(*d_, "GET", "/it%65ms/7/tags/x%20y").http.body, "id=7 tag=x y");
}

TEST_F(Sdk, UnknownPathIs404WrongMethodIs405WithAllowAndHeadHasNoBody) {
    EXPECT_EQ(ask(*d_, "GET", "/nowhere").http.status, 404);
    const answer wrong = ask(*d_, "DELETE", "/request");
    EXPECT_EQ(wrong.http.status, 405);
    EXPECT_EQ(wrong.http.header("Allow"), "GET, HEAD");
    const answer head = ask(*d_, "HEAD", "/request");
    EXPECT_EQ(head.http.status, 200);
    EXPECT_EQ(head.http.header("Content-Type"), "text/plain");
    EXPECT_EQ(head.http.body, "");
}

TEST_F(Sdk, FormFieldsFromUrlencodedAndMultipartBodies) {
    EXPECT_EQ(ask(*d_, "POST", "/form", {{"CONTENT_TYPE", "application/x-www-form-urlencoded"}}, "name=J%C3%B6rg+K")
                  .http.body,
              "name=J\xC3\xB6rg K\n");
    static const char bytes[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n--XyZ--\r\n";
    const std::string multipart(bytes, sizeof bytes - 1);  // NUL bytes included
    const answer m = ask(*d_, "POST", "/form", {{"CONTENT_TYPE", "multipart/form-data; boundary=XyZ"}},
                         std::string_view(multipart.data(), multipart.size()));
    EXPECT_EQ(m.http.body, "name=Ada\npart name file=(none) size=3\npart file file=a.bin size=3\n");
}

TEST_F(Sdk, AMalformedBodyIs400WithTheParsersReason) {
    const answer a = ask(*d_, "POST", "/form", {{"CONTENT_TYPE", "multipart/form-data; boundary=XyZ"}},
                         "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end");
    EXPECT_EQ(a.http.status, 400);
    EXPECT_NE(a.http.body.find("malformed multipart body"), std::string::npos) << a.http.body;
}

TEST_F(Sdk, HeadersAreHeldUntilTheBodySoSetHeaderReplacesAndCookiesAreEncoded) {
    const answer a = ask(*d_, "GET", "/headers");
    EXPECT_EQ(a.http.status, 201);
    EXPECT_EQ(a.http.headers_named("X-Replaced"), std::vector<std::string>{"second"});
    EXPECT_EQ(a.http.headers_named("X-Twice"), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(a.http.header("Set-Cookie"), "session=\"abc 123\"; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax");
}

TEST_F(Sdk, RedirectSetsStatusAndLocation) {
    const answer a = ask(*d_, "GET", "/redirect");
    EXPECT_EQ(a.http.status, 308);
    EXPECT_EQ(a.http.header("Location"), "/elsewhere");
}

TEST_F(Sdk, AnExceptionIs500WithOneLogLineNamingTheRequestAndTheNextRequestIsServed) {
    const answer a = ask(*d_, "GET", "/throw?x=1");
    EXPECT_EQ(a.http.status, 500);
    EXPECT_TRUE(d_->wait_for_log("GET /throw?x=1: unhandled exception: probe exploded")) << d_->log();
    EXPECT_EQ(count_of(d_->log(), "probe exploded"), 1u) << d_->log();
    EXPECT_EQ(ask(*d_, "GET", "/request").http.status, 200);
    EXPECT_EQ(ask(*d_, "GET", "/bad-cookie").http.status, 500);
    EXPECT_TRUE(d_->wait_for_log("GET /bad-cookie: unhandled exception: cookie 'bad name'")) << d_->log();
}

TEST_F(Sdk, AnHttpErrorIsItsStatusAndMessage) {
    const answer a = ask(*d_, "GET", "/http-error");
    EXPECT_EQ(a.http.status, 418);
    EXPECT_EQ(a.http.body, "short and stout\n");
}

TEST_F(Sdk, A500CarriesNoneOfTheHeadersTheHandlerHadPrepared) {
    const answer a = ask(*d_, "GET", "/throw-prepared");
    EXPECT_EQ(a.http.status, 500);
    EXPECT_FALSE(a.http.header("Set-Cookie"));
    EXPECT_EQ(a.http.header("Content-Type"), "text/plain; charset=utf-8");
}

TEST_F(Sdk, AnHttpErrorKeepsTheHeadersTheHandlerSetButNotItsContentType) {
    const answer a = ask(*d_, "GET", "/unauthorized");
    EXPECT_EQ(a.http.status, 401);
    EXPECT_EQ(a.http.header("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(a.http.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(a.http.body, "token expired\n");
}

TEST_F(Sdk, AnExceptionAfterTheBodyStartedCutsTheResponseShort) {
    const answer a = ask(*d_, "GET", "/throw-after-body");
    EXPECT_EQ(a.http.status, 200);
    EXPECT_EQ(a.http.body, "partial ");
    EXPECT_NE(a.raw.app_status, 0u) << "the web server must see the response was cut short";
    EXPECT_TRUE(d_->wait_for_log("GET /throw-after-body: unhandled exception: exploded mid-body")) << d_->log();
}

TEST_F(Sdk, ADeferredResponseFinishesFromAThread) {
    fcgi_connection c = d_->connect();
    const answer a = ask(c, 1, "GET", "/thread?ms=20");
    EXPECT_EQ(a.http.body, "from a thread after 20 ms\n");
    EXPECT_EQ(ask(c, 2, "GET", "/thread?ms=0").http.status, 200) << "the connection goes on";
}

TEST_F(Sdk, ADeferredResponseDroppedWithoutFinishingIs500AndALogLine) {
    const answer a = ask(*d_, "GET", "/drop");
    EXPECT_EQ(a.http.status, 500);
    EXPECT_TRUE(d_->wait_for_log("GET /drop: deferred response dropped without finishing")) << d_->log();
}

TEST_F(Sdk, TheAbortCallbackRunsAndMayDropTheDeferredResponse) {
    {
        fcgi_connection c = d_->connect();
        c.send_begin(1);
        c.send_params(1, {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/hold?n=1"}, {"QUERY_STRING", "n=1"}});
        c.send_stdin(1, "");
        // The abort must find the response held, so that its callback runs.
        ASSERT_TRUE(d_->wait_for_log("sdk_probe: holding /hold?n=1")) << d_->log();
        c.send_abort(1);
        EXPECT_TRUE(d_->wait_for_log("sdk_probe: abort callback for /hold?n=1")) << d_->log();
        const response r = c.read_response(1);
        EXPECT_TRUE(r.ended);
    }
    // The held response was given back inside its own callback; all is well.
    EXPECT_EQ(ask(*d_, "GET", "/request").http.status, 200);
    d_->send_signal(SIGTERM);
    EXPECT_EQ(d_->wait_exit(), 0) << d_->log();
}

TEST(SdkPool, AFullQueueIsAnswered503WithRetryAfterAtOnce) {
    auto d = daemon_process::start(probe(), {"--plugin-option", "threads=1", "--plugin-option", "queue=1"});
    // One running, one queued: the third finds the queue full.
    fcgi_connection c = d->connect();
    const auto send = [&c](std::uint16_t id) {
        c.send_begin(id);
        c.send_params(id, {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/pool?ms=300"}, {"QUERY_STRING", "ms=300"}});
        c.send_stdin(id, "");
    };
    send(1);
    ASSERT_TRUE(d->wait_for_log("pool job started for /pool?ms=300")) << d->log();
    send(2);
    send(3);
    const cgi_response third = parse_cgi_response(c.read_response(3).stdout_data);
    EXPECT_EQ(third.status, 503);
    EXPECT_EQ(third.header("Retry-After"), "1");
    EXPECT_EQ(parse_cgi_response(c.read_response(1).stdout_data).body, "pool done\n");
    EXPECT_EQ(parse_cgi_response(c.read_response(2).stdout_data).body, "pool done\n");
}

TEST(SdkPool, APoolThreadStreamsAResponseLargerThanTheOutputBuffer) {
    auto d = daemon_process::start(probe(), {"--max-output-buffer", "64k"});
    fcgi_connection c = d->connect();
    const answer a = ask(c, 1, "GET", "/pool-stream?kib=4096");
    EXPECT_EQ(a.http.body.size(), 4096u * 1024u);
    EXPECT_EQ(a.http.body.find_first_not_of('x'), std::string::npos);
}

TEST(SdkOptions, AnUnknownPluginOptionFailsInitWithALineNamingIt) {
    const run_result r = run_fcgid({"run", "--plugin", probe(), "--port", "0", "--plugin-option", "thraeds=2"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("unknown --plugin-option 'thraeds' (this plugin reads: 'mount', 'threads', 'queue')"),
              std::string::npos)
        << r.err;
}

TEST(SdkOptions, AMalformedPluginOptionFailsInitWithALineNamingIt) {
    const run_result r = run_fcgid({"run", "--plugin", probe(), "--port", "0", "--plugin-option", "threads=many"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--plugin-option threads: 'many' is not a non-negative whole number"), std::string::npos)
        << r.err;
}

TEST(SdkMount, RoutesAreRelativeToTheMountAndPathsOutsideItAre404) {
    auto d = daemon_process::start(probe(), {"--plugin-option", "mount=/app/"});
    EXPECT_EQ(ask(*d, "GET", "/app/items/1/tags/t").http.body, "id=1 tag=t");
    EXPECT_EQ(ask(*d, "GET", "/items/1/tags/t").http.status, 404);
    EXPECT_EQ(ask(*d, "GET", "/apple/items/1/tags/t").http.status, 404);
}

}  // namespace
}  // namespace fcgid_test
