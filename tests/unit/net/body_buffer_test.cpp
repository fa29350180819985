// Tests core/net/body_buffer.hpp: appends and reads into its free room keep
// every byte, an empty one still gives a valid pointer, and moves and swaps
// leave nothing behind.
#include "net/body_buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace fcgid::net {
namespace {

TEST(BodyBuffer, AnEmptyOneGivesAValidPointer) {
    const body_buffer empty;
    EXPECT_NE(empty.view().data(), nullptr);
    EXPECT_EQ(empty.view().size(), 0u);
}

TEST(BodyBuffer, AppendsGrowItAndKeepEveryByte) {
    body_buffer b;
    std::string want;
    for (int i = 0; i < 100; ++i) {
        const std::string part(static_cast<std::size_t>(i * 37 % 1000), static_cast<char>('a' + i % 26));
        b.append(part);
        want += part;
    }
    EXPECT_EQ(b.view(), want);
    EXPECT_GE(b.capacity(), want.size());
}

TEST(BodyBuffer, AReadIntoItsRoomCountsOnlyWhatIsCommitted) {
    body_buffer b;
    b.append("head:");
    b.reserve(100);
    const auto room = b.tail();
    ASSERT_EQ(room.size(), 95u);
    std::memcpy(room.data(), "read", 4);
    b.commit(4);
    EXPECT_EQ(b.view(), "head:read");
    b.append("!");
    EXPECT_EQ(b.view(), "head:read!");
}

TEST(BodyBuffer, ReserveKeepsWhatIsThere) {
    body_buffer b;
    b.append("kept");
    b.reserve(1 << 20);
    EXPECT_EQ(b.view(), "kept");
    EXPECT_EQ(b.capacity(), 1u << 20);
}

TEST(BodyBuffer, ClearKeepingFreesOnlyALargeBuffer) {
    body_buffer small;
    small.reserve(100);
    small.append("x");
    small.clear_keeping(1000);
    EXPECT_EQ(small.size(), 0u);
    EXPECT_EQ(small.capacity(), 100u);
    body_buffer large;
    large.reserve(5000);
    large.clear_keeping(1000);
    EXPECT_EQ(large.capacity(), 0u);
}

TEST(BodyBuffer, AMovedFromOneIsEmpty) {
    body_buffer a;
    a.append("moved");
    body_buffer b(std::move(a));
    EXPECT_EQ(b.view(), "moved");
    EXPECT_EQ(a.size(), 0u);      // NOLINT(bugprone-use-after-move): the state after is the point
    EXPECT_EQ(a.capacity(), 0u);  // NOLINT(bugprone-use-after-move)
    body_buffer c;
    c.append("old");
    c = std::move(b);
    EXPECT_EQ(c.view(), "moved");
    EXPECT_EQ(b.capacity(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace fcgid::net
