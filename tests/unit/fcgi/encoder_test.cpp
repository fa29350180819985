// Tests core/fcgi/encoder.cpp. Expected bytes are written by hand from the
// FastCGI 1.0 specification (sections 3.3, 5.5, 4.2, 4.1), never produced by
// the encoder itself.
#include "fcgi/encoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fcgi/decoder.hpp"
#include "fcgi/record.hpp"
#include "support/bytes.hpp"

namespace fcgid::fcgi {
namespace {

using test::bytes;

// ---------------------------------------------------------------------------
// Header layout: version, type, requestIdB1, requestIdB0,
// contentLengthB1, contentLengthB0, paddingLength, reserved.

TEST(AppendHeader, LayoutIsBigEndianWithReservedZero) {
    std::string out;
    append_header(out, record_type::params, 0x1234, 0xABCD, 0x07);
    EXPECT_EQ(out, bytes({0x01, 0x04, 0x12, 0x34, 0xAB, 0xCD, 0x07, 0x00}));
}

TEST(AppendHeader, PaddingDefaultsToZero) {
    std::string out;
    append_header(out, record_type::stdin_, 1, 0);
    EXPECT_EQ(out, bytes({0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendHeader, ExtremeValues) {
    std::string out;
    append_header(out, record_type::data, 0xFFFF, 0xFFFF, 0xFF);
    EXPECT_EQ(out, bytes({0x01, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}));
    out.clear();
    append_header(out, record_type::data, 0x0100, 0x0001, 0x00);
    EXPECT_EQ(out, bytes({0x01, 0x08, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00}));
}

TEST(AppendHeader, EveryTypeByte) {
    const record_type types[] = {record_type::begin_request, record_type::abort_request, record_type::end_request,
                                 record_type::params,        record_type::stdin_,        record_type::stdout_,
                                 record_type::stderr_,       record_type::data,          record_type::get_values,
                                 record_type::get_values_result, record_type::unknown_type};
    // FCGI_BEGIN_REQUEST 1 ... FCGI_UNKNOWN_TYPE 11, in spec order.
    unsigned expected = 1;
    for (const record_type t : types) {
        SCOPED_TRACE(expected);
        std::string out;
        append_header(out, t, 1, 0);
        EXPECT_EQ(out, bytes({0x01, expected, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
        ++expected;
    }
}

TEST(AppendHeader, AppendsWithoutTouchingExistingBytes) {
    std::string out = "xy";
    append_header(out, record_type::stdout_, 2, 3);
    EXPECT_EQ(out, "xy" + bytes({0x01, 0x06, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00}));
}

// ---------------------------------------------------------------------------
// END_REQUEST: appStatusB3..B0, protocolStatus, reserved[3].

TEST(AppendBeginRequest, RoleFlagsAndReservedZeros) {
    std::string out;
    append_begin_request(out, 0x0102, role::responder, flag_keep_conn);
    EXPECT_EQ(out, bytes({0x01, 0x01, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00,    // header
                          0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}));  // role 1, keep_conn
    std::error_code ec;
    const begin_request_body body = decode_begin_request(std::string_view(out).substr(header_size), ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(body.request_role, role::responder);
    EXPECT_TRUE(body.keep_conn());
}

TEST(AppendEndRequest, RequestComplete) {
    std::string out;
    append_end_request(out, 1, 0, protocol_status::request_complete);
    EXPECT_EQ(out, bytes({0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00,  //
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendEndRequest, AppStatusIsBigEndian) {
    std::string out;
    append_end_request(out, 0x0203, 0x01020304, protocol_status::request_complete);
    EXPECT_EQ(out, bytes({0x01, 0x03, 0x02, 0x03, 0x00, 0x08, 0x00, 0x00,  //
                          0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00}));
    out.clear();
    append_end_request(out, 1, 0xFFFFFFFF, protocol_status::request_complete);
    EXPECT_EQ(out, bytes({0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00,  //
                          0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendEndRequest, ProtocolStatuses) {
    // FCGI_REQUEST_COMPLETE 0, FCGI_CANT_MPX_CONN 1, FCGI_OVERLOADED 2, FCGI_UNKNOWN_ROLE 3.
    const struct {
        protocol_status status;
        unsigned byte;
    } cases[] = {{protocol_status::request_complete, 0},
                 {protocol_status::cant_mpx_conn, 1},
                 {protocol_status::overloaded, 2},
                 {protocol_status::unknown_role, 3}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.byte);
        std::string out;
        append_end_request(out, 5, 0, c.status);
        EXPECT_EQ(out, bytes({0x01, 0x03, 0x00, 0x05, 0x00, 0x08, 0x00, 0x00,  //
                              0x00, 0x00, 0x00, 0x00, c.byte, 0x00, 0x00, 0x00}));
    }
}

// ---------------------------------------------------------------------------
// UNKNOWN_TYPE: request id 0, body type, reserved[7].

TEST(AppendUnknownType, BodyCarriesTheType) {
    std::string out;
    append_unknown_type(out, 42);
    EXPECT_EQ(out, bytes({0x01, 0x0B, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,  //
                          0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendUnknownType, HighTypeByte) {
    std::string out;
    append_unknown_type(out, 0xFF);
    EXPECT_EQ(out, bytes({0x01, 0x0B, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,  //
                          0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

// ---------------------------------------------------------------------------
// GET_VALUES_RESULT: request id 0, body is name-value pairs.

TEST(AppendGetValuesResult, WithPairs) {
    // FCGI_MAX_CONNS=1 (14+1), FCGI_MPXS_CONNS=0 (15+1): 2+15 + 2+16 = 35 bytes.
    const std::string pairs = bytes({0x0E, 0x01}) + "FCGI_MAX_CONNS" + "1" + bytes({0x0F, 0x01}) + "FCGI_MPXS_CONNS" + "0";
    ASSERT_EQ(pairs.size(), 35u);
    std::string out;
    append_get_values_result(out, pairs);
    EXPECT_EQ(out, bytes({0x01, 0x0A, 0x00, 0x00, 0x00, 0x23, 0x00, 0x00}) + pairs);
}

TEST(AppendGetValuesResult, Empty) {
    std::string out;
    append_get_values_result(out, "");
    EXPECT_EQ(out, bytes({0x01, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendGetValuesResult, LargestBody) {
    const std::string pairs = test::pattern(65535);
    std::string out;
    append_get_values_result(out, pairs);
    EXPECT_EQ(out, bytes({0x01, 0x0A, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}) + pairs);
}

// ---------------------------------------------------------------------------
// Streams

TEST(AppendStream, SmallStdout) {
    std::string out;
    append_stream(out, record_type::stdout_, 1, "Hello");
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00}) + "Hello");
}

TEST(AppendStream, SmallStderr) {
    std::string out;
    append_stream(out, record_type::stderr_, 0x0102, "err");
    EXPECT_EQ(out, bytes({0x01, 0x07, 0x01, 0x02, 0x00, 0x03, 0x00, 0x00}) + "err");
}

TEST(AppendStream, BinaryDataIsCopiedVerbatim) {
    const std::string data = bytes({0x00, 0xFF, 0x01, 0x80, 0x00});
    std::string out;
    append_stream(out, record_type::stdout_, 1, data);
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00}) + data);
}

TEST(AppendStream, EmptyDataAppendsNothing) {
    std::string out = "keep";
    append_stream(out, record_type::stdout_, 1, "");
    EXPECT_EQ(out, "keep");
    append_stream(out, record_type::stderr_, 1, std::string_view{});
    EXPECT_EQ(out, "keep");
}

TEST(AppendStream, StreamEndIsAnEmptyRecord) {
    std::string out;
    append_stream_end(out, record_type::stdout_, 1);
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
    append_stream_end(out, record_type::stderr_, 0xABCD);
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  //
                          0x01, 0x07, 0xAB, 0xCD, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendStream, DataThenEnd) {
    std::string out;
    append_stream(out, record_type::stdout_, 3, "ab");
    append_stream_end(out, record_type::stdout_, 3);
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x61, 0x62,  //
                          0x01, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00}));
}

TEST(AppendStream, Exactly65535BytesIsOneRecord) {
    const std::string data = test::pattern(65535);
    std::string out;
    append_stream(out, record_type::stdout_, 1, data);
    ASSERT_EQ(out.size(), 8u + 65535u);
    EXPECT_EQ(out, bytes({0x01, 0x06, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00}) + data);
}

TEST(AppendStream, Exactly65536BytesIsTwoRecords) {
    const std::string data = test::pattern(65536);
    std::string out;
    append_stream(out, record_type::stdout_, 1, data);
    const std::string expected = bytes({0x01, 0x06, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00}) + data.substr(0, 65535) +
                                 bytes({0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00}) + data.substr(65535);
    ASSERT_EQ(out.size(), 8u + 65535u + 8u + 1u);
    EXPECT_EQ(out, expected);
}

TEST(AppendStream, TwoHundredThousandBytes) {
    // 200000 = 3 * 65535 + 3395, and 3395 = 0x0D43.
    const std::string data = test::pattern(200000);
    std::string out = "pre";
    append_stream(out, record_type::stderr_, 0x0A0B, data);
    const std::string full = bytes({0x01, 0x07, 0x0A, 0x0B, 0xFF, 0xFF, 0x00, 0x00});
    const std::string last = bytes({0x01, 0x07, 0x0A, 0x0B, 0x0D, 0x43, 0x00, 0x00});
    const std::string expected = "pre" + full + data.substr(0, 65535) + full + data.substr(65535, 65535) + full +
                                 data.substr(131070, 65535) + last + data.substr(196605);
    ASSERT_EQ(out.size(), 3u + 4 * 8u + 200000u);
    EXPECT_EQ(out, expected);

    // Reassemble by walking the headers by hand.
    std::string_view rest = std::string_view(out).substr(3);
    std::string joined;
    int records = 0;
    while (!rest.empty()) {
        ASSERT_GE(rest.size(), 8u);
        const auto* h = reinterpret_cast<const unsigned char*>(rest.data());
        EXPECT_EQ(h[0], 1);
        EXPECT_EQ(h[1], 7);
        EXPECT_EQ(h[6], 0);  // no padding
        const std::size_t length = (std::size_t{h[4]} << 8) | h[5];
        ASSERT_GE(rest.size(), 8 + length);
        joined.append(rest.substr(8, length));
        rest.remove_prefix(8 + length);
        ++records;
    }
    EXPECT_EQ(records, 4);
    EXPECT_EQ(joined, data);
}

TEST(AppendStream, RoundTripsThroughTheDecoder) {
    const std::string data = test::pattern(150000);
    std::string out;
    append_stream(out, record_type::stdout_, 7, data);
    append_stream_end(out, record_type::stdout_, 7);

    std::string_view rest = out;
    std::string joined;
    bool ended = false;
    while (!rest.empty()) {
        record_view view;
        std::error_code ec;
        const std::size_t used = decode_record(rest, view, ec);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_FALSE(ended) << "record after the stream end";
        EXPECT_EQ(view.header.type, record_type::stdout_);
        EXPECT_EQ(view.header.request_id, 7);
        if (view.content.empty()) ended = true;
        joined.append(view.content);
        rest.remove_prefix(used);
    }
    EXPECT_TRUE(ended);
    EXPECT_EQ(joined, data);
}

}  // namespace
}  // namespace fcgid::fcgi
