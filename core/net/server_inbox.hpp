// What connections report to the server: requests finished, connections
// closed.
//
// A connection notes its report here and returns; the server reads the
// reports on a turn of the loop of its own (posted by wake), or at the end
// of a call of its own into its connections. So the server never acts
// (starts a drain, drops a closed connection) while a connection is on the
// stack, and no connection destroys itself through its owner.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace fcgid::net {

class connection;

class server_inbox {
public:
    // `wake` must post, never call the server directly. Finished requests
    // wake the server only when `watch_requests` (a request, memory or
    // 5xx limit needs a look after each); otherwise they are only counted.
    server_inbox(std::function<void()> wake, bool watch_requests)
        : wake_(std::move(wake)), watch_requests_(watch_requests) {}
    server_inbox(const server_inbox&) = delete;
    server_inbox& operator=(const server_inbox&) = delete;

    // ---- Connections ----

    void request_finished(int status) {
        ++finished_;
        if (status >= 500 && status <= 599 && server_error_ == 0) server_error_ = status;
        if (watch_requests_) note();
    }
    void connection_closed(const connection* c) {
        closed_.push_back(c);
        note();
    }

    // ---- The server, reading ----

    // Requests finished since the last call.
    std::uint64_t take_finished() noexcept { return std::exchange(finished_, 0); }
    // The status of the first 5xx answer since the last call; 0 if none.
    int take_server_error() noexcept { return std::exchange(server_error_, 0); }
    // Connections closed since the last call, into `into` (cleared first).
    void take_closed(std::vector<const connection*>& into) noexcept {
        into.clear();
        into.swap(closed_);
    }
    // The server read everything; the next report wakes it again.
    void read() noexcept { awake_ = false; }

private:
    void note() {
        if (awake_) return;
        awake_ = true;
        wake_();
    }

    std::function<void()> wake_;
    bool watch_requests_;
    bool awake_ = false;  // a wake is posted and not yet read
    std::uint64_t finished_ = 0;
    int server_error_ = 0;
    std::vector<const connection*> closed_;
};

}  // namespace fcgid::net
