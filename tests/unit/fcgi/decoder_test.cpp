// Tests core/fcgi/decoder.cpp. Every input is written by hand from the
// FastCGI 1.0 specification and run through grind(), which feeds it split at
// every offset the way a connection's input buffer receives it.
#include "fcgi/decoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"
#include "fcgi/record.hpp"
#include "support/bytes.hpp"

namespace fcgid::fcgi {
namespace {

using test::bytes;
using test::exact_copy;

// A decoded record, copied out of the buffer it was borrowed from.
struct decoded {
    std::uint8_t version = 0;
    std::uint8_t type = 0;
    std::uint16_t request_id = 0;
    std::uint16_t content_length = 0;
    std::uint8_t padding_length = 0;
    std::string content;
    std::size_t consumed = 0;

    bool operator==(const decoded&) const = default;
};

void PrintTo(const decoded& d, std::ostream* os) {
    *os << "{version " << int{d.version} << ", type " << int{d.type} << ", id " << d.request_id
        << ", content_length " << d.content_length << ", padding " << int{d.padding_length}
        << ", content size " << d.content.size() << ", consumed " << d.consumed << "}";
}

// What a connection ends up with after feeding an input: the records it got,
// the error that stopped it, and the bytes it still holds.
struct outcome {
    std::vector<decoded> records;
    std::error_code ec;
    std::string leftover;
};

// Decodes every whole record at the front of `buffer`, erasing each one, as a
// connection does; returns the error that stopped it (need_more when the
// buffer holds no whole record). Each call sees an exact-size copy, so ASan
// catches a read past the end of the input.
std::error_code drain(std::string& buffer, std::vector<decoded>& records) {
    for (;;) {
        const exact_copy input(buffer);
        record_view view;
        std::error_code ec = errc::stream_after_end;  // Any stale value; it must be overwritten.
        const std::size_t used = decode_record(input.view(), view, ec);
        if (ec) {
            EXPECT_EQ(used, 0u) << ec.message();
            return ec;
        }
        EXPECT_GE(used, header_size);
        EXPECT_LE(used, input.size());
        // The content is borrowed from the input, right after the header.
        EXPECT_EQ(view.content.data(), input.data() + header_size);
        EXPECT_EQ(view.content.size(), view.header.content_length);
        EXPECT_EQ(used, header_size + view.header.content_length + view.header.padding_length);
        if (used == 0 || used > buffer.size()) return ec;  // Already reported; avoid looping forever.
        records.push_back({view.header.version, static_cast<std::uint8_t>(view.header.type),
                           view.header.request_id, view.header.content_length,
                           view.header.padding_length, std::string(view.content), used});
        buffer.erase(0, used);
    }
}

outcome decode_all(std::string_view input) {
    outcome result;
    result.leftover = std::string(input);
    result.ec = drain(result.leftover, result.records);
    return result;
}

void expect_same(const outcome& got, const outcome& want) {
    EXPECT_EQ(got.records, want.records);
    EXPECT_EQ(got.ec, want.ec) << got.ec.message() << " vs " << want.ec.message();
    EXPECT_EQ(got.leftover, want.leftover);
}

// Decodes `input` whole, then again split in two at every offset (the first
// part, then the first and second together) and one byte at a time, and
// expects the same records, stopping error and leftover every time. After
// the first part alone it expects exactly the records that part holds whole,
// then need_more, except that a bad version byte is reported as soon as its
// header is whole. Returns the outcome of the whole input.
outcome grind(std::string_view input) {
    const outcome whole = decode_all(input);

    // Where each whole record ends, and where the record that stopped decoding starts.
    std::vector<std::size_t> ends;
    std::size_t offset = 0;
    for (const decoded& d : whole.records) ends.push_back(offset += d.consumed);
    const std::size_t stop = offset;

    for (std::size_t split = 0; split <= input.size(); ++split) {
        SCOPED_TRACE("split at " + std::to_string(split) + " of " + std::to_string(input.size()));
        outcome got;
        got.leftover = std::string(input.substr(0, split));
        const std::error_code first = drain(got.leftover, got.records);

        std::size_t complete = 0;
        while (complete < ends.size() && ends[complete] <= split) ++complete;
        EXPECT_EQ(got.records.size(), complete);
        const bool error_visible =
            complete == ends.size() && whole.ec != errc::need_more && split - stop >= header_size;
        EXPECT_EQ(first, error_visible ? whole.ec : make_error_code(errc::need_more)) << first.message();

        got.leftover.append(input.substr(split));
        got.ec = drain(got.leftover, got.records);
        expect_same(got, whole);
    }

    {
        SCOPED_TRACE("one byte at a time");
        outcome got;
        got.ec = errc::need_more;
        for (const char c : input) {
            got.leftover.push_back(c);
            // After a real error a connection stops decoding; keep the bytes.
            if (got.ec == errc::need_more) got.ec = drain(got.leftover, got.records);
        }
        expect_same(got, whole);
    }
    return whole;
}

// Grinds an input holding exactly one record and returns that record.
decoded grind_one(std::string_view input) {
    const outcome result = grind(input);
    EXPECT_EQ(result.ec, errc::need_more);
    EXPECT_TRUE(result.leftover.empty());
    if (result.records.size() != 1) {
        ADD_FAILURE() << "expected one record, got " << result.records.size();
        return {};
    }
    EXPECT_EQ(result.records[0].consumed, input.size());
    return result.records[0];
}

constexpr std::uint8_t type_byte(record_type t) { return static_cast<std::uint8_t>(t); }

// ---------------------------------------------------------------------------
// decode_header

TEST(DecodeHeader, ReadsEveryFieldBigEndianAndIgnoresReserved) {
    const exact_copy in(bytes({0x01, 0x04, 0xAB, 0xCD, 0x12, 0x34, 0x56, 0x99}));
    const record_header h = decode_header(in.view());
    EXPECT_EQ(h.version, 1);
    EXPECT_EQ(h.type, record_type::params);
    EXPECT_EQ(h.request_id, 0xABCD);
    EXPECT_EQ(h.content_length, 0x1234);
    EXPECT_EQ(h.padding_length, 0x56);
}

TEST(DecodeHeader, ReportsAnyVersionByteAsIs) {
    const exact_copy in(bytes({0x07, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00}));
    EXPECT_EQ(decode_header(in.view()).version, 7);
}

TEST(DecodeHeader, RequestIdByteOrder) {
    const exact_copy in(bytes({0x01, 0x05, 0x01, 0x02, 0x02, 0x01, 0x00, 0x00}));
    const record_header h = decode_header(in.view());
    EXPECT_EQ(h.request_id, 0x0102);
    EXPECT_EQ(h.content_length, 0x0201);
}

// ---------------------------------------------------------------------------
// Every record type, from hand-written bytes

TEST(DecodeRecord, BeginRequestResponderKeepConn) {
    const std::string in = bytes({0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00,   // header
                                  0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00});  // role 1, KEEP_CONN
    const decoded r = grind_one(in);
    EXPECT_EQ(r.version, 1);
    EXPECT_EQ(r.type, type_byte(record_type::begin_request));
    EXPECT_EQ(r.request_id, 1);
    EXPECT_EQ(r.content_length, 8);
    EXPECT_EQ(r.padding_length, 0);
    EXPECT_EQ(r.consumed, 16u);

    std::error_code ec = errc::need_more;
    const begin_request_body body = decode_begin_request(r.content, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(body.request_role, role::responder);
    EXPECT_EQ(body.flags, 1);
    EXPECT_TRUE(body.keep_conn());
}

TEST(DecodeRecord, AbortRequest) {
    const decoded r = grind_one(bytes({0x01, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00}));
    EXPECT_EQ(r.type, type_byte(record_type::abort_request));
    EXPECT_EQ(r.request_id, 3);
    EXPECT_EQ(r.content, "");
    EXPECT_EQ(r.consumed, 8u);
}

TEST(DecodeRecord, EndRequest) {
    const std::string body = bytes({0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00});
    const decoded r = grind_one(bytes({0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00}) + body);
    EXPECT_EQ(r.type, type_byte(record_type::end_request));
    EXPECT_EQ(r.content, body);
}

TEST(DecodeRecord, ParamsWithPaddingThenPairs) {
    // SERVER_PORT=80: 11-byte name, 2-byte value; 15 bytes of content, 1 of padding.
    const std::string in = bytes({0x01, 0x04, 0x00, 0x01, 0x00, 0x0F, 0x01, 0x00, 0x0B, 0x02}) +
                           "SERVER_PORT" + "80" + bytes({0x00});
    const decoded r = grind_one(in);
    EXPECT_EQ(r.type, type_byte(record_type::params));
    EXPECT_EQ(r.content_length, 15);
    EXPECT_EQ(r.padding_length, 1);
    EXPECT_EQ(r.consumed, 24u);

    name_value_reader reader(r.content);
    std::string_view name, value;
    std::error_code ec;
    ASSERT_TRUE(reader.next(name, value, ec)) << ec.message();
    EXPECT_EQ(name, "SERVER_PORT");
    EXPECT_EQ(value, "80");
    EXPECT_FALSE(reader.next(name, value, ec));
    EXPECT_FALSE(ec);
}

TEST(DecodeRecord, EmptyParamsEndsTheStream) {
    const decoded r = grind_one(bytes({0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
    EXPECT_EQ(r.type, type_byte(record_type::params));
    EXPECT_EQ(r.content, "");
}

TEST(DecodeRecord, Stdin) {
    const decoded r = grind_one(bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x07, 0x01, 0x00}) + "a=1&b=2" +
                                bytes({0x00}));
    EXPECT_EQ(r.type, type_byte(record_type::stdin_));
    EXPECT_EQ(r.content, "a=1&b=2");
}

TEST(DecodeRecord, Stdout) {
    const std::string text = "Status: 200 OK\r\n\r\n";  // 18 bytes
    const decoded r = grind_one(bytes({0x01, 0x06, 0x00, 0x02, 0x00, 0x12, 0x06, 0x00}) + text +
                                bytes({0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(r.type, type_byte(record_type::stdout_));
    EXPECT_EQ(r.request_id, 2);
    EXPECT_EQ(r.content, text);
}

TEST(DecodeRecord, Stderr) {
    const decoded r = grind_one(bytes({0x01, 0x07, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00}) + "oops");
    EXPECT_EQ(r.type, type_byte(record_type::stderr_));
    EXPECT_EQ(r.content, "oops");
}

TEST(DecodeRecord, Data) {
    const decoded r = grind_one(bytes({0x01, 0x08, 0x00, 0x01, 0x00, 0x03, 0x05, 0x00}) + "abc" +
                                bytes({0xEE, 0xEE, 0xEE, 0xEE, 0xEE}));
    EXPECT_EQ(r.type, type_byte(record_type::data));
    EXPECT_EQ(r.content, "abc");
}

TEST(DecodeRecord, GetValues) {
    // Three names with empty values: 1+1+14, 1+1+13, 1+1+15 = 48 bytes.
    const std::string pairs = bytes({0x0E, 0x00}) + "FCGI_MAX_CONNS" + bytes({0x0D, 0x00}) + "FCGI_MAX_REQS" +
                              bytes({0x0F, 0x00}) + "FCGI_MPXS_CONNS";
    ASSERT_EQ(pairs.size(), 48u);
    const decoded r = grind_one(bytes({0x01, 0x09, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00}) + pairs);
    EXPECT_EQ(r.type, type_byte(record_type::get_values));
    EXPECT_EQ(r.request_id, management_request_id);
    EXPECT_EQ(r.content, pairs);

    name_value_reader reader(r.content);
    std::string_view name, value;
    std::error_code ec;
    std::vector<std::string> names;
    while (reader.next(name, value, ec)) {
        names.emplace_back(name);
        EXPECT_EQ(value, "");
    }
    EXPECT_FALSE(ec);
    EXPECT_EQ(names, (std::vector<std::string>{"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"}));
}

TEST(DecodeRecord, GetValuesResult) {
    const std::string pairs = bytes({0x0F, 0x01}) + "FCGI_MPXS_CONNS" + "0";  // 18 bytes
    const decoded r = grind_one(bytes({0x01, 0x0A, 0x00, 0x00, 0x00, 0x12, 0x06, 0x00}) + pairs +
                                bytes({0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(r.type, type_byte(record_type::get_values_result));
    EXPECT_EQ(r.content, pairs);
}

TEST(DecodeRecord, UnknownType) {
    const std::string body = bytes({0x2A, 0, 0, 0, 0, 0, 0, 0});
    const decoded r = grind_one(bytes({0x01, 0x0B, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00}) + body);
    EXPECT_EQ(r.type, type_byte(record_type::unknown_type));
    EXPECT_EQ(r.content, body);
}

TEST(DecodeRecord, TypesOutsideTheSpecArePassedThrough) {
    // Record types are the caller's business (it answers UNKNOWN_TYPE).
    for (const unsigned type : {0x00u, 0x0Cu, 0x2Au, 0xFFu}) {
        SCOPED_TRACE(type);
        const decoded r = grind_one(bytes({0x01, type, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x58}));
        EXPECT_EQ(r.type, type);
        EXPECT_EQ(r.content, "X");
    }
}

TEST(DecodeRecord, RequestIdsAreBigEndian) {
    EXPECT_EQ(grind_one(bytes({0x01, 0x02, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00})).request_id, 0x1234);
    EXPECT_EQ(grind_one(bytes({0x01, 0x02, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00})).request_id, 0xFFFF);
}

TEST(DecodeRecord, ReservedHeaderByteIsIgnored) {
    const decoded r = grind_one(bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0xFF, 0x41}));
    EXPECT_EQ(r.content, "A");
}

// ---------------------------------------------------------------------------
// Padding

TEST(DecodeRecord, PaddingIsSkippedAndExcludedFromContent) {
    const std::string first = bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x03, 0x00}) + "Hello" +
                              bytes({0xAA, 0xBB, 0xCC});
    const std::string second = bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});
    const outcome out = grind(first + second);
    EXPECT_EQ(out.ec, errc::need_more);
    ASSERT_EQ(out.records.size(), 2u);
    EXPECT_EQ(out.records[0].content, "Hello");
    EXPECT_EQ(out.records[0].padding_length, 3);
    EXPECT_EQ(out.records[0].consumed, 16u);
    EXPECT_EQ(out.records[1].content, "");
    EXPECT_EQ(out.records[1].consumed, 8u);
}

TEST(DecodeRecord, PaddingWithoutContent) {
    const decoded r = grind_one(bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x07, 0x00, 1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(r.content, "");
    EXPECT_EQ(r.padding_length, 7);
    EXPECT_EQ(r.consumed, 15u);
}

TEST(DecodeRecord, MaximumPadding) {
    const std::string in = bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x02, 0xFF, 0x00}) + "ok" + std::string(255, '\x5A');
    const decoded r = grind_one(in);
    EXPECT_EQ(r.content, "ok");
    EXPECT_EQ(r.padding_length, 255);
    EXPECT_EQ(r.consumed, 8u + 2u + 255u);
}

TEST(DecodeRecord, LargestRecordFitsMaxRecordSize) {
    // Content 65535 and padding 255: too big to grind at every offset, so
    // check the prefixes where the answer changes.
    const std::string content = test::pattern(65535);
    const std::string in = bytes({0x01, 0x06, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x00}) + content + std::string(255, '\0');
    ASSERT_EQ(in.size(), max_record_size);
    for (const std::size_t size : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{9},
                                   std::size_t{8 + 65535}, max_record_size - 1}) {
        SCOPED_TRACE(size);
        const exact_copy prefix(std::string_view(in).substr(0, size));
        record_view view;
        std::error_code ec;
        EXPECT_EQ(decode_record(prefix.view(), view, ec), 0u);
        EXPECT_EQ(ec, errc::need_more);
    }
    const exact_copy whole(in);
    record_view view;
    std::error_code ec;
    EXPECT_EQ(decode_record(whole.view(), view, ec), max_record_size);
    EXPECT_FALSE(ec);
    EXPECT_EQ(view.header.content_length, 65535);
    EXPECT_EQ(view.header.padding_length, 255);
    EXPECT_EQ(view.content, content);
}

// ---------------------------------------------------------------------------
// Several records in one buffer

TEST(DecodeRecord, RecordsBackToBack) {
    const std::string in =
        bytes({0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0}) +  // BEGIN
        bytes({0x01, 0x04, 0x00, 0x01, 0x00, 0x0E, 0x02, 0x00, 0x0C, 0x00}) + "QUERY_STRING" +       // PARAMS
        bytes({0, 0}) +                                                                             //  padding
        bytes({0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}) +                                   // PARAMS end
        bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00}) + "hi" +                            // STDIN
        bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});                                    // STDIN end
    const outcome out = grind(in);
    EXPECT_EQ(out.ec, errc::need_more);
    EXPECT_TRUE(out.leftover.empty());
    ASSERT_EQ(out.records.size(), 5u);
    const std::uint8_t types[] = {1, 4, 4, 5, 5};
    const std::size_t sizes[] = {16, 24, 8, 10, 8};
    for (std::size_t i = 0; i < 5; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(out.records[i].type, types[i]);
        EXPECT_EQ(out.records[i].request_id, 1);
        EXPECT_EQ(out.records[i].consumed, sizes[i]);
    }
    EXPECT_EQ(out.records[1].content, bytes({0x0C, 0x00}) + "QUERY_STRING");
    EXPECT_EQ(out.records[3].content, "hi");
}

