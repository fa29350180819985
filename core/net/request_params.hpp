// A request's FastCGI params: the PARAMS stream as received, then indexed.
//
// end() rewrites the stream in place into name\0value\0... and indexes the
// pairs, so the views handed out (to plugins through the ABI) are
// NUL-terminated and no second buffer is needed. Reads are safe from any
// thread once end() has run: nothing changes until clear().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fcgid::net {

class request_params {
public:
    // Appends part of the PARAMS stream (its size is checked by the caller).
    void append(std::string_view data) { text_.append(data); }
    // The stream ended: index the pairs. Fails on malformed pairs
    // (fcgi::errc::truncated_name_value) or more than `max_count` of them
    // (fcgi::errc::too_many_params); the pairs before the failure stay readable.
    std::error_code end(std::size_t max_count);
    // Forgets everything, keeping buffers up to a bound for the next request.
    void clear() noexcept;

    // Bytes of the stream received (before end()).
    std::size_t received() const noexcept { return text_.size(); }
    std::size_t count() const noexcept { return entries_.size(); }
    // False past the end.
    bool at(std::size_t index, std::string_view& name, std::string_view& value) const noexcept;
    bool find(std::string_view name, std::string_view& value) const noexcept;

private:
    struct entry {
        std::uint32_t name_offset, name_length, value_offset, value_length;
    };

    std::string text_;
    std::vector<entry> entries_;
};

}  // namespace fcgid::net
