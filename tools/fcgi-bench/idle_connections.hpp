// Connections opened and then left idle, held while the load runs: what a
// busy web server's pool of kept-alive upstream connections looks like to
// the FastCGI server (bench/run.sh's "many idle connections" row).
#pragma once

#include <cstddef>
#include <vector>

#include "endpoint.hpp"
#include "request_encoder.hpp"

namespace fcgi_bench {

class idle_connections {
public:
    // Opens `count` connections, one after the other, each carrying one
    // request with FCGI_KEEP_CONN answered with 200 in full, so that the
    // server has served it and keeps it open. Throws std::runtime_error
    // naming the first failure (the server refused, closed, or took longer
    // than `timeout_s` for one connection).
    idle_connections(const endpoint& to, std::size_t count, const param_list& params, double timeout_s);
    ~idle_connections();
    idle_connections(const idle_connections&) = delete;
    idle_connections& operator=(const idle_connections&) = delete;

    std::size_t size() const noexcept { return fds_.size(); }
    // How many the server closed since they were opened (checked without
    // blocking: a readable idle connection is one the server ended).
    std::size_t closed_by_server() const;

private:
    std::vector<int> fds_;
};

}  // namespace fcgi_bench
