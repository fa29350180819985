// slow: handlers that wait, on the fcgid C++ SDK; the example to copy when a
// request needs a database, another service or a long computation.
//
//   GET /work?ms=N   blocks a worker pool thread for N ms (a stand-in for a
//                    blocking database call), then answers "slept N ms".
//   GET /later?ms=N  answers N ms later from the app's own timer thread
//                    through a deferred response (a stand-in for an async
//                    client library calling back); when the client goes away
//                    first, the abort callback drops it at once.
//   GET /stats       counters: /work answered and abandoned, /later aborted.
//
// ?id=TEXT is echoed in the answer, "slept 20 ms (id TEXT)", so a client
// sending many requests can tell which answer is whose.
//
//   fcgid run --plugin slow.so --port 5000 --plugin-option threads=16
//
// Options (--plugin-option KEY=VALUE):
//   threads=4    the pool's threads (default 4)
//   queue=1024   requests that may wait for a thread; beyond, 503 (default 1024)
//   ms=10        the wait when the query has no ms= (default 10)
//
// The loop thread never waits: on_pool() and defer() take the response over
// and the handler returns, so fcgid serves other requests meanwhile.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fcgid/sdk.hpp"

namespace {

namespace sdk = fcgid::sdk;
using clock_type = std::chrono::steady_clock;

// Counters for /stats; any thread.
struct counters {
    std::atomic<std::uint64_t> work_answered{0};
    std::atomic<std::uint64_t> work_abandoned{0};  // the client left while we slept
    std::atomic<std::uint64_t> later_aborted{0};   // the abort callback ran
};

// Finishes deferred responses when their time comes, from one thread of its
// own. add() and cancel() may be called from any thread.
class timer_thread {
public:
    timer_thread() : thread_([this] { run(); }) {}
    timer_thread(const timer_thread&) = delete;
    timer_thread& operator=(const timer_thread&) = delete;
    ~timer_thread() { stop(); }

    // A key for add() and cancel().
    std::uint64_t next_key() { return next_key_++; }

    // Sends `body` on `later` at `when`.
    void add(std::uint64_t key, clock_type::time_point when, sdk::deferred later, std::string body) {
        {
            std::lock_guard lock(mutex_);
            entries_.emplace(key, entry{when, std::move(later), std::move(body)});
        }
        wake_.notify_one();
    }

    // Drops the entry `key` now, if it is still waiting: its client left.
    // True if it was.
    bool cancel(std::uint64_t key) {
        sdk::deferred dropped;  // ends (gives the handle back) after the unlock
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(key);
        if (it == entries_.end()) return false;
        dropped = std::move(it->second.later);
        entries_.erase(it);
        return true;
    }

    // Joins the thread; entries still waiting are dropped (at shutdown fcgid
    // has aborted their requests already).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
        entries_.clear();
    }

private:
    struct entry {
        clock_type::time_point when;
        sdk::deferred later;
        std::string body;
    };

    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            // Take what is due; answer it without holding the lock.
            const auto now = clock_type::now();
            auto next = clock_type::time_point::max();
            std::vector<entry> due;
            for (auto it = entries_.begin(); it != entries_.end();) {
                if (it->second.when <= now) {
                    due.push_back(std::move(it->second));
                    it = entries_.erase(it);
                } else {
                    next = std::min(next, it->second.when);
                    ++it;
                }
            }
            if (!due.empty()) {
                lock.unlock();
                for (entry& e : due) {
                    try {
                        e.later.res().send(200, e.body);  // any thread may finish a deferred
                    } catch (const std::exception&) {
                        // Not sent: the deferred, dropped unfinished, answers 500 and logs.
                    }
                }
                due.clear();
                lock.lock();
                continue;
            }
            wake_.wait_until(lock, next);
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::uint64_t, entry> entries_;
    bool stopping_ = false;
    std::uint64_t next_key_ = 0;  // loop thread only
    std::thread thread_;  // last: it starts once everything above exists
};

// ?ms=N, else `fallback`; 400 for anything but 0..60000.
std::chrono::milliseconds ms_of(const sdk::request& req, std::chrono::milliseconds fallback) {
    const auto text = req.query_value("ms");
    if (!text) return fallback;
    unsigned ms = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), ms);
    if (ec != std::errc() || end != text->data() + text->size() || ms > 60000)
        throw sdk::http_error(400, "ms must be a whole number from 0 to 60000");
    return std::chrono::milliseconds(ms);
}

// "slept 20 ms (id 7)\n"
std::string answer(const sdk::request& req, std::chrono::milliseconds ms) {
    std::string out = "slept " + std::to_string(ms.count()) + " ms";
    if (const auto id = req.query_value("id")) out += " (id " + std::string(*id) + ")";
    return out + "\n";
}

void setup(sdk::app& app) {
    const auto threads = app.options().get<std::size_t>("threads", 4);
    const auto queue = app.options().get<std::size_t>("queue", 1024);
    const auto default_ms = app.options().get<std::chrono::milliseconds>("ms", std::chrono::milliseconds(10));

    auto stats = std::make_shared<counters>();
    // Beyond `queue` waiting requests, the SDK answers 503 with Retry-After.
    sdk::worker_pool& pool = app.make_pool(threads, queue);
    // Stopped at shutdown, after the pool; the handlers keep it alive until then.
    auto timer = std::make_shared<timer_thread>();
    app.on_shutdown([timer] { timer->stop(); });

    // On a pool thread: blocking here is fine, the loop goes on. A request
    // whose client left before a thread was free is dropped by the SDK
    // without running.
    app.get("/work", sdk::on_pool(pool, [stats, default_ms](sdk::request& req, sdk::response& res) {
        const auto ms = ms_of(req, default_ms);
        std::this_thread::sleep_for(ms);
        if (res.aborted()) {
            // Nobody waits for the answer; the SDK gives the handle back.
            ++stats->work_abandoned;
            return;
        }
        res.send(200, answer(req, ms));
        ++stats->work_answered;
    }));

    // On the loop thread: defer() takes the request and response over, the
    // handler returns at once, and the timer thread sends the answer later.
    app.get("/later", [stats, timer, default_ms](sdk::request& req, sdk::response& res) {
        const auto ms = ms_of(req, default_ms);
        const std::string body = answer(req, ms);
        const std::uint64_t key = timer->next_key();
        // The abort callback: on the loop thread, at most once, when the web
        // server gives up on the request (its client left). Without it, the
        // timer would still "answer" at the end, into the void. It captures
        // a raw pointer: the timer outlives every entry it holds.
        sdk::deferred later = sdk::defer(req, res, [stats, t = timer.get(), key] {
            if (t->cancel(key)) ++stats->later_aborted;
        });
        timer->add(key, clock_type::now() + ms, std::move(later), body);
    });

    app.get("/stats", [stats](sdk::request&, sdk::response& res) {
        res.send(200, "work_answered " + std::to_string(stats->work_answered) + "\nwork_abandoned " +
                 std::to_string(stats->work_abandoned) + "\nlater_aborted " + std::to_string(stats->later_aborted) +
                 "\n");
    });
}

}  // namespace

FCGID_APP("slow", "1.0.0", setup)
