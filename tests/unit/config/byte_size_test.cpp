// Tests core/config/byte_size.cpp.
#include "config/byte_size.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace fcgid::config {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

void expect_parses(std::string_view text, std::uint64_t expected) {
    SCOPED_TRACE(std::string("\"") + std::string(text) + "\"");
    const std::optional<std::uint64_t> got = parse_byte_size(text);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, expected);
}

void expect_rejected(std::string_view text) {
    SCOPED_TRACE(std::string("\"") + std::string(text) + "\"");
    const std::optional<std::uint64_t> got = parse_byte_size(text);
    EXPECT_FALSE(got.has_value()) << "parsed as " << *got;
}

TEST(ParseByteSize, PlainNumbers) {
    expect_parses("0", 0);
    expect_parses("1", 1);
    expect_parses("1048576", 1048576);
    expect_parses("007", 7);
    // Decimal, always: CLI::AsSizeValue would read "010" as octal 8 (byte_size.cpp).
    expect_parses("010", 10);
}

TEST(ParseByteSize, Kilobytes) {
    expect_parses("512k", 512 * KiB);
    expect_parses("512K", 524288);
    expect_parses("0k", 0);
}

TEST(ParseByteSize, MegabytesAreShiftedNotDropped) {
    // The PHP original parsed "256m" as 256; it is 256 MiB.
    expect_parses("256m", 256 * 1024 * 1024);
    expect_parses("256M", 268435456);
}

TEST(ParseByteSize, Gigabytes) {
    expect_parses("2G", 2 * GiB);
    expect_parses("2g", 2147483648ULL);
}

TEST(ParseByteSize, TrailingBAfterASuffix) {
    expect_parses("256MB", 256 * MiB);
    expect_parses("256mb", 256 * MiB);
    expect_parses("256Mb", 256 * MiB);
    expect_parses("1kB", KiB);
    expect_parses("3GB", 3 * GiB);
}

TEST(ParseByteSize, Limits) {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    expect_parses("18446744073709551615", max);
    // 17179869183 = 2^34 - 1, the largest count of GiB that fits.
    expect_parses("17179869183g", 17179869183ULL << 30);
    // 2^54 - 1 KiB and 2^44 - 1 MiB likewise.
    expect_parses("18014398509481983k", 18014398509481983ULL << 10);
    expect_parses("17592186044415m", 17592186044415ULL << 20);
}

TEST(ParseByteSize, Rejected) {
    expect_rejected("");
    expect_rejected("12x");
    expect_rejected("-1");
    expect_rejected("+1");
    expect_rejected(" 5");
    expect_rejected("5 ");
    expect_rejected("5 m");
    expect_rejected("1.5m");
    expect_rejected("m");
    expect_rejected("k");
    expect_rejected("MB");
    expect_rejected("5t");
    expect_rejected("5kk");
    expect_rejected("5ki");   // CLI::AsSizeValue's binary units are not ours
    expect_rejected("5kib");
    expect_rejected("5mbb");
    expect_rejected("5mbx");
    expect_rejected("0x10");
    expect_rejected("1e6");
    expect_rejected(std::string_view("5\0", 2));
}

TEST(ParseByteSize, BAloneIsNotASuffix) {
    // Only a k/m/g suffix may take a trailing "b".
    expect_rejected("5b");
    expect_rejected("5B");
}

TEST(ParseByteSize, Overflow) {
    expect_rejected("99999999999999999999");
    expect_rejected("18446744073709551616");
    expect_rejected("17179869184g");  // 2^34 GiB = 2^64
    expect_rejected("18014398509481984k");  // 2^54 KiB = 2^64
    expect_rejected("17592186044416m");     // 2^44 MiB = 2^64
    expect_rejected("18446744073709551615k");
}

TEST(ByteSizeText, TheLargestExactSuffix) {
    EXPECT_EQ(byte_size_text(0), "0");
    EXPECT_EQ(byte_size_text(1000), "1000");
    EXPECT_EQ(byte_size_text(256 * KiB), "256k");
    EXPECT_EQ(byte_size_text(64 * MiB), "64m");
    EXPECT_EQ(byte_size_text(MiB + KiB), "1025k");
    EXPECT_EQ(byte_size_text(2 * GiB), "2g");
    EXPECT_EQ(byte_size_text(1024 * GiB), "1024g");  // no t: the parser has none
}

TEST(ByteSizeText, ParsesBackToTheSameSize) {
    constexpr std::uint64_t sizes[] = {0, 1, 1000 * KiB, 64 * MiB, 3 * GiB, 1024 * GiB};
    for (const std::uint64_t bytes : sizes) expect_parses(byte_size_text(bytes), bytes);
}

TEST(ToMib, Values) {
    EXPECT_DOUBLE_EQ(to_mib(0), 0.0);
    EXPECT_DOUBLE_EQ(to_mib(256 * MiB), 256.0);
    EXPECT_DOUBLE_EQ(to_mib(MiB + MiB / 2), 1.5);
    EXPECT_DOUBLE_EQ(to_mib(512 * KiB), 0.5);
}

}  // namespace
}  // namespace fcgid::config
