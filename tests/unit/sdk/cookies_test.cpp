// Tests include/fcgid/sdk/cookies.hpp: the lenient Cookie reader (every
// header also truncated at every offset), and the strict Set-Cookie writer.
#include "fcgid/sdk/cookies.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/bytes.hpp"

namespace fcgid::sdk {
namespace {

using owned = std::vector<std::pair<std::string, std::string>>;

// Parses from an exact-size copy; every view must point into it.
owned parse_copy(std::string_view header, bool* ok = nullptr) {
    const test::exact_copy copy(header);
    const result<field_list> r = parse_cookie_header(copy.view());
    if (ok != nullptr) *ok = r.ok();
    owned out;
    if (!r) return out;
    for (const field& f : *r) {
        for (const std::string_view s : {f.name, f.value}) {
            if (s.empty()) continue;
            EXPECT_GE(s.data(), copy.data());
            EXPECT_LE(s.data() + s.size(), copy.data() + copy.size());
        }
        out.emplace_back(f.name, f.value);
    }
    return out;
}

owned parse(std::string_view header) { return parse_copy(header); }

TEST(cookie_header, pairs_in_order) {
    EXPECT_EQ(parse("a=1; b=2; c=3"), (owned{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST(cookie_header, quoted_values_lose_their_quotes) {
    EXPECT_EQ(parse("a=\"1\"; b=\"\"; c=\"x"), (owned{{"a", "1"}, {"b", ""}}))
        << "an unbalanced quote is malformed, and skipped";
}

TEST(cookie_header, tolerates_missing_and_extra_spaces) {
    EXPECT_EQ(parse("a=1;b=2;  c = 3 ;\td=4\t"), (owned{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}));
}

TEST(cookie_header, values_keep_equals_signs_and_are_not_decoded) {
    EXPECT_EQ(parse("tok=abc==; enc=a%20b"), (owned{{"tok", "abc=="}, {"enc", "a%20b"}}));
}

TEST(cookie_header, skips_malformed_pairs) {
    EXPECT_EQ(parse("noequals; =empty; bad name=1; ok=1; ctl=a\x01; q=a\"b; bs=a\\b; x y=2; last=2"),
              (owned{{"ok", "1"}, {"last", "2"}}));
}

TEST(cookie_header, accepts_space_comma_and_utf8_inside_values) {
    EXPECT_EQ(parse("a=x y,z; b=\xc3\xa9t\xc3\xa9"), (owned{{"a", "x y,z"}, {"b", "\xc3\xa9t\xc3\xa9"}}));
}

TEST(cookie_header, empty_and_degenerate_headers) {
    EXPECT_EQ(parse(""), owned{});
    EXPECT_EQ(parse(";;;"), owned{});
    EXPECT_EQ(parse("   "), owned{});
    EXPECT_EQ(parse("a="), (owned{{"a", ""}}));
}

TEST(cookie_header, duplicates_are_kept_and_get_returns_the_first) {
    const result<field_list> r = parse_cookie_header("sid=specific; sid=general");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->get("sid"), "specific");
    EXPECT_EQ(r->count("sid"), 2u);
    EXPECT_FALSE(r->contains("SID"));
}

TEST(cookie_header, too_many_cookies) {
    parse_limits limits;
    limits.max_cookies = 2;
    EXPECT_TRUE(parse_cookie_header("a=1; junk; b=2", limits).ok()) << "skipped pairs do not count";
    const result<field_list> r = parse_cookie_header("a=1; b=2; c=3", limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, parse_errc::too_many_cookies);
    EXPECT_EQ(r.error().index, 3u);
    std::string many;
    for (int i = 0; i < 101; ++i) many += "c" + std::to_string(i) + "=v; ";
    EXPECT_EQ(parse_cookie_header(many).error().code, parse_errc::too_many_cookies) << "default limit 100";
}

TEST(cookie_header, every_truncation_parses_to_a_prefix_of_the_pairs) {
    // Cutting a header can shorten, drop or (as "d=" from "d=\x7f") newly
    // admit its last pair, never disturb the ones before the cut.
    const std::string header = "a=1; b=\"two\"; c=x y; bad; d=\x7f; e=last";
    const owned whole = parse(header);
    ASSERT_EQ(whole, (owned{{"a", "1"}, {"b", "two"}, {"c", "x y"}, {"e", "last"}}));
    for (std::size_t n = 0; n <= header.size(); ++n) {
        bool ok = false;
        const owned cut = parse_copy(std::string_view(header).substr(0, n), &ok);
        ASSERT_TRUE(ok);
        ASSERT_LE(cut.size(), whole.size() + 1);
        for (std::size_t i = 0; i + 1 < cut.size(); ++i) {
            EXPECT_EQ(cut[i].first, whole[i].first) << n;
            EXPECT_EQ(cut[i].second, whole[i].second) << n;
        }
    }
}

// ---- Set-Cookie ----

std::string format_ok(const set_cookie& c) {
    const result<std::string> r = format_set_cookie(c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : std::string();
}

parse_errc format_error(const set_cookie& c) {
    const result<std::string> r = format_set_cookie(c);
    EXPECT_FALSE(r.ok()) << *r;
    return r.ok() ? parse_errc{} : r.error().code;
}

TEST(set_cookie, minimal) {
    set_cookie c;
    c.name = "sid";
    c.value = "abc123";
    EXPECT_EQ(format_ok(c), "sid=abc123");
    c.value = "";
    EXPECT_EQ(format_ok(c), "sid=");
}

TEST(set_cookie, every_attribute_in_order) {
    set_cookie c;
    c.name = "sid";
    c.value = "v";
    c.path = "/app";
    c.domain = "example.com";
    c.expires = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
    c.max_age = 3600;
    c.secure = true;
    c.http_only = true;
    c.same_site = same_site_policy::strict;
    EXPECT_EQ(format_ok(c),
              "sid=v; Path=/app; Domain=example.com; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
              "Secure; HttpOnly; SameSite=Strict");
    c.same_site = same_site_policy::lax;
    EXPECT_NE(format_ok(c).find("; SameSite=Lax"), std::string::npos);
    c.same_site = same_site_policy::none;
    EXPECT_NE(format_ok(c).find("; SameSite=None"), std::string::npos);
}

TEST(set_cookie, max_age_zero_or_negative_deletes) {
    set_cookie c;
    c.name = "a";
    c.max_age = 0;
    EXPECT_EQ(format_ok(c), "a=; Max-Age=0");
    c.max_age = -5;
    EXPECT_EQ(format_ok(c), "a=; Max-Age=0");
}

TEST(set_cookie, name_must_be_a_token) {
    for (const std::string_view name : {"", "a b", "a;b", "a=b", "a\"", "a\x01", "\xc3\xa9", "a(b)", "a,b"}) {
        set_cookie c;
        c.name = name;
        EXPECT_EQ(format_error(c), parse_errc::invalid_cookie_name) << name;
    }
}

TEST(set_cookie, value_space_or_comma_is_quoted) {
    set_cookie c;
    c.name = "a";
    c.value = "x y,z";
    EXPECT_EQ(format_ok(c), "a=\"x y,z\"");
    c.value = "\"already\"";
    EXPECT_EQ(format_ok(c), "a=\"already\"");
    c.value = "\"\"";
    EXPECT_EQ(format_ok(c), "a=\"\"");
}

TEST(set_cookie, value_forbidden_bytes) {
    const std::string_view values[] = {"a;b",  "a\"b",      "a\\b",     "a\tb", "a\rb", "a\nb", "\x7f", "\xc3\xa9",
                                       "\"a\"b\"", "\"", std::string_view("a\0b", 3)};
    for (const std::string_view value : values) {
        set_cookie c;
        c.name = "a";
        c.value = value;
        EXPECT_EQ(format_error(c), parse_errc::invalid_cookie_value) << value;
    }
}

TEST(set_cookie, path_and_domain) {
    set_cookie c;
    c.name = "a";
    c.path = "/x;Secure";
    EXPECT_EQ(format_error(c), parse_errc::invalid_cookie_path);
    c.path = "/x\r\nSet-Cookie: evil=1";
    EXPECT_EQ(format_error(c), parse_errc::invalid_cookie_path);
    c.path = "/ok path/with spaces";  // av-octet allows spaces
    EXPECT_TRUE(format_set_cookie(c).ok());
    c.path = "";
    for (const std::string_view domain : {".", "a..b", "a.b.", "exa mple.com", "a;b", "[::1]", "a_b.com"}) {
        c.domain = domain;
        EXPECT_EQ(format_error(c), parse_errc::invalid_cookie_domain) << domain;
    }
    c.domain = ".example.com";
    EXPECT_EQ(format_ok(c), "a=; Domain=.example.com");
    c.domain = "sub-1.example.com";
    EXPECT_TRUE(format_set_cookie(c).ok());
}

TEST(set_cookie, same_site_none_requires_secure) {
    set_cookie c;
    c.name = "a";
    c.same_site = same_site_policy::none;
    EXPECT_EQ(format_error(c), parse_errc::same_site_none_requires_secure);
    c.secure = true;
    EXPECT_EQ(format_ok(c), "a=; Secure; SameSite=None");
}

TEST(set_cookie, prefixes) {
    set_cookie c;
    c.name = "__Secure-id";
    EXPECT_EQ(format_error(c), parse_errc::cookie_prefix_violated);
    c.secure = true;
    EXPECT_TRUE(format_set_cookie(c).ok());
    c.name = "__Host-id";
    EXPECT_EQ(format_error(c), parse_errc::cookie_prefix_violated) << "no Path=/";
    c.path = "/";
    EXPECT_EQ(format_ok(c), "__Host-id=; Path=/; Secure");
    c.domain = "example.com";
    EXPECT_EQ(format_error(c), parse_errc::cookie_prefix_violated) << "Domain set";
}

std::string date(std::int64_t seconds) {
    std::string out;
    EXPECT_TRUE(append_imf_fixdate(out, std::chrono::system_clock::time_point(std::chrono::seconds(seconds))));
    return out;
}

TEST(imf_fixdate, known_dates) {
    EXPECT_EQ(date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(date(4107542399), "Sun, 28 Feb 2100 23:59:59 GMT") << "2100 is not a leap year";
    EXPECT_EQ(date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(date(-2208988800), "Mon, 01 Jan 1900 00:00:00 GMT");
    EXPECT_EQ(date(1709208000), "Thu, 29 Feb 2024 12:00:00 GMT");
}

TEST(imf_fixdate, sub_second_parts_are_truncated_down) {
    using namespace std::chrono;
    std::string out;
    ASSERT_TRUE(append_imf_fixdate(out, system_clock::time_point(duration_cast<system_clock::duration>(
                                            seconds(0) - milliseconds(1)))));
    EXPECT_EQ(out, "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(imf_fixdate, each_day_of_a_leap_year_round_trips_its_weekday) {
    // 2024-01-01 was a Monday; walk a year and a day, checking day names.
    constexpr std::string_view names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    for (int d = 0; d < 367; ++d) {
        const std::string s = date(1704067200 + std::int64_t{d} * 86400);
        EXPECT_EQ(s.substr(0, 3), names[d % 7]) << s;
    }
    EXPECT_EQ(date(1704067200 + std::int64_t{59} * 86400).substr(5, 11), "29 Feb 2024");
    EXPECT_EQ(date(1704067200 + std::int64_t{366} * 86400).substr(5, 11), "01 Jan 2025");
}

}  // namespace
}  // namespace fcgid::sdk
