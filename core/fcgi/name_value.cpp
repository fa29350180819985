#include "fcgi/name_value.hpp"

#include <cstdint>

#include "fcgi/error.hpp"
#include "fcgi/record.hpp"

namespace fcgid::fcgi {
namespace {

constexpr std::size_t max_short_length = 127;
constexpr std::uint32_t long_length_flag = 0x80000000u;

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

bool name_value_reader::read_length(std::size_t& length) noexcept {
    if (rest_.empty()) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(rest_.data());
    if ((p[0] & 0x80) == 0) {
        length = p[0];
        rest_.remove_prefix(1);
        return true;
    }
    if (rest_.size() < 4) return false;
    length = load_u32(p) & ~long_length_flag;
    rest_.remove_prefix(4);
    return true;
}

bool name_value_reader::next(std::string_view& name, std::string_view& value,
                             std::error_code& ec) noexcept {
    ec.clear();
    if (rest_.empty()) return false;
    std::size_t name_length = 0;
    std::size_t value_length = 0;
    // Compare lengths against what is left rather than adding them, so a
    // hostile 0x7FFFFFFF length cannot overflow an offset.
    if (!read_length(name_length) || !read_length(value_length) || name_length > rest_.size() ||
        value_length > rest_.size() - name_length) {
        ec = errc::truncated_name_value;
        rest_ = {};
        return false;
    }
    name = rest_.substr(0, name_length);
    value = rest_.substr(name_length, value_length);
    rest_.remove_prefix(name_length + value_length);
    return true;
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
