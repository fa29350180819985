#include "net/request_params.hpp"

#include <algorithm>
#include <cstring>

#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"

namespace fcgid::net {
namespace {

// A recycled request keeps a params buffer up to this size; a larger one is
// freed rather than held by an idle connection.
constexpr std::size_t kept_capacity = 16 * 1024;

// Room for this many params is reserved at once: nginx's fastcgi_params and
// Apache's mod_proxy_fcgi send 20 to 30, so one allocation holds them all.
constexpr std::size_t typical_count = 32;

}  // namespace

std::error_code request_params::end(std::size_t max_count) {
    entries_.reserve(std::min(max_count, typical_count));
    // Each pair's two NULs take no more room than its two (or more) length
    // bytes, so the write position never passes the bytes the reader has yet
    // to read. memmove: source and target may overlap.
    char* const text = text_.data();
    std::size_t written = 0;
    fcgi::name_value_reader reader(text_);
    std::string_view name;
    std::string_view value;
    std::error_code ec;
    const auto append = [&](std::string_view part) {
        std::memmove(text + written, part.data(), part.size());
        written += part.size();
        text[written++] = '\0';
    };
    while (reader.next(name, value, ec)) {
        if (entries_.size() == max_count) {
            ec = fcgi::errc::too_many_params;
            break;
        }
        entry e{};
        e.name_offset = static_cast<std::uint32_t>(written);
        e.name_length = static_cast<std::uint32_t>(name.size());
        append(name);
        e.value_offset = static_cast<std::uint32_t>(written);
        e.value_length = static_cast<std::uint32_t>(value.size());
        append(value);
        entries_.push_back(e);
    }
    text_.resize(written);
    return ec;
}

void request_params::clear() noexcept {
    if (text_.capacity() > kept_capacity) std::string().swap(text_);
    else text_.clear();
    entries_.clear();
}

bool request_params::at(std::size_t index, std::string_view& name,
                        std::string_view& value) const noexcept {
    if (index >= entries_.size()) return false;
    const entry& e = entries_[index];
    name = std::string_view(text_).substr(e.name_offset, e.name_length);
    value = std::string_view(text_).substr(e.value_offset, e.value_length);
    return true;
}

bool request_params::find(std::string_view name, std::string_view& value) const noexcept {
    // A linear scan: a request has a few dozen params, and this touches one
    // contiguous buffer, which beats building a hash map per request.
    for (const entry& e : entries_) {
        if (e.name_length == name.size() &&
            std::string_view(text_).substr(e.name_offset, e.name_length) == name) {
            value = std::string_view(text_).substr(e.value_offset, e.value_length);
            return true;
        }
    }
    return false;
}

}  // namespace fcgid::net
