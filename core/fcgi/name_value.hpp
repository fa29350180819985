// Name-value pairs (FastCGI 1.0 section 3.4): the encoding of PARAMS,
// GET_VALUES and GET_VALUES_RESULT bodies. Lengths are 1 byte (< 128) or
// 4 bytes with the high bit set. Pure, bounds-checked, no allocation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace fcgid::fcgi {

// Reads pairs one by one from a COMPLETE block (the caller joins a stream's
// records first, so a pair split across records is never seen in halves).
class name_value_reader {
public:
    explicit name_value_reader(std::string_view block) noexcept : rest_(block) {}

    // Returns true and sets name/value (borrowed from the block) for the next
    // pair; false at the end of the block, or on malformed input with `ec`
    // set to errc::truncated_name_value. Offsets are checked before use.
    bool next(std::string_view& name, std::string_view& value, std::error_code& ec) noexcept;

    // Bytes of the block not read yet.
    std::size_t remaining() const noexcept { return rest_.size(); }

private:
    bool read_length(std::size_t& length) noexcept;

    std::string_view rest_;
};

// Appends one encoded pair to `out`.
void append_name_value(std::string& out, std::string_view name, std::string_view value);

// The encoded size of one pair.
std::size_t name_value_size(std::string_view name, std::string_view value) noexcept;

}  // namespace fcgid::fcgi
