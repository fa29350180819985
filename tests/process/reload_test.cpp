// SIGHUP in a single process (README, "Processes and signals"): the plugin
// file is loaded again; new requests go to the new code once its init
// succeeded, requests in flight finish on the old code; a file that fails
// to load or init leaves the old code serving. fcgid loads a private copy,
// so replacing the file in place is safe.
//
// The daemon serves a copy of echo.so at a path of the test's own; the test
// replaces that file with hello.so (or a broken plugin) and sends SIGHUP.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "load_generator.hpp"
#include "process_support.hpp"

namespace fcgid_process {
namespace {

enum class replacement { rename_over, overwrite_in_place };

class Reload : public ::testing::Test {
protected:
    void SetUp() override {
        plugin_ = files_.file("app.so");
        std::filesystem::copy_file(fcgid_test::echo_plugin(), plugin_);
        daemon_ = daemon_process::start(plugin_);
    }

    answered_by post(std::string_view body) { return post_once(daemon_->host(), daemon_->port(), body); }

    // Two echo requests held by the plugin for `delay`, on one connection; a
    // third request on the same connection, answered, proves both were
    // dispatched (records are handled in order).
    fcgi_connection hold_two_requests(milliseconds delay) {
        fcgi_connection c = daemon_->connect();
        const std::string query = "delay_ms=" + std::to_string(delay.count());
        c.send_request(1, query, "in flight 1", fcgi::keep_conn, "POST");
        c.send_request(2, query, "in flight 2", fcgi::keep_conn, "POST");
        std::string why;
        const auto who = classify(c.round_trip(3, "", "marker", fcgi::keep_conn, "POST"), "marker", why);
        EXPECT_EQ(who, answered_by::echo) << why;
        return c;
    }

    void reload_under_load(replacement how);

