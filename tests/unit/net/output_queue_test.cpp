// Tests core/net/output_queue.cpp: what requests leave for their connection,
// and when the connection is woken for it.
#include "net/output_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fcgi/decoder.hpp"
#include "net/request.hpp"

namespace fcgid::net {
namespace {

// Decodes every record of `wire`, in order.
std::vector<fcgi::record_view> records_of(std::string_view wire) {
    std::vector<fcgi::record_view> out;
    while (!wire.empty()) {
        fcgi::record_view r;
        std::error_code ec;
        const std::size_t used = fcgi::decode_record(wire, r, ec);
        if (ec) ADD_FAILURE() << "undecodable output: " << ec.message();
        if (ec) break;
        out.push_back(r);
        wire.remove_prefix(used);
    }
    return out;
}

// Everything queued, as the writer would send it.
std::string drain_all(output_queue& q) {
    std::string sent;
    // The batch already on the wire first, if any.
    while (q.writing() || q.begin_write()) {
        const std::string batch = std::string(q.unwritten()) + std::string(q.unwritten_second());
        sent += batch;
        q.wrote(batch.size());
    }
    return sent;
}

TEST(OutputQueue, FinishEndsTheStreamsAndNotesTheRequest) {
    output_queue q(1024);
    auto r = std::make_shared<request>(q, 3, true);
    q.append_stream(3, fcgi::record_type::stdout_, "hi");
    q.finish(*r, /*stderr_used=*/true, /*app_status=*/0);
    const std::string wire = drain_all(q);
    const auto records = records_of(wire);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[0].content, "hi");
    EXPECT_EQ(records[1].header.type, fcgi::record_type::stdout_);
    EXPECT_TRUE(records[1].content.empty());
    EXPECT_EQ(records[2].header.type, fcgi::record_type::stderr_);
    EXPECT_EQ(records[3].header.type, fcgi::record_type::end_request);
    EXPECT_TRUE(q.take_finished());
    EXPECT_FALSE(q.take_finished());
}

TEST(OutputQueue, WakesOnceOutsideATurnAndNeverInsideOne) {
    output_queue q(1024);
    int wakes = 0;
    q.set_wake([&] { ++wakes; });
    q.in_turn();
    q.append_stream(1, fcgi::record_type::stdout_, "a");
    EXPECT_EQ(wakes, 0);
    q.settled();
    EXPECT_EQ(wakes, 0);  // nothing left due: bytes alone are the writer's business
    q.append_stream(1, fcgi::record_type::stdout_, "b");
    q.append_stream(1, fcgi::record_type::stdout_, "c");
    EXPECT_EQ(wakes, 1);  // one wake until the connection settles
    q.settled();
    q.append_end_request(1, 0, fcgi::protocol_status::request_complete);
    EXPECT_EQ(wakes, 2);
}

TEST(OutputQueue, SettlingWithAFinishedRequestLeftWakesAgain) {
    output_queue q(1024);
    int wakes = 0;
    q.set_wake([&] { ++wakes; });
    auto r = std::make_shared<request>(q, 1, true);
    q.in_turn();
    q.finish(*r, false, 0);
    q.settled();
    EXPECT_EQ(wakes, 1);
}

TEST(OutputQueue, RoomAndFullFollowTheLimitWhileABatchIsOnTheWire) {
    output_queue q(100);
    EXPECT_EQ(q.room(), 100u);
    q.append_stream(1, fcgi::record_type::stdout_, std::string(52, 'x'));  // 60 bytes with its header
    EXPECT_EQ(q.room(), 40u);
    EXPECT_FALSE(q.writable());
    ASSERT_TRUE(q.begin_write());
    EXPECT_FALSE(q.begin_write());  // one write at a time
    q.append_stream(1, fcgi::record_type::stdout_, std::string(32, 'y'));  // 40 more
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.room(), 0u);
    EXPECT_FALSE(q.wrote(30));
    EXPECT_EQ(q.room(), 30u);
    EXPECT_TRUE(q.wrote(30));
    EXPECT_EQ(q.room(), 60u);
    EXPECT_TRUE(q.writable());
    EXPECT_FALSE(q.empty());
    drain_all(q);
    EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, WritableWaitersAreToldOnlyBelowHalfAndOnce) {
    output_queue q(100);
    int wakes = 0;
    q.set_wake([&] { ++wakes; });
    auto r = std::make_shared<request>(q, 1, true);
    q.in_turn();
    q.append_stream(1, fcgi::record_type::stdout_, std::string(72, 'x'));  // 80 bytes
    q.wait_writable(r);
    std::vector<std::shared_ptr<request>> told;
    q.take_writable_waiters(told);
    EXPECT_TRUE(told.empty());  // over half: not yet
    q.settled();
    EXPECT_EQ(wakes, 0);
    ASSERT_TRUE(q.begin_write());
    q.wrote(80);
    q.take_writable_waiters(told);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0], r);
    q.take_writable_waiters(told);
    EXPECT_TRUE(told.empty());
}

