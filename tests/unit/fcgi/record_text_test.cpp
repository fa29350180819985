// Tests core/fcgi/record_text.cpp: a hostile record described for a log line.
#include "fcgi/record_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/bytes.hpp"

namespace fcgid::fcgi {
namespace {

using test::bytes;

TEST(DescribeRecord, NamesEveryHeaderFieldAndTheContent) {
    const std::string raw = bytes({0x01, 0x04, 0x00, 0x07, 0x00, 0x03, 0x00, 0x00}) + "a\nb";
    EXPECT_EQ(describe_record(raw),
              "version 1, type 4 (PARAMS), request id 7, content length 3, content \"a\\x0ab\"");
}

TEST(DescribeRecord, UnknownTypeAndBadVersionAreShownAsNumbers) {
    const std::string raw = bytes({0x02, 0xC8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00});
    EXPECT_EQ(describe_record(raw),
              "version 2, type 200 (not a FastCGI 1.0 type), request id 256, content length 0, "
              "content \"\"");
}

TEST(DescribeRecord, ContentIsCutShortAndMissingBytesAreNotRead) {
    const std::string raw = bytes({0x01, 0x05, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00}) + std::string(40, 'x');
    const test::exact_copy exact(raw);
    EXPECT_EQ(describe_record(exact.view(), 4),
              "version 1, type 5 (STDIN), request id 1, content length 65535, content \"xxxx...\"");
}

TEST(DescribeRecord, APartialHeaderIsShownAsBytes) {
    EXPECT_EQ(describe_record(bytes({0x01, 0x01})), "a partial header \"\\x01\\x01\"");
}

TEST(SanitizeForLog, EscapesEverythingThatCouldForgeALine) {
    EXPECT_EQ(sanitize_for_log("ok \"q\" \\ \r\n\x1b[31m", 100), "ok \\x22q\\x22 \\x5c \\x0d\\x0a\\x1b[31m");
    EXPECT_EQ(sanitize_for_log("\x80\xff", 100), "\\x80\\xff");
    EXPECT_EQ(sanitize_for_log("abcdef", 3), "abc...");
    EXPECT_EQ(sanitize_for_log("abc", 3), "abc");
}

}  // namespace
}  // namespace fcgid::fcgi
