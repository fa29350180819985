// Tests include/fcgid/sdk/urlencoded.hpp: query strings and form bodies.
// Every input is also parsed truncated at every offset, against a naive
// reference parser built on std::string.
#include "fcgid/sdk/urlencoded.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/bytes.hpp"

namespace fcgid::sdk {
namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

pairs to_pairs(const field_list& fields) {
    pairs out;
    for (const field& f : fields) out.emplace_back(f.name, f.value);
    return out;
}

// The rules of urlencoded.hpp, written the slow and obvious way.
pairs reference_parse(std::string_view in) {
    pairs out;
    std::string segment;
    const auto flush = [&] {
        if (segment.empty()) return;
        const std::size_t eq = segment.find('=');
        std::string name, value;
        append_percent_decoded(name, std::string_view(segment).substr(0, eq), plus_rule::space);
        if (eq != std::string::npos) {
            append_percent_decoded(value, std::string_view(segment).substr(eq + 1), plus_rule::space);
        }
        out.emplace_back(name, value);
        segment.clear();
    };
    for (const char c : in) {
        if (c == '&') {
            flush();
        } else {
            segment.push_back(c);
        }
    }
    flush();
    return out;
}

// Parses from an exact-size copy; checks that undecoded views point into it.
pairs parse(std::string_view in) {
    const test::exact_copy copy(in);
    const result<field_list> r = parse_urlencoded(copy.view());
    EXPECT_TRUE(r.ok()) << in;
    if (!r) return {};
    const auto inside = [&](std::string_view s) {
        return s.empty() || (s.data() >= copy.data() && s.data() + s.size() <= copy.data() + copy.size());
    };
    for (const field& f : *r) {
        if (!needs_percent_decoding(copy.view()) && in.find('+') == std::string_view::npos) {
            EXPECT_TRUE(inside(f.name) && inside(f.value)) << "zero-copy: " << in;
        }
    }
    return to_pairs(*r);
}

// `in`, then every prefix of it, parses as the reference does.
void expect_parses(std::string_view in, const pairs& expected) {
    EXPECT_EQ(parse(in), expected) << in;
    EXPECT_EQ(reference_parse(in), expected) << "reference disagrees: " << in;
    for (std::size_t n = 0; n < in.size(); ++n) {
        EXPECT_EQ(parse(in.substr(0, n)), reference_parse(in.substr(0, n))) << "prefix " << n << " of " << in;
    }
}

TEST(urlencoded, simple_fields_in_order) {
    expect_parses("a=1&b=2&b=3&c", {{"a", "1"}, {"b", "2"}, {"b", "3"}, {"c", ""}});
}

TEST(urlencoded, decodes_names_and_values) {
    expect_parses("first+name=J%C3%B6rg&q=a%2Bb+c&%61=%3D",
                  {{"first name", "J\xc3\xb6rg"}, {"q", "a+b c"}, {"a", "="}});
}

TEST(urlencoded, splits_at_the_first_equals_only) {
    expect_parses("expr=a=b==c", {{"expr", "a=b==c"}});
}

TEST(urlencoded, empty_names_and_values_are_kept) {
    expect_parses("=x&y=&=", {{"", "x"}, {"y", ""}, {"", ""}});
}

TEST(urlencoded, empty_fields_are_skipped) {
    expect_parses("&&a=1&&&b=2&", {{"a", "1"}, {"b", "2"}});
    expect_parses("", {});
    expect_parses("&", {});
}

TEST(urlencoded, semicolon_is_not_a_separator) {
    expect_parses("a=1;b=2", {{"a", "1;b=2"}});
}

TEST(urlencoded, malformed_escapes_are_kept) {
    expect_parses("p=100%&q=%zz&r=%4", {{"p", "100%"}, {"q", "%zz"}, {"r", "%4"}});
}

TEST(urlencoded, undecoded_fields_are_views_into_the_input) {
    const std::string in = "a=1&bee=two&c=%41";
    const result<field_list> r = parse_urlencoded(in);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[1].value.data(), in.data() + 8);
    EXPECT_EQ((*r)[0].name.data(), in.data());
    EXPECT_EQ((*r)[2].value, "A");
}

