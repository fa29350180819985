// fcgid/sdk/app.hpp: a plugin as an app: routes, options, one entry macro.
//
//     #include "fcgid/sdk.hpp"
//     namespace sdk = fcgid::sdk;
//
//     static void setup(sdk::app& app) {
//         const int threads = app.options().get<int>("threads", 4);
//         app.get("/hello/{name}", [](sdk::request& req, sdk::response& res) {
//             res.content_type("text/plain").send("hello " + std::string(*req.path_value("name")));
//         });
//     }
//     FCGID_APP("greeter", "1.0.0", setup)
//
// FCGID_APP writes the whole C entry point: the ABI checks, init() (which
// builds the app, runs `setup`, and fails with one line naming a bad or
// unknown --plugin-option, or whatever `setup` threw), handle() and
// shutdown(), which destroys the app and with it its worker pools.
//
// ROUTING is on the decoded path of the request (REQUEST_URI), relative to
// mount(): with nginx's `location /api/ { fastcgi_pass ...; }` and
// app.mount("/api"), "/api/users/7" is matched as "/users/7" (a path outside
// the mount answers 404). The mount may also come from the command line:
// --plugin-option mount=/api. A path no route matches answers 404; a path
// that matches for other methods only answers 405 with Allow; HEAD is
// answered by the GET route, with the body dropped.
//
// ERRORS. An exception from a handler becomes an answer and never reaches
// fcgid (errors.hpp): http_error its status, anything else a 500 and one log
// line naming the method and URI.
//
// COST. A request allocates nothing here: the request and response live on
// the stack, the router matches without allocating, and headers wait in the
// response's own buffer.
#ifndef FCGID_SDK_APP_HPP
#define FCGID_SDK_APP_HPP

#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fcgid/plugin.h"
#include "fcgid/plugin.hpp"
#include "fcgid/sdk/deferred.hpp"
#include "fcgid/sdk/errors.hpp"
#include "fcgid/sdk/host.hpp"
#include "fcgid/sdk/limits.hpp"
#include "fcgid/sdk/options.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"
#include "fcgid/sdk/router.hpp"
#include "fcgid/sdk/worker_pool.hpp"

namespace fcgid::sdk {

using handler = std::function<void(request&, response&)>;

class app {
public:
    explicit app(sdk::options opts) : options_(std::move(opts)) {
        if (const auto prefix = options_.find("mount")) mount(*prefix);
    }
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    // --plugin-option values; see options.hpp.
    sdk::options& options() noexcept { return options_; }
    // The parsers' bounds for every request; change them in setup.
    parse_limits& limits() noexcept { return limits_; }

    app& get(std::string_view pattern, handler h) { return add("GET", pattern, std::move(h)); }
    app& post(std::string_view pattern, handler h) { return add("POST", pattern, std::move(h)); }
    app& put(std::string_view pattern, handler h) { return add("PUT", pattern, std::move(h)); }
    app& patch(std::string_view pattern, handler h) { return add("PATCH", pattern, std::move(h)); }
    app& del(std::string_view pattern, handler h) { return add("DELETE", pattern, std::move(h)); }
    app& any(std::string_view pattern, handler h) { return add("*", pattern, std::move(h)); }
    app& add(std::string_view method, std::string_view pattern, handler h) {
        routes_.add(method, pattern, std::move(h));
        return *this;
    }

    // Routes are relative to `prefix` ("/api"; "" or "/" for none).
    app& mount(std::string_view prefix) {
        while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
        if (!prefix.empty() && prefix.front() != '/')
            throw std::invalid_argument("mount: '" + std::string(prefix) + "' does not start with '/'");
        mount_ = std::string(prefix);
        return *this;
    }

    // A worker pool owned by the app, destroyed (joined) at shutdown before
    // anything else the app holds.
    worker_pool& make_pool(std::size_t threads, std::size_t max_queued) {
        pools_.push_back(std::make_unique<worker_pool>(threads, max_queued));
        return *pools_.back();
    }

    // Runs `f` at shutdown, after the pools are joined, in reverse order.
    void on_shutdown(std::function<void()> f) { shutdown_.push_back(std::move(f)); }

