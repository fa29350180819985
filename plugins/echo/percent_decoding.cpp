#include "percent_decoding.hpp"

namespace fcgid::echo {
namespace {

// The value of a hex digit, or -1.
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

} // namespace

char percent_decoder::next() noexcept {
    const char c = raw_[pos_++];
    if (c == '+') {
        return ' ';
    }
    if (c == '%' && raw_.size() - pos_ >= 2) {
        const int hi = hex_value(raw_[pos_]);
        const int lo = hex_value(raw_[pos_ + 1]);
        if (hi >= 0 && lo >= 0) {
            pos_ += 2;
            return static_cast<char>(hi * 16 + lo);
        }
    }
    return c; // also a malformed escape: keep the '%' and go on after it
}

bool decoded_equals(std::string_view raw, std::string_view plain) noexcept {
    percent_decoder decoder(raw);
    for (const char expected : plain) {
        if (decoder.done() || decoder.next() != expected) {
            return false;
        }
    }
    return decoder.done();
}

void percent_decode_append(std::string_view raw, std::string& out) {
    // Decoding only shrinks, so one reservation is enough.
    out.reserve(out.size() + raw.size());
    for (percent_decoder decoder(raw); !decoder.done();) {
        out.push_back(decoder.next());
    }
}

std::optional<std::uint64_t> decode_decimal(std::string_view raw, std::uint64_t max) noexcept {
    std::uint64_t value = 0;
    bool any_digit = false;
    bool clamped = false;
    for (percent_decoder decoder(raw); !decoder.done();) {
        const char c = decoder.next();
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        any_digit = true;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        // Keep scanning after clamping: a later non-digit still rejects it.
        if (clamped || digit > max || value > (max - digit) / 10) {
            clamped = true;
        } else {
            value = value * 10 + digit;
        }
    }
    if (!any_digit) {
        return std::nullopt;
    }
    return clamped ? max : value;
}

} // namespace fcgid::echo