TEST(DecodeRecord, InterleavedRequestIds) {
    const std::string in = bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x61}) +
                           bytes({0x01, 0x06, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x62}) +
                           bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x63});
    const outcome out = grind(in);
    ASSERT_EQ(out.records.size(), 3u);
    EXPECT_EQ(out.records[0].request_id, 1);
    EXPECT_EQ(out.records[1].request_id, 2);
    EXPECT_EQ(out.records[2].request_id, 1);
    EXPECT_EQ(out.records[0].content + out.records[1].content + out.records[2].content, "abc");
}

TEST(DecodeRecord, WholeRecordThenPartOfTheNext) {
    const std::string in = bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x41}) +
                           bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x42, 0x43});
    const outcome out = grind(in);
    EXPECT_EQ(out.ec, errc::need_more);
    ASSERT_EQ(out.records.size(), 1u);
    EXPECT_EQ(out.records[0].content, "A");
    EXPECT_EQ(out.leftover, bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x42, 0x43}));
}

// ---------------------------------------------------------------------------
// Version byte

TEST(DecodeRecord, WrongVersionRejectedWithOnlyTheHeader) {
    // Content length 0xFFFF, but the version alone decides: no waiting for 64 KiB.
    for (const unsigned version : {0x00u, 0x02u, 0x80u, 0xFFu}) {
        SCOPED_TRACE(version);
        const exact_copy in(bytes({version, 0x01, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00}));
        record_view view;
        std::error_code ec;
        EXPECT_EQ(decode_record(in.view(), view, ec), 0u);
        EXPECT_EQ(ec, errc::bad_version) << ec.message();
    }
}

