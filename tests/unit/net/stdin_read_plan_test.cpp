// core/net/stdin_read_plan: one read for several STDIN records, straight
// into the body. A read is played here by copying a record stream into the
// plan's parts in order, as recvmsg() would; then take() must give back
// the body bytes in order, the state of the record it ended in, and the
// bytes the usual path must parse, in stream order.
#include "net/stdin_read_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>


namespace fcgid::net {
namespace {

constexpr std::uint16_t id = 3;

std::string header(fcgi::record_type type, std::uint16_t request, std::size_t length, std::size_t padding) {
    const char bytes[8] = {1,
                           static_cast<char>(type),
                           static_cast<char>(request >> 8),
                           static_cast<char>(request & 0xff),
                           static_cast<char>(length >> 8),
                           static_cast<char>(length & 0xff),
                           static_cast<char>(padding),
                           0};
    return std::string(bytes, 8);
}

std::string content_of(std::size_t n, char seed) {
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(seed + i * 7);
    return out;
}

// A STDIN record after its header: content then padding.
std::string record_after_header(const std::string& content, std::size_t padding) {
    return content + std::string(padding, 'p');
}

std::string record(std::uint16_t request, const std::string& content, std::size_t padding) {
    return header(fcgi::record_type::stdin_, request, content.size(), padding) + record_after_header(content, padding);
}

struct buffers {
    std::vector<char> room;
    std::vector<char> gaps = std::vector<char>(stdin_read_plan::gaps_size);
    explicit buffers(std::size_t room_size) : room(room_size) {}
};

// Plays a read of `got` bytes of `stream` into the plan's parts.
std::size_t play_read(const stdin_read_plan& plan, const std::string& stream, std::size_t got) {
    got = std::min({got, stream.size(), plan.size()});
    std::size_t at = 0;
    for (std::size_t i = 0; i < plan.iovec_count() && at < got; ++i) {
        const std::size_t n = std::min(got - at, plan.iovecs()[i].iov_len);
        std::memcpy(plan.iovecs()[i].iov_base, stream.data() + at, n);
        at += n;
    }
    return got;
}

// The record being read: `left` of its content bytes to come, then
// `padding`; its header said `length` and `padding`.
stdin_read_plan::current_record current(std::size_t left, std::size_t length, std::size_t padding) {
    return {id, left, padding, length, padding};
}

TEST(StdinReadPlan, RecordsAlikeGoStraightIntoTheBodyAndTheLastHeaderGoesTheUsualWay) {
    constexpr std::size_t length = 32 * 1024;
    const std::string a = content_of(length, 'a'), b = content_of(length, 'b'), c = content_of(length, 'c');
    // The current record's last 10,000 bytes, two whole records, then the empty one.
    const std::string stream = record_after_header(a.substr(length - 10000), 0) + record(id, b, 0) +
                               record(id, c, 0) + header(fcgi::record_type::stdin_, id, 0, 0);
    buffers mem(10000 + 2 * length);
    const stdin_read_plan plan(current(10000, length, 0), mem.room, mem.gaps);
    EXPECT_EQ(plan.size(), stream.size());
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, stream.size()), scratch);
    EXPECT_EQ(out.body_bytes, 10000 + 2 * length);
    EXPECT_TRUE(std::string(mem.room.data(), out.body_bytes) == a.substr(length - 10000) + b + c);
    EXPECT_EQ(out.left, 0U);
    EXPECT_EQ(out.padding, 0U);
    EXPECT_EQ(out.usual, header(fcgi::record_type::stdin_, id, 0, 0));
    EXPECT_TRUE(scratch.empty());
}

TEST(StdinReadPlan, TheLastShorterRecordIsGuessedFromTheRoomLeftWithItsPaddingTo8) {
    constexpr std::size_t length = 32 * 1024;
    const std::string a = content_of(5000, 'a'), b = content_of(length, 'b'), c = content_of(1001, 'c');
    const std::string stream =
        record_after_header(a, 0) + record(id, b, 0) + record(id, c, 7) + header(fcgi::record_type::stdin_, id, 0, 0);
    buffers mem(5000 + length + 1001);  // room for what CONTENT_LENGTH announced
    const stdin_read_plan plan(current(5000, length, 0), mem.room, mem.gaps);
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, stream.size()), scratch);
    EXPECT_EQ(out.body_bytes, mem.room.size());
    EXPECT_TRUE(std::string(mem.room.data(), out.body_bytes) == a + b + c);
    EXPECT_EQ(out.usual, std::string(7, 'p') + header(fcgi::record_type::stdin_, id, 0, 0));
    EXPECT_EQ(out.padding, 7U);  // in front of the usual bytes
}

