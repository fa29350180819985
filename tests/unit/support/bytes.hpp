// Helpers for codec tests: writing wire bytes by hand, and handing the code
// under test buffers that end exactly where their data ends.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace fcgid::test {

// Builds a byte string from values written as in a protocol dump:
// bytes({0x01, 0x06, 0x00, 0x01}). Each value must fit in a byte.
inline std::string bytes(std::initializer_list<unsigned> values) {
    std::string out;
    out.reserve(values.size());
    for (const unsigned v : values) out.push_back(static_cast<char>(static_cast<unsigned char>(v)));
    return out;
}

// `count` bytes following a pattern that does not repeat every 65535 or 65536
// bytes, so a chunk that lands at the wrong offset compares unequal.
inline std::string pattern(std::size_t count) {
    std::string out(count, '\0');
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<char>((i * 7 + i / 251) % 251);
    return out;
}

// A heap copy of exactly size() bytes. A std::string may keep spare capacity
// or an inline buffer past its end, which would hide an overread from ASan;
// this allocation does not.
class exact_copy {
public:
    explicit exact_copy(std::string_view s) : size_(s.size()), data_(std::make_unique<char[]>(s.size())) {
        if (size_ != 0) s.copy(data_.get(), size_);
    }

    std::string_view view() const noexcept { return {data_.get(), size_}; }
    const char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
};

}  // namespace fcgid::test
