// core/service/quarantine: poison requests, counted per signature within a
// window. Time is injected; the shared state is plain memory here.
#include "service/quarantine.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace fcgid::service {
namespace {

using namespace std::chrono_literals;

struct table_fixture {
    explicit table_fixture(quarantine_settings settings = {})
        : state(std::make_unique<quarantine_table::shared_state>()), table(*state, settings) {}
    std::unique_ptr<quarantine_table::shared_state> state;
    quarantine_table table;
};

const monotonic_time t0 = 1h;

request_signature poison() { return signature_of({"GET", "/?crash", 0, 1}); }

TEST(Quarantine, TheSecondCrashWithinTheWindowQuarantinesForTheWindow) {
    table_fixture f;
    EXPECT_TRUE(f.table.never_used());
    const strike_result first = f.table.strike(poison(), t0);
    EXPECT_EQ(first.strikes, 1u);
    EXPECT_FALSE(first.quarantined);
    EXPECT_FALSE(f.table.quarantined(poison(), t0 + 1s));
    const strike_result second = f.table.strike(poison(), t0 + 30s);
    EXPECT_EQ(second.strikes, 2u);
    EXPECT_TRUE(second.quarantined);
    EXPECT_FALSE(f.table.never_used());
    EXPECT_TRUE(f.table.quarantined(poison(), t0 + 30s));
    EXPECT_TRUE(f.table.quarantined(poison(), t0 + 89s));
    EXPECT_FALSE(f.table.quarantined(poison(), t0 + 90s)) << "the quarantine lasts one window";
    EXPECT_TRUE(f.table.none_at(t0 + 90s));
}

TEST(Quarantine, CrashesFurtherApartThanTheWindowDoNotAddUp) {
    table_fixture f;
    for (int i = 0; i < 5; ++i) {
        const strike_result r = f.table.strike(poison(), t0 + i * 61s);
        EXPECT_EQ(r.strikes, 1u) << i;
        EXPECT_FALSE(r.quarantined) << i;
    }
    EXPECT_TRUE(f.table.never_used());
}

TEST(Quarantine, OtherRequestsAreNotQuarantined) {
    table_fixture f;
    f.table.strike(poison(), t0);
    f.table.strike(poison(), t0 + 1s);
    EXPECT_TRUE(f.table.quarantined(poison(), t0 + 2s));
    // Another method, URI or body size is another request.
    EXPECT_FALSE(f.table.quarantined(signature_of({"POST", "/?crash", 0, 1}), t0 + 2s));
    EXPECT_FALSE(f.table.quarantined(signature_of({"GET", "/?crash2", 0, 1}), t0 + 2s));
    EXPECT_FALSE(f.table.quarantined(signature_of({"GET", "/?crash", 1, 1}), t0 + 2s));
    // The request id is not part of it: a retry has another id.
    EXPECT_TRUE(f.table.quarantined(signature_of({"GET", "/?crash", 0, 7}), t0 + 2s));
}

TEST(Quarantine, TheSignatureSeparatesItsParts) {
    EXPECT_NE(signature_of({"GET", "/a", 0, 0}), signature_of({"GE", "T/a", 0, 0}));
    EXPECT_NE(signature_of({"", "", 0, 0}), 0u);
}

TEST(Quarantine, ThresholdAndWindowAreSettings) {
    table_fixture f({3, 10s});
    f.table.strike(poison(), t0);
    EXPECT_FALSE(f.table.strike(poison(), t0 + 1s).quarantined);
    EXPECT_TRUE(f.table.strike(poison(), t0 + 2s).quarantined);
    EXPECT_TRUE(f.table.quarantined(poison(), t0 + 11s));
    EXPECT_FALSE(f.table.quarantined(poison(), t0 + 12s));
}

TEST(Quarantine, ZeroStrikesTurnsItOffButCrashesAreStillCounted) {
    table_fixture f({0, 60s});
    EXPECT_FALSE(f.table.enabled());
    for (int i = 1; i <= 5; ++i) {
        const strike_result r = f.table.strike(poison(), t0 + i * 1s);
        EXPECT_EQ(r.strikes, static_cast<unsigned>(i));
        EXPECT_FALSE(r.quarantined);
    }
    EXPECT_FALSE(f.table.quarantined(poison(), t0 + 6s));
}

TEST(Quarantine, AFullTableReusesEntriesWhoseTimeIsOver) {
    table_fixture f;
    for (std::size_t i = 0; i < quarantine_table::capacity; ++i)
        EXPECT_TRUE(f.table.strike(signature_of({"GET", "/" + std::to_string(i), 0, 0}), t0).recorded);
    // Every entry holds a strike still inside its window: no room.
    EXPECT_FALSE(f.table.strike(poison(), t0 + 1s).recorded);
    // Past the window they are free again.
    EXPECT_TRUE(f.table.strike(poison(), t0 + 61s).recorded);
    EXPECT_TRUE(f.table.strike(poison(), t0 + 62s).quarantined);
}

TEST(Quarantine, AQuarantinedEntryIsNotReusedWhileItLasts) {
    table_fixture f;
    f.table.strike(poison(), t0);
    f.table.strike(poison(), t0 + 59s);  // quarantined until t0 + 119 s
    for (std::size_t i = 0; i < 2 * quarantine_table::capacity; ++i)
        f.table.strike(signature_of({"GET", "/" + std::to_string(i), 0, 0}), t0 + 100s);
    EXPECT_TRUE(f.table.quarantined(poison(), t0 + 118s));
}

}  // namespace
}  // namespace fcgid::service
