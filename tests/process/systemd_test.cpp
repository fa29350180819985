// systemd (README, "Processes and signals"): with NOTIFY_SOCKET set fcgid
// reports READY=1 once listening and STOPPING=1 when a drain starts; with
// LISTEN_PID/LISTEN_FDS set (socket activation) and no --port/--socket/--fd,
// it serves fd 3. Both need an environment of the test's making, so these
// tests start fcgid with spawned_fcgid rather than daemon_process.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>

#include "process_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

// Every datagram until `timeout` passes without one.
std::vector<notification> drain_notifications(notify_socket& socket, milliseconds timeout) {
    std::vector<notification> out;
    while (auto n = socket.receive(timeout)) out.push_back(std::move(*n));
    return out;
}

std::size_t count_text(const std::vector<notification>& all, std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [text](const notification& n) { return n.text == text; }));
}

std::vector<std::string> run_args(std::vector<std::string> extra) {
    std::vector<std::string> args{"run", "--plugin", fcgid_test::echo_plugin()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

TEST(Systemd, NotifySocketGetsReadyAfterTheListeningLineAndStoppingOnSigterm) {
    temp_dir files;
    notify_socket notify(files.file("notify"));
    spawned_fcgid d({.args = run_args({"--host", "127.0.0.1", "--port", "0"}),
                     .env = {"NOTIFY_SOCKET=" + notify.path()}});

    const auto ready = notify.receive(10'000ms);
    ASSERT_TRUE(ready) << d.log();
    EXPECT_EQ(ready->text, "READY=1");
    EXPECT_EQ(ready->sender, d.pid()) << "systemd accepts only the main pid (NotifyAccess=main)";
    EXPECT_NE(d.log().find("listening on 127.0.0.1:"), std::string::npos) << "READY=1 before the listening line";

    d.send_signal(SIGTERM);
    const auto stopping = notify.receive(5000ms);
    ASSERT_TRUE(stopping) << d.log();
    EXPECT_EQ(stopping->text, "STOPPING=1");
    EXPECT_EQ(stopping->sender, d.pid());
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    EXPECT_TRUE(drain_notifications(notify, 200ms).empty());
}

TEST(Systemd, NotifySocketWithTwoWorkersGetsOneReadyFromTheMasterOnceBothListen) {
    temp_dir files;
    notify_socket notify(files.file("notify"));
    spawned_fcgid d({.args = run_args({"--host", "127.0.0.1", "--port", "0", "--workers", "2"}),
                     .env = {"NOTIFY_SOCKET=" + notify.path()}});

    const auto ready = notify.receive(10'000ms);
    ASSERT_TRUE(ready) << d.log();
    EXPECT_EQ(ready->text, "READY=1");
    EXPECT_EQ(ready->sender, d.pid()) << "READY=1 from a worker, not the master";
    EXPECT_EQ(worker_pids_listening(d.log()).size(), 2u) << "READY=1 before both workers listened:\n" << d.log();
    // Nothing more while serving.
    std::vector<notification> all{*ready};
    for (auto& n : drain_notifications(notify, 300ms)) all.push_back(std::move(n));

    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    for (auto& n : drain_notifications(notify, 200ms)) all.push_back(std::move(n));
    std::string texts;
    for (const auto& n : all) texts += n.text + " (pid " + std::to_string(n.sender) + ") ";
    EXPECT_EQ(count_text(all, "READY=1"), 1u) << texts;
    EXPECT_EQ(count_text(all, "STOPPING=1"), 1u) << texts;
    EXPECT_EQ(all.size(), 2u) << texts;
    for (const auto& n : all) EXPECT_EQ(n.sender, d.pid()) << texts;
}

TEST(Systemd, ListenFdsSocketActivationServesFd3WithoutPort) {
    const auto socket = fcgid_test::make_tcp_socket();
    spawned_fcgid d({.args = run_args({}), .env = {"LISTEN_FDS=1"}, .fd3 = socket.fd, .listen_pid = true});
    ASSERT_TRUE(d.wait_for_log("listening on fd 3")) << d.log();
    EXPECT_EQ(post_once("127.0.0.1", socket.port, "activated"), answered_by::echo);
    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

TEST(Systemd, ListenFdsWithTwoWorkersServesFd3FromBothWorkers) {
    const auto socket = fcgid_test::make_tcp_socket();
    spawned_fcgid d({.args = run_args({"--workers", "2"}), .env = {"LISTEN_FDS=1"}, .fd3 = socket.fd,
                     .listen_pid = true});
    ASSERT_TRUE(d.wait_for_log("2 workers serving")) << d.log();
    EXPECT_NE(d.log().find("listening on fd 3"), std::string::npos) << d.log();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(post_once("127.0.0.1", socket.port, "activated"), answered_by::echo);
    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

TEST(Systemd, ListenFdsForAnotherPidIsIgnored) {
    // LISTEN_PID names another process: the sockets are not ours, so fcgid
    // falls back to --fd's default, fd 0, which is /dev/null here: refused.
    const auto socket = fcgid_test::make_tcp_socket();
    spawned_fcgid d({.args = run_args({}), .env = {"LISTEN_FDS=1", "LISTEN_PID=1"}, .fd3 = socket.fd});
    const auto code = d.wait_exit(5000ms);
    ASSERT_TRUE(code) << d.log();
    EXPECT_EQ(*code, 1) << d.log();
    EXPECT_EQ(d.log().find("listening on fd 3"), std::string::npos) << d.log();
    EXPECT_EQ(count_of(d.log(), "fcgid: error:"), 1u) << d.log();
}

}  // namespace
}  // namespace fcgid_process
