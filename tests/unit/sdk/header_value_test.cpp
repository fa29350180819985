// Tests include/fcgid/sdk/header_value.hpp: values with parameters, quoted
// strings and their escapes, and RFC 8187 ext-values.
#include "fcgid/sdk/header_value.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace fcgid::sdk {
namespace {

// The unescaped value of parameter `name`, or "<absent>".
std::string param(const header_value& h, std::string_view name) {
    const header_param* p = h.find(name);
    if (p == nullptr) return "<absent>";
    std::string scratch;
    return std::string(p->unescaped(scratch));
}

parse_errc error_of(std::string_view text) {
    const test::exact_copy copy(text);
    const result<header_value> r = parse_header_value(copy.view());
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? parse_errc{} : r.error().code;
}

TEST(header_value, value_alone) {
    const result<header_value> r = parse_header_value("  text/html  ");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), "text/html");
    EXPECT_EQ(r->size(), 0u);
}

TEST(header_value, token_and_quoted_parameters) {
    const std::string text = "multipart/form-data; boundary=----x1; charset=\"utf-8\"";
    const result<header_value> r = parse_header_value(text);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), "multipart/form-data");
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ(param(*r, "boundary"), "----x1");
    EXPECT_EQ(param(*r, "CHARSET"), "utf-8") << "names compare case-insensitively";
    EXPECT_EQ(param(*r, "missing"), "<absent>");
    // Views into the text, not copies.
    EXPECT_EQ(r->find("charset")->value.data(), text.data() + text.find("utf-8"));
    EXPECT_TRUE(r->find("charset")->quoted);
    EXPECT_FALSE(r->find("boundary")->quoted);
}

TEST(header_value, tolerates_whitespace_and_empty_parameters) {
    const result<header_value> r = parse_header_value("form-data ;name = \"a\" ;; ;\tfilename=b.txt ;");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), "form-data");
    EXPECT_EQ(param(*r, "name"), "a");
    EXPECT_EQ(param(*r, "filename"), "b.txt");
    EXPECT_EQ(r->size(), 2u);
}

TEST(header_value, quoted_strings_hold_separators) {
    const result<header_value> r = parse_header_value("form-data; name=\"a;b=c, d\"; x=\"\"");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(param(*r, "name"), "a;b=c, d");
    EXPECT_EQ(param(*r, "x"), "");
    EXPECT_TRUE(r->find("x")->quoted);
}

TEST(header_value, escapes_before_tspecials_only) {
    const result<header_value> r =
        parse_header_value(R"(form-data; a="say \"hi\""; b="C:\dir\file.txt"; c="x\\y"; d="\;")");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(param(*r, "a"), "say \"hi\"");
    EXPECT_TRUE(r->find("a")->escaped);
    EXPECT_EQ(param(*r, "b"), R"(C:\dir\file.txt)") << "backslash before a letter is kept";
    EXPECT_FALSE(r->find("b")->escaped);
    EXPECT_EQ(param(*r, "c"), R"(x\y)");
    EXPECT_EQ(param(*r, "d"), ";");
}

TEST(header_value, unescaped_returns_the_view_when_there_is_nothing_to_do) {
    const std::string text = "a; p=\"plain\"";
    const result<header_value> r = parse_header_value(text);
    ASSERT_TRUE(r.ok());
    std::string scratch = "untouched";
    EXPECT_EQ(r->find("p")->unescaped(scratch).data(), text.data() + 6);
    EXPECT_EQ(scratch, "untouched");
}

TEST(header_value, duplicate_parameters_find_the_first) {
    const result<header_value> r = parse_header_value("a; x=1; X=2");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(param(*r, "x"), "1");
    EXPECT_EQ(r->size(), 2u);
}

TEST(header_value, malformed) {
    EXPECT_EQ(error_of(""), parse_errc::empty_header_value);
    EXPECT_EQ(error_of("   "), parse_errc::empty_header_value);
    EXPECT_EQ(error_of("; a=b"), parse_errc::empty_header_value);
    EXPECT_EQ(error_of("text/html\r\n"), parse_errc::invalid_header_value);
    EXPECT_EQ(error_of("a; b=\"x\ny\""), parse_errc::invalid_header_value);
    EXPECT_EQ(error_of("text html"), parse_errc::invalid_header_value);
    EXPECT_EQ(error_of("\"quoted\""), parse_errc::invalid_header_value);
    EXPECT_EQ(error_of("a; b"), parse_errc::invalid_header_parameter);
    EXPECT_EQ(error_of("a; b="), parse_errc::invalid_header_parameter);
    EXPECT_EQ(error_of("a; =c"), parse_errc::invalid_header_parameter);
    EXPECT_EQ(error_of("a; b=c d"), parse_errc::invalid_header_parameter);
    EXPECT_EQ(error_of("a; b=\"c\"d"), parse_errc::invalid_header_parameter);
    EXPECT_EQ(error_of("a; b=\"c"), parse_errc::unterminated_quoted_string);
    EXPECT_EQ(error_of("a; b=\"c\\\""), parse_errc::unterminated_quoted_string);
    EXPECT_EQ(error_of("a; b=\"c\\"), parse_errc::unterminated_quoted_string);
}

TEST(header_value, parameter_count_is_bounded) {
    std::string text = "a";
    for (std::size_t i = 0; i < header_value::max_params; ++i) text += "; p" + std::to_string(i) + "=1";
    ASSERT_TRUE(parse_header_value(text).ok());
    EXPECT_EQ(parse_header_value(text)->size(), header_value::max_params);
    text += "; one=more";
    EXPECT_EQ(error_of(text), parse_errc::too_many_header_parameters);
}

TEST(header_value, every_truncation_fails_cleanly_or_parses) {
    const std::string text = R"(form-data; name="f\"x"; filename*=UTF-8''%e2%82%ac.txt; z=1)";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        const test::exact_copy copy(std::string_view(text).substr(0, n));
        const result<header_value> r = parse_header_value(copy.view());
        if (!r) continue;
        for (const header_param& p : *r) {
            EXPECT_GE(p.value.data(), copy.data());
            EXPECT_LE(p.value.data() + p.value.size(), copy.data() + copy.size());
        }
    }
}

TEST(ext_value, utf8_and_latin1) {
    std::string out;
    EXPECT_TRUE(decode_ext_value("UTF-8''%e2%82%ac%20rates.txt", out));
    EXPECT_EQ(out, "\xe2\x82\xac rates.txt");
    out.clear();
    EXPECT_TRUE(decode_ext_value("utf-8'en'a+b", out));
    EXPECT_EQ(out, "a+b") << "'+' is not a space here";
    out.clear();
    EXPECT_TRUE(decode_ext_value("iso-8859-1''%A3%20rates", out));
    EXPECT_EQ(out, "\xc2\xa3 rates");
}

TEST(ext_value, unknown_charset_or_shape_leaves_out_alone) {
    std::string out = "keep";
    EXPECT_FALSE(decode_ext_value("KOI8-R''%C1", out));
    EXPECT_FALSE(decode_ext_value("UTF-8'%C1", out));
    EXPECT_FALSE(decode_ext_value("", out));
    EXPECT_EQ(out, "keep");
}

}  // namespace
}  // namespace fcgid::sdk
