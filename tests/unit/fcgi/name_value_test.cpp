// Tests core/fcgi/name_value.cpp (FastCGI 1.0 section 3.4). A length below
// 128 takes one byte; otherwise four, big-endian, with the high bit set.
// Every malformed block is read from an exact-size heap copy so that ASan
// would catch a read past its end.
#include "fcgi/name_value.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fcgi/error.hpp"
#include "support/bytes.hpp"

namespace fcgid::fcgi {
namespace {

using test::bytes;
using test::exact_copy;
using pairs = std::vector<std::pair<std::string, std::string>>;

struct read_result {
    pairs read;
    std::error_code ec;
    std::size_t remaining = 0;
};

// Reads every pair of `block` from an exact-size copy.
read_result read_all(std::string_view block) {
    const exact_copy in(block);
    name_value_reader reader(in.view());
    read_result result;
    std::string_view name, value;
    // Stale: next() leaves it alone while it reads pairs (so as not to pay
    // for a write per pair), and must clear or set it when it returns false.
    std::error_code ec = errc::bad_version;
    while (reader.next(name, value, ec)) {
        EXPECT_EQ(ec, errc::bad_version);
        // Borrowed from the block, not copied.
        EXPECT_GE(name.data(), in.data());
        EXPECT_LE(name.data() + name.size(), in.data() + in.size());
        EXPECT_GE(value.data(), in.data());
        EXPECT_LE(value.data() + value.size(), in.data() + in.size());
        result.read.emplace_back(name, value);
        if (result.read.size() > block.size() + 1) {
            ADD_FAILURE() << "reader does not advance";
            break;
        }
    }
    result.ec = ec;
    result.remaining = reader.remaining();
    return result;
}

void expect_reads(std::string_view block, const pairs& expected) {
    const read_result r = read_all(block);
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.read, expected);
    EXPECT_EQ(r.remaining, 0u);
}

void expect_truncated(std::string_view block) {
    const read_result r = read_all(block);
    EXPECT_EQ(r.ec, errc::truncated_name_value) << r.ec.message();
    EXPECT_TRUE(r.read.empty());
    EXPECT_EQ(r.remaining, 0u);
}

// ---------------------------------------------------------------------------
// Reading hand-written blocks

TEST(NameValueReader, OneByteLengths) {
    expect_reads(bytes({0x04, 0x05}) + "NAME" + "value", {{"NAME", "value"}});
}

TEST(NameValueReader, EmptyBlockHasNoPairs) {
    expect_reads("", {});
}

TEST(NameValueReader, EmptyValue) {
    expect_reads(bytes({0x03, 0x00}) + "FOO", {{"FOO", ""}});
}

TEST(NameValueReader, EmptyName) {
    expect_reads(bytes({0x00, 0x03}) + "bar", {{"", "bar"}});
}

TEST(NameValueReader, EmptyNameAndValue) {
    expect_reads(bytes({0x00, 0x00}), {{"", ""}});
    expect_reads(bytes({0x00, 0x00, 0x00, 0x00}), {{"", ""}, {"", ""}});
}

TEST(NameValueReader, NameOf127UsesOneByte) {
    const std::string name(127, 'n');
    expect_reads(bytes({0x7F, 0x01}) + name + "v", {{name, "v"}});
}

TEST(NameValueReader, NameOf128UsesFourBytes) {
    const std::string name(128, 'n');
    expect_reads(bytes({0x80, 0x00, 0x00, 0x80, 0x01}) + name + "v", {{name, "v"}});
}

TEST(NameValueReader, ValueOf127UsesOneByte) {
    const std::string value(127, 'v');
    expect_reads(bytes({0x01, 0x7F}) + "n" + value, {{"n", value}});
}

TEST(NameValueReader, ValueOf128UsesFourBytes) {
    const std::string value(128, 'v');
    expect_reads(bytes({0x01, 0x80, 0x00, 0x00, 0x80}) + "n" + value, {{"n", value}});
}

TEST(NameValueReader, BothLengthsFourBytes) {
    const std::string name(300, 'N');     // 0x012C
    const std::string value(70000, 'V');  // 0x011170
    expect_reads(bytes({0x80, 0x00, 0x01, 0x2C, 0x80, 0x01, 0x11, 0x70}) + name + value, {{name, value}});
}

TEST(NameValueReader, FourByteFormOfASmallLengthIsAccepted) {
    // The spec allows the long form for any length; only the high bit marks it.
    expect_reads(bytes({0x80, 0x00, 0x00, 0x03, 0x80, 0x00, 0x00, 0x00}) + "abc", {{"abc", ""}});
}

TEST(NameValueReader, HighBitOfFourByteLengthIsNotPartOfTheLength) {
    // 0x80000001 means 1, not 2^31 + 1.
    expect_reads(bytes({0x80, 0x00, 0x00, 0x01, 0x01}) + "a" + "b", {{"a", "b"}});
}

TEST(NameValueReader, SeveralPairs) {
    expect_reads(bytes({0x0B, 0x02}) + "SERVER_PORT" + "80" + bytes({0x0E, 0x04}) + "REQUEST_METHOD" + "POST" +
                     bytes({0x0C, 0x00}) + "QUERY_STRING",
                 {{"SERVER_PORT", "80"}, {"REQUEST_METHOD", "POST"}, {"QUERY_STRING", ""}});
}

TEST(NameValueReader, BinaryBytesInNamesAndValues) {
    const std::string name = bytes({0x00, 0xFF});
    const std::string value = bytes({0x80, 0x00, 0x7F});
    expect_reads(bytes({0x02, 0x03}) + name + value, {{name, value}});
}

// ---------------------------------------------------------------------------
// Malformed blocks

TEST(NameValueReader, FourByteNameLengthWithFewerThanFourBytesLeft) {
    expect_truncated(bytes({0x80}));
    expect_truncated(bytes({0x80, 0x00}));
    expect_truncated(bytes({0x80, 0x00, 0x00}));
}

TEST(NameValueReader, FourByteValueLengthWithFewerThanFourBytesLeft) {
    expect_truncated(bytes({0x01, 0x80}));
    expect_truncated(bytes({0x01, 0x80, 0x00}));
    expect_truncated(bytes({0x01, 0x80, 0x00, 0x00}));
}

TEST(NameValueReader, MissingValueLength) {
    expect_truncated(bytes({0x01}));
    expect_truncated(bytes({0x80, 0x00, 0x00, 0x01}));
}

TEST(NameValueReader, NameLongerThanTheBlock) {
    expect_truncated(bytes({0x05, 0x00}) + "abcd");
}

TEST(NameValueReader, ValueLongerThanTheBlock) {
    expect_truncated(bytes({0x01, 0x05}) + "n" + "abcd");
}

TEST(NameValueReader, HostileNameLength) {
    // 0x7FFFFFFF: the largest length; must not overflow an offset.
    expect_truncated(bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x00}) + "abc");
    expect_truncated(bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(NameValueReader, HostileValueLength) {
    expect_truncated(bytes({0x01, 0xFF, 0xFF, 0xFF, 0xFF}) + "n" + "abc");
    expect_truncated(bytes({0x00, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(NameValueReader, HostileLengthsTogether) {
    // A name that fits, then a value length far past the end; then both hostile.
    expect_truncated(bytes({0x01, 0xFF, 0xFF, 0xFF, 0xFF}) + "n");
    expect_truncated(bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00, 0x00, 0x01}) + "ab");
}

TEST(NameValueReader, ValueOneByteTooLong) {
    expect_truncated(bytes({0x02, 0x03}) + "ab" + "cd");
}

TEST(NameValueReader, GoodPairsThenTruncatedPair) {
    const read_result r = read_all(bytes({0x01, 0x01}) + "a" + "b" + bytes({0x01, 0x09}) + "c" + "d");
    EXPECT_EQ(r.read, (pairs{{"a", "b"}}));
    EXPECT_EQ(r.ec, errc::truncated_name_value);
    EXPECT_EQ(r.remaining, 0u);
}

TEST(NameValueReader, StopsAfterAnError) {
    const exact_copy in(bytes({0x05, 0x00}) + "ab");
    name_value_reader reader(in.view());
    std::string_view name, value;
    std::error_code ec;
    EXPECT_FALSE(reader.next(name, value, ec));
    EXPECT_EQ(ec, errc::truncated_name_value);
    EXPECT_EQ(reader.remaining(), 0u);
    // Nothing more is read from the bad block.
    EXPECT_FALSE(reader.next(name, value, ec));
    EXPECT_EQ(reader.remaining(), 0u);
}

TEST(NameValueReader, RemainingCountsUnreadBytes) {
    const std::string block = bytes({0x01, 0x01}) + "a" + "b" + bytes({0x02, 0x00}) + "cd";
    name_value_reader reader(block);
    EXPECT_EQ(reader.remaining(), 8u);
    std::string_view name, value;
    std::error_code ec;
    ASSERT_TRUE(reader.next(name, value, ec));
    EXPECT_EQ(reader.remaining(), 4u);
    ASSERT_TRUE(reader.next(name, value, ec));
    EXPECT_EQ(reader.remaining(), 0u);
    EXPECT_FALSE(reader.next(name, value, ec));
    EXPECT_FALSE(ec);
}

// Cuts a block of pairs at every offset: a cut at a pair boundary reads the
// pairs before it cleanly; any other cut reads them and then reports
// truncated_name_value, without reading past the cut.
TEST(NameValueReader, TruncatedAtEveryOffset) {
    const std::string long_name(130, 'L');
    const std::string long_value(200, 'W');
    const std::vector<std::string> encoded = {
        bytes({0x0B, 0x02}) + "SERVER_PORT" + "80",
        bytes({0x00, 0x00}),
        bytes({0x80, 0x00, 0x00, 0x82, 0x01}) + long_name + "x",
        bytes({0x01, 0x80, 0x00, 0x00, 0xC8}) + "y" + long_value,
        bytes({0x80, 0x00, 0x00, 0x82, 0x80, 0x00, 0x00, 0xC8}) + long_name + long_value,
        bytes({0x03, 0x00}) + "END",
    };
    const pairs expected = {{"SERVER_PORT", "80"}, {"", ""}, {long_name, "x"}, {"y", long_value},
                            {long_name, long_value}, {"END", ""}};
    std::string block;
    std::vector<std::size_t> boundaries = {0};
    for (const std::string& e : encoded) boundaries.push_back((block += e).size());

    expect_reads(block, expected);
    for (std::size_t cut = 0; cut < block.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        std::size_t whole = 0;
        while (boundaries[whole + 1] <= cut) ++whole;
        const read_result r = read_all(std::string_view(block).substr(0, cut));
        EXPECT_EQ(r.read, pairs(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(whole)));
        EXPECT_EQ(r.remaining, 0u);
        if (cut == boundaries[whole]) {
            EXPECT_FALSE(r.ec) << r.ec.message();
        } else {
            EXPECT_EQ(r.ec, errc::truncated_name_value) << r.ec.message();
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding, with expected bytes written by hand

TEST(AppendNameValue, OneByteLengths) {
    std::string out;
    append_name_value(out, "NAME", "value");
    EXPECT_EQ(out, bytes({0x04, 0x05}) + "NAME" + "value");
}

TEST(AppendNameValue, EmptyNameAndValue) {
    std::string out;
    append_name_value(out, "", "");
    EXPECT_EQ(out, bytes({0x00, 0x00}));
    append_name_value(out, "", "v");
    append_name_value(out, "n", "");
    EXPECT_EQ(out, bytes({0x00, 0x00, 0x00, 0x01, 0x76, 0x01, 0x00, 0x6E}));
}

TEST(AppendNameValue, Boundary127And128) {
    const std::string s127(127, 'a');
    const std::string s128(128, 'b');
    std::string out;
    append_name_value(out, s127, s128);
    EXPECT_EQ(out, bytes({0x7F, 0x80, 0x00, 0x00, 0x80}) + s127 + s128);
    out.clear();
    append_name_value(out, s128, s127);
    EXPECT_EQ(out, bytes({0x80, 0x00, 0x00, 0x80, 0x7F}) + s128 + s127);
}

TEST(AppendNameValue, LargeLengthIsBigEndian) {
    const std::string value(0x012345, 'z');
    std::string out;
    append_name_value(out, "k", value);
    EXPECT_EQ(out, bytes({0x01, 0x80, 0x01, 0x23, 0x45}) + "k" + value);
}

TEST(AppendNameValue, Appends) {
    std::string out = "pre";
    append_name_value(out, "a", "b");
    EXPECT_EQ(out, "pre" + bytes({0x01, 0x01}) + "ab");
}

TEST(NameValueSize, HandComputed) {
    EXPECT_EQ(name_value_size("", ""), 2u);
    EXPECT_EQ(name_value_size("NAME", "value"), 11u);
    EXPECT_EQ(name_value_size(std::string(127, 'a'), std::string(127, 'b')), 1u + 1u + 254u);
    EXPECT_EQ(name_value_size(std::string(128, 'a'), ""), 4u + 1u + 128u);
    EXPECT_EQ(name_value_size("", std::string(128, 'b')), 1u + 4u + 128u);
    EXPECT_EQ(name_value_size(std::string(128, 'a'), std::string(70000, 'b')), 4u + 4u + 70128u);
}

// ---------------------------------------------------------------------------
// Round trips

TEST(NameValueRoundTrip, ManyPairsAroundTheBoundary) {
    pairs expected;
    const std::size_t lengths[] = {0, 1, 2, 126, 127, 128, 129, 255, 256, 1000, 65535, 65536, 100000};
    for (const std::size_t n : lengths) {
        for (const std::size_t v : lengths) {
            expected.emplace_back(std::string(n, static_cast<char>('a' + n % 26)),
                                  std::string(v, static_cast<char>('A' + v % 26)));
        }
    }
    std::string block;
    for (const auto& [name, value] : expected) {
        const std::size_t before = block.size();
        append_name_value(block, name, value);
        EXPECT_EQ(block.size() - before, name_value_size(name, value)) << name.size() << "/" << value.size();
    }
    expect_reads(block, expected);
}

TEST(NameValueRoundTrip, ThousandSmallPairs) {
    pairs expected;
    std::string block;
    std::size_t total = 0;
    for (int i = 0; i < 1000; ++i) {
        expected.emplace_back("HTTP_X_" + std::to_string(i), std::string(static_cast<std::size_t>(i % 200), 'v'));
        append_name_value(block, expected.back().first, expected.back().second);
        total += name_value_size(expected.back().first, expected.back().second);
    }
    EXPECT_EQ(block.size(), total);
    expect_reads(block, expected);
}

}  // namespace
}  // namespace fcgid::fcgi
