// sdk_probe.so: an app on the C++ SDK (include/fcgid/sdk.hpp) with one route
// per behaviour tests/integration/sdk_test.cpp checks through the real
// daemon: what a request looks like, headers held until the body, errors
// and exceptions, deferred responses dropped or aborted, the worker pool's
// bound. --plugin-option threads=N and queue=N size the pool (1 and 1).
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "fcgid/sdk.hpp"

namespace sdk = fcgid::sdk;

namespace {

std::string value_or_none(std::optional<std::string_view> v) { return v ? std::string(*v) : "(none)"; }

int ms_of(const sdk::request& req) { return std::stoi(std::string(req.query_value("ms").value_or("0"))); }

// Deferred responses held until the client aborts them (loop thread only).
std::map<std::string, sdk::deferred> held;

void setup(sdk::app& app) {
    const auto threads = app.options().get<unsigned>("threads", 1);
    const auto queue = app.options().get<unsigned>("queue", 1);
    sdk::worker_pool& pool = app.make_pool(threads, queue);

    app.get("/request", [](sdk::request& req, sdk::response& res) {
        res.content_type("text/plain");
        std::string out;
        out += "method=" + std::string(req.method()) + "\n";
        out += "target=" + std::string(req.target()) + "\n";
        out += "path=" + std::string(req.path()) + "\n";
        out += "q=" + value_or_none(req.query_value("q")) + "\n";
        out += "q-count=" + std::to_string(req.query().count("q")) + "\n";
        out += "user-agent=" + value_or_none(req.header("user-agent")) + "\n";
        out += "x-custom-thing=" + value_or_none(req.header("X-CUSTOM-THING")) + "\n";
        out += "cookie-a=" + value_or_none(req.cookie("a")) + "\n";
        out += "remote=" + std::string(req.remote_addr()) + ":" + std::to_string(req.remote_port()) + "\n";
        out += "https=" + std::string(req.https() ? "yes" : "no") + "\n";
        res.send(out);
    });
    app.get("/items/{id}/tags/{tag...}", [](sdk::request& req, sdk::response& res) {
        res.send("id=" + value_or_none(req.path_value("id")) + " tag=" + value_or_none(req.path_value("tag")));
    });
    app.post("/form", [](sdk::request& req, sdk::response& res) {
        std::string out = "name=" + value_or_none(req.form_value("name")) + "\n";
        if (req.content_type().find("multipart/") == 0)
            for (const sdk::form_part& part : req.multipart())
                out += "part " + std::string(part.name) + " file=" + value_or_none(part.filename) +
                       " size=" + std::to_string(part.data.size()) + "\n";
        res.send(out);
    });
    app.get("/headers", [](sdk::request&, sdk::response& res) {
        res.header("X-Replaced", "first");
        res.set_header("x-replaced", "second");
        res.header("X-Twice", "1").header("X-Twice", "2");
        res.cookie({"session", "abc 123", "/", "", 3600, std::nullopt, true, true, sdk::same_site_policy::lax});
        res.status(201).send("headers\n");
    });
    app.get("/redirect", [](sdk::request&, sdk::response& res) { res.redirect("/elsewhere", 308); });
    app.get("/throw", [](sdk::request&, sdk::response&) -> void { throw std::runtime_error("probe exploded"); });
    app.get("/http-error", [](sdk::request&, sdk::response&) -> void { throw sdk::http_error(418, "short and stout"); });
    app.get("/throw-prepared", [](sdk::request&, sdk::response& res) {
        res.status(201).content_type("application/json").cookie({"session", "s1"});
        throw std::runtime_error("exploded after preparing");
    });
    app.get("/unauthorized", [](sdk::request&, sdk::response& res) {
        res.content_type("application/json").set_header("WWW-Authenticate", "Bearer");
        throw sdk::http_error(401, "token expired");
    });
    app.get("/throw-after-body", [](sdk::request&, sdk::response& res) {
        res.write("partial ");
        throw std::runtime_error("exploded mid-body");
    });
    app.get("/bad-cookie", [](sdk::request&, sdk::response& res) {
        res.cookie({"bad name", "v"});  // not a token: invalid_argument, answered 500
    });
    app.get("/thread", [](sdk::request& req, sdk::response& res) {
        std::thread([later = sdk::defer(req, res), ms = ms_of(req)]() mutable {
            // The simulated work the route is about, not a wait for an event.
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            later.res().send("from a thread after " + std::to_string(ms) + " ms\n");
        }).detach();
    });
    app.get("/drop", [](sdk::request& req, sdk::response& res) {
        std::thread([later = sdk::defer(req, res)]() mutable { /* forgets to answer */ }).detach();
    });
    app.get("/hold", [](sdk::request& req, sdk::response& res) {
        const std::string key(req.target());
        held.emplace(key, sdk::defer(req, res, [key] {
                         sdk::log(sdk::log_level::info, "sdk_probe: abort callback for " + key);
                         held.erase(key);  // drops the deferred inside its own abort callback
                     }));
        // Tells a test the response is held now: an abort will find it.
        sdk::log(sdk::log_level::info, "sdk_probe: holding " + key);
    });
    app.get("/pool", sdk::on_pool(pool, [](sdk::request& req, sdk::response& res) {
                sdk::log(sdk::log_level::info, "sdk_probe: pool job started for " + std::string(req.target()));
                // The simulated work that keeps the pool busy, not a wait for an event.
                std::this_thread::sleep_for(std::chrono::milliseconds(ms_of(req)));
                res.send("pool done\n");
            }));
    app.get("/pool-stream", sdk::on_pool(pool, [](sdk::request& req, sdk::response& res) {
                const int kib = std::stoi(std::string(req.query_value("kib").value_or("1")));
                const std::string chunk(1024, 'x');
                for (int i = 0; i < kib && res.write(chunk); ++i) {
                }
            }));
    app.on_shutdown([] { held.clear(); });
}

}  // namespace

FCGID_APP("sdk_probe", "0.1.0", setup)
