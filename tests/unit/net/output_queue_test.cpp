// Tests core/net/output_queue.cpp: what requests leave for their connection,
// and when the connection is woken for it.
#include "net/output_queue.hpp"

#include <gtest/gtest.h>

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
    while (q.begin_write()) {
        sent += q.unwritten();
        q.wrote(q.unwritten().size());
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

TEST(OutputQueue, RoomAndFullFollowTheLimitAcrossBothBuffers) {
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

}  // namespace
}  // namespace fcgid::net
