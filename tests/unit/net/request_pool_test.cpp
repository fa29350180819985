// Tests core/net/request_pool.cpp: finished requests come back for reuse
// only when nothing else holds them, and a large body's buffer is handed to
// the next large body, within its byte bound, until a second passes unused.
#include "net/request_pool.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/output_queue.hpp"
#include "net/request.hpp"

namespace fcgid::net {
namespace {

constexpr std::size_t mib = 1024 * 1024;

class RequestPoolTest : public ::testing::Test {
protected:
    // A request with a body of `bytes`, room made for it through the pool.
    std::shared_ptr<request> with_body(std::size_t bytes, std::uint16_t id = 1) {
        auto r = pool_.take(q_, id, true);
        pool_.reserve_body(*r, bytes);
        r->append_body(std::string(bytes, 'b'));
        r->end_body();
        return r;
    }

    output_queue q_{1 << 20};
    request_pool pool_{4, 8 * mib};
};

TEST_F(RequestPoolTest, AFinishedRequestIsTakenAgain) {
    auto r = pool_.take(q_, 1, true);
    const request* first = r.get();
    pool_.give_back(std::move(r));
    EXPECT_EQ(pool_.kept(), 1u);
    EXPECT_EQ(pool_.take(q_, 2, true).get(), first);
    EXPECT_EQ(pool_.kept(), 0u);
}

TEST_F(RequestPoolTest, ARequestStillHeldIsNotTaken) {
    auto r = pool_.take(q_, 1, true);
    const auto held = r;  // a plugin's hold
    pool_.give_back(std::move(r));
    EXPECT_NE(pool_.take(q_, 2, true).get(), held.get());
}

TEST_F(RequestPoolTest, ALargeBodysBufferServesTheNextLargeBody) {
    auto r = with_body(2 * mib);
    const char* buffer = r->body().data();
    pool_.give_back(std::move(r));
    EXPECT_GE(pool_.kept_body_bytes(), 2 * mib);
    auto next = with_body(2 * mib - 100, 2);
    EXPECT_EQ(next->body().data(), buffer);
    EXPECT_EQ(next->body(), std::string(2 * mib - 100, 'b'));
    EXPECT_EQ(pool_.kept_body_bytes(), 0u);
}

TEST_F(RequestPoolTest, ASmallBodyDoesNotTakeALargeBuffer) {
    pool_.give_back(with_body(2 * mib));
    const std::size_t kept = pool_.kept_body_bytes();
    auto small = with_body(64 * 1024, 2);  // at most half the kept buffer's size
    EXPECT_EQ(pool_.kept_body_bytes(), kept);
    auto larger = with_body(3 * mib, 3);  // does not fit
    EXPECT_EQ(pool_.kept_body_bytes(), kept);
}

TEST_F(RequestPoolTest, AHeldRequestsBodyIsKeptOnlyOnceReleased) {
    auto r = with_body(2 * mib);
    auto held = r;  // the plugin still reads the body
    pool_.give_back(std::move(r));
    EXPECT_EQ(pool_.kept_body_bytes(), 0u);
    EXPECT_EQ(held->body().size(), 2 * mib);
    held.reset();
    auto next = pool_.take(q_, 2, true);  // the released one, reset
    EXPECT_GE(pool_.kept_body_bytes(), 2 * mib);
    EXPECT_EQ(next->body_bytes(), 0u);
}

TEST_F(RequestPoolTest, KeptBodiesStayWithinTheirByteBound) {
    auto a = with_body(5 * mib, 1);
    auto b = with_body(5 * mib, 2);
    pool_.give_back(std::move(a));
    pool_.give_back(std::move(b));  // 10 MiB would pass the 8 MiB bound: freed
    EXPECT_GE(pool_.kept_body_bytes(), 5 * mib);
    EXPECT_LT(pool_.kept_body_bytes(), 8 * mib);
}

TEST_F(RequestPoolTest, KeptBodiesAreFreedAfterASecondUnused) {
    pool_.give_back(with_body(2 * mib));
    pool_.release_unused_bodies();  // kept during this second: stays
    EXPECT_GE(pool_.kept_body_bytes(), 2 * mib);
    pool_.release_unused_bodies();  // a whole second without a large body
    EXPECT_EQ(pool_.kept_body_bytes(), 0u);
}

TEST_F(RequestPoolTest, ABodyWithinWhatARequestKeepsIsNotTakenFromThePool) {
    pool_.give_back(with_body(2 * mib));
    const std::size_t kept = pool_.kept_body_bytes();
    auto r = with_body(request::kept_buffer_bytes, 2);
    EXPECT_EQ(pool_.kept_body_bytes(), kept);
}

}  // namespace
}  // namespace fcgid::net
