// pool_sleep: slow work off the loop, for the benchmark's "slow work" row.
//
//   GET /       waits 1 ms on a pool thread (a database call), then answers
//               200 "done": the response is completed from that thread
//   GET /loop   answers the same "done" on the loop, at once: the same
//               plugin's cost per request without the pool, for comparing
//               the server CPU a pool-completed request takes
//
// --plugin-option threads=N (default 32) and sleep_us=N (default 1000). The
// ideal rate of GET / is threads x 1e6 / sleep_us requests a second.
#include <chrono>
#include <string_view>
#include <thread>

#include "fcgid/sdk.hpp"

namespace sdk = fcgid::sdk;

namespace {

constexpr std::string_view k_body = "done\n";

void setup(sdk::app& app) {
    const int threads = app.options().get<int>("threads", 32);
    const std::chrono::microseconds wait(app.options().get<int>("sleep_us", 1000));
    // Room for every connection of the run to wait: a request is never
    // answered 503 for want of a queue slot.
    sdk::worker_pool& pool = app.make_pool(static_cast<std::size_t>(threads), 4096);
    app.get("/", sdk::on_pool(pool, [wait](sdk::request&, sdk::response& res) {
        std::this_thread::sleep_for(wait);
        res.content_type("text/plain").send(k_body);
    }));
    app.get("/loop", [](sdk::request&, sdk::response& res) { res.content_type("text/plain").send(k_body); });
}

}  // namespace

FCGID_APP("pool_sleep", "0.1.0", setup)
