// fcgid/sdk/text_arena.hpp: storage for the few strings a parser must
// rewrite (percent-decoded fields, unescaped quoted strings), so that every
// parsed item can be a plain std::string_view whether or not it was copied.
//
// Each buffer is its own heap block, so views into it stay valid when the
// arena is moved (a std::string would not do: a short one keeps its bytes
// inside the object, and moving it moves them).
#ifndef FCGID_SDK_TEXT_ARENA_HPP
#define FCGID_SDK_TEXT_ARENA_HPP

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace fcgid::sdk {

class text_arena {
public:
    // A buffer of `size` uninitialised bytes, valid until the arena is
    // destroyed or cleared; moving the arena keeps it valid.
    char* allocate(std::size_t size) {
        blocks_.emplace_back(new char[size == 0 ? 1 : size]);
        return blocks_.back().get();
    }

    // A copy of `s` owned by the arena.
    std::string_view store(std::string_view s) {
        char* p = allocate(s.size());
        if (!s.empty()) s.copy(p, s.size());
        return {p, s.size()};
    }

    // Frees every buffer: views into them dangle.
    void clear() noexcept { blocks_.clear(); }

    bool empty() const noexcept { return blocks_.empty(); }

private:
    std::vector<std::unique_ptr<char[]>> blocks_;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_TEXT_ARENA_HPP
