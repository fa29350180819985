// fcgid/sdk/request.hpp: one request, read-only, as a handler sees it.
//
//     void show(sdk::request& req, sdk::response& res) {
//         const auto id = req.path_value("id");          // from the route "/users/{id}"
//         const auto page = req.query_value("page");     // ?page=2
//         const auto agent = req.header("user-agent");   // any case
//         ...
//     }
//
// VIEWS. Every string_view it returns points into the request as fcgid holds
// it (params and body), or into storage this object owns (decoded text), and
// stays valid while the request does: until its response is finished. The
// request never copies the body.
//
// LAZY. Nothing is parsed until asked for: the query, cookies, form and
// multipart body are each parsed on first use, once. A handler that reads
// the method, the path and a header allocates nothing. Every parser is
// bounded (parse_limits): malformed or oversized input throws
// http_error(400) with the parser's reason, which the app answers.
//
// THREADS. A request is used by one thread at a time (a deferred response
// moves it to the thread that finishes it); the lazy parts are not locked.
#ifndef FCGID_SDK_REQUEST_HPP
#define FCGID_SDK_REQUEST_HPP

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/cookies.hpp"
#include "fcgid/sdk/field_list.hpp"
#include "fcgid/sdk/host.hpp"
#include "fcgid/sdk/http_error.hpp"
#include "fcgid/sdk/limits.hpp"
#include "fcgid/sdk/multipart.hpp"
#include "fcgid/sdk/percent.hpp"
#include "fcgid/sdk/router.hpp"
#include "fcgid/sdk/urlencoded.hpp"

namespace fcgid::sdk {

namespace detail {
// Specialised by fcgid/sdk/json.hpp, so that request::json() compiles only
// in plugins that include it (and link nlohmann-json).
template <class Dummy>
struct json_support;
}  // namespace detail

class request {
public:
    // Path parameters kept per request: the router's bound.
    static constexpr std::size_t max_path_values = 8;

    explicit request(const fcgid_request* handle, const parse_limits& limits = default_limits()) noexcept
        : handle_(handle), limits_(&limits) {}
    request(request&&) noexcept = default;
    request& operator=(request&&) noexcept = default;
    request(const request&) = delete;
    request& operator=(const request&) = delete;

    const fcgid_request* handle() const noexcept { return handle_; }

    // ---- Params, as the web server sent them ----

    // The param `name` (exact, case-sensitive), or nullopt.
    std::optional<std::string_view> param(std::string_view name) const noexcept {
        return fcgid::param(detail::host_table, handle_, name);
    }
    std::string_view param_or(std::string_view name, std::string_view fallback = {}) const noexcept {
        return param(name).value_or(fallback);
    }
    // Calls f(name, value) for every param, in order.
    template <class F>
    void for_each_param(F&& f) const {
        fcgid::for_each_param(detail::host_table, handle_, std::forward<F>(f));
    }

    // ---- The request line ----

    // REQUEST_METHOD: "GET", "POST"...
    std::string_view method() const noexcept {
        if (!method_) method_ = param_or("REQUEST_METHOD", "GET");
        return *method_;
    }
    // REQUEST_URI: the path and query as the client sent them (not decoded).
    std::string_view target() const noexcept {
        if (!target_) target_ = param_or("REQUEST_URI");
        return *target_;
    }
    // The path part of the target, percent-decoded ('+' stays '+'). Without
    // REQUEST_URI (a web server that does not send it): SCRIPT_NAME followed
    // by PATH_INFO, already decoded by the web server.
    std::string_view path() const {
        if (path_) return *path_;
        const std::string_view raw = target();
        if (raw.empty()) {
            std::string& joined = lazy().path;
            joined.assign(param_or("SCRIPT_NAME")).append(param_or("PATH_INFO"));
            return *(path_ = joined);
        }
        const std::string_view encoded = raw.substr(0, raw.find('?'));
        if (!needs_percent_decoding(encoded)) return *(path_ = encoded);
        std::string& decoded = lazy().path;
        decoded.clear();
        append_percent_decoded(decoded, encoded);
        return *(path_ = decoded);
    }
    // QUERY_STRING, undecoded.
    std::string_view query_string() const noexcept { return param_or("QUERY_STRING"); }
    // SCRIPT_NAME and PATH_INFO exactly as the web server set them.
    std::string_view script_name() const noexcept { return param_or("SCRIPT_NAME"); }
    std::string_view path_info() const noexcept { return param_or("PATH_INFO"); }

