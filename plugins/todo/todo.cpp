// todo: a JSON API on the fcgid C++ SDK, the example to copy for a REST
// service.
//
//   GET    /todos       200 [{"id":1,"title":"...","done":false}, ...], by id
//   POST   /todos       {"title":S, "done"?:B}: 201, Location: /todos/{id}, the todo
//   GET    /todos/{id}  200 the todo, or 404 {"error":"no todo 7"}
//   PUT    /todos/{id}  {"title"?:S, "done"?:B}: 200 the todo, 404 or 400
//   DELETE /todos/{id}  204, or 404
//
// Errors are JSON too, {"error":"..."}: 400 for a body that is not JSON, not
// an object, or has a field of the wrong type. The SDK answers a path no
// route has with 404, a known path with another method with 405 and Allow,
// and HEAD with the GET route's headers.
//
//   fcgid run --plugin todo.so --port 5000 --plugin-option seed=100
//
// Options (--plugin-option KEY=VALUE):
//   threads=4   the threads that run the writes (default 4)
//   seed=100    start with todos 1..100, titled "todo N" (default 0)
//   mount=/api  routes below /api: /api/todos... (read by the SDK)
//
// THREADS. Reads answer on fcgid's loop thread, which must never block. The
// writes run on a worker pool, as a real app's database writes would: they
// may block their thread, never the loop. Both share the store, so a mutex
// guards it.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fcgid/sdk.hpp"
#include "fcgid/sdk/json.hpp"

namespace {

namespace sdk = fcgid::sdk;
// Keeps keys in the order written, so a todo prints as {"id","title","done"}.
using json = nlohmann::ordered_json;

struct todo {
    std::int64_t id = 0;
    std::string title;
    bool done = false;
};

json as_json(const todo& t) { return {{"id", t.id}, {"title", t.title}, {"done", t.done}}; }

// The todos, in memory; a database in a real app. Every member locks: the
// loop thread and the pool's threads call them concurrently.
class todo_store {
public:
    json list() const {
        std::lock_guard lock(mutex_);
        json out = json::array();
        for (const auto& [id, t] : todos_) out.push_back(as_json(t));  // a std::map: sorted by id
        return out;
    }
    std::optional<todo> find(std::int64_t id) const {
        std::lock_guard lock(mutex_);
        const auto it = todos_.find(id);
        return it == todos_.end() ? std::nullopt : std::optional(it->second);
    }
    todo add(std::string title, bool done) {
        std::lock_guard lock(mutex_);
        const std::int64_t id = next_id_++;
        return todos_[id] = todo{id, std::move(title), done};
    }
    // Changes the fields given; nullopt when there is no such todo.
    std::optional<todo> update(std::int64_t id, std::optional<std::string> title, std::optional<bool> done) {
        std::lock_guard lock(mutex_);
        const auto it = todos_.find(id);
        if (it == todos_.end()) return std::nullopt;
        if (title) it->second.title = std::move(*title);
        if (done) it->second.done = *done;
        return it->second;
    }
    bool remove(std::int64_t id) {
        std::lock_guard lock(mutex_);
        return todos_.erase(id) == 1;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::int64_t, todo> todos_;
    std::int64_t next_id_ = 1;
};

sdk::http_error no_todo(std::string_view id) { return sdk::http_error(404, "no todo " + std::string(id)); }

// The route's {id} as a number. One that is not a number names no todo: 404.
std::int64_t id_of(const sdk::request& req) {
    const std::string_view text = *req.path_value("id");
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size()) throw no_todo(text);
    return id;
}

// The fields of a POST or PUT body, type-checked; absent ones are nullopt.
struct todo_fields {
    std::optional<std::string> title;
    std::optional<bool> done;
};

todo_fields fields_of(const sdk::request& req) {
    const nlohmann::json in = req.json();  // http_error 400 with the parser's reason if malformed
    if (!in.is_object()) throw sdk::http_error(400, "expected a JSON object");
    todo_fields f;
    if (const auto it = in.find("title"); it != in.end()) {
        if (!it->is_string()) throw sdk::http_error(400, "\"title\" must be a string");
        f.title = it->get<std::string>();
    }
    if (const auto it = in.find("done"); it != in.end()) {
        if (!it->is_boolean()) throw sdk::http_error(400, "\"done\" must be true or false");
        f.done = it->get<bool>();
    }
    return f;
}

// Wraps a handler so that an http_error it throws (its own 404, or the
// SDK's 400 for a malformed body) is answered as {"error": "..."} rather
// than as the SDK's plain text. Any other exception still becomes a 500.
template <class Handler>
auto json_errors(Handler handler) {
    return [handler = std::move(handler)](sdk::request& req, sdk::response& res) {
        try {
            handler(req, res);
        } catch (const sdk::http_error& e) {
            res.json(json{{"error", e.what()}}, e.status());
        }
    };
}

void setup(sdk::app& app) {
    const auto threads = app.options().get<std::size_t>("threads", 4);
    const auto seed = app.options().get<std::int64_t>("seed", 0);

    // Shared by the handlers below (each holds a copy of the pointer).
    auto store = std::make_shared<todo_store>();
    for (std::int64_t i = 1; i <= seed; ++i) store->add("todo " + std::to_string(i), false);

    // The writes' threads. With 1024 writes already waiting, the SDK answers
    // 503 with Retry-After rather than queueing more.
    sdk::worker_pool& writes = app.make_pool(threads, 1024);

    // ---- Reads: on the loop thread, quick ----

    app.get("/todos", [store](sdk::request&, sdk::response& res) { res.json(store->list()); });

    app.get("/todos/{id}", json_errors([store](sdk::request& req, sdk::response& res) {
        const auto t = store->find(id_of(req));
        if (!t) throw no_todo(*req.path_value("id"));
        res.json(as_json(*t));
    }));

    // ---- Writes: on the pool (sdk::on_pool defers the response, queues the
    // handler and returns; a pool thread runs it and the answer goes out) ----

    app.post("/todos", sdk::on_pool(writes, json_errors([store](sdk::request& req, sdk::response& res) {
        todo_fields in = fields_of(req);
        if (!in.title) throw sdk::http_error(400, "missing \"title\"");
        const todo t = store->add(std::move(*in.title), in.done.value_or(false));
        // req.path() is the full path, with the mount: "/api/todos" under /api.
        res.set_header("Location", std::string(req.path()) + "/" + std::to_string(t.id));
        res.json(as_json(t), 201);
    })));

    app.put("/todos/{id}", sdk::on_pool(writes, json_errors([store](sdk::request& req, sdk::response& res) {
        const std::int64_t id = id_of(req);
        todo_fields in = fields_of(req);
        const auto t = store->update(id, std::move(in.title), in.done);
        if (!t) throw no_todo(*req.path_value("id"));
        res.json(as_json(*t));
    })));

    app.del("/todos/{id}", sdk::on_pool(writes, json_errors([store](sdk::request& req, sdk::response& res) {
        if (!store->remove(id_of(req))) throw no_todo(*req.path_value("id"));
        res.status(204).finish();
    })));
}

}  // namespace

// The plugin's entry point: the ABI checks, init (setup above, then the
// --plugin-option check), handle and shutdown.
FCGID_APP("todo", "1.0.0", setup)
