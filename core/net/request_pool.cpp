#include "net/request_pool.hpp"

#include <utility>

#include "net/request.hpp"

namespace fcgid::net {

request_pool::request_pool(std::size_t capacity) : capacity_(capacity) { spare_.reserve(capacity); }

request_pool::~request_pool() = default;

std::shared_ptr<request> request_pool::take(output_queue& output, std::uint16_t id, bool keep_conn) {
    // From the most recently given back: its memory is the likeliest in cache.
    for (std::size_t i = spare_.size(); i-- > 0;) {
        if (spare_[i].use_count() != 1) continue;
        std::shared_ptr<request> r = std::move(spare_[i]);
        spare_[i] = std::move(spare_.back());
        spare_.pop_back();
        r->reset(output, id, keep_conn);
        return r;
    }
    return std::make_shared<request>(output, id, keep_conn);
}

void request_pool::give_back(std::shared_ptr<request> r) {
    if (spare_.size() < capacity_) spare_.push_back(std::move(r));
}

}  // namespace fcgid::net