    // ---- Query ----

    // The query's fields, decoded ('+' is a space), in order; repeated
    // names kept. Throws http_error(400) when it passes the limits.
    const field_list& query() const {
        lazy_parts& l = lazy();
        if (!l.query) l.query = parsed("query string", parse_urlencoded(query_string(), *limits_));
        return *l.query;
    }
    std::optional<std::string_view> query_value(std::string_view name) const { return query().get(name); }

    // ---- Headers ----

    // The request header `name`, in any case ("content-type", "X-Api-Key"):
    // from the HTTP_* params, plus CONTENT_TYPE and CONTENT_LENGTH, which CGI
    // passes without the prefix. Allocates nothing.
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        char buffer[160];
        constexpr std::string_view prefix = "HTTP_";
        if (name.size() + prefix.size() > sizeof buffer) return std::nullopt;
        std::size_t n = 0;
        for (const char c : prefix) buffer[n++] = c;
        for (const char c : name) buffer[n++] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
        const std::string_view upper(buffer + prefix.size(), n - prefix.size());
        if (upper == "CONTENT_TYPE" || upper == "CONTENT_LENGTH") return param(upper);
        return param(std::string_view(buffer, n));
    }
    // Calls f(name, value) for every request header; names as CGI spells
    // them without the prefix ("USER_AGENT", "CONTENT_TYPE").
    template <class F>
    void for_each_header(F&& f) const {
        for_each_param([&](std::string_view name, std::string_view value) {
            if (name.substr(0, 5) == "HTTP_") f(name.substr(5), value);
            else if (name == "CONTENT_TYPE" || name == "CONTENT_LENGTH") f(name, value);
        });
    }
    std::string_view content_type() const noexcept { return param_or("CONTENT_TYPE"); }
    std::optional<std::uint64_t> content_length() const noexcept {
        const std::string_view text = param_or("CONTENT_LENGTH");
        std::uint64_t value = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
        return value;
    }

    // ---- Cookies ----

    // The Cookie header's pairs, in order (malformed pairs skipped).
    const field_list& cookies() const {
        lazy_parts& l = lazy();
        if (!l.cookies) l.cookies = parsed("Cookie header", parse_cookie_header(param_or("HTTP_COOKIE"), *limits_));
        return *l.cookies;
    }
    std::optional<std::string_view> cookie(std::string_view name) const { return cookies().get(name); }

    // ---- Body ----

    // The whole body, as received (fcgid has it in full before the handler runs).
    std::string_view body() const noexcept { return fcgid::body(detail::host_table, handle_); }

    // The fields of an application/x-www-form-urlencoded body; empty for any
    // other content type. Throws http_error(400) past the limits.
    const field_list& form() const {
        lazy_parts& l = lazy();
        if (!l.form) {
            l.form = media_type_is("application/x-www-form-urlencoded")
                         ? parsed("form body", parse_urlencoded(body(), *limits_))
                         : field_list();
        }
        return *l.form;
    }
    // The parts of a multipart/form-data body (data views into the body).
    // Throws http_error(400) for another content type or a malformed body.
    const multipart_form& multipart() const {
        lazy_parts& l = lazy();
        if (!l.multipart) {
            if (!media_type_is("multipart/form-data"))
                throw http_error(400, "expected a multipart/form-data body, got '" + std::string(content_type()) + "'");
            l.multipart = parsed("multipart body", parse_multipart(content_type(), body(), *limits_));
        }
        return *l.multipart;
    }
    // A form field by name, wherever a browser puts it: an urlencoded body,
    // a non-file part of a multipart body, else the query (Go's FormValue).
    std::optional<std::string_view> form_value(std::string_view name) const {
        if (auto v = form().get(name)) return v;
        if (media_type_is("multipart/form-data")) {
            const form_part* part = multipart().find(name);
            if (part != nullptr && !part->filename) return part->data;
        }
        return query_value(name);
    }