    // One request (the entry point's handle()). Loop thread.
    int handle(fcgid_request* rq, fcgid_response* rs) noexcept {
        request req(rq, limits_);
        response res(rs, req.method() == "HEAD");
        try {
            route(req, res);
        } catch (...) {
            detail::answer_current_exception(req, res);
        }
        if (res.handle() == nullptr) return FCGID_DEFERRED;  // a deferred holds it now
        if (!res.finished()) {
            try {
                res.finish();
            } catch (...) {
                res.fail("finishing the response failed");
            }
        }
        return FCGID_OK;
    }

    ~app() {
        pools_.clear();
        for (auto it = shutdown_.rbegin(); it != shutdown_.rend(); ++it) {
            try {
                (*it)();
            } catch (...) {
                log(log_level::error, "an on_shutdown function threw; ignored");
            }
        }
    }

private:
    void route(request& req, response& res) {
        std::string_view path = req.path();
        if (!mount_.empty()) {
            if (path.substr(0, mount_.size()) != mount_ ||
                (path.size() > mount_.size() && path[mount_.size()] != '/'))
                return res.send(404, "Not Found\n");
            path.remove_prefix(mount_.size());
            if (path.empty()) path = "/";
        }
        const auto m = routes_.match(req.method(), path);
        switch (m.status()) {
            case route_status::found:
                req.set_path_values(m);
                (*m.handler())(req, res);
                return;
            case route_status::not_found:
                return res.send(404, "Not Found\n");
            case route_status::method_not_allowed:
                res.set_header("Allow", m.allow());
                return res.send(405, "Method Not Allowed\n");
        }
    }

    sdk::options options_;
    parse_limits limits_;
    router<handler> routes_;
    std::string mount_;
    std::vector<std::unique_ptr<worker_pool>> pools_;
    std::vector<std::function<void()>> shutdown_;
};

namespace detail {

// The C side of FCGID_APP: one app per loaded plugin.
template <void (*Setup)(app&)>
struct app_entry {
    static int init(const fcgid_option* given, std::size_t count, void** state, char* error,
                    std::size_t error_size) noexcept {
        loop_thread = std::this_thread::get_id();
        try {
            auto a = std::make_unique<app>(options(given, count));
            Setup(*a);
            a->options().reject_unknown();
            *state = a.release();
            return FCGID_OK;
        } catch (const std::exception& e) {
            fcgid::set_error(error, error_size, e.what());
        } catch (...) {
            fcgid::set_error(error, error_size, "setup threw an exception not derived from std::exception");
        }
        return FCGID_EFAIL;
    }
    static int handle(void* state, fcgid_request* rq, fcgid_response* rs) noexcept {
        return static_cast<app*>(state)->handle(rq, rs);
    }
    static void shutdown(void* state) noexcept { delete static_cast<app*>(state); }

    static const fcgid_plugin* entry(std::uint32_t host_abi, const fcgid_host_api* host, const char* name,
                                     const char* version) noexcept {
        if (host == nullptr || FCGID_ABI_VERSION_MAJOR_OF(host_abi) != FCGID_ABI_MAJOR) return nullptr;
        // The struct_size rule (plugin.h): the SDK calls only ABI 1.0
        // members, which every 1.x host has, so the major is all we check.
        detail::host_table = host;
        static fcgid_plugin descriptor{};
        descriptor.struct_size = sizeof(fcgid_plugin);
        descriptor.abi_version = FCGID_ABI_VERSION;
        descriptor.name = name;
        descriptor.version = version;
        descriptor.init = &init;
        descriptor.handle = &handle;
        descriptor.shutdown = &shutdown;
        return &descriptor;
    }
};

}  // namespace detail
}  // namespace fcgid::sdk

// The plugin's entry point, for an app built by `setup` (a function
// void(fcgid::sdk::app&)). NAME and VERSION are string literals for fcgid's log.
#define FCGID_APP(NAME, VERSION, SETUP)                                                               \
    extern "C" FCGID_EXPORT const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,         \
                                                                   const fcgid_host_api* host) {      \
        return ::fcgid::sdk::detail::app_entry<&SETUP>::entry(host_abi_version, host, NAME, VERSION); \
    }

#endif  // FCGID_SDK_APP_HPP