TEST(DecodeRecord, WrongVersionWithWholeRecordGround) {
    const outcome out = grind(bytes({0x02, 0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x61, 0x62}));
    EXPECT_EQ(out.ec, errc::bad_version);
    EXPECT_TRUE(out.records.empty());
}

TEST(DecodeRecord, PartialHeaderWithWrongVersionIsNeedMore) {
    // Until the header is whole the decoder does not look at it.
    const exact_copy in(bytes({0x02, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00}));
    record_view view;
    std::error_code ec;
    EXPECT_EQ(decode_record(in.view(), view, ec), 0u);
    EXPECT_EQ(ec, errc::need_more);
}

TEST(DecodeRecord, GoodRecordThenWrongVersion) {
    const std::string good = bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x41});
    const std::string bad = bytes({0x00, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x42});
    const outcome out = grind(good + bad);
    EXPECT_EQ(out.ec, errc::bad_version);
    ASSERT_EQ(out.records.size(), 1u);
    EXPECT_EQ(out.records[0].content, "A");
    EXPECT_EQ(out.leftover, bad);
}

// ---------------------------------------------------------------------------
// Truncation

TEST(DecodeRecord, TruncatedHeaderNeedsMore) {
    const std::string header = bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});
    for (std::size_t size = 0; size < header_size; ++size) {
        SCOPED_TRACE(size);
        const exact_copy in(std::string_view(header).substr(0, size));
        record_view view;
        std::error_code ec;
        EXPECT_EQ(decode_record(in.view(), view, ec), 0u);
        EXPECT_EQ(ec, errc::need_more);
    }
}