TEST(urlencoded, decoded_views_survive_moving_the_list) {
    const std::string in = "k=%41";  // short: SSO would break a std::string arena
    result<field_list> r = parse_urlencoded(in);
    ASSERT_TRUE(r.ok());
    field_list moved = std::move(r).value();
    field_list again = std::move(moved);
    EXPECT_EQ(again.get("k"), "A");
}

TEST(urlencoded, lookups) {
    const result<field_list> r = parse_urlencoded("tag=a&x=1&tag=b&tag=&y");
    ASSERT_TRUE(r.ok());
    const field_list& f = *r;
    EXPECT_EQ(f.get("tag"), "a");
    EXPECT_EQ(f.get("y"), "");
    EXPECT_EQ(f.get("missing"), std::nullopt);
    EXPECT_EQ(f.get("TAG"), std::nullopt) << "names are case-sensitive";
    EXPECT_TRUE(f.contains("x"));
    EXPECT_FALSE(f.contains("z"));
    EXPECT_EQ(f.count("tag"), 3u);
    std::vector<std::string_view> all;
    for (const std::string_view v : f.get_all("tag")) all.push_back(v);
    EXPECT_EQ(all, (std::vector<std::string_view>{"a", "b", ""}));
    EXPECT_TRUE(f.get_all("missing").empty());
    EXPECT_FALSE(f.get_all("x").empty());
}

TEST(urlencoded, too_many_fields_names_the_first_one_over) {
    parse_limits limits;
    limits.max_fields = 3;
    EXPECT_TRUE(parse_urlencoded("a&b&c", limits).ok());
    EXPECT_TRUE(parse_urlencoded("a&b&&&c&", limits).ok()) << "empty fields do not count";
    const result<field_list> r = parse_urlencoded("a&b&c&d&e", limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, parse_errc::too_many_fields);
    EXPECT_EQ(r.error().index, 4u);
    EXPECT_EQ(r.error().message(), "urlencoded: more fields than the limit (field 4)");
}

TEST(urlencoded, default_limit_is_1000_fields) {
    std::string in;
    for (int i = 0; i < 1000; ++i) in += "f=1&";
    EXPECT_TRUE(parse_urlencoded(in).ok());
    in += "last=1";
    EXPECT_EQ(parse_urlencoded(in).error().code, parse_errc::too_many_fields);
}

TEST(urlencoded, name_and_value_limits_apply_to_raw_bytes) {
    parse_limits limits;
    limits.max_field_name_bytes = 3;
    limits.max_field_value_bytes = 5;
    EXPECT_TRUE(parse_urlencoded("abc=12345", limits).ok());
    const result<field_list> name = parse_urlencoded("ok=1&abcd=1", limits);
    ASSERT_FALSE(name.ok());
    EXPECT_EQ(name.error().code, parse_errc::field_name_too_long);
    EXPECT_EQ(name.error().index, 2u);
    // "%41%41" decodes to 2 bytes but is 6 raw: refused before any work.
    const result<field_list> value = parse_urlencoded("v=%41%41", limits);
    ASSERT_FALSE(value.ok());
    EXPECT_EQ(value.error().code, parse_errc::field_value_too_long);
    EXPECT_EQ(value.error().index, 1u);
}

TEST(urlencoded, hostile_inputs_parse_without_trouble) {
    EXPECT_TRUE(parse_urlencoded(std::string(100000, '&')).ok());
    std::string escapes;
    for (int i = 0; i < 300; ++i) escapes += "%&%4&%%41=%zz%&";
    EXPECT_TRUE(parse_urlencoded(escapes).ok());
    EXPECT_EQ(parse_urlencoded(std::string(100000, '%')).error().code, parse_errc::field_name_too_long);
    EXPECT_TRUE(parse_urlencoded(std::string(100000, '=')).ok()) << "one field, empty name";
    const std::string nul("a\0=\0b", 5);
    const result<field_list> r = parse_urlencoded(nul);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].name, std::string_view("a\0", 2));
    EXPECT_EQ((*r)[0].value, std::string_view("\0b", 2));
}

}  // namespace
}  // namespace fcgid::sdk
