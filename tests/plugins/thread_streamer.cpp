// thread_streamer.so: with `mib=N` as the query string, handle() returns
// FCGID_DEFERRED and a thread of the plugin's own writes N MiB of body in
// 64 KiB chunks ('a' + i % 26 for body byte i, echo's bytes=N pattern), then
// finishes the response. It ignores backpressure on purpose, as a plugin
// written before it mattered would: no response_on_writable, just writes.
// When a write returns FCGID_EABORTED it logs
// "thread_streamer: stopped: aborted after <N> bytes" and releases the
// response. Without a query string: 200 with the body echoed (plain_answer.h).
// Its streaming threads are named "thread_streamer", so that a test can see
// in /proc when one is blocked in a write.
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "fcgid/plugin.hpp"
#include "plain_answer.h"

namespace {

const fcgid_host_api* g_host = nullptr;

constexpr std::size_t chunk_size = 64 * 1024;

// The pattern from any offset is a window into this: byte i is 'a' + i % 26.
struct pattern {
    char bytes[chunk_size + 26];
    pattern() {
        for (std::size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<char>('a' + i % 26);
    }
};
const pattern g_pattern;

void stream(fcgid_response* response, std::uint64_t total) noexcept {
    std::uint64_t written = 0;
    while (written < total) {
        const std::size_t len = total - written < chunk_size ? total - written : chunk_size;
        const int rc = g_host->response_write(response, g_pattern.bytes + written % 26, len);
        if (rc == FCGID_EABORTED) {
            fcgid::log(g_host, FCGID_LOG_INFO,
                       "thread_streamer: stopped: aborted after " + std::to_string(written) + " bytes");
            g_host->response_release(response);
            return;
        }
        if (rc < 0) {
            fcgid::log(g_host, FCGID_LOG_ERROR,
                       "thread_streamer: write failed with " + std::to_string(rc));
            g_host->response_fail(response, "thread_streamer: write failed", 29);
            return;
        }
        written += len;
    }
    g_host->response_finish(response);
}

// One thread per request; finished ones are joined when the next starts,
// the rest in shutdown().
struct job {
    std::thread thread;
    std::atomic<bool> done{false};
};
std::mutex g_jobs_mutex;
std::list<job> g_jobs;

void start_job(fcgid_response* response, std::uint64_t total) {
    const std::lock_guard lock(g_jobs_mutex);
    for (auto it = g_jobs.begin(); it != g_jobs.end();) {
        if (!it->done.load()) {
            ++it;
            continue;
        }
        it->thread.join();
        it = g_jobs.erase(it);
    }
    job& j = g_jobs.emplace_back();
    j.thread = std::thread([&j, response, total] {
        ::pthread_setname_np(::pthread_self(), "thread_streamer");
        stream(response, total);
        j.done.store(true);
    });
}

int streamer_handle(void* /*state*/, fcgid_request* request, fcgid_response* response) noexcept {
    return fcgid::guard(g_host, [&] {
        const char* query = plain_query(g_host, request);
        if (std::strncmp(query, "mib=", 4) != 0) return plain_answer(g_host, request, response);
        const std::uint64_t total = std::strtoull(query + 4, nullptr, 10) * 1024 * 1024;
        const int rc = g_host->response_add_header(response, "Content-Type", 12,
                                                   "application/octet-stream", 24);
        if (rc != FCGID_OK) return rc;
        start_job(response, total);
        return FCGID_DEFERRED;
    });
}

void streamer_shutdown(void* /*state*/) noexcept {
    // Every response still held was aborted before this runs, so each
    // thread's next (or current) write returns FCGID_EABORTED: joining ends.
    const std::lock_guard lock(g_jobs_mutex);
    for (job& j : g_jobs) j.thread.join();
    g_jobs.clear();
}

}  // namespace

FCGID_PLUGIN(g_host, "thread_streamer", "0.1.0", nullptr, streamer_handle, streamer_shutdown);