TEST(DecodeRecord, TruncatedContentNeedsMore) {
    const exact_copy in(bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x61, 0x62, 0x63}));
    record_view view;
    std::error_code ec;
    EXPECT_EQ(decode_record(in.view(), view, ec), 0u);
    EXPECT_EQ(ec, errc::need_more);
}

TEST(DecodeRecord, TruncatedPaddingNeedsMore) {
    // The content is all there, but a record is only consumed with its padding.
    const exact_copy in(bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x61, 0x62, 0x00, 0x00}));
    record_view view;
    std::error_code ec;
    EXPECT_EQ(decode_record(in.view(), view, ec), 0u);
    EXPECT_EQ(ec, errc::need_more);
}

TEST(DecodeRecord, EmptyInputNeedsMore) {
    record_view view;
    std::error_code ec;
    EXPECT_EQ(decode_record(std::string_view{}, view, ec), 0u);
    EXPECT_EQ(ec, errc::need_more);
    const outcome out = grind("");
    EXPECT_TRUE(out.records.empty());
    EXPECT_EQ(out.ec, errc::need_more);
}

TEST(DecodeRecord, SuccessClearsAStaleError) {
    const exact_copy in(bytes({0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
    record_view view;
    std::error_code ec = errc::bad_version;
    EXPECT_EQ(decode_record(in.view(), view, ec), 8u);
    EXPECT_FALSE(ec);
}

// ---------------------------------------------------------------------------
// BEGIN_REQUEST bodies

begin_request_body begin(std::initializer_list<unsigned> body, std::error_code& ec) {
    const exact_copy in(bytes(body));
    return decode_begin_request(in.view(), ec);
}

TEST(DecodeBeginRequest, Roles) {
    std::error_code ec;
    EXPECT_EQ(begin({0x00, 0x01, 0, 0, 0, 0, 0, 0}, ec).request_role, role::responder);
    EXPECT_FALSE(ec);
    EXPECT_EQ(begin({0x00, 0x02, 0, 0, 0, 0, 0, 0}, ec).request_role, role::authorizer);
    EXPECT_FALSE(ec);
    EXPECT_EQ(begin({0x00, 0x03, 0, 0, 0, 0, 0, 0}, ec).request_role, role::filter);
    EXPECT_FALSE(ec);
}

TEST(DecodeBeginRequest, UnknownRolesArePassedThroughBigEndian) {
    // The caller answers them with END_REQUEST / unknown_role.
    std::error_code ec;
    EXPECT_EQ(static_cast<std::uint16_t>(begin({0x12, 0x34, 0, 0, 0, 0, 0, 0}, ec).request_role), 0x1234);
    EXPECT_FALSE(ec);
    EXPECT_EQ(static_cast<std::uint16_t>(begin({0x00, 0x00, 0, 0, 0, 0, 0, 0}, ec).request_role), 0);
    EXPECT_EQ(static_cast<std::uint16_t>(begin({0x01, 0x00, 0, 0, 0, 0, 0, 0}, ec).request_role), 0x0100);
}

TEST(DecodeBeginRequest, KeepConnFlag) {
    std::error_code ec;
    begin_request_body b = begin({0x00, 0x01, 0x00, 0, 0, 0, 0, 0}, ec);
    EXPECT_FALSE(b.keep_conn());
    EXPECT_EQ(b.flags, 0);

    b = begin({0x00, 0x01, 0x01, 0, 0, 0, 0, 0}, ec);
    EXPECT_TRUE(b.keep_conn());

    // Only bit 0 is FCGI_KEEP_CONN; the other bits are kept but mean nothing.
    b = begin({0x00, 0x01, 0xFE, 0, 0, 0, 0, 0}, ec);
    EXPECT_FALSE(b.keep_conn());
    EXPECT_EQ(b.flags, 0xFE);

    b = begin({0x00, 0x01, 0xFF, 0, 0, 0, 0, 0}, ec);
    EXPECT_TRUE(b.keep_conn());
    EXPECT_FALSE(ec);
}

TEST(DecodeBeginRequest, ReservedBytesAreIgnored) {
    std::error_code ec;
    const begin_request_body b = begin({0x00, 0x02, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(b.request_role, role::authorizer);
    EXPECT_FALSE(b.keep_conn());
}

TEST(DecodeBeginRequest, BodyNotEightBytesIsRejected) {
    std::error_code ec;
    begin({0x00, 0x01, 0x01, 0, 0, 0, 0}, ec);  // 7
    EXPECT_EQ(ec, errc::bad_begin_request);
    ec.clear();
    begin({0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0}, ec);  // 9
    EXPECT_EQ(ec, errc::bad_begin_request);
    ec.clear();
    begin({}, ec);
    EXPECT_EQ(ec, errc::bad_begin_request);
    ec.clear();
    begin({0x00}, ec);
    EXPECT_EQ(ec, errc::bad_begin_request);
}

TEST(DecodeBeginRequest, SevenByteRecordIsBadBeginRequest) {
    // Framing is fine; only the body check fails.
    const decoded r = grind_one(bytes({0x01, 0x01, 0x00, 0x01, 0x00, 0x07, 0x01, 0x00,  //
                                       0x00, 0x01, 0x01, 0, 0, 0, 0, 0x00}));
    EXPECT_EQ(r.content.size(), 7u);
    std::error_code ec;
    const exact_copy content(r.content);
    decode_begin_request(content.view(), ec);
    EXPECT_EQ(ec, errc::bad_begin_request);
}

TEST(DecodeBeginRequest, NineByteRecordIsBadBeginRequest) {
    const decoded r = grind_one(bytes({0x01, 0x01, 0x00, 0x01, 0x00, 0x09, 0x07, 0x00,  //
                                       0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0,              //
                                       0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(r.content.size(), 9u);
    std::error_code ec;
    const exact_copy content(r.content);
    decode_begin_request(content.view(), ec);
    EXPECT_EQ(ec, errc::bad_begin_request);
}

TEST(DecodeBeginRequest, SuccessClearsAStaleError) {
    std::error_code ec = errc::bad_begin_request;
    begin({0x00, 0x01, 0x00, 0, 0, 0, 0, 0}, ec);
    EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace fcgid::fcgi
