// core/service/loop_sampler and the watchdog's poll period: the stack of a
// thread inside a marked plugin call is taken from another thread, with
// the request the mark names; a call already left gives no stack.
#include "service/loop_sampler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "service/stall_watchdog.hpp"

namespace fcgid::service {
namespace {

using namespace std::chrono_literals;

bool describe_fake(const void* request, request_description& out) noexcept {
    out = {};
    out.method = "GET";
    out.uri = static_cast<const char*>(request);
    out.id = 9;
    return true;
}

std::atomic<bool> keep_spinning{true};

__attribute__((noinline)) void spin_marked(const char* uri) {
    const plugin_call in_plugin(plugin_callback::handle, uri);
    while (keep_spinning.load(std::memory_order_relaxed)) {
    }
}

TEST(LoopSampler, TakesTheStackAndTheRequestOfTheCallTheThreadIsIn) {
    ASSERT_TRUE(loop_sampler::install(describe_fake));
    const std::uint64_t before = plugin_call_state::edges.load();
    loop_sample sample;
    bool sampled = false;
    std::thread watcher([&] {
        // Wait for the call to begin, then ask for its stack.
        while (plugin_call_state::edges.load() == before) std::this_thread::yield();
        sampled = loop_sampler::sample(plugin_call_state::edges.load(), sample, 5000ms);
        keep_spinning = false;
    });
    spin_marked("/x?spin");
    watcher.join();
    ASSERT_TRUE(sampled);
    EXPECT_TRUE(sample.in_that_call);
    EXPECT_EQ(sample.callback, plugin_callback::handle);
    ASSERT_TRUE(sample.has_request);
    EXPECT_EQ(sample.method_text(), "GET");
    EXPECT_EQ(sample.uri_text(), "/x?spin");
    EXPECT_EQ(sample.request_id, 9u);
    ASSERT_GE(sample.frame_count, 2u);
    const auto lines = loop_sampler::symbolise(sample);
    ASSERT_EQ(lines.size(), sample.frame_count);
    EXPECT_EQ(lines[0].rfind("#0 ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("+0x"), std::string::npos) << lines[0];
    EXPECT_EQ(plugin_call_state::edges.load() % 2, 0u);  // the call was left
}

TEST(LoopSampler, ACallAlreadyLeftGivesNoStack) {
    ASSERT_TRUE(loop_sampler::install(describe_fake));
    { const plugin_call in_plugin(plugin_callback::loop_task, nullptr); }
    const std::uint64_t left = plugin_call_state::edges.load() - 1;  // the call's odd value
    loop_sample sample;
    std::thread watcher([&] { EXPECT_TRUE(loop_sampler::sample(left, sample, 5000ms)); });
    // The handler runs on this thread, the installing one: let it be interrupted.
    watcher.join();
    EXPECT_FALSE(sample.in_that_call);
    EXPECT_EQ(sample.frame_count, 0u);
}

TEST(StallWatchdog, PollsAtHalfTheWarningAndAQuarterOfTheKillBetween5MsAnd1S) {
    EXPECT_EQ(stall_watchdog::poll_period({500ms, 0s}), 250ms);
    EXPECT_EQ(stall_watchdog::poll_period({0ms, 2s}), 500ms);
    EXPECT_EQ(stall_watchdog::poll_period({3000ms, 2s}), 500ms);
    EXPECT_EQ(stall_watchdog::poll_period({4ms, 0s}), 5ms);
    EXPECT_EQ(stall_watchdog::poll_period({10'000ms, 60s}), 1000ms);
}

}  // namespace
}  // namespace fcgid::service
