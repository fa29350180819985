// fcgid/sdk/beast.hpp: Boost.Beast handlers served by fcgid, unchanged.
// Optional: include it, and link Boost::headers (find_package(Boost 1.74)),
// only in plugins that use it.
//
//     namespace http = boost::beast::http;
//
//     http::response<http::string_body> handle_request(http::request<http::string_body> req) {
//         http::response<http::string_body> res{http::status::ok, req.version()};
//         res.set(http::field::content_type, "text/plain");
//         res.body() = "hello " + std::string(req[http::field::user_agent]) + "\n";
//         res.keep_alive(req.keep_alive());
//         res.prepare_payload();
//         return res;
//     }
//
//     app.any("/{path...}", beast::handle(handle_request));               // on the loop thread
//     app.get("/report", beast::handle(app.make_pool(8, 256), slow_one));  // may block: on the pool
//
// HANDLER. Anything callable with an http::request<http::string_body> (taken
// by value, const& or &&; a plain & works too) that returns an
// http::response<Body>. handle(h) runs it on the loop thread, so it must not
// block; handle(pool, h) runs it on a pool thread (worker_pool.hpp: the 503
// when the queue is full, a client gone before a thread took it). The handler
// is copied into the route, and for the pool once per request: hold big state
// by pointer or reference. An exception from it is answered as from any SDK
// handler (errors.hpp): http_error its status, anything else a 500 and a log
// line naming the request.
//
// REQUEST (to_beast). Method (an unknown one kept as its string), target =
// REQUEST_URI, version 10 for SERVER_PROTOCOL HTTP/1.0 and 11 otherwise, one
// field per header param (HTTP_USER_AGENT becomes User-Agent, HTTP_X_FOO_BAR
// X-Foo-Bar; CGI cannot tell '-' from '_' in a name), Content-Type and
// Content-Length, and the whole body. The body arrives complete and
// de-chunked, so a request with a body (or a Content-Length) carries
// Content-Length: <body size> and no "chunked", as if it had been sent so.
// Repeated headers arrive joined by the web server (one field, "a, b").
// Everything is copied: the Beast request owns its strings and may outlive
// the sdk::request.
//
// RESPONSE (send). The status code (the web server writes its own reason
// phrase), every field but the ones that describe the client connection or
// the message framing (see detail::dropped_field), then the body through the
// Body's own writer, then the end. Any Body whose writer serialises its value
// works: string_body, vector_body, empty_body, span_body, dynamic_body. A
// file_body compiles too (its writer reads the file in chunks, blocking, so
// serve it from a pool), but for a file on disk let the web server send it:
// sdk::response::x_accel_redirect() or x_sendfile(). For HEAD the body is
// not serialised at all.
//
// C++17 or later, Boost 1.74 or later.
#ifndef FCGID_SDK_BEAST_HPP
#define FCGID_SDK_BEAST_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/type_traits.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/system_error.hpp>

#include "fcgid/sdk/app.hpp"
#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"
#include "fcgid/sdk/worker_pool.hpp"

