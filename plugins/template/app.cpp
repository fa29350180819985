// A fcgid plugin on the C++ SDK: copy this directory and make it yours. In one
// file, what a web app needs: a JSON API with a path parameter, an HTML form
// with a file upload, and slow work kept off fcgid's loop.
//
//   GET  /                "hello from app"
//   GET  /hello/{name}    "hello, NAME" (?greeting=hi, or --plugin-option greeting=hi)
//   GET  /api/notes/{id}  the note as JSON, or 404 {"error": ...}
//   POST /api/notes       {"text": "..."}: 201, Location, the note; bad JSON: 400 with the reason
//   GET  /form            an HTML form: a title and a file
//   POST /form            the multipart upload: the title, the file's name and size
//   GET  /report?ms=N     slow work on a worker pool: the loop goes on serving meanwhile
//
// Anything else: 404; another method on these paths: 405 with Allow. The
// SDK's headers document the rest (fcgid/sdk/app.hpp, request.hpp, response.hpp).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fcgid/sdk.hpp"
#include "fcgid/sdk/json.hpp"

namespace sdk = fcgid::sdk;
using json = nlohmann::json;

namespace {

// The notes, shared by the loop and the pool's threads: hence the mutex.
struct notes {
    std::mutex mutex;
    std::map<long, std::string> text;
    long next_id = 1;
};

const char form_page[] = R"(<!doctype html><title>Upload</title>
<form method="post" enctype="multipart/form-data">
  <input name="title" placeholder="title"> <input type="file" name="file"> <button>Send</button>
</form>
)";

void setup(sdk::app& app) {
    // --plugin-option greeting=hi, threads=8; an unknown option stops fcgid at startup.
    const std::string greeting = app.options().get<std::string>("greeting", "hello");
    sdk::worker_pool& pool = app.make_pool(app.options().get<unsigned>("threads", 4), 256);
    auto store = std::make_shared<notes>();

    app.get("/", [](sdk::request&, sdk::response& res) { res.send(200, "hello from app\n"); });
    app.get("/hello/{name}", [greeting](sdk::request& req, sdk::response& res) {
        const std::string word(req.query_value("greeting").value_or(greeting));
        res.send(200, word + ", " + std::string(*req.path_value("name")) + "\n");
    });

    app.get("/api/notes/{id}", [store](sdk::request& req, sdk::response& res) {
        const long id = std::atol(std::string(*req.path_value("id")).c_str());
        const std::lock_guard lock(store->mutex);
        const auto it = store->text.find(id);
        if (it == store->text.end()) return res.json(json{{"error", "no such note"}}, 404);
        res.json(json{{"id", id}, {"text", it->second}});
    });
    app.post("/api/notes", [store](sdk::request& req, sdk::response& res) {
        const json in = req.json();  // not JSON: 400 with the parser's reason
        if (!in.is_object() || !in.contains("text") || !in["text"].is_string())
            throw sdk::http_error(400, R"(expected {"text": "..."})");
        const std::lock_guard lock(store->mutex);
        const long id = store->next_id++;
        store->text[id] = in["text"];
        res.set_header("Location", "/api/notes/" + std::to_string(id));
        res.json(json{{"id", id}, {"text", in["text"]}}, 201);
    });

    app.get("/form", [](sdk::request&, sdk::response& res) { res.send(200, form_page, "text/html; charset=utf-8"); });
    app.post("/form", [](sdk::request& req, sdk::response& res) {
        const sdk::form_part* file = req.multipart().find("file");  // not multipart: 400
        std::string out = "title: " + std::string(req.form_value("title").value_or("")) + "\n";
        if (file != nullptr)
            out += "file: " + std::string(file->filename.value_or("")) + ", " + std::to_string(file->data.size()) +
                   " bytes\n";
        res.send(200, out);
    });

    // A handler that blocks (a slow query, a remote call) runs on the pool.
    app.get("/report", sdk::on_pool(pool, [](sdk::request& req, sdk::response& res) {
        const int ms = std::clamp(std::atoi(std::string(req.query_value("ms").value_or("100")).c_str()), 0, 10'000);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        res.send(200, "report ready after " + std::to_string(ms) + " ms\n");
    }));
}

}  // namespace

// The plugin's entry point: its name and version for fcgid's log, and setup.
FCGID_APP("app", "1.0.0", setup)
