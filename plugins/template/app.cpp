// A fcgid plugin on the C++ SDK (fcgid/sdk.hpp): copy it and add routes.
//
//   GET /            "hello from app"
//   GET /hello/{name} "hello, NAME" (?greeting=hi changes the word)
//
// Everything else: 404; another method on these paths: 405 with Allow.
// The SDK's headers say the rest: fcgid/sdk/app.hpp (routes, options,
// mount), request.hpp, response.hpp, and worker_pool.hpp for handlers that
// block (they must not block fcgid's loop thread).
#include <string>

#include "fcgid/sdk.hpp"

namespace sdk = fcgid::sdk;

static void setup(sdk::app& app) {
    // --plugin-option greeting=hi; an unknown option stops fcgid at startup.
    const std::string greeting = app.options().get<std::string>("greeting", "hello");

    app.get("/", [](sdk::request&, sdk::response& res) { res.send(200, "hello from app\n"); });

    app.get("/hello/{name}", [greeting](sdk::request& req, sdk::response& res) {
        const std::string word(req.query_value("greeting").value_or(greeting));
        res.send(200, word + ", " + std::string(*req.path_value("name")) + "\n");
    });
}

// The plugin's entry point: its name and version for fcgid's log, and setup.
FCGID_APP("app", "1.0.0", setup)
