// sdk_hello: plugins/hello/hello.c written with the C++ SDK, for measuring
// what the SDK costs per request (bench/run.sh, scenario direct-sdk).
//
//   GET /            reads the User-Agent header, then answers as hello.c:
//                    200, Content-Type: text/html, "<h1>Hello, World!</h1>"
//   GET /users/{id}  reads the path value and answers 200, text/html,
//                    "<h1>User ID</h1>" (404 for an id over 64 bytes)
//
// Both answers are built without the heap (a stack buffer for the second),
// so whatever allocates per request is the SDK's (bench/alloc_count counts
// it). Anything else: the router's 404 / 405.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "fcgid/sdk.hpp"

namespace sdk = fcgid::sdk;

namespace {

constexpr std::string_view k_body = "<h1>Hello, World!</h1>";

// What the header read found, kept so that it is not a dead read.
std::atomic<std::size_t> g_agent_bytes{0};

void hello(sdk::request& req, sdk::response& res) {
    if (const auto agent = req.header("User-Agent")) g_agent_bytes.fetch_add(agent->size(), std::memory_order_relaxed);
    res.content_type("text/html").send(k_body);
}

void user(sdk::request& req, sdk::response& res) {
    constexpr std::string_view open = "<h1>User ", close = "</h1>";
    const std::string_view id = req.path_value("id").value_or("");
    if (id.size() > 64) return res.send(404, "Not Found\n");
    std::array<char, open.size() + 64 + close.size()> body;
    std::size_t n = 0;
    for (const std::string_view part : {open, id, close}) {
        std::memcpy(body.data() + n, part.data(), part.size());
        n += part.size();
    }
    res.content_type("text/html").send(std::string_view(body.data(), n));
}

void setup(sdk::app& app) {
    app.get("/", hello);
    app.get("/users/{id}", user);
}

}  // namespace

FCGID_APP("sdk_hello", "0.1.0", setup)