namespace fcgid::sdk::beast {

namespace http = boost::beast::http;

// What a Beast handler takes.
using beast_request = http::request<http::string_body>;

namespace detail {

// Beast 1.74 spells string_view as boost::string_view (std::string_view only
// with BOOST_BEAST_USE_STD_STRING_VIEW); both convert from a pointer and size.
inline boost::beast::string_view to_beast_view(std::string_view s) noexcept { return {s.data(), s.size()}; }
inline std::string_view to_std_view(boost::beast::string_view s) noexcept { return {s.data(), s.size()}; }

// "USER_AGENT" -> "User-Agent": each '_' becomes '-', each word is
// capitalised and the rest lower-cased. Known fields then take Beast's own
// spelling ("ETag", "WWW-Authenticate", "TE").
inline void header_name(std::string& out, std::string_view cgi_name) {
    out.clear();
    bool word_start = true;
    for (const char c : cgi_name) {
        if (c == '_' || c == '-') {
            out.push_back('-');
            word_start = true;
            continue;
        }
        const char lower = ascii::to_lower(c);
        out.push_back(word_start && lower >= 'a' && lower <= 'z' ? static_cast<char>(lower - 'a' + 'A') : lower);
        word_start = false;
    }
}

template <class T>
struct is_response : std::false_type {};
template <class Body, class Fields>
struct is_response<http::message<false, Body, Fields>> : std::true_type {};

template <class Handler>
constexpr bool takes_beast_request =
    std::is_invocable_v<Handler&, beast_request&&> || std::is_invocable_v<Handler&, beast_request&>;

// Calls h with the request as an rvalue (by value, const& and && all bind),
// or as an lvalue for a handler that takes beast_request&.
template <class Handler>
decltype(auto) call(Handler& h, beast_request&& req) {
    if constexpr (std::is_invocable_v<Handler&, beast_request&&>) return h(std::move(req));
    else return h(req);
}

// Fields a Beast server writes for its own connection, which fcgid's
// response must not carry:
//  - Connection, Keep-Alive, Proxy-*, and any field Connection names, are
//    hop-by-hop (RFC 9110 7.6.1): they describe the Beast server's socket to
//    its client. Behind fcgid that socket is the web server's, which decides
//    keep-alive itself; a "Connection: close" passed on would close a client
//    connection for no reason.
//  - Content-Length, Transfer-Encoding, TE and Trailer frame the body. The
//    web server frames it from what fcgid writes (FastCGI records end the
//    body); a length that disagrees with the bytes written (a HEAD answer, a
//    handler that forgot prepare_payload() after changing the body) would
//    desynchronise a kept-alive client connection, and "chunked" would make
//    the web server expect chunks fcgid never writes.
//  - Upgrade: FastCGI cannot switch protocols.
//  - Status: in a CGI response head it is the status line, not a field.
template <class Fields>
bool dropped_field(const Fields& fields, http::field f, std::string_view name) {
    switch (f) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::transfer_encoding:
        case http::field::upgrade:
        case http::field::te:
        case http::field::trailer:
        case http::field::content_length:
            return true;
        default:
            break;
    }
    if (name.size() >= 6 && ascii::iequals(name.substr(0, 6), "proxy-")) return true;
    if (ascii::iequals(name, "Status")) return true;
    const auto named = fields.equal_range(http::field::connection);
    for (auto it = named.first; it != named.second; ++it) {
        for (const auto token : http::token_list{it->value()})
            if (ascii::iequals(to_std_view(token), name)) return true;
    }
    return false;
}

// Checks every field that will be sent before the first one is added, so
// that a bad one (which sdk::response::header would refuse) fails the whole
// response, not after half of its headers went into the sdk::response.
template <class Fields>
void check_fields(const Fields& fields) {
    std::size_t count = 0;
    for (const auto& f : fields) {
        const std::string_view name = to_std_view(f.name_string());
        if (dropped_field(fields, f.name(), name)) continue;
        if (!ascii::is_token(name))
            throw std::invalid_argument("Beast response field name '" + std::string(name) + "' is not a token");
        if (to_std_view(f.value()).find_first_of("\r\n") != std::string_view::npos)
            throw std::invalid_argument("Beast response field '" + std::string(name) + "' holds a line break");
        ++count;
    }
    if (count > sdk::response::max_headers)
        throw std::length_error("Beast response has more than " +
                                std::to_string(sdk::response::max_headers) + " fields");
}

// Serialises the body through Body::writer, the way Beast's serializer does.
// Message is a (possibly const) http::response<Body, Fields>.
template <class Message>
void write_body(response& res, Message& msg) {
    using body_type = typename std::remove_const_t<Message>::body_type;
    static_assert(http::is_body_writer<body_type>::value, "fcgid::sdk::beast: this Body type has no writer");
    boost::system::error_code ec;
    typename body_type::writer writer(msg.base(), msg.body());
    writer.init(ec);
    if (ec) throw boost::system::system_error(ec, "Beast body writer");
    for (;;) {
        auto chunk = writer.get(ec);
        if (ec) throw boost::system::system_error(ec, "Beast body writer");
        if (!chunk) return;
        const auto end = boost::asio::buffer_sequence_end(chunk->first);
        for (auto it = boost::asio::buffer_sequence_begin(chunk->first); it != end; ++it) {
            const boost::asio::const_buffer b = *it;
            // false also means "output buffer full"; the bytes were taken
            // then, and the body is in memory already: go on unless aborted.
            if (!res.write(std::string_view(static_cast<const char*>(b.data()), b.size())) && res.aborted()) return;
        }
        if (!chunk->second) return;
    }
}

template <class Message>
void send(response& res, Message& msg, bool with_body) {
    check_fields(msg.base());
    res.status(static_cast<int>(msg.result_int()));
    for (const auto& f : msg.base()) {
        const std::string_view name = to_std_view(f.name_string());
        if (!dropped_field(msg.base(), f.name(), name)) res.header(name, to_std_view(f.value()));
    }
    if (with_body) write_body(res, msg);
    res.finish();
}

}  // namespace detail

