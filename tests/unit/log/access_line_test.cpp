#include "log/access_line.hpp"

#include <gtest/gtest.h>

namespace fcgid::log {
namespace {

std::string json_of(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

std::string combined_of(std::string_view text) {
    std::string out;
    append_combined_escaped(out, text);
    return out;
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(json_of("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(json_of("\n\r\t"), R"("\n\r\t")");
    EXPECT_EQ(json_of(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
    EXPECT_EQ(json_of(""), R"("")");
}

TEST(JsonString, KeepsValidUtf8) {
    EXPECT_EQ(json_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(JsonString, ReplacesEveryByteThatIsNotUtf8) {
    // A stray continuation byte, a lead byte cut short, 0xff.
    EXPECT_EQ(json_of("a\x80z"), R"("a\ufffdz")");
    EXPECT_EQ(json_of("a\xe2\x82"), R"("a\ufffd\ufffd")");
    EXPECT_EQ(json_of("\xff"), R"("\ufffd")");
    // Overlong forms, a surrogate, past U+10FFFF: each byte replaced.
    EXPECT_EQ(json_of("\xc0\xaf"), R"("\ufffd\ufffd")");
    EXPECT_EQ(json_of("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");
    EXPECT_EQ(json_of("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
    EXPECT_EQ(json_of("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
    // The largest valid code point stays.
    EXPECT_EQ(json_of("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");
}

TEST(CombinedField, EscapesWhatCouldForgeAFieldOrALine) {
    EXPECT_EQ(combined_of("/a b?c=d"), "/a b?c=d");
    EXPECT_EQ(combined_of("x\"y\\z\n\xe9"), "x\\x22y\\x5cz\\x0a\\xe9");
    EXPECT_EQ(combined_of(""), "-");
}

access_entry sample() {
    access_entry e;
    e.time = "07/Dec/2026:12:21:26 +0000";
    e.remote_addr = "203.0.113.7";
    e.method = "GET";
    e.uri = "/x?a=1";
    e.protocol = "HTTP/1.1";
    e.user_agent = "curl/7.88.1";
    e.request_id = "3f9a1c2e-17";
    e.status = 200;
    e.bytes_out = 22;
    e.duration_us = 183;
    e.pid = 4242;
    return e;
}

TEST(AccessLine, CombinedIsApacheCombinedThenDurationPidAndId) {
    std::string out;
    append_access_line(out, access_format::combined, sample());
    EXPECT_EQ(out, "203.0.113.7 - - [07/Dec/2026:12:21:26 +0000] \"GET /x?a=1 HTTP/1.1\" 200 22 \"-\" "
                   "\"curl/7.88.1\" 183 4242 3f9a1c2e-17\n");
}

TEST(AccessLine, JsonIsOneObjectOnOneLine) {
    access_entry e = sample();
    e.time = "2026-12-07T12:21:26.123Z";
    std::string out;
    append_access_line(out, access_format::json, e);
    EXPECT_EQ(out, R"({"time":"2026-12-07T12:21:26.123Z","remote_addr":"203.0.113.7","method":"GET",)"
                   R"("uri":"/x?a=1","protocol":"HTTP/1.1","status":200,"bytes_out":22,"bytes_in":0,)"
                   R"("duration_us":183,"handle_us":0,"deferred_us":0,"writing_us":0,"pid":4242,)"
                   R"("request_id":"3f9a1c2e-17","referer":"","user_agent":"curl/7.88.1"})"
                   "\n");
}

TEST(WallClockText, FormatsUtcForEachFormat) {
    wall_clock_text text;
    // 2026-12-07 12:21:26 UTC
    const std::time_t at = 1796646086;
    EXPECT_EQ(text.at(access_format::combined, at, 0), "07/Dec/2026:12:21:26 +0000");
    EXPECT_EQ(text.at(access_format::json, at, 123'456'789), "2026-12-07T12:21:26.123Z");
    EXPECT_EQ(text.at(access_format::json, at + 1, 5'000'000), "2026-12-07T12:21:27.005Z");
}

}  // namespace
}  // namespace fcgid::log
