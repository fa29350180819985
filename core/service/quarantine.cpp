#include "service/quarantine.hpp"

namespace fcgid::service {

strike_result quarantine_table::strike(request_signature signature, monotonic_time now) noexcept {
    strike_result result;
    entry* e = find(signature);
    if (e == nullptr) e = claim(signature, now);
    if (e == nullptr) {
        result.recorded = false;
        return result;
    }
    const std::int64_t window = std::chrono::nanoseconds(settings_.window).count();
    if (now.count() - e->window_start.load() > window) {
        // The last strikes are older than the window: count from this one.
        e->window_start.store(now.count());
        e->strikes.store(0);
    }
    result.strikes = e->strikes.fetch_add(1) + 1;
    if (enabled() && result.strikes >= settings_.strikes) {
        const std::int64_t until = now.count() + window;
        e->until.store(until, std::memory_order_release);
        std::int64_t latest = state_->latest_until.load();
        while (latest < until && !state_->latest_until.compare_exchange_weak(latest, until)) {
        }
        result.quarantined = true;
    }
    return result;
}

bool quarantine_table::quarantined(request_signature signature, monotonic_time now) const noexcept {
    if (none_at(now)) return false;
    for (const entry& e : state_->entries)
        if (e.signature.load(std::memory_order_acquire) == signature &&
            e.until.load(std::memory_order_acquire) > now.count())
            return true;
    return false;
}

quarantine_table::entry* quarantine_table::find(request_signature signature) noexcept {
    for (entry& e : state_->entries)
        if (e.signature.load(std::memory_order_acquire) == signature) return &e;
    return nullptr;
}

// An entry nobody needs any more: its strikes and its quarantine are over.
bool quarantine_table::stale(const entry& e, monotonic_time now) const noexcept {
    const std::int64_t window = std::chrono::nanoseconds(settings_.window).count();
    return e.until.load() <= now.count() && now.count() - e.window_start.load() > window;
}

quarantine_table::entry* quarantine_table::claim(request_signature signature, monotonic_time now) noexcept {
    for (entry& e : state_->entries) {
        std::uint64_t current = e.signature.load();
        if (current != 0 && !stale(e, now)) continue;
        if (!e.signature.compare_exchange_strong(current, signature)) continue;
        e.strikes.store(0);
        e.until.store(0);
        e.window_start.store(now.count());
        return &e;
    }
    return nullptr;
}

namespace {

class fnv1a {
public:
    void add(std::string_view bytes) noexcept {
        for (const char c : bytes) mix(static_cast<unsigned char>(c));
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        mix(0xff);
    }
    void add(std::uint64_t value) noexcept {
        for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(value >> (8 * i)));
    }
    std::uint64_t value() const noexcept { return hash_; }

private:
    void mix(unsigned char byte) noexcept {
        hash_ ^= byte;
        hash_ *= 1099511628211ull;
    }
    std::uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace

request_signature signature_of(const request_description& request) noexcept {
    fnv1a hash;
    hash.add(request.method);
    hash.add(request.uri);
    hash.add(request.body_size);
    return hash.value() == 0 ? 1 : hash.value();
}

}  // namespace fcgid::service
