// Tests core/net/request_params.cpp: the PARAMS stream rewritten in place
// into NUL-terminated views, fed in pieces as records split it.
#include "net/request_params.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"

namespace fcgid::net {
namespace {

std::string stream_of(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
    std::string out;
    for (const auto& [name, value] : pairs) fcgi::append_name_value(out, name, value);
    return out;
}

TEST(RequestParams, IndexesPairsInOrderAsNulTerminatedViews) {
    request_params params;
    params.append(stream_of({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a?b=c"}, {"EMPTY", ""}}));
    ASSERT_FALSE(params.end(100));
    ASSERT_EQ(params.count(), 3u);
    std::string_view name, value;
    ASSERT_TRUE(params.at(1, name, value));
    EXPECT_EQ(name, "REQUEST_URI");
    EXPECT_EQ(value, "/a?b=c");
    EXPECT_EQ(name.data()[name.size()], '\0');
    EXPECT_EQ(value.data()[value.size()], '\0');
    ASSERT_TRUE(params.at(2, name, value));
    EXPECT_EQ(value, "");
    EXPECT_EQ(value.data()[0], '\0');
    EXPECT_FALSE(params.at(3, name, value));
}

TEST(RequestParams, StreamSplitAtEveryByteGivesTheSamePairs) {
    const std::string stream = stream_of({{"A", "1"}, {std::string(200, 'n'), std::string(300, 'v')}});
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        request_params params;
        params.append(std::string_view(stream).substr(0, cut));
        params.append(std::string_view(stream).substr(cut));
        EXPECT_EQ(params.received(), stream.size());
        ASSERT_FALSE(params.end(10)) << "cut at " << cut;
        std::string_view value;
        ASSERT_TRUE(params.find(std::string(200, 'n'), value));
        EXPECT_EQ(value, std::string(300, 'v'));
    }
}

TEST(RequestParams, FindMatchesWholeNamesOnly) {
    request_params params;
    params.append(stream_of({{"HTTP_HOST", "example"}, {"HOST", "other"}}));
    ASSERT_FALSE(params.end(10));
    std::string_view value;
    ASSERT_TRUE(params.find("HOST", value));
    EXPECT_EQ(value, "other");
    EXPECT_FALSE(params.find("HOS", value));
    EXPECT_FALSE(params.find("HTTP_HOST_", value));
}

TEST(RequestParams, MoreThanTheLimitFailsKeepingThoseBefore) {
    request_params params;
    params.append(stream_of({{"A", "1"}, {"B", "2"}, {"C", "3"}}));
    EXPECT_EQ(params.end(2), fcgi::errc::too_many_params);
    EXPECT_EQ(params.count(), 2u);
}

TEST(RequestParams, TruncatedPairFails) {
    request_params params;
    std::string stream = stream_of({{"NAME", "value"}});
    stream.pop_back();
    params.append(stream);
    EXPECT_EQ(params.end(10), fcgi::errc::truncated_name_value);
}

TEST(RequestParams, ClearMakesItReusable) {
    request_params params;
    params.append(stream_of({{"A", "1"}}));
    ASSERT_FALSE(params.end(10));
    params.clear();
    EXPECT_EQ(params.count(), 0u);
    EXPECT_EQ(params.received(), 0u);
    params.append(stream_of({{"B", "2"}}));
    ASSERT_FALSE(params.end(10));
    std::string_view value;
    EXPECT_FALSE(params.find("A", value));
    EXPECT_TRUE(params.find("B", value));
}

}  // namespace
}  // namespace fcgid::net
