// Name-value pairs (FastCGI 1.0 section 3.4): the encoding of PARAMS,
// GET_VALUES and GET_VALUES_RESULT bodies. Lengths are 1 byte (< 128) or
// 4 bytes with the high bit set. Pure, bounds-checked, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "fcgi/record.hpp"

namespace fcgid::fcgi {

// Reads pairs one by one from a COMPLETE block (the caller joins a stream's
// records first, so a pair split across records is never seen in halves).
// Inline: it runs for every param of every request, and the common pair
// (two 1-byte lengths) is a handful of instructions.
class name_value_reader {
public:
    explicit name_value_reader(std::string_view block) noexcept : rest_(block) {}

    // Returns true and sets name/value (borrowed from the block) for the next
    // pair, leaving `ec` as it was. Returns false at the end of the block
    // with `ec` cleared, or on malformed input with `ec` set to
    // errc::truncated_name_value (and nothing more is read). Offsets are
    // checked before use.
    bool next(std::string_view& name, std::string_view& value, std::error_code& ec) noexcept {
        if (rest_.empty()) {
            ec.clear();
            return false;
        }
        std::size_t name_length = 0;
        std::size_t value_length = 0;
        // Compare lengths against what is left rather than adding them, so a
        // hostile 0x7FFFFFFF length cannot overflow an offset.
        if (!read_length(name_length) || !read_length(value_length) || name_length > rest_.size() ||
            value_length > rest_.size() - name_length) {
            fail(ec);
            return false;
        }
        name = std::string_view(rest_.data(), name_length);
        value = std::string_view(rest_.data() + name_length, value_length);
        rest_.remove_prefix(name_length + value_length);
        return true;
    }

    // Bytes of the block not read yet.
    std::size_t remaining() const noexcept { return rest_.size(); }

private:
    // One length: 1 byte below 128, else 4 bytes with the high bit set.
    bool read_length(std::size_t& length) noexcept {
        if (rest_.empty()) return false;
        const auto* p = reinterpret_cast<const std::uint8_t*>(rest_.data());
        if ((p[0] & 0x80) == 0) {
            length = p[0];
            rest_.remove_prefix(1);
            return true;
        }
        if (rest_.size() < 4) return false;
        length = load_u32(p) & 0x7FFFFFFFu;
        rest_.remove_prefix(4);
        return true;
    }
    void fail(std::error_code& ec) noexcept;

    std::string_view rest_;
};

// Appends one encoded pair to `out`.
void append_name_value(std::string& out, std::string_view name, std::string_view value);

// The encoded size of one pair.
std::size_t name_value_size(std::string_view name, std::string_view value) noexcept;

}  // namespace fcgid::fcgi
