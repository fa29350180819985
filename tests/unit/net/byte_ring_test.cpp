// core/net/byte_ring: bytes come out in the order they went in, across the
// end of the buffer and across growth; the buffer doubles while small, then
// grows once to a step past its limit, then by what is needed and a step.
#include "net/byte_ring.hpp"

#include <gtest/gtest.h>

#include <string>

namespace fcgid::net {
namespace {

std::string take_all(byte_ring& ring) {
    std::string out = std::string(ring.front()) + std::string(ring.second());
    ring.consume(out.size());
    return out;
}

TEST(ByteRing, AppendsWrapAroundTheEndAndComeOutInOrder) {
    byte_ring ring(1024);
    ring.reserve(16);
    ASSERT_EQ(ring.capacity(), 16U);
    ring.append("0123456789");
    ring.consume(8);                // "89" left, at the buffer's end side
    ring.append("abcdefghij");      // wraps: 6 at the end, 4 at the front
    EXPECT_EQ(ring.capacity(), 16U);  // no growth: it fits around
    EXPECT_EQ(ring.size(), 12U);
    EXPECT_FALSE(ring.second().empty());
    EXPECT_EQ(take_all(ring), "89abcdefghij");
    EXPECT_TRUE(ring.empty());
}

TEST(ByteRing, GrowingKeepsTheOrderOfWrappedBytes) {
    byte_ring ring(1024);
    ring.reserve(8);
    ring.append("abcdef");
    ring.consume(4);
    ring.append("ghijkl");  // wrapped: "ef" + "ghijkl" in 8 bytes
    ring.append("mnop");    // grows
    EXPECT_GE(ring.capacity(), 12U);
    EXPECT_EQ(take_all(ring), "efghijklmnop");
}

TEST(ByteRing, DoublesWhileSmallThenGrowsOnceToAStepPastTheLimit) {
    constexpr std::size_t k = 1024;
    byte_ring ring(256 * k);  // the step is 64 KiB, and so is "small"
    ring.reserve(10);
    EXPECT_EQ(ring.capacity(), 10U);
    ring.append(std::string(11, 'x'));
    EXPECT_EQ(ring.capacity(), 20U);  // doubling
    ring.append(std::string(30, 'x'));
    EXPECT_EQ(ring.capacity(), 41U);  // doubling would not hold it: what is needed
    ring.consume(41);
    ring.append(std::string(64 * k + 1, 'x'));
    EXPECT_EQ(ring.capacity(), 320 * k);  // past small: at once to the limit and a step
    ring.append(std::string(200 * k, 'x'));
    EXPECT_EQ(ring.capacity(), 320 * k);  // no growth on the way
    ring.append(std::string(60 * k, 'x'));  // 324 KiB and a byte: past it
    EXPECT_EQ(ring.capacity(), 388 * k + 1);  // what is needed and a step
    ring.append(std::string(64 * k - 1, 'x'));
    EXPECT_EQ(ring.capacity(), 388 * k + 1);  // which the next writes fill first
}

TEST(ByteRing, ReleasesOnlyAnEmptyBufferLargerThanAsked) {
    byte_ring ring(1 << 20);
    ring.append(std::string(1000, 'x'));
    ring.release_above(10);
    EXPECT_EQ(ring.capacity(), 1000U);  // not empty: kept
    ring.consume(1000);
    ring.release_above(4096);
    EXPECT_EQ(ring.capacity(), 1000U);  // small: kept
    ring.release_above(10);
    EXPECT_EQ(ring.capacity(), 0U);
    ring.append("again");
    EXPECT_EQ(take_all(ring), "again");
}

}  // namespace
}  // namespace fcgid::net
