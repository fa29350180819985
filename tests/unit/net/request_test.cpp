// Tests core/net/request.cpp without sockets or a plugin: the response a
// request writes into its output queue, and its end.
#include "net/request.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fcgi/decoder.hpp"
#include "fcgi/name_value.hpp"
#include "net/output_queue.hpp"

namespace fcgid::net {
namespace {

class RequestTest : public ::testing::Test {
protected:
    // The stdout bytes and the END_REQUEST app status of what was queued.
    struct sent {
        std::string out;
        int ends = 0;
        std::uint32_t app_status = 0;
    };
    sent wire() {
        sent s;
        while (q_.begin_write()) {
            const std::string copy(q_.unwritten());  // wrote() recycles the buffer
            q_.wrote(copy.size());
            std::string_view bytes = copy;
            while (!bytes.empty()) {
                fcgi::record_view rec;
                std::error_code ec;
                const std::size_t used = fcgi::decode_record(bytes, rec, ec);
                if (ec) {
                    ADD_FAILURE() << ec.message();
                    return s;
                }
                if (rec.header.type == fcgi::record_type::stdout_) s.out += rec.content;
                if (rec.header.type == fcgi::record_type::end_request) {
                    ++s.ends;
                    s.app_status = fcgi::load_u32(reinterpret_cast<const std::uint8_t*>(rec.content.data()));
                }
                bytes.remove_prefix(used);
            }
        }
        return s;
    }
    std::shared_ptr<request> ready_request() {
        auto r = std::make_shared<request>(q_, 1, true);
        std::string params;
        fcgi::append_name_value(params, "REQUEST_METHOD", "GET");
        fcgi::append_name_value(params, "REQUEST_URI", "/x");
        r->append_params(params);
        EXPECT_FALSE(r->end_params(100));
        r->end_body();
        return r;
    }
    // 1 if the request told the queue it finished since the last look.
    std::size_t finished_count() { return q_.take_finished() ? 1 : 0; }

    output_queue q_{1 << 20};
};

TEST_F(RequestTest, HandledAndReturnedOkSendsHeadBodyAndOneEnd) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    EXPECT_EQ(r->set_status(201), FCGID_OK);
    EXPECT_EQ(r->add_header("X-A", "b"), FCGID_OK);
    EXPECT_EQ(r->write("body"), FCGID_OK);
    EXPECT_EQ(r->set_status(500), FCGID_ESTATE);  // the head is out
    r->dispatched(FCGID_OK);
    EXPECT_FALSE(r->held_by_plugin());
    EXPECT_TRUE(r->completed());
    const auto s = wire();
    EXPECT_EQ(s.out, "Status: 201 Created\r\nX-A: b\r\n\r\nbody");
    EXPECT_EQ(s.ends, 1);
    EXPECT_EQ(s.app_status, 0u);
    EXPECT_EQ(finished_count(), 1u);
}

TEST_F(RequestTest, HeaderInjectionIsRefused) {
    auto r = ready_request();
    EXPECT_EQ(r->add_header("X-A", "b\r\nSet-Cookie: x"), FCGID_EINVAL);
    EXPECT_EQ(r->add_header("Bad Name", "v"), FCGID_EINVAL);
    EXPECT_EQ(r->add_header("status", "200"), FCGID_EINVAL);
}

TEST_F(RequestTest, DeferredStaysHeldUntilFinish) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    r->dispatched(FCGID_DEFERRED);
    EXPECT_TRUE(r->held_by_plugin());
    EXPECT_EQ(finished_count(), 0u);
    EXPECT_EQ(r->finish(), FCGID_OK);
    EXPECT_EQ(finished_count(), 1u);
    EXPECT_EQ(r->finish(), FCGID_ESTATE);  // once only
}

TEST_F(RequestTest, AnErrorFromHandleBeforeAnyOutputIsA500) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    r->add_header("X-Lost", "yes");
    r->dispatched(FCGID_EINVAL);
    const auto s = wire();
    EXPECT_EQ(s.out.rfind("Status: 500 Internal Server Error\r\n\r\n", 0), 0u) << s.out;
    EXPECT_EQ(s.out.find("X-Lost"), std::string::npos);
    EXPECT_EQ(s.app_status, 0u);
}

TEST_F(RequestTest, AnErrorAfterOutputCutsTheBodyShortWithAnAppStatus) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    r->write("part");
    r->dispatched(FCGID_EINVAL);
    const auto s = wire();
    EXPECT_EQ(s.ends, 1);
    EXPECT_EQ(s.app_status, 1u);
}

TEST_F(RequestTest, AfterAbortWritesSayAbortedAndNothingEnds) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    r->dispatched(FCGID_DEFERRED);
    r->abort();
    r->detach();
    EXPECT_EQ(r->write("late"), FCGID_EABORTED);
    EXPECT_EQ(r->set_status(404), FCGID_EABORTED);  // not ESTATE: the plugin hears why
    EXPECT_EQ(r->add_header("X-Late", "1"), FCGID_EABORTED);
    EXPECT_EQ(r->finish(), FCGID_OK);
    EXPECT_EQ(finished_count(), 0u);
    EXPECT_EQ(wire().ends, 0);
}

TEST_F(RequestTest, WritesPastTheLimitSayFull) {
    output_queue small(64);
    auto r = std::make_shared<request>(small, 1, true);
    r->hand_to_plugin(nullptr);
    EXPECT_EQ(r->write(std::string(100, 'x')), FCGID_FULL);
    r->dispatched(FCGID_FULL);  // the bytes were taken: as OK
    EXPECT_TRUE(small.take_finished());
    EXPECT_TRUE(r->completed());
}

TEST_F(RequestTest, RejectAnswersWithoutThePlugin) {
    auto r = ready_request();
    r->reject(413);
    EXPECT_EQ(r->status(), 413);
    EXPECT_EQ(wire().out, "Status: 413 Content Too Large\r\n\r\n");
    EXPECT_EQ(finished_count(), 1u);
}

TEST_F(RequestTest, ResetForgetsEverythingOfTheLastRequest) {
    auto r = ready_request();
    r->hand_to_plugin(nullptr);
    r->set_status(404);
    r->dispatched(FCGID_OK);
    r->reset(q_, 9, false);
    EXPECT_EQ(r->id(), 9);
    EXPECT_FALSE(r->keep_conn());
    EXPECT_EQ(r->param_count(), 0u);
    EXPECT_EQ(r->status(), 200);
    EXPECT_EQ(r->received_bytes(), 0u);
    EXPECT_TRUE(r->receiving());
}

}  // namespace
}  // namespace fcgid::net
