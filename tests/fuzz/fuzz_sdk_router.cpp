// Reads arbitrary bytes as lines "method", "path", then patterns: each
// pattern is registered (or refused with std::invalid_argument), and the
// match must be coherent: parameters inside the path, a handler only when
// found, an Allow value only for 405.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "fcgid/sdk/router.hpp"

using namespace fcgid::sdk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto next_line = [&input] {
        const std::size_t lf = input.find('\n');
        const std::string_view line = input.substr(0, lf);
        input.remove_prefix(lf == std::string_view::npos ? input.size() : lf + 1);
        return line;
    };
    const std::string_view method = next_line();
    const std::string_view path = next_line();
    router<int> r;
    constexpr std::string_view methods[] = {"GET", "POST", "*", "DELETE"};
    for (int i = 0; !input.empty(); ++i) {
        try {
            r.add(methods[i % 4], next_line(), i);
        } catch (const std::invalid_argument&) {
        }
    }
    const auto m = r.match(method, path);
    if (m.found() != (m.handler() != nullptr) || m.param_count() > router<int>::max_params) std::abort();
    if ((m.status() == route_status::method_not_allowed) == m.allow().empty()) std::abort();
    for (const path_param& p : m) {
        if (p.value.data() < path.data() || p.value.data() + p.value.size() > path.data() + path.size()) std::abort();
    }
    return 0;
}
