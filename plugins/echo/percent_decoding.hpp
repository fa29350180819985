// Percent-decoding of query-string components, without allocating unless the
// caller asks for a decoded copy.
//
// Decoding rules (application/x-www-form-urlencoded, as browsers send it):
//  - "%XY" with two hex digits (either case) becomes the byte 0xXY;
//  - '+' becomes a space;
//  - anything else, including a '%' NOT followed by two hex digits ("%", "%4",
//    "%zz"), is kept literally. Malformed input never fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fcgid::echo {

// Walks the decoded characters of a raw (still encoded) string.
class percent_decoder {
public:
    explicit percent_decoder(std::string_view raw) noexcept : raw_(raw) {}

    bool done() const noexcept { return pos_ >= raw_.size(); }

    // The next decoded character. Call only when !done().
    char next() noexcept;

private:
    std::string_view raw_;
    std::size_t pos_ = 0;
};

// Whether `raw` decodes to exactly `plain`.
bool decoded_equals(std::string_view raw, std::string_view plain) noexcept;

// Appends the decoded form of `raw` to `out` (may throw std::bad_alloc).
void percent_decode_append(std::string_view raw, std::string& out);

// Parses `raw` as a decoded, unsigned decimal number: one or more digits and
// nothing else (no sign, no spaces). A well-formed number larger than `max`
// gives `max` (clamped, however many digits). Anything else gives nullopt.
std::optional<std::uint64_t> decode_decimal(std::string_view raw, std::uint64_t max) noexcept;

} // namespace fcgid::echo
