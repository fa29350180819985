#include "load_generator.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace fcgid_process {
namespace {

const char* kind_name(client_kind kind) {
    switch (kind) {
        case client_kind::keep_alive: return "keep-alive";
        case client_kind::new_connection: return "new-connection";
        case client_kind::delayed: return "delayed";
    }
    return "?";
}

// A body unique to the request, of 0..2047 bytes: a misrouted answer shows.
std::string body_for(client_kind kind, int index, std::uint64_t n) {
    std::string body = std::string(kind_name(kind)) + "-" + std::to_string(index) + "-" + std::to_string(n) + ":";
    const std::size_t extra = (n * 7919) % 2048;
    for (std::size_t i = 0; i < extra; ++i) body.push_back(static_cast<char>('A' + (i + n) % 58));
    return body;
}

// The connection was found closed before any byte of the answer: what a
// draining process does to an idle keep-alive connection.
bool closed_before_answer(const std::string& what) {
    return what.find("(nothing received)") != std::string::npos || what.rfind("send: ", 0) == 0;
}

}  // namespace

load_generator::load_generator(load_options options) : options_(std::move(options)) {
    auto add = [this](client_kind kind, int count) {
        for (int i = 0; i < count; ++i) threads_.emplace_back([this, kind, i] { run_client(kind, i); });
    };
    add(client_kind::keep_alive, options_.keep_alive_clients);
    add(client_kind::new_connection, options_.new_connection_clients);
    add(client_kind::delayed, options_.delayed_clients);
}

load_generator::~load_generator() { stop(); }

void load_generator::stop() {
    stop_ = true;
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
    std::sort(samples_.begin(), samples_.end(),
              [](const load_sample& a, const load_sample& b) { return a.sent < b.sent; });
}

void load_generator::record_failure(std::string what) {
    ++failures_;
    const std::lock_guard lock(mutex_);
    if (first_failures_.size() < 10) first_failures_.push_back(std::move(what));
}

void load_generator::run_client(client_kind kind, int index) {
    const bool keep = kind != client_kind::new_connection;
    const std::string query =
        kind == client_kind::delayed ? "delay_ms=" + std::to_string(options_.delay_ms) : std::string();
    const std::uint8_t flags = keep ? fcgi::keep_conn : 0;
    std::optional<fcgi_connection> conn;
    std::uint64_t n = 0;
    bool retry = false;
    while (!stop_ || retry) {
        retry = false;
        const std::string body = body_for(kind, index, n);
        const auto sent = clock_type::now();
        const bool reused = conn.has_value();
        fcgid_test::response r;
        try {
            if (!conn) conn.emplace(fcgi_connection::connect_tcp(options_.host, options_.port));
            conn->send_request(1, query, body, flags, "POST");
            r = conn->read_response(1);
        } catch (const std::exception& e) {
            conn.reset();
            const std::string what = e.what();
            if (options_.retry_closed_keep_alive && reused && closed_before_answer(what)) {
                ++retries_;
                retry = true;  // the same request again, on a new connection
                continue;
            }
            record_failure(std::string(kind_name(kind)) + " request " + std::to_string(n) + ": " + what);
            ++n;
            continue;
        }
        ++n;
        if (!keep) conn.reset();
        std::string why;
        if (const auto who = classify(r, body, why)) {
            // Kept at once, not at the end: wait_answered() counts them live.
            const std::lock_guard lock(mutex_);
            samples_.push_back({sent, clock_type::now(), kind, *who});
        } else {
            record_failure(std::string(kind_name(kind)) + " request " + std::to_string(n - 1) + ": " + why);
            conn.reset();
        }
    }
}

bool load_generator::wait_answered(std::size_t count, milliseconds timeout,
                                   const std::function<bool(const load_sample&)>& which) {
    return fcgid_test::poll_until(
        [&] {
            const std::lock_guard lock(mutex_);
            if (!which) return samples_.size() >= count;
            return static_cast<std::size_t>(std::count_if(samples_.begin(), samples_.end(), which)) >= count;
        },
        timeout);
}

std::size_t load_generator::count(answered_by who) const {
    return static_cast<std::size_t>(
        std::count_if(samples_.begin(), samples_.end(), [who](const load_sample& s) { return s.by == who; }));
}

std::string load_generator::summary() const {
    auto of_kind = [this](client_kind kind) {
        return std::count_if(samples_.begin(), samples_.end(),
                             [kind](const load_sample& s) { return s.kind == kind; });
    };
    return std::to_string(samples_.size()) + " requests answered (" +
           std::to_string(count(answered_by::echo)) + " by echo, " +
           std::to_string(count(answered_by::hello)) + " by hello; " +
           std::to_string(of_kind(client_kind::keep_alive)) + " keep-alive, " +
           std::to_string(of_kind(client_kind::new_connection)) + " new-connection, " +
           std::to_string(of_kind(client_kind::delayed)) + " delayed), " + std::to_string(failures()) +
           " failed, " + std::to_string(retries()) + " retried after a keep-alive close";
}

}  // namespace fcgid_process
