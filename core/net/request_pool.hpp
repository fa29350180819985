// Finished requests kept for reuse by every connection of the loop.
//
// A request object and its buffers (params, body, header lines) are reused
// rather than made anew, so that serving allocates nothing in steady state.
// Kept per loop rather than per connection, an idle connection holds no
// request at all, and a connection per request (nginx's default) reuses the
// last one's instead of allocating its own.
//
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace fcgid::net {

class output_queue;
class request;

class request_pool {
public:
    // Keeps up to `capacity` finished requests: about the requests in
    // flight at once in steady state; beyond it they are freed.
    explicit request_pool(std::size_t capacity);
    ~request_pool();
    request_pool(const request_pool&) = delete;
    request_pool& operator=(const request_pool&) = delete;

    // A request for `id` writing into `output`: a kept one that nothing
    // else holds any more (a plugin's hold, a posted call), else a new one.
    std::shared_ptr<request> take(output_queue& output, std::uint16_t id, bool keep_conn);
    // `r` finished: keep it for reuse if there is room.
    void give_back(std::shared_ptr<request> r);

    std::size_t kept() const noexcept { return spare_.size(); }

private:
    std::size_t capacity_;
    std::vector<std::shared_ptr<request>> spare_;
};

}  // namespace fcgid::net
