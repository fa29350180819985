// Reads arbitrary bytes as a Cookie header (views stay inside it, names are
// tokens, the count is bounded), then as a cookie to send: whatever
// format_set_cookie() accepts must read back as the same name and value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fcgid/sdk/cookies.hpp"

using namespace fcgid::sdk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto inside = [&](std::string_view s) {
        return s.empty() || (s.data() >= input.data() && s.data() + s.size() <= input.data() + input.size());
    };
    if (const result<field_list> r = parse_cookie_header(input)) {
        if (r->size() > parse_limits{}.max_cookies) std::abort();
        for (const field& f : *r) {
            if (!ascii::is_token(f.name) || !inside(f.name) || !inside(f.value)) std::abort();
        }
    }

    // name NUL value NUL path NUL domain
    set_cookie c;
    std::string_view rest = input;
    std::string_view* fields[] = {&c.name, &c.value, &c.path, &c.domain};
    for (std::string_view* f : fields) {
        const std::size_t nul = rest.find('\0');
        *f = rest.substr(0, nul);
        rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
    }
    c.secure = size % 2 == 1;
    c.same_site = static_cast<same_site_policy>(size % 4);
    const result<std::string> header = format_set_cookie(c);
    if (!header) return 0;
    std::string_view expected = c.value;
    if (expected.size() >= 2 && expected.front() == '"' && expected.back() == '"') expected = expected.substr(1, expected.size() - 2);
    const result<field_list> back = parse_cookie_header(std::string_view(*header).substr(0, header->find(';')));
    if (!back || back->size() != 1 || (*back)[0].name != c.name || (*back)[0].value != expected) std::abort();
    return 0;
}