    // The body parsed as JSON (include fcgid/sdk/json.hpp): nlohmann::json.
    // Throws http_error(400) with the parser's message on malformed JSON.
    template <class Dummy = void>
    auto json() const {
        return detail::json_support<Dummy>::parse(body(), *limits_);
    }

    // ---- Route ----

    // The value of `{name}` in the route that matched ("/users/{id}").
    std::optional<std::string_view> path_value(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < path_value_count_; ++i)
            if (path_values_[i].name == name) return path_values_[i].value;
        return std::nullopt;
    }

    // ---- Connection ----

    std::string_view remote_addr() const noexcept { return param_or("REMOTE_ADDR"); }
    std::uint16_t remote_port() const noexcept { return port_of("REMOTE_PORT"); }
    std::string_view server_addr() const noexcept { return param_or("SERVER_ADDR"); }
    std::uint16_t server_port() const noexcept { return port_of("SERVER_PORT"); }
    std::string_view server_name() const noexcept { return param_or("SERVER_NAME"); }
    // True for HTTPS, as nginx (HTTPS=on), Apache (HTTPS=on) and others
    // (REQUEST_SCHEME=https) say it.
    bool https() const noexcept {
        const std::string_view on = param_or("HTTPS");
        return ascii::iequals(on, "on") || on == "1" || param_or("REQUEST_SCHEME") == "https";
    }

    const parse_limits& limits() const noexcept { return *limits_; }

    static const parse_limits& default_limits() noexcept {
        static const parse_limits defaults;
        return defaults;
    }

    // The router's match for this request (app.hpp calls it). Copies the
    // values' views: they point into the path, which this object keeps.
    template <class Match>
    void set_path_values(const Match& match) noexcept {
        path_value_count_ = 0;
        for (const path_param& p : match) {
            if (path_value_count_ == max_path_values) break;
            path_values_[path_value_count_++] = p;
        }
    }

private:
    // What is parsed on first use, allocated then: a request that needs none
    // of it allocates nothing. Moving the request keeps its address, so the
    // views into it stay valid.
    struct lazy_parts {
        std::string path;  // the decoded path, when it needed decoding
        std::optional<field_list> query;
        std::optional<field_list> cookies;
        std::optional<field_list> form;
        std::optional<multipart_form> multipart;
    };

    lazy_parts& lazy() const {
        if (!lazy_) lazy_ = std::make_unique<lazy_parts>();
        return *lazy_;
    }

    template <class T>
    static T parsed(const char* what, result<T>&& r) {
        if (!r) throw http_error(400, std::string("malformed ") + what + ": " + r.error().message());
        return std::move(r).value();
    }

    // The content type without its parameters, compared case-insensitively.
    bool media_type_is(std::string_view type) const noexcept {
        std::string_view ct = content_type();
        ct = ascii::trim_ows(ct.substr(0, ct.find(';')));
        return ascii::iequals(ct, type);
    }

    std::uint16_t port_of(std::string_view name) const noexcept {
        const std::string_view text = param_or(name);
        std::uint16_t port = 0;
        std::from_chars(text.data(), text.data() + text.size(), port);
        return port;
    }

    const fcgid_request* handle_;
    const parse_limits* limits_;
    mutable std::optional<std::string_view> method_;
    mutable std::optional<std::string_view> target_;
    mutable std::optional<std::string_view> path_;
    mutable std::unique_ptr<lazy_parts> lazy_;
    std::array<path_param, max_path_values> path_values_{};
    std::size_t path_value_count_ = 0;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_REQUEST_HPP
