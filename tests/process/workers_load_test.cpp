// --workers under a steady load while the master replaces its workers:
// recycling by --request-limit, and the rolling restart of SIGHUP. Zero
// failed requests either way (README, "Processes and signals").
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "load_generator.hpp"
#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

void report(const std::string& what, const std::string& figures) {
    std::cout << "[figures] " << what << ": " << figures << std::endl;
    ::testing::Test::RecordProperty("figures", figures);
}

// The pids listed by the master's "rolling restart done (pids a b)" line.
std::vector<pid_t> rolled_pids(const std::string& log) {
    static constexpr std::string_view marker = "rolling restart done (pids ";
    std::vector<pid_t> out;
    const std::size_t at = log.find(marker);
    if (at == std::string::npos) return out;
    std::istringstream in(log.substr(at + marker.size(), log.find(')', at) - at - marker.size()));
    for (long pid = 0; in >> pid;) out.push_back(static_cast<pid_t>(pid));
    std::sort(out.begin(), out.end());
    return out;
}

TEST(WorkersUnderLoad, RequestLimitFiveRecyclesTwoWorkersWithoutAFailedRequest) {
    auto d = start_two_workers(fcgid_test::echo_plugin(), {"--request-limit", "5"});
    load_generator load({.port = d->port(), .retry_closed_keep_alive = true});
    // The load runs until four workers were recycled.
    EXPECT_TRUE(wait_for_count(*d, "exited with status 0", 4, 20'000ms)) << tail_of(d->log());
    load.stop();

    const std::string log = d->log();
    const std::size_t recycled = count_of(log, "exited with status 0");
    const std::vector<pid_t> started = worker_pids_listening(log);
    const std::set<pid_t> distinct(started.begin(), started.end());
    const std::string figures = load.summary() + "; " + std::to_string(recycled) + " workers recycled, " +
                                std::to_string(distinct.size()) + " workers started";
    report("request limit 5, 2 workers", figures);

    EXPECT_EQ(load.failures(), 0u) << figures << "\n" << ::testing::PrintToString(load.first_failures())
                                   << "\n" << tail_of(log);
    EXPECT_EQ(load.count(answered_by::hello), 0u);
    EXPECT_GE(recycled, 4u) << figures;
    EXPECT_EQ(distinct.size(), started.size()) << "a pid listened twice";
    EXPECT_GE(distinct.size(), recycled) << "every recycled worker was replaced: " << figures;
    EXPECT_EQ(count_of(log, "killed by signal"), 0u) << tail_of(log);
    EXPECT_EQ(count_of(log, "exited with status 1"), 0u) << tail_of(log);
    EXPECT_EQ(count_of(log, "next try in"), 0u) << "a clean recycle was taken for a failed start";
    // Each recycled worker says why it left.
    EXPECT_GE(count_of(log, "exiting: request limit reached (5 of 5 requests)"), recycled) << tail_of(log);

    EXPECT_TRUE(d->running());
    EXPECT_EQ(wait_children(d->pid(), 2).size(), 2u);
    EXPECT_EQ(post_once(d->host(), d->port(), "after the load"), answered_by::echo);
}

TEST(WorkersUnderLoad, SigtermWhileWorkersRecycleEveryRequestExitsZero) {
    // With --request-limit 1 under load a replacement worker is nearly always
    // starting; SIGTERM then reaches workers at every stage of their start.
    // Every one of them must drain and exit 0, and so must the master.
    auto d = start_two_workers(fcgid_test::echo_plugin(), {"--request-limit", "1"});
    {
        load_generator load({.port = d->port(), .delayed_clients = 0, .retry_closed_keep_alive = true});
        // Recycling is under way: a few workers came and went.
        EXPECT_TRUE(wait_for_count(*d, "exited with status 0", 4, 20'000ms)) << tail_of(d->log());
        load.request_stop();
        d->send_signal(SIGTERM);
    }  // the requests in flight at SIGTERM are not judged here
    const auto code = d->wait_exit(10'000ms);
    const std::string log = d->log();
    report("SIGTERM during recycling (request limit 1)",
           std::to_string(count_of(log, "exited with status 0")) + " workers exited 0, " +
               std::to_string(count_of(log, "killed by signal")) + " killed by a signal");
    EXPECT_EQ(code, 0) << lines_with(log, "killed by signal") << excerpt_around(log, "draining: signal SIGTERM");
    EXPECT_EQ(count_of(log, "killed by signal"), 0u) << excerpt_around(log, "killed by signal", 10);
    EXPECT_TRUE(children_of(d->pid()).empty());
}

TEST(WorkersUnderLoad, SighupRollsBothWorkersOntoTheNewFileWithoutAFailedRequest) {
    temp_dir files;
    const std::string plugin = files.file("app.so");
    std::filesystem::copy_file(fcgid_test::echo_plugin(), plugin);
    auto d = start_two_workers(plugin);
    const std::vector<pid_t> old_workers = wait_children(d->pid(), 2);
    ASSERT_EQ(old_workers.size(), 2u);

    load_generator load({.port = d->port(), .retry_closed_keep_alive = true});
    ASSERT_TRUE(load.wait_answered(20, 10'000ms)) << "the load does not get going: " << load.failures() << " failed";
    replace_by_rename(fcgid_test::hello_plugin(), plugin);
    d->send_signal(SIGHUP);
    ASSERT_TRUE(d->wait_for_log("rolling restart done", 10'000ms)) << tail_of(d->log());
    for (const pid_t old : old_workers)
        EXPECT_TRUE(d->wait_for_log("worker " + std::to_string(old) + " exited with status 0", 5000ms))
            << tail_of(d->log());
    const auto old_gone_at = clock_type::now();
    EXPECT_TRUE(load.wait_answered(20, 10'000ms, [&](const load_sample& s) { return s.sent > old_gone_at; }))
        << "no request answered after both old workers exited";
    load.stop();

    const std::string log = d->log();
    const std::string figures = load.summary();
    report("rolling restart, 2 workers", figures);
    EXPECT_EQ(load.failures(), 0u) << figures << "\n" << ::testing::PrintToString(load.first_failures())
                                   << "\n" << tail_of(log);
    EXPECT_GT(load.count(answered_by::echo), 0u);
    EXPECT_GT(load.count(answered_by::hello), 0u);
    std::size_t after = 0;
    for (const load_sample& s : load.samples()) {
        if (s.sent <= old_gone_at) continue;
        ++after;
        EXPECT_EQ(s.by, answered_by::hello) << "echo answered after both old workers exited";
    }
    EXPECT_GT(after, 0u);

    // The new workers are the ones the master named, and each answers with hello.
    const std::vector<pid_t> new_workers = wait_children(d->pid(), 2);
    EXPECT_EQ(new_workers, rolled_pids(log)) << tail_of(log);
    for (const pid_t w : new_workers)
        EXPECT_EQ(std::count(old_workers.begin(), old_workers.end(), w), 0) << "worker " << w << " was not replaced";
    const auto answers = ask_each_worker(*d, new_workers);
    for (const pid_t w : new_workers) EXPECT_EQ(answers.at(w), answered_by::hello) << "worker " << w;
    EXPECT_EQ(count_of(log, "killed by signal"), 0u) << tail_of(log);
    EXPECT_TRUE(d->running());
}

}  // namespace
}  // namespace fcgid_process
