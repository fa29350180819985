// A plugin's log lines carry ITS name, also after a SIGHUP reload has
// loaded another plugin beside it (plugin.h, fcgid_host_api.log).
//
// The daemon serves a copy of late_logger.so; the test replaces it with
// hello.so and sends SIGHUP. The retired late_logger holds no request, so it
// is shut down at once, and its own thread logs "late_logger: thread stops"
// while hello already serves: that line must read [late_logger], not [hello].
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "process_support.hpp"

namespace fcgid_process {
namespace {

TEST(PluginLogName, ARetiredPluginsThreadLogsUnderItsOwnNameAfterAReload) {
    temp_dir files;
    const std::string plugin = files.file("app.so");
    std::filesystem::copy_file(fcgid_test::test_plugin("late_logger"), plugin);
    const auto daemon = daemon_process::start(plugin);

    replace_by_rename(fcgid_test::hello_plugin(), plugin);
    daemon->send_signal(SIGHUP);
    ASSERT_TRUE(daemon->wait_for_log("reloaded: plugin hello")) << daemon->log();
    ASSERT_TRUE(daemon->wait_for_log("late_logger: thread stops")) << daemon->log();

    const std::string log = daemon->log();
    EXPECT_NE(log.find("[late_logger] late_logger: thread stops"), std::string::npos) << log;
    EXPECT_EQ(log.find("[hello] late_logger"), std::string::npos) << log;
    EXPECT_EQ(post_once(daemon->host(), daemon->port(), "after"), answered_by::hello);
}

}  // namespace
}  // namespace fcgid_process
