// fcgid/sdk/worker_pool.hpp: blocking work off the loop, bounded.
//
//     sdk::worker_pool pool(8, 256);           // 8 threads, at most 256 waiting
//     app.get("/report", sdk::on_pool(pool, [](sdk::request& req, sdk::response& res) {
//         res.send(run_the_slow_query(req));   // may block: this is a pool thread
//     }));
//
// run() defers the response, queues the handler and returns: the loop goes
// on serving while a pool thread runs it. When the handler returns, the
// response is finished if it was not; an exception becomes an answer as on
// the loop (errors.hpp). A request whose client went away before a thread
// took it is dropped without running.
//
// FULL. When `max_queued` handlers already wait, run() answers 503 with
// Retry-After at once, instead of queueing without bound: under overload the
// web server (or a load balancer) gets a clear answer to retry, and fcgid's
// memory stays bounded.
//
// LIFETIME. Destroy the pool before the plugin's shutdown() returns (an app's
// pool is destroyed with the app). It stops taking work, lets the running
// handlers finish (fcgid has aborted their requests by then, so their writes
// return at once) and drops the queued ones.
#ifndef FCGID_SDK_WORKER_POOL_HPP
#define FCGID_SDK_WORKER_POOL_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "fcgid/sdk/deferred.hpp"
#include "fcgid/sdk/errors.hpp"

namespace fcgid::sdk {

class worker_pool {
public:
    worker_pool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
        if (threads == 0) throw std::invalid_argument("worker_pool: 0 threads");
        threads_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    ~worker_pool() {
        std::deque<std::unique_ptr<task>> dropped;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            dropped.swap(queue_);
        }
        wake_.notify_all();
        for (std::thread& t : threads_) t.join();
        // Their deferred responses end here: released (aborted) or 500.
    }
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    // Runs handler(req, res) on a pool thread (see above). Loop thread.
    template <class Handler>
    void run(request& req, response& res, Handler handler) {
        if (!has_room()) {
            res.set_header("Retry-After", "1");
            res.send(503, "Service Unavailable: every worker is busy\n");
            return;
        }
        push(std::make_unique<job<Handler>>(defer(req, res), std::move(handler)));
    }

    // Handlers waiting for a thread now.
    std::size_t queued() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return queue_.size();
    }
    std::size_t threads() const noexcept { return threads_.size(); }

private:
    struct task {
        virtual ~task() = default;
        virtual void run() = 0;
    };

    template <class Handler>
    struct job final : task {
        job(deferred&& d, Handler&& h) : later(std::move(d)), handler(std::move(h)) {}
        void run() override {
            if (later.aborted()) return;  // nobody waits for it: ~deferred releases
            request& req = later.req();
            response& res = later.res();
            try {
                handler(req, res);
                if (!res.finished()) res.finish();
            } catch (...) {
                detail::answer_current_exception(req, res);
            }
        }
        deferred later;
        Handler handler;
    };

    bool has_room() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return queue_.size() < max_queued_ && !stopping_;
    }

    void push(std::unique_ptr<task> t) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.push_back(std::move(t));
        }
        wake_.notify_one();
    }

    void work() {
        for (;;) {
            std::unique_ptr<task> next;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                next = std::move(queue_.front());
                queue_.pop_front();
            }
            next->run();
            next.reset();  // ends the response now, not when the next task comes
        }
    }

    const std::size_t max_queued_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<task>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// A handler that runs `handler` on `pool`: for routes whose work blocks.
template <class Handler>
auto on_pool(worker_pool& pool, Handler handler) {
    return [&pool, handler = std::move(handler)](request& req, response& res) { pool.run(req, res, handler); };
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_WORKER_POOL_HPP
