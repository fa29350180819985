// Reads arbitrary bytes as a block of name-value pairs: views stay inside the
// block, every pair consumes bytes, and re-encoded pairs read back the same.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"

using namespace fcgid::fcgi;
using pairs = std::vector<std::pair<std::string_view, std::string_view>>;

// Reads `block` to its end or its first error, checking the reader's invariants.
static pairs read_all(std::string_view block, std::error_code& ec) {
    pairs out;
    name_value_reader reader(block);
    std::string_view name, value;
    std::size_t left = reader.remaining();
    const auto inside = [&](std::string_view s) {
        return s.data() >= block.data() && s.data() + s.size() <= block.data() + block.size();
    };
    while (reader.next(name, value, ec)) {
        if (!inside(name) || !inside(value) || reader.remaining() >= left) std::abort();
        left = reader.remaining();
        out.emplace_back(name, value);
    }
    // Both the end and an error leave nothing to read.
    if ((ec && ec != errc::truncated_name_value) || reader.remaining() != 0) std::abort();
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::error_code ec;
    const pairs read = read_all({reinterpret_cast<const char*>(data), size}, ec);
    std::string encoded;
    std::size_t expected_size = 0;
    for (const auto& [name, value] : read) {
        append_name_value(encoded, name, value);
        expected_size += name_value_size(name, value);
    }
    if (encoded.size() != expected_size || read_all(encoded, ec) != read || ec) std::abort();
    return 0;
}
