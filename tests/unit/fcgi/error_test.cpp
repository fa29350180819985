// Tests core/fcgi/error.cpp: the "fcgid.protocol" error category.
#include "fcgi/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>

namespace fcgid::fcgi {
namespace {

constexpr errc all_errors[] = {
    errc::need_more,         errc::bad_version,    errc::truncated_name_value,
    errc::bad_begin_request, errc::bad_request_id, errc::params_too_large,
    errc::too_many_params,   errc::stream_after_end,
};

TEST(ProtocolCategory, Name) {
    EXPECT_STREQ(protocol_category().name(), "fcgid.protocol");
}

TEST(ProtocolCategory, IsASingleton) {
    EXPECT_EQ(&protocol_category(), &protocol_category());
}

TEST(ProtocolCategory, EveryErrorHasItsOwnNonEmptyMessage) {
    std::set<std::string> messages;
    for (const errc e : all_errors) {
        SCOPED_TRACE(static_cast<int>(e));
        const std::string message = protocol_category().message(static_cast<int>(e));
        EXPECT_FALSE(message.empty());
        EXPECT_NE(message, protocol_category().message(9999)) << "falls back to the unknown message";
        messages.insert(message);
    }
    EXPECT_EQ(messages.size(), std::size(all_errors));
}

TEST(ProtocolCategory, UnknownValuesStillHaveAMessage) {
    EXPECT_FALSE(protocol_category().message(0).empty());
    EXPECT_FALSE(protocol_category().message(-1).empty());
    EXPECT_FALSE(protocol_category().message(9999).empty());
}

TEST(ErrorCode, ImplicitConversionFromErrc) {
    std::error_code ec = errc::bad_version;
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec.category(), protocol_category());
    EXPECT_EQ(ec.value(), static_cast<int>(errc::bad_version));
    EXPECT_EQ(ec, errc::bad_version);
    EXPECT_NE(ec, errc::need_more);
    EXPECT_EQ(ec.message(), protocol_category().message(static_cast<int>(errc::bad_version)));
}

TEST(ErrorCode, NoErrorIsSuccess) {
    // Every enumerator must test true in `if (ec)`; need_more included.
    for (const errc e : all_errors) {
        SCOPED_TRACE(static_cast<int>(e));
        const std::error_code ec = make_error_code(e);
        EXPECT_TRUE(ec);
        EXPECT_NE(ec.value(), 0);
    }
}

TEST(ErrorCode, DistinctFromSystemErrorsWithTheSameValue) {
    const std::error_code ec = errc::bad_version;
    EXPECT_NE(ec, std::error_code(ec.value(), std::generic_category()));
    EXPECT_NE(ec, std::error_code(ec.value(), std::system_category()));
}

TEST(ErrorCode, AssignAndClear) {
    std::error_code ec;
    EXPECT_FALSE(ec);
    ec = errc::truncated_name_value;
    EXPECT_EQ(ec, errc::truncated_name_value);
    ec.clear();
    EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace fcgid::fcgi
