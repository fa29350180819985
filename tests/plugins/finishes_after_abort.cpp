// finishes_after_abort.so: with a query string (delay_ms=N, default 300),
// handle() registers an abort callback that does NOTHING (it only logs
// "finishes_after_abort: abort callback ran and did nothing") and returns
// FCGID_DEFERRED; N ms later its own thread writes "late" and calls
// response_finish, whether or not the request was aborted (or timed out) in
// between. plugin.h allows that (finish after an abort only releases the
// handle); the host must not crash, send anything more, or log a failure.
// The thread logs "finishes_after_abort: finished <REQUEST_URI> from the
// thread" once its calls are made, and handle() logs "finishes_after_abort:
// holding <REQUEST_URI>" before it returns. Without a query string: 200 with the
// body echoed (plain_answer.h).
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fcgid/plugin.hpp"
#include "plain_answer.h"

namespace {

using clock_type = std::chrono::steady_clock;

const fcgid_host_api* g_host = nullptr;

struct late_finish {
    fcgid_response* response;
    clock_type::time_point when;
    std::string uri;
};

class late_finisher {
public:
    void start() { thread_ = std::thread([this] { run(); }); }

    void stop() noexcept {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
        // shutdown() runs on the loop thread: release what is left here.
        for (const late_finish& f : queue_) g_host->response_release(f.response);
        queue_.clear();
    }

    void add(late_finish f) {
        {
            const std::lock_guard lock(mutex_);
            queue_.push_back(std::move(f));
        }
        wake_.notify_one();
    }

private:
    void run() noexcept {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            if (queue_.empty()) {
                wake_.wait(lock);
                continue;
            }
            auto next = queue_.begin();
            for (auto it = queue_.begin(); it != queue_.end(); ++it)
                if (it->when < next->when) next = it;
            if (const auto when = next->when; clock_type::now() < when) {
                // A copy: add() may reallocate queue_ while we wait unlocked.
                wake_.wait_until(lock, when);
                continue;
            }
            late_finish f = std::move(*next);
            queue_.erase(next);
            lock.unlock();
            // From a plugin thread both calls are handed to the loop and
            // return FCGID_OK at once; a failure would show in the log.
            g_host->response_write(f.response, "late", 4);
            g_host->response_finish(f.response);
            fcgid::log(g_host, FCGID_LOG_INFO,
                       "finishes_after_abort: finished " + f.uri + " from the thread");
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<late_finish> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

late_finisher* g_finisher = nullptr;

void on_abort_do_nothing(void* /*user_data*/, fcgid_response* /*response*/) noexcept {
    fcgid::log(g_host, FCGID_LOG_INFO, "finishes_after_abort: abort callback ran and did nothing");
}

int after_abort_init(const fcgid_option* /*options*/, std::size_t /*count*/, void** /*state*/,
                     char* error, std::size_t error_size) noexcept {
    return fcgid::guard_init(g_host, error, error_size, [] {
        g_finisher = new late_finisher;
        g_finisher->start();
        return FCGID_OK;
    });
}

int after_abort_handle(void* /*state*/, fcgid_request* request, fcgid_response* response) noexcept {
    return fcgid::guard(g_host, [&] {
        const char* query = plain_query(g_host, request);
        if (query[0] == '\0') return plain_answer(g_host, request, response);
        long delay_ms = 300;
        if (std::strncmp(query, "delay_ms=", 9) == 0) delay_ms = std::strtol(query + 9, nullptr, 10);
        const int rc = g_host->response_on_abort(response, on_abort_do_nothing, nullptr);
        if (rc != FCGID_OK) return rc;
        std::string uri = plain_uri(g_host, request);
        const std::string holding = "finishes_after_abort: holding " + uri;
        g_finisher->add({response, clock_type::now() + std::chrono::milliseconds(delay_ms), std::move(uri)});
        // Tells a test the response is held, its abort callback in place.
        fcgid::log(g_host, FCGID_LOG_INFO, holding);
        return FCGID_DEFERRED;
    });
}

void after_abort_shutdown(void* /*state*/) noexcept {
    if (g_finisher == nullptr) return;
    g_finisher->stop();
    delete g_finisher;
    g_finisher = nullptr;
}

}  // namespace

FCGID_PLUGIN(g_host, "finishes_after_abort", "0.1.0", after_abort_init, after_abort_handle,
             after_abort_shutdown);
