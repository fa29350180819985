// fcgid/sdk/field_list.hpp: an ordered list of (name, value) pairs with
// multimap-style lookups; what query strings, form bodies and Cookie
// headers parse into.
//
// OWNERSHIP: a name or value is a view either into the input that was parsed
// (when it needed no decoding) or into text the list owns. A field_list must
// therefore not outlive the parsed input, and its views dangle when the list
// is destroyed. Moving the list keeps them valid.
//
// Names compare exactly (byte for byte, case-sensitive), as in Go's
// url.Values and PHP's $_GET.
#ifndef FCGID_SDK_FIELD_LIST_HPP
#define FCGID_SDK_FIELD_LIST_HPP

#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "fcgid/sdk/text_arena.hpp"

namespace fcgid::sdk {

// One pair. Views: see the OWNERSHIP note above.
struct field {
    std::string_view name;
    std::string_view value;

    friend bool operator==(const field& a, const field& b) noexcept { return a.name == b.name && a.value == b.value; }
    friend bool operator!=(const field& a, const field& b) noexcept { return !(a == b); }
};

class field_list {
public:
    using value_type = field;
    using const_iterator = std::vector<field>::const_iterator;
    using iterator = const_iterator;

    // The values of every field called `name`, in input order, without
    // allocating: `for (std::string_view v : fields.get_all("tag"))`.
    class value_range {
    public:
        class iterator {
        public:
            using iterator_category = std::forward_iterator_tag;
            using value_type = std::string_view;
            using difference_type = std::ptrdiff_t;
            using pointer = const std::string_view*;
            using reference = const std::string_view&;

            iterator() = default;
            reference operator*() const noexcept { return at_->value; }
            pointer operator->() const noexcept { return &at_->value; }
            iterator& operator++() noexcept {
                ++at_;
                skip();
                return *this;
            }
            iterator operator++(int) noexcept {
                iterator old = *this;
                ++*this;
                return old;
            }
            friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }
            friend bool operator!=(const iterator& a, const iterator& b) noexcept { return a.at_ != b.at_; }

        private:
            friend class value_range;
            iterator(const field* at, const field* end, std::string_view name) noexcept : at_(at), end_(end), name_(name) {
                skip();
            }
            void skip() noexcept {
                while (at_ != end_ && at_->name != name_) ++at_;
            }
            const field* at_ = nullptr;
            const field* end_ = nullptr;
            std::string_view name_;
        };

        iterator begin() const noexcept { return {first_, last_, name_}; }
        iterator end() const noexcept { return {last_, last_, name_}; }
        bool empty() const noexcept { return begin() == end(); }

    private:
        friend class field_list;
        value_range(const field* first, const field* last, std::string_view name) noexcept
            : first_(first), last_(last), name_(name) {}
        const field* first_;
        const field* last_;
        std::string_view name_;
    };

    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    const field& operator[](std::size_t i) const noexcept { return fields_[i]; }

    // The value of the first field called `name`, if any.
    std::optional<std::string_view> get(std::string_view name) const noexcept {
        for (const field& f : fields_) {
            if (f.name == name) return f.value;
        }
        return std::nullopt;
    }

    // The values of all fields called `name`, in input order.
    value_range get_all(std::string_view name) const noexcept {
        return {fields_.data(), fields_.data() + fields_.size(), name};
    }

    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

    std::size_t count(std::string_view name) const noexcept {
        std::size_t n = 0;
        for (const field& f : fields_) n += f.name == name ? 1 : 0;
        return n;
    }

    // For parsers: append a field whose views satisfy the OWNERSHIP note.
    void push_back(field f) { fields_.push_back(f); }
    void reserve(std::size_t n) { fields_.reserve(n); }

    // For parsers: a buffer owned by the list, for decoded text.
    char* allocate_text(std::size_t size) { return text_.allocate(size); }

private:
    std::vector<field> fields_;
    text_arena text_;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_FIELD_LIST_HPP
