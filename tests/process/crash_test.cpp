// A plugin that crashes costs one request, never the host (README, "When a
// plugin crashes"): with --workers, the master names the request a worker
// died on, replaces a worker that had served at once, quarantines a request
// that crashed two workers, and backs off only for workers that cannot
// start; without, the process exits non-zero with a line naming the request.
// The plugin is tests/plugins/faulty.c.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

// These tests check deaths by signal, as a plain build has them.
const bool crash_signals_kill = [] {
    fcgid_test::let_crash_signals_kill();
    return true;
}();

std::string faulty() { return fcgid_test::test_plugin("faulty"); }

// Sends GET /app?QUERY on a new connection; the response, or nullopt when
// the worker died (the connection closed before END_REQUEST).
std::optional<fcgid_test::cgi_response> get(const daemon_process& d, std::string_view query) {
    fcgi_connection c = d.connect();
    c.send_request(1, query, {}, 0);
    try {
        return fcgid_test::parse_cgi_response(c.read_response(1).stdout_data);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

TEST(CrashContainment, TheMasterNamesTheRequestAWorkerDiedOnAndReplacesTheWorkerAtOnce) {
    auto d = start_two_workers(faulty());
    const std::vector<pid_t> before = wait_children(d->pid(), 2);
    EXPECT_FALSE(get(*d, "crash")) << "the worker answered instead of crashing";
    ASSERT_TRUE(d->wait_for_log("killed by signal SIGSEGV while the plugin handled GET /app?crash (request id 1, "
                                "body 0 bytes); crash 1 of 2 within 60 s"))
        << d->log();
    const std::string line = lines_with(d->log(), "killed by signal SIGSEGV");
    EXPECT_NE(line.find("; replacing it now"), std::string::npos) << line;
    // The dead worker is named by its pid, and was one of the two.
    EXPECT_TRUE(std::any_of(before.begin(), before.end(), [&](pid_t p) {
        return line.find("worker " + std::to_string(p) + " killed") != std::string::npos;
    })) << line;
    const std::vector<pid_t> after = wait_children(d->pid(), 2);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_NE(after, before);
    for (int i = 0; i < 10; ++i) {
        const auto answer = get(*d, "fine");
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 200);
    }
}

TEST(CrashContainment, ARequestThatCrashedTwoWorkersIsAnswered500WithoutThePlugin) {
    auto d = start_two_workers(faulty());
    EXPECT_FALSE(get(*d, "crash"));
    ASSERT_TRUE(wait_for_count(*d, "[worker ", 3)) << d->log();  // the first replacement listens
    EXPECT_FALSE(get(*d, "crash"));
    ASSERT_TRUE(d->wait_for_log("crash 2 of 2 within 60 s: quarantined")) << d->log();
    const std::vector<pid_t> serving = wait_children(d->pid(), 2);
    for (int i = 0; i < 5; ++i) {
        const auto answer = get(*d, "crash");
        ASSERT_TRUE(answer) << "a quarantined request crashed a worker; log:\n" << d->log();
        EXPECT_EQ(answer->status, 500);
    }
    EXPECT_EQ(count_of(d->log(), "killed by signal SIGSEGV"), 2u) << d->log();
    EXPECT_EQ(wait_children(d->pid(), 2), serving) << "no worker may have died";
    EXPECT_TRUE(d->wait_for_log("quarantined request answered 500 without calling the plugin: GET /app?crash"))
        << d->log();
    // Only that request: others still reach the plugin.
    const auto fine = get(*d, "crash-not");
    ASSERT_TRUE(fine);
    EXPECT_EQ(fine->status, 200);
}

TEST(CrashContainment, QuarantineAfterZeroTurnsTheQuarantineOff) {
    auto d = start_two_workers(faulty(), {"--quarantine-after", "0"});
    for (int i = 1; i <= 3; ++i) {
        EXPECT_FALSE(get(*d, "crash")) << "crash " << i;
        ASSERT_TRUE(wait_for_count(*d, "killed by signal SIGSEGV", static_cast<std::size_t>(i))) << d->log();
        ASSERT_EQ(wait_children(d->pid(), 2).size(), 2u);
    }
    EXPECT_EQ(count_of(d->log(), "quarantined"), 0u) << d->log();
    EXPECT_EQ(count_of(d->log(), "before it is quarantined"), 0u) << "no strike count when it is off";
}

TEST(CrashContainment, WorkersThatCannotStartBackOffWhileOneKeepsTrying) {
    const temp_dir dir;
    const std::string broken = dir.file("broken");
    auto d = start_two_workers(faulty(), {"--plugin-option", "fail_init_if=" + broken});
    std::ofstream(broken) << "init crashes while this file exists\n";
    // Both workers die serving; their replacements die in init.
    EXPECT_FALSE(get(*d, "crash"));
    ASSERT_TRUE(d->wait_for_log("before it was ready")) << d->log();
    EXPECT_FALSE(get(*d, "crash"));
    ASSERT_TRUE(d->wait_for_log("no worker is serving: all 2 failed to start")) << d->log();
    ASSERT_TRUE(d->wait_for_log("next try in 200 ms")) << d->log();
    const std::string failed = lines_with(d->log(), "before it was ready");
    EXPECT_NE(failed.find("killed by signal SIGSEGV before it was ready, outside any request's handle(); "
                          "next try in 100 ms"),
              std::string::npos)
        << failed;
    // The build is fixed: a worker is serving again within the second.
    std::filesystem::remove(broken);
    const auto fixed = clock_type::now();
    // Asked until one is answered: a served request is the event itself.
    std::optional<fcgid_test::cgi_response> answer;
    fcgid_test::poll_until([&] { return (answer = get(*d, "fine")).has_value(); }, 8000ms, 50ms);
    ASSERT_TRUE(answer) << d->log();
    EXPECT_EQ(answer->status, 200);
    EXPECT_LT(clock_type::now() - fixed, 4s) << "one slot is tried at least once a second";
    EXPECT_TRUE(d->running());
}

TEST(CrashContainment, WithoutWorkersACrashExitsNonZeroWithALineNamingTheRequest) {
    auto d = daemon_process::start(faulty());
    EXPECT_FALSE(get(*d, "crash"));
    const auto code = d->wait_exit();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 128 + SIGSEGV);
    EXPECT_NE(d->log().find("fcgid: fatal: SIGSEGV while the plugin handled GET /app?crash (request id 1)"),
              std::string::npos)
        << d->log();
}

TEST(CrashContainment, ACrashOnAPluginThreadNamesNoRequest) {
    auto d = daemon_process::start(faulty());
    const auto answer = get(*d, "abort-thread");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    const auto code = d->wait_exit();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 128 + SIGABRT);
    EXPECT_NE(d->log().find("fcgid: fatal: SIGABRT outside a request's handle()"), std::string::npos) << d->log();
}

}  // namespace
}  // namespace fcgid_process