TEST(StdinReadPlan, ASenderThatDoesNotPadIsGuessedWithoutPadding) {
    constexpr std::size_t length = 65535;
    const std::string a = content_of(length, 'a'), b = content_of(length, 'b'), c = content_of(100, 'c');
    const std::string stream = record_after_header(a, 0) + record(id, b, 0) + record(id, c, 0);
    buffers mem(2 * length + 100);
    const stdin_read_plan plan(current(length, length, 0), mem.room, mem.gaps);
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, stream.size()), scratch);
    EXPECT_EQ(out.body_bytes, mem.room.size());
    EXPECT_TRUE(std::string(mem.room.data(), out.body_bytes) == a + b + c);
    EXPECT_TRUE(scratch.empty());
}

TEST(StdinReadPlan, AHeaderUnlikeItsGuessHandsItAndEverythingAfterToTheUsualPathInOrder) {
    constexpr std::size_t length = 8192;
    const std::string a = content_of(length, 'a'), b = content_of(length, 'b');
    // After the current record: another request's record, then ours again.
    const std::string other = record(9, content_of(3000, 'x'), 0);
    const std::string after = other + record(id, b, 0);
    const std::string stream = record_after_header(a, 0) + after;
    buffers mem(4 * length);
    const stdin_read_plan plan(current(length, length, 0), mem.room, mem.gaps);
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, stream.size()), scratch);
    EXPECT_EQ(out.body_bytes, length);  // the body before it stands
    EXPECT_TRUE(std::string(mem.room.data(), length) == a);
    EXPECT_EQ(out.left, 0U);
    EXPECT_TRUE(out.usual == after.substr(0, out.usual.size()));
    EXPECT_EQ(out.usual.size(), play_read(plan, stream, stream.size()) - length);
    EXPECT_EQ(out.usual.data(), scratch.data());
}

TEST(StdinReadPlan, AReadEndingInsideAHeaderHandsItsPartToTheUsualPath) {
    constexpr std::size_t length = 8192;
    const std::string a = content_of(length, 'a');
    const std::string stream = record_after_header(a, 3) + header(fcgi::record_type::stdin_, id, length, 3);
    buffers mem(3 * length);
    const stdin_read_plan plan(current(length, length, 3), mem.room, mem.gaps);
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, length + 3 + 5), scratch);  // 5 of the 8 header bytes
    EXPECT_EQ(out.body_bytes, length);
    EXPECT_EQ(out.left, 0U);
    EXPECT_EQ(out.padding, 3U);
    EXPECT_EQ(out.usual, stream.substr(length, 3 + 5));
}

TEST(StdinReadPlan, AReadEndingInsideAGuessedRecordLeavesItsRestToCome) {
    constexpr std::size_t length = 8192;
    const std::string a = content_of(length, 'a'), b = content_of(length, 'b');
    const std::string stream = record_after_header(a, 0) + record(id, b, 0);
    buffers mem(3 * length);
    const stdin_read_plan plan(current(length, length, 0), mem.room, mem.gaps);
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, length + 8 + 100), scratch);
    EXPECT_EQ(out.body_bytes, length + 100);
    EXPECT_TRUE(std::string(mem.room.data(), out.body_bytes) == a + b.substr(0, 100));
    EXPECT_EQ(out.left, length - 100);
    EXPECT_EQ(out.padding, 0U);
    EXPECT_TRUE(out.usual.empty());
}

TEST(StdinReadPlan, ABodyLimitInsideTheRecordReadsThatMuchAndNoHeader) {
    const stdin_read_plan::current_record record = current(20000, 20000, 0);
    buffers mem(50000);
    const stdin_read_plan plan(record, std::span<char>(mem.room).first(12000), mem.gaps);  // the budget allows 12,000
    EXPECT_EQ(plan.iovec_count(), 1U);
    EXPECT_EQ(plan.size(), 12000U);
    const std::string stream = content_of(20000, 'a');
    std::string scratch;
    const auto out = plan.take(play_read(plan, stream, stream.size()), scratch);
    EXPECT_EQ(out.body_bytes, 12000U);
    EXPECT_EQ(out.left, 8000U);
}

TEST(StdinReadPlan, OneReadIsBoundedInRecordsAndBytes) {
    constexpr std::size_t length = 32 * 1024;
    buffers small_records(1000 * length);
    const stdin_read_plan many(current(length, length, 0), small_records.room,
                               small_records.gaps);
    EXPECT_LE(many.iovec_count(), 2 * stdin_read_plan::max_records);
    EXPECT_LE(many.size(), stdin_read_plan::max_bytes + 2 * length);
    // And ends with a header to read, so that the next record is known.
    EXPECT_EQ(many.iovecs()[many.iovec_count() - 1].iov_len, fcgi::header_size);
}

}  // namespace
}  // namespace fcgid::net
