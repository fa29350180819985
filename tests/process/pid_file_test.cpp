// --pid-file (README, "Processes and signals"): the process id (of the
// master, with --workers) is written once bound and removed at exit.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

std::string contents(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(PidFile, HoldsThePidWhileServingAndIsRemovedAfterSigterm) {
    temp_dir files;
    const std::string pid_file = files.file("fcgid.pid");
    auto d = daemon_process::start(fcgid_test::echo_plugin(), {"--pid-file", pid_file});
    EXPECT_EQ(contents(pid_file), std::to_string(d->pid()) + "\n");
    EXPECT_EQ(post_once(d->host(), d->port(), "x"), answered_by::echo);

    d->send_signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->log();
    EXPECT_FALSE(std::filesystem::exists(pid_file));
}

TEST(PidFile, WithTwoWorkersHoldsTheMastersPidAndIsRemovedAfterSigterm) {
    temp_dir files;
    const std::string pid_file = files.file("fcgid.pid");
    auto d = start_two_workers(fcgid_test::echo_plugin(), {"--pid-file", pid_file});
    EXPECT_EQ(contents(pid_file), std::to_string(d->pid()) + "\n");
    EXPECT_EQ(wait_children(d->pid(), 2).size(), 2u);

    d->send_signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(), 0) << d->log();
    EXPECT_FALSE(std::filesystem::exists(pid_file));
}

TEST(PidFile, WithTwoWorkersStaysWhileAWorkerIsRecycled) {
    // A worker leaving (here by its request limit) must not take the master's file with it.
    temp_dir files;
    const std::string pid_file = files.file("fcgid.pid");
    auto d = start_two_workers(fcgid_test::echo_plugin(), {"--pid-file", pid_file, "--request-limit", "2"});
    for (int i = 0; i < 8; ++i) EXPECT_EQ(post_once(d->host(), d->port(), "r"), answered_by::echo);
    ASSERT_TRUE(d->wait_for_log("exited with status 0", 5000ms)) << d->log();
    EXPECT_EQ(contents(pid_file), std::to_string(d->pid()) + "\n");
}

}  // namespace
}  // namespace fcgid_process