// The sdk::request as a Beast request (see REQUEST above). Copies.
inline beast_request to_beast(const request& req) {
    beast_request out;
    // method_string() looks the verb up (string_to_verb) and keeps the text
    // of a method Beast does not know.
    out.method_string(detail::to_beast_view(req.method()));
    std::string_view target = req.target();
    std::string fallback;
    if (target.empty()) {
        // No REQUEST_URI: rebuild it from the CGI parts (the path is decoded
        // already there; it is the best there is).
        fallback.assign(req.script_name()).append(req.path_info());
        if (fallback.empty()) fallback = "/";
        if (!req.query_string().empty()) fallback.append("?").append(req.query_string());
        target = fallback;
    }
    out.target(detail::to_beast_view(target));
    out.version(req.param_or("SERVER_PROTOCOL") == "HTTP/1.0" ? 10 : 11);

    std::string name;
    req.for_each_header([&](std::string_view cgi_name, std::string_view value) {
        // nginx sends CONTENT_TYPE and CONTENT_LENGTH empty when the client
        // sent none; a Beast request would have no such field.
        if (value.empty() && (cgi_name == "CONTENT_TYPE" || cgi_name == "CONTENT_LENGTH")) return;
        detail::header_name(name, cgi_name);
        const http::field f = http::string_to_field(detail::to_beast_view(name));
        if (f != http::field::unknown) out.insert(f, detail::to_beast_view(value));
        else out.insert(detail::to_beast_view(name), detail::to_beast_view(value));
    });

    const std::string_view body = req.body();
    out.body().assign(body.data(), body.size());
    // Sets Content-Length to the body's size and removes "chunked".
    if (!body.empty() || out.has_content_length()) out.content_length(body.size());
    return out;
}

// Writes `msg` into `res` (see RESPONSE above) and finishes it. Call it on a
// response nothing was written to yet. The lvalue form leaves msg as it was
// (a Body whose writer needs a non-const value, file_body, needs that form
// or the rvalue one).
template <class Body, class Fields>
void send(response& res, http::message<false, Body, Fields>& msg) {
    detail::send(res, msg, true);
}
template <class Body, class Fields>
void send(response& res, http::message<false, Body, Fields>&& msg) {
    detail::send(res, msg, true);
}
template <class Body, class Fields>
void send(response& res, const http::message<false, Body, Fields>& msg) {
    static_assert(std::is_constructible_v<typename Body::writer, const http::header<false, Fields>&,
                                          const typename Body::value_type&>,
                  "fcgid::sdk::beast::send: this Body's writer needs a non-const message; pass it by & or &&");
    detail::send(res, msg, true);
}

namespace detail {

// One request through a Beast handler: the body of both handle() variants.
template <class Handler>
void serve(Handler& h, request& req, response& res) {
    using result = std::decay_t<decltype(call(h, std::declval<beast_request>()))>;
    static_assert(is_response<result>::value,
                  "fcgid::sdk::beast::handle: the handler must return an http::response<Body>");
    result out = detail::call(h, to_beast(req));
    detail::send(res, out, req.method() != "HEAD");
}

}  // namespace detail

// A route handler that runs `h` on the loop thread (it must not block).
template <class Handler>
sdk::handler handle(Handler h) {
    static_assert(detail::takes_beast_request<Handler>,
                  "fcgid::sdk::beast::handle: the handler must take an http::request<http::string_body>");
    return [h = std::move(h)](request& req, response& res) mutable { detail::serve(h, req, res); };
}

// A route handler that runs `h` on `pool` (for handlers that block). The
// pool must outlive the app's routes: one from app.make_pool() does.
template <class Handler>
sdk::handler handle(worker_pool& pool, Handler h) {
    static_assert(detail::takes_beast_request<Handler>,
                  "fcgid::sdk::beast::handle: the handler must take an http::request<http::string_body>");
    return on_pool(pool, [h = std::move(h)](request& req, response& res) mutable { detail::serve(h, req, res); });
}

}  // namespace fcgid::sdk::beast

#endif  // FCGID_SDK_BEAST_HPP