    temp_dir files_;
    std::string plugin_;
    std::unique_ptr<daemon_process> daemon_;
};

void Reload::reload_under_load(replacement how) {
    load_generator load({.port = daemon_->port()});
    ASSERT_TRUE(load.wait_answered(20, 10'000ms)) << "the load does not get going: " << load.failures() << " failed";

    const auto held_at = clock_type::now();
    fcgi_connection held = hold_two_requests(800ms);

    const auto replaced_at = clock_type::now();
    if (how == replacement::rename_over) {
        replace_by_rename(fcgid_test::hello_plugin(), plugin_);
    } else {
        replace_in_place(fcgid_test::hello_plugin(), plugin_);
        ASSERT_EQ(std::filesystem::file_size(plugin_), std::filesystem::file_size(fcgid_test::hello_plugin()));
    }
    // The file changed, the code did not: the load keeps running on echo.
    ASSERT_TRUE(load.wait_answered(10, 10'000ms, [&](const load_sample& s) { return s.sent > replaced_at; }))
        << "no request between the file replacement and SIGHUP";

    const auto sighup_at = clock_type::now();
    daemon_->send_signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reloaded: plugin hello", 5000ms)) << tail_of(daemon_->log());
    const auto reload_seen_at = clock_type::now();
    pollfd p{held.fd(), POLLIN, 0};
    const bool held_still_in_flight = ::poll(&p, 1, 0) == 0;
    // The load goes on until requests sent after the reload line were answered.
    EXPECT_TRUE(load.wait_answered(20, 10'000ms, [&](const load_sample& s) { return s.sent > reload_seen_at; }));
    load.stop();

    // The two held requests: in flight across the reload, answered by echo.
    EXPECT_TRUE(held_still_in_flight) << "the held requests were answered before the reload line";
    for (std::uint16_t id : {1, 2}) {
        const std::string body = "in flight " + std::to_string(id);
        std::string why;
        const auto who = classify(held.read_response(id), body, why);
        EXPECT_EQ(who, answered_by::echo) << "held request " << id << ": " << why;
    }
    EXPECT_GE(clock_type::now() - held_at, 800ms);

    const std::string figures = load.summary();
    std::cout << "[figures] reload under load (" << (how == replacement::rename_over ? "rename" : "in place")
              << "): " << figures << std::endl;
    RecordProperty("figures", figures);
    EXPECT_EQ(load.failures(), 0u) << figures << "\n" << ::testing::PrintToString(load.first_failures())
                                   << "\n" << tail_of(daemon_->log());
    EXPECT_GT(load.count(answered_by::echo), 0u) << figures;
    EXPECT_GT(load.count(answered_by::hello), 0u) << figures;

    std::size_t after_replace = 0, in_flight_delayed = 0, after_reload = 0;
    std::optional<clock_type::time_point> first_hello;
    for (const load_sample& s : load.samples()) {
        if (s.by == answered_by::hello && (!first_hello || s.answered < *first_hello)) first_hello = s.answered;
        // Answered before SIGHUP, after the file changed: still the old code.
        if (s.answered < sighup_at) {
            EXPECT_EQ(s.by, answered_by::echo) << "answered by hello before SIGHUP";
            if (s.sent > replaced_at) ++after_replace;
        }
        // Delayed requests held by echo while the reload happened finish on echo.
        if (s.kind == client_kind::delayed && s.sent < sighup_at && s.answered > reload_seen_at) {
            EXPECT_EQ(s.by, answered_by::echo) << "a delayed request in flight at the reload";
            ++in_flight_delayed;
        }
        // Sent once the reload was logged: the new code.
        if (s.sent > reload_seen_at) {
            EXPECT_EQ(s.by, answered_by::hello) << "answered by echo after the reload line";
            ++after_reload;
        }
    }
    ASSERT_TRUE(first_hello);
    // Once one answer came from hello, nothing sent later came from echo: the switch is atomic.
    for (const load_sample& s : load.samples())
        if (s.sent > *first_hello) EXPECT_EQ(s.by, answered_by::hello) << "echo after hello";
    EXPECT_GT(after_replace, 0u) << "no request between the file replacement and SIGHUP";
    EXPECT_GT(after_reload, 0u) << "no request after the reload";
    std::cout << "[figures] " << after_replace << " answered by echo between the replacement and SIGHUP, "
              << in_flight_delayed << " delayed load requests in flight across the reload (plus 2 held), "
              << after_reload << " sent after the reload line" << std::endl;

    EXPECT_EQ(post("after"), answered_by::hello);
    EXPECT_TRUE(daemon_->running());
    EXPECT_EQ(fcgid_test::count_of(daemon_->log(), "[error]"), 0u) << daemon_->log();
}

TEST_F(Reload, HelloRenamedOverEchoThenSighupUnderLoadLosesNoRequest) {
    reload_under_load(replacement::rename_over);
}

TEST_F(Reload, HelloCopiedInPlaceOverEchoThenSighupUnderLoadLosesNoRequest) {
    reload_under_load(replacement::overwrite_in_place);
}

TEST_F(Reload, SighupWithAPluginWhoseInitFailsKeepsTheOldPluginServing) {
    ASSERT_EQ(post("before"), answered_by::echo);
    fcgi_connection held = hold_two_requests(600ms);

    replace_by_rename(fcgid_test::test_plugin("failing_init"), plugin_);
    daemon_->send_signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reload failed", 5000ms)) << daemon_->log();
    const std::string log = daemon_->log();
    EXPECT_NE(log.find("database unreachable"), std::string::npos) << log;
    EXPECT_EQ(log.find("reloaded: plugin"), std::string::npos) << log;

    EXPECT_EQ(post("after the failed reload"), answered_by::echo);
    for (std::uint16_t id : {1, 2}) {
        std::string why;
        const auto who = classify(held.read_response(id), "in flight " + std::to_string(id), why);
        EXPECT_EQ(who, answered_by::echo) << why;
    }
    EXPECT_TRUE(daemon_->running());
}

TEST_F(Reload, SighupAfterAFailedReloadLoadsTheFixedFile) {
    replace_by_rename(fcgid_test::test_plugin("failing_init"), plugin_);
    daemon_->send_signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reload failed", 5000ms)) << daemon_->log();
    EXPECT_EQ(post("between"), answered_by::echo);

    replace_by_rename(fcgid_test::hello_plugin(), plugin_);
    daemon_->send_signal(SIGHUP);
    ASSERT_TRUE(daemon_->wait_for_log("reloaded: plugin hello", 5000ms)) << daemon_->log();
    EXPECT_EQ(post("after"), answered_by::hello);
    EXPECT_TRUE(daemon_->running());
}

}  // namespace
}  // namespace fcgid_process
