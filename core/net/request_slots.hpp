// The process-wide count of requests in flight, against --max-requests.
//
// The count has one owner: a request is counted when a slot is taken and
// uncounted when that slot is destroyed, nowhere else. A connection keeps
// each of its requests' slots next to the request, so forgetting a request
// (finished, aborted) and closing the connection both give the slot back by
// dropping it.
#pragma once

#include <cstddef>
#include <utility>

#include "observe/metrics_table.hpp"

namespace fcgid::net {

class request_slots {
public:
    // A taken slot; empty (false) when none was free. Move-only.
    class slot {
    public:
        slot() noexcept = default;
        slot(slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
        slot& operator=(slot&& other) noexcept {
            if (this != &other) {
                give_back();
                owner_ = std::exchange(other.owner_, nullptr);
            }
            return *this;
        }
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot() { give_back(); }

        explicit operator bool() const noexcept { return owner_ != nullptr; }

    private:
        friend class request_slots;
        explicit slot(request_slots& owner) noexcept : owner_(&owner) {}
        void give_back() noexcept {
            if (owner_ != nullptr) std::exchange(owner_, nullptr)->count(-1);
        }
        request_slots* owner_ = nullptr;
    };

    explicit request_slots(std::size_t limit) noexcept : limit_(limit) {}
    request_slots(const request_slots&) = delete;
    request_slots& operator=(const request_slots&) = delete;

    // A slot, or an empty one when `limit` requests are in flight already.
    slot take() noexcept {
        if (in_flight_ >= limit_) return {};
        count(+1);
        return slot(*this);
    }

    std::size_t in_flight() const noexcept { return in_flight_; }

private:
    // Also published in the metrics table, for the status page.
    void count(int change) noexcept {
        in_flight_ += static_cast<std::size_t>(change);
        observe::local()[observe::gauge_id::requests_in_flight].set(in_flight_);
    }

    std::size_t limit_;
    std::size_t in_flight_ = 0;
};

}  // namespace fcgid::net
