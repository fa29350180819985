// Tests include/fcgid/sdk/percent.hpp: %XX and '+' decoding, and the rule
// that malformed escapes are kept literally.
#include "fcgid/sdk/percent.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace fcgid::sdk {
namespace {

std::string decode(std::string_view in, plus_rule plus = plus_rule::keep) {
    // From an exact-size copy, so that ASan sees a read past the end.
    const test::exact_copy copy(in);
    std::string out = "prefix:";
    append_percent_decoded(out, copy.view(), plus);
    EXPECT_EQ(out.substr(0, 7), "prefix:") << "existing content is kept";
    return out.substr(7);
}

TEST(percent, decodes_escapes_of_both_cases) {
    EXPECT_EQ(decode("a%20b"), "a b");
    EXPECT_EQ(decode("%41%62%7e%7E"), "Ab~~");
    EXPECT_EQ(decode("%e2%82%AC"), "\xe2\x82\xac");
}

TEST(percent, plus_is_a_space_only_under_plus_rule_space) {
    EXPECT_EQ(decode("a+b%2B", plus_rule::space), "a b+");
    EXPECT_EQ(decode("a+b%2B", plus_rule::keep), "a+b+");
}

TEST(percent, nul_and_high_bytes_decode_as_bytes) {
    EXPECT_EQ(decode("a%00b"), std::string("a\0b", 3));
    EXPECT_EQ(decode("%ff"), "\xff");
}

TEST(percent, malformed_escapes_are_kept_literally) {
    EXPECT_EQ(decode("100%"), "100%");
    EXPECT_EQ(decode("%"), "%");
    EXPECT_EQ(decode("%4"), "%4");
    EXPECT_EQ(decode("%zz"), "%zz");
    EXPECT_EQ(decode("%4g%41"), "%4gA");
    EXPECT_EQ(decode("%%41"), "%A");
    EXPECT_EQ(decode("%2"), "%2");
}

TEST(percent, empty_input_decodes_to_nothing) {
    EXPECT_EQ(decode(""), "");
    EXPECT_FALSE(needs_percent_decoding(""));
}

TEST(percent, needs_decoding_only_when_the_text_would_change) {
    EXPECT_FALSE(needs_percent_decoding("plain-text_~."));
    EXPECT_FALSE(needs_percent_decoding("100%"));
    EXPECT_FALSE(needs_percent_decoding("%zz%4"));
    EXPECT_FALSE(needs_percent_decoding("a+b", plus_rule::keep));
    EXPECT_TRUE(needs_percent_decoding("a+b", plus_rule::space));
    EXPECT_TRUE(needs_percent_decoding("x%41"));
    EXPECT_TRUE(needs_percent_decoding("%41"));
}

TEST(percent, needs_decoding_agrees_with_decoding_for_every_short_input) {
    // Every string of up to 3 bytes over an alphabet that makes escapes.
    const std::string alphabet = "%+4aGz";
    std::string s;
    for (std::size_t len = 0; len <= 3; ++len) {
        std::size_t total = 1;
        for (std::size_t i = 0; i < len; ++i) total *= alphabet.size();
        for (std::size_t n = 0; n < total; ++n) {
            s.clear();
            for (std::size_t i = 0, k = n; i < len; ++i, k /= alphabet.size()) s.push_back(alphabet[k % alphabet.size()]);
            for (const plus_rule plus : {plus_rule::keep, plus_rule::space}) {
                EXPECT_EQ(needs_percent_decoding(s, plus), decode(s, plus) != s) << s;
            }
        }
    }
}

TEST(percent, decodes_in_place) {
    std::string s = "a%41+b";
    s.resize(percent_decode_to(s, s.data(), plus_rule::space));
    EXPECT_EQ(s, "aA b");
}

}  // namespace
}  // namespace fcgid::sdk
