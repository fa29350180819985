// fcgid/sdk/options.hpp: typed access to `--plugin-option KEY=VALUE`.
//
//     const int threads = opts.get<int>("threads", 4);
//     const std::string dsn = opts.get<std::string>("dsn", "");
//
// Each get() declares its key. Once the app's setup has run, a key that was
// given but never declared (a typo: "thraeds=8") fails init with a line
// naming it, as does a value that does not parse as the asked type
// ("threads=many"): fcgid prints the line and exits non-zero before serving.
// The last occurrence of a key wins, as on most command lines.
#ifndef FCGID_SDK_OPTIONS_HPP
#define FCGID_SDK_OPTIONS_HPP

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fcgid/plugin.h"

namespace fcgid::sdk {

// A bad or unknown --plugin-option; its what() is the line fcgid prints.
class option_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class options {
public:
    options() = default;
    options(const fcgid_option* given, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) entries_.push_back({given[i].key, given[i].value, false});
    }

    // The value of `key` as T, or `fallback` when it was not given. T is
    // bool (true/false/yes/no/on/off/1/0), a signed or unsigned integer, a
    // floating-point number, std::string, or std::chrono::seconds /
    // std::chrono::milliseconds (a whole number).
    template <class T>
    T get(std::string_view key, T fallback) {
        const std::optional<std::string_view> text = find(key);
        if (!text) return fallback;
        return parse<T>(key, *text);
    }

    // The raw text of `key` (declaring it), or nullopt.
    std::optional<std::string_view> find(std::string_view key) {
        if (std::find(declared_.begin(), declared_.end(), key) == declared_.end()) declared_.emplace_back(key);
        std::optional<std::string_view> found;
        for (entry& e : entries_) {
            if (e.key != key) continue;
            e.declared = true;
            found = e.value;  // the last one wins
        }
        return found;
    }

    // Throws option_error naming the first key given but never declared.
    void reject_unknown() const {
        for (const entry& e : entries_) {
            if (!e.declared)
                throw option_error("unknown --plugin-option '" + e.key + "' (this plugin reads: " + declared_list() +
                                   ")");
        }
    }

private:
    struct entry {
        std::string key;
        std::string value;
        bool declared;
    };

    std::string declared_list() const {
        std::string list;
        for (const std::string& key : declared_) {
            if (!list.empty()) list += ", ";
            list += "'" + key + "'";
        }
        return list.empty() ? "no options" : list;
    }

    [[noreturn]] static void bad(std::string_view key, std::string_view text, const char* what) {
        throw option_error("--plugin-option " + std::string(key) + ": '" + std::string(text) + "' is not " + what);
    }

    template <class T>
    static T parse(std::string_view key, std::string_view text) {
        if constexpr (std::is_same_v<T, std::string>) {
            return std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
            for (const std::string_view yes : {"true", "yes", "on", "1"})
                if (text == yes) return true;
            for (const std::string_view no : {"false", "no", "off", "0"})
                if (text == no) return false;
            bad(key, text, "a boolean (true/false, yes/no, on/off, 1/0)");
        } else if constexpr (std::is_integral_v<T>) {
            T value{};
            const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
            if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
                bad(key, text, std::is_signed_v<T> ? "a whole number in range" : "a non-negative whole number in range");
            return value;
        } else if constexpr (std::is_floating_point_v<T>) {
            const std::string copy(text);
            char* end = nullptr;
            errno = 0;
            const long double value = std::strtold(copy.c_str(), &end);
            if (copy.empty() || end != copy.c_str() + copy.size() || errno == ERANGE)
                bad(key, text, "a number");
            return static_cast<T>(value);
        } else if constexpr (std::is_same_v<T, std::chrono::seconds> ||
                             std::is_same_v<T, std::chrono::milliseconds>) {
            return T(parse<typename T::rep>(key, text));
        } else {
            static_assert(std::is_same_v<T, void>, "options::get: unsupported type");
        }
    }

    std::vector<entry> entries_;
    std::vector<std::string> declared_;  // every key asked for, in order
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_OPTIONS_HPP