TEST(OutputQueue, AWaiterAddedWhileWritableWakesTheConnection) {
    output_queue q(100);
    int wakes = 0;
    q.set_wake([&] { ++wakes; });
    q.wait_writable(std::make_shared<request>(q, 1, true));
    EXPECT_EQ(wakes, 1);
}

TEST(OutputQueue, KeepsLargeBuffersWhileOutputFlowsAndGivesThemBackWhenAsked) {
    output_queue q(4 * 1024 * 1024);
    const std::string chunk(512 * 1024, 'x');
    q.append_stream(1, fcgi::record_type::stdout_, chunk);
    drain_all(q);
    q.append_stream(1, fcgi::record_type::stdout_, chunk);
    drain_all(q);
    // A streamed response reuses the buffers it grew rather than growing
    // fresh ones for every write.
    EXPECT_GE(q.capacity(), chunk.size());
    q.release_spare();
    EXPECT_LE(q.capacity(), 2 * 64 * 1024u);
    // Small buffers stay: the usual response allocates nothing.
    q.append_stream(1, fcgi::record_type::stdout_, "hello");
    drain_all(q);
    const std::size_t small = q.capacity();
    q.release_spare();
    EXPECT_EQ(q.capacity(), small);
}

// A large response streamed through a connection whose reader is slower
// than the plugin: the plugin writes until full, the writer sends part of
// what is queued, the plugin writes again once below half the limit. One
// ring serves it: its capacity stays about the limit (two buffers swapped
// in turn grew to twice that), and the bytes come out in order.
TEST(OutputQueue, AResponseStreamedAtTheLimitNeedsAboutTheLimitOfMemory) {
    constexpr std::size_t limit = 1024 * 1024;
    constexpr std::size_t chunk = 64 * 1024;
    output_queue q(limit);
    std::string expected_content;
    std::string wire;
    std::size_t max_capacity = 0;
    char next = 'a';
    for (int round = 0; round < 40; ++round) {
        while (!q.full()) {
            const std::string data(chunk, next);
            next = next == 'z' ? 'a' : static_cast<char>(next + 1);
            q.append_stream(1, fcgi::record_type::stdout_, data);
            expected_content += data;
        }
        max_capacity = std::max(max_capacity, q.capacity());
        // The socket takes 300 KiB at a time until the queue is below half.
        while (!q.writable()) {
            q.begin_write();
            const std::string_view first = q.unwritten();
            const std::string_view second = q.unwritten_second();
            std::string part = std::string(first) + std::string(second);
            part.resize(std::min<std::size_t>(part.size(), 300 * 1024));
            wire += part;
            q.wrote(part.size());
        }
    }
    wire += drain_all(q);
    EXPECT_LE(max_capacity, limit + 2 * chunk + 64);  // the write past the limit, and a step
    std::string content;
    for (const auto& r : records_of(wire)) content += r.content;
    EXPECT_TRUE(content == expected_content);
}

}  // namespace
}  // namespace fcgid::net
