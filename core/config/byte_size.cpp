#include "config/byte_size.hpp"

#include <limits>

namespace fcgid::config {

std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept {
    std::uint64_t value = 0;
    std::size_t i = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (max - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    if (i == 0) return std::nullopt;

    std::string_view suffix = text.substr(i);
    if (suffix.size() == 2 && (suffix[1] == 'b' || suffix[1] == 'B')) suffix.remove_suffix(1);
    if (suffix.size() > 1) return std::nullopt;

    unsigned shift = 0;
    if (!suffix.empty()) {
        switch (suffix[0]) {
            case 'k': case 'K': shift = 10; break;
            case 'm': case 'M': shift = 20; break;
            case 'g': case 'G': shift = 30; break;
            default: return std::nullopt;
        }
    }
    if (value > (max >> shift)) return std::nullopt;
    return value << shift;
}

double to_mib(std::uint64_t bytes) noexcept {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace fcgid::config
