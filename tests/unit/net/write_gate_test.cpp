// core/net/write_gate: a plugin thread's write waits while the connection's
// output is full and wakes when the loop reports a drain or closes the gate.
// Here the test thread plays the loop, and real threads play plugin threads.
#include "net/write_gate.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace fcgid::net {
namespace {

using namespace std::chrono_literals;

// Generous: only reached when the gate fails to wake a writer.
constexpr auto wake_deadline = 10s;
// How long a writer that must stay blocked is watched. A wrong wake shows up
// at once; this bound only limits how long a correct gate is observed.
constexpr auto still_blocked = 50ms;

// A plugin thread inside wait(). Its destructor closes the gate, which
// releases it whatever the test found, and joins it.
class writer {
public:
    explicit writer(write_gate& gate) : gate_(gate), done_(finished_.get_future()) {
        thread_ = std::thread([this] {
            gate_.wait();
            finished_.set_value();
        });
    }
    ~writer() {
        gate_.close();
        thread_.join();
    }
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    bool returns() { return done_.wait_for(wake_deadline) == std::future_status::ready; }
    bool blocked() { return done_.wait_for(still_blocked) == std::future_status::timeout; }

private:
    write_gate& gate_;
    std::promise<void> finished_;
    std::future<void> done_;
    std::thread thread_;
};

TEST(WriteGate, ANeverOpenedGateHoldsNoOne) {
    write_gate gate;
    gate.posted(1 << 20);
    writer w(gate);
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, WritesUnderTheRoomPassAtOnce) {
    write_gate gate;
    gate.open(100);
    gate.posted(60);
    writer first(gate);
    EXPECT_TRUE(first.returns());
    gate.posted(39);
    writer second(gate);
    EXPECT_TRUE(second.returns()) << "99 bytes posted, room 100";
}

TEST(WriteGate, PostedBytesFillingTheRoomHoldTheWriterUntilApplied) {
    write_gate gate;
    gate.open(100);
    gate.posted(100);
    writer w(gate);
    EXPECT_TRUE(w.blocked());
    gate.applied(100, 40);  // the loop copied it; 40 bytes of room remain
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, AFullOutputHoldsTheWriterUntilItDrains) {
    write_gate gate;
    gate.open(100);
    gate.posted(100);
    gate.applied(100, 0);  // applied, and the output is now full
    writer w(gate);
    EXPECT_TRUE(w.blocked()) << "nothing is posted, but the output is full";
    gate.drained(50);
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, AChunkLargerThanTheLimitIsTakenWholeThenWaitsForTheDrain) {
    write_gate gate;
    gate.open(64);
    gate.posted(1000);
    writer w(gate);
    EXPECT_TRUE(w.blocked());
    gate.applied(1000, 0);
    EXPECT_TRUE(w.blocked()) << "applied, but it filled the output";
    gate.drained(32);
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, AnAppliedWriteThatLeavesTooLittleRoomKeepsOthersWaiting) {
    write_gate gate;
    gate.open(100);
    gate.posted(70);
    gate.posted(70);
    writer w(gate);
    EXPECT_TRUE(w.blocked());
    gate.applied(70, 50);  // 70 still posted, only 50 left
    EXPECT_TRUE(w.blocked());
    gate.applied(70, 0);
    EXPECT_TRUE(w.blocked());
    gate.drained(100);
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, UnpostedBytesWakeAWaitingWriter) {
    write_gate gate;
    gate.open(100);
    gate.posted(60);
    gate.posted(60);
    writer w(gate);
    EXPECT_TRUE(w.blocked());
    gate.unposted(60);  // one post failed: its bytes are taken back
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, CloseWakesEveryWriterAndNoneWaitsAfterIt) {
    write_gate gate;
    gate.open(10);
    gate.posted(10);
    gate.applied(10, 0);
    writer a(gate);
    writer b(gate);
    EXPECT_TRUE(a.blocked());
    EXPECT_TRUE(b.blocked());
    gate.close();
    EXPECT_TRUE(a.returns());
    EXPECT_TRUE(b.returns());
    gate.posted(1000);
    writer late(gate);
    EXPECT_TRUE(late.returns()) << "a closed gate holds no one";
}

TEST(WriteGate, OpenStartsAFreshResponse) {
    write_gate gate;
    gate.open(10);
    gate.posted(10);
    gate.applied(10, 0);
    gate.close();
    gate.open(10);  // the next response on a drained connection
    writer w(gate);
    EXPECT_TRUE(w.returns()) << "fullness and posted bytes belong to the last response";
    gate.posted(10);
    writer held(gate);
    EXPECT_TRUE(held.blocked()) << "the reopened gate holds writers again";
}

TEST(WriteGate, AppliedNeverTakesMoreThanWasPosted) {
    // A count that wrapped below zero would hold every later writer for good.
    write_gate gate;
    gate.open(100);
    gate.posted(10);
    gate.applied(1000, 50);
    writer w(gate);
    EXPECT_TRUE(w.returns());
}

TEST(WriteGate, ManyWritersAllPassAsTheLoopDrains) {
    // Writers that post and wait concurrently, as several plugin threads of
    // one response may, against a loop that applies what they post.
    write_gate gate;
    constexpr std::size_t room = 100;
    constexpr std::size_t chunk = 30;
    constexpr int writers = 8;
    constexpr int chunks_each = 20;
    gate.open(room);
    std::atomic<int> posted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < writers; ++i)
        threads.emplace_back([&] {
            for (int n = 0; n < chunks_each; ++n) {
                gate.posted(chunk);
                posted.fetch_add(1);
                gate.wait();
            }
        });
    // The loop: applies each chunk once it is posted, leaving room each time.
    const auto deadline = std::chrono::steady_clock::now() + wake_deadline;
    int applied = 0;
    while (applied < writers * chunks_each && std::chrono::steady_clock::now() < deadline) {
        if (applied < posted.load()) {
            gate.applied(chunk, room);
            ++applied;
        } else {
            std::this_thread::yield();
        }
    }
    EXPECT_EQ(applied, writers * chunks_each) << "writers stayed blocked";
    gate.close();  // releases any writer left, so that the joins below end
    for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace fcgid::net
