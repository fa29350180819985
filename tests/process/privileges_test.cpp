// --user / --group (README, "Processes and signals"): root is dropped after
// binding the socket and before loading the plugin. Needs root: skipped
// otherwise.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "process_support.hpp"
#include "workers_support.hpp"

namespace fcgid_process {
namespace {

using fcgid_test::count_of;

class Privileges : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "--user/--group need the tests to run as root";
        const passwd* nobody = ::getpwnam("nobody");
        const group* nogroup = ::getgrnam("nogroup");
        if (nobody == nullptr || nogroup == nullptr) GTEST_SKIP() << "no nobody user or nogroup group";
        uid_ = nobody->pw_uid;
        gid_ = nogroup->gr_gid;
        // A plugin nobody can read wherever the build tree is: a world-readable copy.
        ::chmod(files_.path().c_str(), 0755);
        plugin_ = files_.file("echo.so");
        std::filesystem::copy_file(fcgid_test::echo_plugin(), plugin_);
        ::chmod(plugin_.c_str(), 0644);
    }

    // Every id of /proc/<pid>/status (real, effective, saved, filesystem).
    void expect_dropped(pid_t pid) {
        const std::string u = std::to_string(uid_);
        const std::string g = std::to_string(gid_);
        EXPECT_EQ(status_field(pid, "Uid"), u + "\t" + u + "\t" + u + "\t" + u) << "pid " << pid;
        EXPECT_EQ(status_field(pid, "Gid"), g + "\t" + g + "\t" + g + "\t" + g) << "pid " << pid;
        const std::string groups = status_field(pid, "Groups");
        EXPECT_TRUE(groups.empty() || groups == g) << "supplementary groups kept: " << groups;
    }

    temp_dir files_;
    std::string plugin_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

// A free TCP port below 1024 on 127.0.0.1, which only root may bind (0 if none found).
std::uint16_t free_privileged_port() {
    for (std::uint16_t port = 980; port > 900; --port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        const bool free = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        if (free) return port;
    }
    return 0;
}

TEST_F(Privileges, UserNobodyGroupNogroupServesOnAPrivilegedPortBoundBeforeDropping) {
    const std::uint16_t port = free_privileged_port();
    ASSERT_NE(port, 0) << "no free port in 901..980";
    daemon_process d({"run", "--plugin", plugin_, "--host", "127.0.0.1", "--port", std::to_string(port),
                      "--user", "nobody", "--group", "nogroup"});
    d.wait_listening();
    EXPECT_EQ(d.port(), port);
    expect_dropped(d.pid());
    EXPECT_EQ(post_once("127.0.0.1", port, "as nobody"), answered_by::echo);
    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

TEST_F(Privileges, UserNobodyWithTwoWorkersRunsTheWorkersAsNobody) {
    // The master stays root on purpose (it only forks and waits, and must
    // remove a pid file from /run); everything that runs plugin code drops.
    auto d = start_two_workers(plugin_, {"--user", "nobody", "--group", "nogroup"});
    const std::vector<pid_t> workers = wait_children(d->pid(), 2);
    ASSERT_EQ(workers.size(), 2u);
    for (const pid_t w : workers) expect_dropped(w);
    EXPECT_EQ(post_once(d->host(), d->port(), "as nobody"), answered_by::echo);
}

TEST_F(Privileges, UnknownUserIsOneErrorLineNamingItAndExitOne) {
    const auto r = fcgid_test::run_fcgid({"run", "--plugin", plugin_, "--host", "127.0.0.1", "--port", "0",
                                          "--user", "unknown_user_xyz"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto lines = fcgid_test::lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("fcgid: error:", 0), 0u) << r.err;
    EXPECT_NE(lines[0].find("unknown_user_xyz"), std::string::npos) << r.err;
}

TEST_F(Privileges, UnknownGroupIsOneErrorLineNamingItAndExitOne) {
    const auto r = fcgid_test::run_fcgid({"run", "--plugin", plugin_, "--host", "127.0.0.1", "--port", "0",
                                          "--user", "nobody", "--group", "unknown_group_xyz"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto lines = fcgid_test::lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("fcgid: error:", 0), 0u) << r.err;
    EXPECT_NE(lines[0].find("unknown_group_xyz"), std::string::npos) << r.err;
}

TEST_F(Privileges, PidFileWrittenAsRootIsRemovedAtExitAfterDroppingToNobody) {
    // A single process that became nobody can only remove the file where
    // nobody may: a sticky world-writable directory such as /tmp, or a
    // RuntimeDirectory owned by the user (README, --pid-file).
    ::chmod(files_.path().c_str(), 01777);
    const std::string pid_file = files_.file("fcgid.pid");
    daemon_process d({"run", "--plugin", plugin_, "--host", "127.0.0.1", "--port", "0", "--user", "nobody",
                      "--pid-file", pid_file});
    d.wait_listening();
    EXPECT_TRUE(std::filesystem::exists(pid_file));
    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    EXPECT_FALSE(std::filesystem::exists(pid_file)) << "the pid file outlived the process";
}

TEST_F(Privileges, WorkersMasterKeepsRootAndRemovesPidFileFromRootOnlyDirectory) {
    // With --workers the master stays root (only the workers become nobody),
    // so the pid file may sit in a directory only root may write, as /run is.
    const std::string pid_file = files_.file("fcgid.pid");
    daemon_process d({"run", "--plugin", plugin_, "--host", "127.0.0.1", "--port", "0", "--user", "nobody",
                      "--workers", "1", "--pid-file", pid_file});
    d.wait_listening();
    EXPECT_TRUE(std::filesystem::exists(pid_file));
    d.send_signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    EXPECT_FALSE(std::filesystem::exists(pid_file))
        << "the pid file outlived the process: it was written as root, and the process that "
           "should remove it runs as nobody, which may not write to " << files_.path();
}

}  // namespace
}  // namespace fcgid_process
