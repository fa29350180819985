// Finished requests kept for reuse by every connection of the loop, and the
// large body buffers they leave behind.
//
// A request object and its buffers (params, body, header lines) are reused
// rather than made anew, so that serving allocates nothing in steady state.
// Kept per loop rather than per connection, an idle connection holds no
// request at all, and a connection per request (nginx's default) reuses the
// last one's instead of allocating its own.
//
// A recycled request keeps only small buffers (request::kept_buffer_bytes).
// A large body's buffer (an upload of megabytes) is kept here instead, for
// the next large body: a fresh one is a fresh mapping whose every page
// faults in as the body is copied into it, which cost more CPU than reading
// the body (a 32 MiB upload: 8,192 faults). What is kept is bounded in bytes
// and freed after a second in which no large body came, so an idle process
// holds none.
//
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/body_buffer.hpp"

namespace fcgid::net {

class output_queue;
class request;

class request_pool {
public:
    // Keeps up to `capacity` finished requests: about the requests in
    // flight at once in steady state; beyond it they are freed. Keeps up to
    // `body_bytes` of large body buffers.
    request_pool(std::size_t capacity, std::size_t body_bytes);
    ~request_pool();
    request_pool(const request_pool&) = delete;
    request_pool& operator=(const request_pool&) = delete;

    // A request for `id` writing into `output`: a kept one that nothing
    // else holds any more (a plugin's hold, a posted call), else a new one.
    std::shared_ptr<request> take(output_queue& output, std::uint16_t id, bool keep_conn);
    // `r` finished: keep it for reuse if there is room.
    void give_back(std::shared_ptr<request> r);

    // Room in `r`, which has no body bytes yet, for a body of `bytes`: a
    // kept buffer if one fits (at least `bytes`, at most twice), else a
    // fresh one.
    void reserve_body(request& r, std::size_t bytes);
    // Frees the kept body buffers unless one was kept or taken since the
    // last call. The server calls it every second.
    void release_unused_bodies() noexcept;

    std::size_t kept() const noexcept { return spare_.size(); }
    std::size_t kept_body_bytes() const noexcept { return body_bytes_; }

private:
    void keep_body_of(request& r) noexcept;

    std::size_t capacity_;
    std::vector<std::shared_ptr<request>> spare_;
    std::size_t body_bytes_limit_;
    std::size_t body_bytes_ = 0;    // capacity of the buffers in spare_bodies_
    std::vector<body_buffer> spare_bodies_;
    bool bodies_used_ = false;      // since the last release_unused_bodies()
};

}  // namespace fcgid::net
