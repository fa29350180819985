// Tests core/net/request_slots.hpp: the count of requests in flight is raised
// by take() and lowered only by a slot's destruction.
#include "net/request_slots.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace fcgid::net {
namespace {

TEST(RequestSlots, TakesUpToTheLimitThenRefuses) {
    request_slots slots(2);
    auto a = slots.take();
    auto b = slots.take();
    auto c = slots.take();
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_FALSE(c);
    EXPECT_EQ(slots.in_flight(), 2u);
}

TEST(RequestSlots, DestroyingASlotGivesItBack) {
    request_slots slots(1);
    {
        auto a = slots.take();
        EXPECT_FALSE(slots.take());
    }
    EXPECT_EQ(slots.in_flight(), 0u);
    EXPECT_TRUE(slots.take());
}

TEST(RequestSlots, MovingASlotCountsItOnce) {
    request_slots slots(3);
    std::vector<request_slots::slot> held;
    held.push_back(slots.take());
    held.push_back(slots.take());
    auto moved = std::move(held[0]);
    EXPECT_FALSE(held[0]);
    EXPECT_EQ(slots.in_flight(), 2u);
    held.erase(held.begin());  // the moved-from one: nothing to give back
    EXPECT_EQ(slots.in_flight(), 2u);
    held.clear();
    EXPECT_EQ(slots.in_flight(), 1u);
    moved = slots.take();  // assigning over a held slot gives the old one back
    EXPECT_EQ(slots.in_flight(), 1u);
}

TEST(RequestSlots, AnEmptySlotGivesNothingBack) {
    request_slots slots(0);
    {
        auto none = slots.take();
        EXPECT_FALSE(none);
    }
    EXPECT_EQ(slots.in_flight(), 0u);
}

}  // namespace
}  // namespace fcgid::net
