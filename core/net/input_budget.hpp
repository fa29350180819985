// How much request input (params and body bytes) a connection may hold.
//
// Two bounds, both owned here: each request's params and body against
// --max-params-size and --max-body-size, and the connection's total across
// multiplexed requests against their sum, so a connection's input memory is
// bounded however many requests it opens. The connection asks before it
// appends, and gives a request's bytes back when it forgets the request.
#pragma once

#include <cstdint>

namespace fcgid::net {

class input_budget {
public:
    input_budget(std::uint64_t max_params_bytes, std::uint64_t max_body_bytes) noexcept
        : max_params_(max_params_bytes), max_body_(max_body_bytes) {}

    // May a request holding `held` params bytes take `more`? Counts them if so.
    bool take_params(std::uint64_t held, std::uint64_t more) noexcept {
        return take(held, more, max_params_);
    }
    // The same for body bytes.
    bool take_body(std::uint64_t held, std::uint64_t more) noexcept {
        return take(held, more, max_body_);
    }
    // Whether take_body(held, more) would succeed, counting nothing.
    bool body_fits(std::uint64_t held, std::uint64_t more) const noexcept {
        return fits(held, more, max_body_);
    }
    // A forgotten request's params and body bytes.
    void give_back(std::uint64_t bytes) noexcept { held_ -= bytes <= held_ ? bytes : held_; }
    // Everything: the connection closed.
    void clear() noexcept { held_ = 0; }

    std::uint64_t held() const noexcept { return held_; }
    std::uint64_t max_body_bytes() const noexcept { return max_body_; }

private:
    bool fits(std::uint64_t held, std::uint64_t more, std::uint64_t per_request) const noexcept {
        if (more > per_request || held > per_request - more) return false;
        return held_ + more <= max_params_ + max_body_;
    }
    bool take(std::uint64_t held, std::uint64_t more, std::uint64_t per_request) noexcept {
        if (!fits(held, more, per_request)) return false;
        held_ += more;
        return true;
    }

    std::uint64_t max_params_;
    std::uint64_t max_body_;
    std::uint64_t held_ = 0;
};

}  // namespace fcgid::net
