// Tests core/net/input_budget.hpp: per-request and per-connection bounds on
// request input, with one owner of the count.
#include "net/input_budget.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace fcgid::net {
namespace {

TEST(InputBudget, EachRequestIsBoundedByItsOwnLimit) {
    input_budget budget(100, 1000);
    EXPECT_TRUE(budget.take_params(0, 60));
    EXPECT_TRUE(budget.take_params(60, 40));    // exactly the limit
    EXPECT_FALSE(budget.take_params(100, 1));  // one over
    EXPECT_TRUE(budget.take_body(0, 1000));
    EXPECT_FALSE(budget.take_body(1000, 1));
    EXPECT_EQ(budget.held(), 1100u);
}

TEST(InputBudget, TheConnectionIsBoundedByTheSumAcrossRequests) {
    input_budget budget(100, 1000);
    // Three multiplexed requests, each within its own limits.
    EXPECT_TRUE(budget.take_body(0, 600));
    EXPECT_TRUE(budget.take_body(0, 500));
    EXPECT_FALSE(budget.take_body(0, 1));  // 1100 held: the connection is full
    EXPECT_EQ(budget.held(), 1100u);
    budget.give_back(600);  // the first request was forgotten
    EXPECT_TRUE(budget.take_body(0, 1));
    EXPECT_EQ(budget.held(), 501u);
}

TEST(InputBudget, RefusedBytesAreNotCounted) {
    input_budget budget(10, 10);
    EXPECT_FALSE(budget.take_params(0, 11));
    EXPECT_EQ(budget.held(), 0u);
}

TEST(InputBudget, HugeSizesDoNotWrapAround) {
    input_budget budget(100, 100);
    constexpr auto huge = std::numeric_limits<std::uint64_t>::max();
    EXPECT_FALSE(budget.take_body(50, huge));
    EXPECT_FALSE(budget.take_body(huge, 1));
    EXPECT_EQ(budget.held(), 0u);
}

// What a read straight into a body asks before it reads: the same answer
// as take_body, counting nothing.
TEST(InputBudget, BodyFitsAnswersAsTakeBodyWouldWithoutCounting) {
    input_budget budget(100, 1000);
    EXPECT_TRUE(budget.body_fits(0, 1000));
    EXPECT_FALSE(budget.body_fits(1, 1000));  // over the request's body limit
    EXPECT_EQ(budget.held(), 0u);
    ASSERT_TRUE(budget.take_body(0, 1000));  // one request's whole body
    ASSERT_TRUE(budget.take_params(0, 100));
    EXPECT_FALSE(budget.body_fits(0, 1));  // another request: over the connection's total
    EXPECT_EQ(budget.take_body(0, 1), budget.body_fits(0, 1));
}

TEST(InputBudget, GivingBackMoreThanHeldStopsAtZero) {
    input_budget budget(10, 10);
    ASSERT_TRUE(budget.take_body(0, 5));
    budget.give_back(7);
    EXPECT_EQ(budget.held(), 0u);
    budget.clear();
    EXPECT_EQ(budget.held(), 0u);
}

}  // namespace
}  // namespace fcgid::net
