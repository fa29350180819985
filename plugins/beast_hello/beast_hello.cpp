// beast_hello: a handler written for a Boost.Beast HTTP server, served by
// fcgid unchanged (fcgid/sdk/beast.hpp). handle_request() below is what a
// Beast server would call with each request it read; only setup() at the
// bottom knows about fcgid.
//
//   GET  /            "Hello, <User-Agent>! You asked for <target>."
//   POST /echo        the body back, byte for byte, with its Content-Type
//   any  /request     the request as Beast holds it (request line and
//                     fields, as Beast would write them)
//   GET  /bytes       bytes 0..255, a vector_body<char> sent chunked
//   GET  /nothing     204, an empty_body
//   GET  /fail        throws: a 500, and one line in fcgid's log
//   anything else     404, the way Beast's examples answer it
//
//   fcgid run --plugin beast_hello.so --port 5000 --plugin-option threads=4
//
// runs the handlers on a pool of 4 threads (the default, 0, runs them on
// fcgid's loop thread).
//
// threads=N shows the other half of the adapter: a handler that blocks (a
// database call, a file read) must not run on the loop thread, and
// beast::handle(pool, h) runs the same function on a worker pool instead.
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>

#include "fcgid/sdk.hpp"
#include "fcgid/sdk/beast.hpp"

namespace {

namespace http = boost::beast::http;

// ---- The Beast side: nothing here knows about fcgid ----

http::response<http::string_body> handle_request(http::request<http::string_body> req) {
    const auto answer = [&req](http::status status, boost::beast::string_view type, std::string body) {
        http::response<http::string_body> res{status, req.version()};
        res.set(http::field::server, "beast_hello");
        res.set(http::field::content_type, type);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    };
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;

    if (get && path == "/") {
        const std::string agent(req[http::field::user_agent]);
        return answer(http::status::ok, "text/plain", "Hello, " + agent + "! You asked for " + target + ".\n");
    }
    if (req.method() == http::verb::post && path == "/echo") {
        const std::string type(req[http::field::content_type]);
        return answer(http::status::ok, type.empty() ? "application/octet-stream" : type, std::move(req.body()));
    }
    if (path == "/request") {
        std::ostringstream head;
        head << req.base();  // "GET /request HTTP/1.1\r\nUser-Agent: ...\r\n\r\n"
        return answer(http::status::ok, "text/plain", head.str());
    }
    return answer(http::status::not_found, "text/plain", "The resource '" + target + "' was not found.");
}

http::response<http::vector_body<char>> bytes(const http::request<http::string_body>& req) {
    http::response<http::vector_body<char>> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/octet-stream");
    for (int i = 0; i < 256; ++i) res.body().push_back(static_cast<char>(i));
    res.chunked(true);  // as a streaming Beast server might; fcgid drops the framing
    return res;
}

http::response<http::empty_body> nothing(http::request<http::string_body>&& req) {
    http::response<http::empty_body> res{http::status::no_content, req.version()};
    res.set("X-Nothing", "here");
    return res;
}

http::response<http::string_body> fail(const http::request<http::string_body>&) {
    throw std::runtime_error("beast_hello: /fail always fails");
}

// ---- The fcgid side ----

namespace sdk = fcgid::sdk;
namespace beast = fcgid::sdk::beast;

void setup(sdk::app& app) {
    const int threads = app.options().get<int>("threads", 0);
    if (threads < 0) throw std::invalid_argument("threads must be 0 (the loop thread) or more");
    if (threads == 0) {
        app.any("/{path...}", beast::handle(handle_request));
        app.get("/bytes", beast::handle(bytes));
        app.get("/nothing", beast::handle(nothing));
        app.get("/fail", beast::handle(fail));
    } else {
        sdk::worker_pool& pool = app.make_pool(static_cast<std::size_t>(threads), 256);
        app.any("/{path...}", beast::handle(pool, handle_request));
        app.get("/bytes", beast::handle(pool, bytes));
        app.get("/nothing", beast::handle(pool, nothing));
        app.get("/fail", beast::handle(pool, fail));
    }
}

}  // namespace

FCGID_APP("beast_hello", "1.0.0", setup)
