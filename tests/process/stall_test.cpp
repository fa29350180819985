// A plugin that stalls the loop is seen and, if asked, ended (README, "When a
// plugin stalls"): --stall-warning logs one report naming the request and
// the loop thread's stack, taken in-process; --stall-kill ends the process
// (with --workers, the worker, replaced at once). A request that takes long
// without blocking the loop (deferred) is no stall. The plugin is
// tests/plugins/stalls.c.
#include <gtest/gtest.h>

#include <string>

#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

std::string stalls() { return fcgid_test::test_plugin("stalls"); }

// GET /app?QUERY on a new connection: the body, or nullopt when the
// connection ended without an answer (its worker died).
std::optional<std::string> get_body(const daemon_process& d, std::string_view query,
                                    milliseconds timeout = fcgid_test::default_timeout) {
    fcgi_connection c = d.connect();
    c.send_request(1, query, {}, 0);
    try {
        const auto answer = fcgid_test::parse_cgi_response(c.read_response(1, timeout).stdout_data);
        if (answer.status != 200) return std::nullopt;
        return answer.body;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

TEST(StallWatchdog, OneWarningNamesTheRequestAndThePluginFunctionOnTheStack) {
    auto d = daemon_process::start(stalls(), {"--stall-warning", "200"});
    EXPECT_EQ(get_body(*d, "spin=1500"), "spun");
    ASSERT_TRUE(d->wait_for_log("loop stall over")) << d->log();
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "loop stalled:"), 1u) << log;
    const std::string report = excerpt_around(log, "loop stalled:", 0);
    EXPECT_NE(report.find("has not returned from handle()"), std::string::npos) << report;
    EXPECT_NE(report.find("serving GET /app?spin=1500 (request id 1)"), std::string::npos) << report;
    // The stack follows the line, one frame a line, and names the function
    // the loop thread spins in: taken from that thread, not the watchdog's.
    const std::string stack = excerpt_around(log, "loop stalled:", 8);
    EXPECT_NE(stack.find("spin_in_handle+0x"), std::string::npos) << stack;
    EXPECT_NE(stack.find("stalls.so+0x"), std::string::npos) << stack;
    EXPECT_EQ(stack.find("loop_sampler"), std::string::npos) << "the handler's own frames: " << stack;
    EXPECT_EQ(count_of(log, "still stalled"), 0u) << log;  // 1.5 s: under the 5 s repeat
    // The loop serves again.
    EXPECT_EQ(get_body(*d, ""), "");
}

TEST(StallWatchdog, ADeferredRequestThatTakesLongIsNoStall) {
    // 300 ms: far above what a short handle() can take on a loaded machine.
    auto d = daemon_process::start(stalls(), {"--stall-warning", "300"});
    EXPECT_EQ(get_body(*d, "defer=800"), "deferred");
    // The watchdog is watching: a real stall after it is reported, and is the only report.
    EXPECT_EQ(get_body(*d, "spin=1000"), "spun");
    ASSERT_TRUE(d->wait_for_log("loop stall over")) << d->log();
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "loop stalled:"), 1u) << log;
    EXPECT_EQ(count_of(log, "defer=800"), 0u) << log;
    EXPECT_NE(lines_with(log, "loop stalled:").find("GET /app?spin=1000"), std::string::npos) << log;
}

TEST(StallWatchdog, ALoopTaskThatStallsIsReportedAsOneWithNoRequest) {
    auto d = daemon_process::start(stalls(), {"--stall-warning", "200"});
    EXPECT_EQ(get_body(*d, "task_spin=1000"), "queued");
    ASSERT_TRUE(d->wait_for_log("loop stall over")) << d->log();
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "loop stalled:"), 1u) << log;
    const std::string line = lines_with(log, "loop stalled:");
    EXPECT_NE(line.find("has not returned from a task it queued with call_on_loop for "), std::string::npos)
        << line;
    EXPECT_NE(line.find("(--stall-warning 200 ms), serving no request;"), std::string::npos) << line;
    EXPECT_NE(excerpt_around(log, "loop stalled:", 8).find("spin_in_loop_task"), std::string::npos) << log;
}

TEST(StallWatchdog, AStallThatGoesOnIsSaidAgainAtMostEveryFiveSeconds) {
    auto d = daemon_process::start(stalls(), {"--stall-warning", "100"});
    // The repeat comes 5 s after the warning; the spin ends well after it.
    EXPECT_EQ(get_body(*d, "spin=6500", 20'000ms), "spun");
    ASSERT_TRUE(d->wait_for_log("loop stall over")) << d->log();
    const std::string log = d->log();
    EXPECT_EQ(count_of(log, "loop stalled:"), 1u) << log;
    EXPECT_EQ(count_of(log, "loop still stalled after 5 s"), 1u) << log;
}

TEST(StallKill, WithoutWorkersTheProcessExitsWithStatus3NamingTheRequest) {
    auto d = daemon_process::start(stalls(), {"--stall-warning", "200", "--stall-kill", "1"});
    fcgi_connection c = d->connect();
    c.send_request(1, "spin=60000", {}, 0);
    // Long before the spin would end.
    const auto code = d->wait_exit(10'000ms);
    ASSERT_TRUE(code.has_value()) << d->log();
    EXPECT_EQ(*code, 3) << d->log();
    const std::string line = lines_with(d->log(), "fcgid: fatal:");
    EXPECT_NE(line.find("the plugin has not returned from handle() for 1."), std::string::npos) << line;
    EXPECT_NE(line.find("serving GET /app?spin=60000: exiting with status 3 (--stall-kill 1)"),
              std::string::npos)
        << line;
    EXPECT_EQ(count_of(d->log(), "loop stalled:"), 1u) << d->log();
}

TEST(StallKill, WithWorkersTheMasterReplacesTheStalledWorkerAndSaysWhy) {
    auto d = start_two_workers(stalls(), {"--stall-kill", "1"});
    const std::vector<pid_t> before = wait_children(d->pid(), 2);
    ASSERT_EQ(before.size(), 2u);
    // The worker dies with the request: the connection ends unanswered.
    EXPECT_FALSE(get_body(*d, "spin=60000"));
    ASSERT_TRUE(d->wait_for_log("by its stall watchdog")) << d->log();
    const std::string line = lines_with(d->log(), "by its stall watchdog");
    EXPECT_NE(line.find("killed by signal SIGKILL by its stall watchdog: the plugin had not returned from "
                        "handle() for 1."),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("serving GET /app?spin=60000 (request id 1); replacing it now"), std::string::npos)
        << line;
    EXPECT_EQ(line.find("from outside"), std::string::npos) << line;
    const std::vector<pid_t> after = wait_children(d->pid(), 2);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_NE(after, before);
    // Served by the new worker or the other one.
    for (int i = 0; i < 4; ++i) EXPECT_EQ(get_body(*d, ""), "");
}

TEST(StallOptions, AWarningNotShorterThanTheKillIsRefused) {
    const auto r = fcgid_test::run_fcgid(
        {"run", "--plugin", stalls(), "--port", "0", "--stall-warning", "2000", "--stall-kill", "2"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--stall-warning"), std::string::npos) << r.err;
    EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
}

}  // namespace
}  // namespace fcgid_process
