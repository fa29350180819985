// core/service/respawn_policy: when the --workers master starts a worker
// again. Time is injected; no process is forked.
#include "service/respawn_policy.hpp"

#include <gtest/gtest.h>

namespace fcgid::service {
namespace {

using namespace std::chrono_literals;
using kind = respawn_policy::exit_kind;
using clock_type = respawn_policy::clock;

const clock_type::time_point t0 = clock_type::time_point() + 1h;

TEST(RespawnPolicy, ACrashWhileServingIsReplacedAtOnceEveryTime) {
    respawn_policy policy(4);
    clock_type::time_point now = t0;
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(policy.exited(2, kind::crashed, now), now) << "crash " << i;
        EXPECT_EQ(policy.take_due(now), std::vector<std::size_t>{2});
        now += 5ms;
    }
    EXPECT_FALSE(policy.next_due());
}

TEST(RespawnPolicy, AWorkerKilledForAStallIsReplacedAtOnceAndResetsTheBackoff) {
    respawn_policy policy(2);
    policy.exited(1, kind::failed_start, t0);
    ASSERT_EQ(policy.take_due(t0 + 100ms), std::vector<std::size_t>{1});
    EXPECT_EQ(policy.exited(1, kind::stalled, t0 + 1s), t0 + 1s);
    EXPECT_EQ(policy.take_due(t0 + 1s), std::vector<std::size_t>{1});
    // Its next failed start waits the first backoff, not a doubled one.
    EXPECT_EQ(policy.exited(1, kind::failed_start, t0 + 2s), t0 + 2s + 100ms);
}

TEST(RespawnPolicy, ARecycledWorkerIsReplacedAtOnce) {
    respawn_policy policy(2);
    EXPECT_EQ(policy.exited(0, kind::recycled, t0), t0);
    EXPECT_EQ(policy.take_due(t0), std::vector<std::size_t>{0});
}

TEST(RespawnPolicy, FailedStartsBackOffPerSlotDoublingUpToTenSeconds) {
    respawn_policy policy(3);
    clock_type::time_point now = t0;
    const std::chrono::milliseconds expected[] = {100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms,
                                                  6400ms, 10s, 10s};
    for (const auto wait : expected) {
        EXPECT_EQ(policy.exited(1, kind::failed_start, now) - now, wait);
        EXPECT_TRUE(policy.take_due(now + wait - 1ms).empty());
        now += wait;
        EXPECT_EQ(policy.take_due(now), std::vector<std::size_t>{1});
    }
    // Another slot's failure starts from the beginning: backoff is per slot.
    EXPECT_EQ(policy.exited(0, kind::failed_start, now) - now, 100ms);
}

TEST(RespawnPolicy, AWorkerThatServedStartsItsNextBackoffOver) {
    respawn_policy policy(2);
    clock_type::time_point now = t0;
    for (int i = 0; i < 5; ++i) {
        now = policy.exited(0, kind::failed_start, now);
        policy.take_due(now);
    }
    EXPECT_EQ(policy.backoff(0), 1600ms);
    policy.exited(0, kind::crashed, now);  // it had started and served
    policy.take_due(now);
    EXPECT_EQ(policy.exited(0, kind::failed_start, now) - now, 100ms);
}

TEST(RespawnPolicy, WithEverySlotWaitingOneIsTriedAtLeastOnceASecond) {
    respawn_policy policy(2);
    clock_type::time_point now = t0;
    // Slot 1 keeps a worker while slot 0 backs off to 10 s.
    for (int i = 0; i < 10; ++i) {
        now = policy.exited(0, kind::failed_start, now);
        policy.take_due(now);
    }
    EXPECT_EQ(policy.exited(0, kind::failed_start, now) - now, 10s);
    EXPECT_FALSE(policy.none_running());
    // Now slot 1 fails too: no worker is left, so a try comes within a second.
    policy.exited(1, kind::crashed, now);
    ASSERT_TRUE(policy.take_due(now) == std::vector<std::size_t>{1});
    policy.exited(1, kind::failed_start, now);
    EXPECT_TRUE(policy.none_running());
    ASSERT_TRUE(policy.next_due());
    EXPECT_LE(*policy.next_due() - now, 1s);
    // And it stays so however long the failures last.
    for (int i = 0; i < 30; ++i) {
        now = *policy.next_due();
        const auto started = policy.take_due(now);
        ASSERT_EQ(started.size(), 1u);
        policy.exited(started[0], kind::failed_start, now);
        EXPECT_LE(*policy.next_due() - now, 1s) << "round " << i;
    }
}

TEST(RespawnPolicy, NothingIsDueWhileEveryWorkerRuns) {
    respawn_policy policy(3);
    EXPECT_FALSE(policy.next_due());
    EXPECT_TRUE(policy.take_due(t0).empty());
    EXPECT_FALSE(policy.none_running());
}

}  // namespace
}  // namespace fcgid::service
