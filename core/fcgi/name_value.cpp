#include "fcgi/name_value.hpp"

#include <cstdint>

#include "fcgi/error.hpp"
#include "fcgi/record.hpp"

namespace fcgid::fcgi {
namespace {

constexpr std::size_t max_short_length = 127;
constexpr std::uint32_t long_length_flag = 0x80000000u;  // the 4-byte form's marker

std::size_t length_size(std::size_t length) noexcept {
    return length <= max_short_length ? 1 : 4;
}

void append_length(std::string& out, std::size_t length) {
    if (length <= max_short_length) {
        out.push_back(static_cast<char>(length));
        return;
    }
    std::uint8_t b[4];
    store_u32(b, static_cast<std::uint32_t>(length) | long_length_flag);
    out.append(reinterpret_cast<const char*>(b), 4);
}

}  // namespace

void name_value_reader::fail(std::error_code& ec) noexcept {
    ec = errc::truncated_name_value;
    rest_ = {};
}

void append_name_value(std::string& out, std::string_view name, std::string_view value) {
    append_length(out, name.size());
    append_length(out, value.size());
    out.append(name);
    out.append(value);
}

std::size_t name_value_size(std::string_view name, std::string_view value) noexcept {
    return length_size(name.size()) + length_size(value.size()) + name.size() + value.size();
}

}  // namespace fcgid::fcgi
