// Who may connect: --allow and FCGI_WEB_SERVER_ADDRS for TCP peers, and the
// mode and ownership of a unix socket (--socket-mode, --socket-owner,
// --socket-group), which must be right before the socket appears at its path.
#include <gtest/gtest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "hardening_support.hpp"

namespace fcgid_hardening {
namespace {

// A refused peer: closed without a byte, and named in a warning.
void expect_refused(daemon_process& d, const std::string& source) {
    raw_socket s = raw_socket::connect(d.host(), d.port(), source);
    const std::string peer = local_endpoint(s.fd());
    s.send_some(fcgid_test::encode_begin_request(1, fcgi::responder, 0));
    const read_result r = s.read_until_closed(3000ms);
    EXPECT_TRUE(r.closed) << peer << " was not closed";
    EXPECT_EQ(r.data.size(), 0u) << peer << " got an answer";
    EXPECT_TRUE(d.wait_for_log("refused connection from " + peer, 1000ms))
        << "no warning naming " << peer << "; log:\n"
        << d.log();
}

// Starts a daemon with FCGI_WEB_SERVER_ADDRS set to `addrs` in its environment.
std::unique_ptr<daemon_process> start_with_web_server_addrs(const std::string& addrs,
                                                            std::vector<std::string> extra = {}) {
    ::setenv("FCGI_WEB_SERVER_ADDRS", addrs.c_str(), 1);
    std::unique_ptr<daemon_process> d;
    try {
        d = daemon_process::start(fcgid_test::echo_plugin(), std::move(extra));
    } catch (...) {
        ::unsetenv("FCGI_WEB_SERVER_ADDRS");
        throw;
    }
    ::unsetenv("FCGI_WEB_SERVER_ADDRS");
    return d;
}

TEST(Access, Allow10Slash8Closes127001WithoutAResponseAndNamesThePeer) {
    auto d = daemon_process::start(fcgid_test::echo_plugin(), {"--allow", "10.0.0.0/8"});
    const std::uint64_t baseline = resident_bytes(d->pid());
    for (int i = 0; i < 20; ++i) expect_refused(*d, i % 2 ? "127.0.0.1" : "");
    EXPECT_TRUE(d->running());
    EXPECT_LT(resident_bytes(d->pid()), baseline + rss_growth_bound);
}

TEST(Access, Allow10Slash8And127002Serves127002AndRefuses127001) {
    auto d = daemon_process::start(fcgid_test::echo_plugin(),
                                   {"--allow", "10.0.0.0/8", "--allow", "127.0.0.2"});
    auto t = target::adopt(std::move(d), fcgid_test::echo_plugin(), "127.0.0.2");
    expect_refused(t->daemon(), "127.0.0.1");
    EXPECT_TRUE(t->survived());
}

TEST(Access, Allow127001Slash32IsServed) {
    auto t = target::start(fcgid_test::echo_plugin(), {"--allow", "127.0.0.1/32"});
    expect_refused(t->daemon(), "127.0.0.2");
    EXPECT_TRUE(t->survived());
}

TEST(Access, FcgiWebServerAddrs127002Refuses127001AndServes127002) {
    auto t = target::adopt(start_with_web_server_addrs("127.0.0.2"), fcgid_test::echo_plugin(),
                           "127.0.0.2");
    expect_refused(t->daemon(), "127.0.0.1");
    EXPECT_TRUE(t->survived());
}

TEST(Access, FcgiWebServerAddrsListWithSpacesServesItsSecondEntry) {
    auto t = target::adopt(start_with_web_server_addrs("127.0.0.3, 127.0.0.2"),
                           fcgid_test::echo_plugin(), "127.0.0.2");
    expect_refused(t->daemon(), "127.0.0.1");
    EXPECT_TRUE(t->survived());
}

TEST(Access, FcgiWebServerAddrsAndAllowAddUp) {
    auto t = target::adopt(start_with_web_server_addrs("127.0.0.3", {"--allow", "127.0.0.2/32"}),
                           fcgid_test::echo_plugin(), "127.0.0.2");
    expect_refused(t->daemon(), "127.0.0.1");
    EXPECT_EQ(post_from("127.0.0.3", t->daemon().host(), t->daemon().port(), "three").body, "three");
    EXPECT_TRUE(t->survived());
}

// ---- Unix socket permissions --------------------------------------------------------------

// Starts a daemon on a unix socket with `extra` options and returns the
// socket's stat as first seen at its path (polled from the moment of spawn:
// it must never be visible with other permissions).
struct unix_start {
    std::unique_ptr<daemon_process> daemon;
    struct stat first_seen {};
};

unix_start start_on_unix_socket(const fcgid_test::temp_dir& dir, std::vector<std::string> extra) {
    const std::string path = dir.file("fcgid.sock");
    std::vector<std::string> args = {"run", "--plugin", fcgid_test::echo_plugin(), "--socket", path};
    args.insert(args.end(), extra.begin(), extra.end());
    unix_start s;
    s.daemon = std::make_unique<daemon_process>(std::move(args));
    const auto deadline = clock_type::now() + 5s;
    while (::lstat(path.c_str(), &s.first_seen) != 0) {
        if (clock_type::now() > deadline || !s.daemon->running())
            throw std::runtime_error("socket never appeared; log:\n" + s.daemon->log());
    }
    s.daemon->wait_listening();
    return s;
}

TEST(Access, SocketMode0600IsTheModeTheSocketAppearsWith) {
    fcgid_test::temp_dir dir;
    auto s = start_on_unix_socket(dir, {"--socket-mode", "0600"});
    EXPECT_TRUE(S_ISSOCK(s.first_seen.st_mode));
    EXPECT_EQ(s.first_seen.st_mode & 07777, 0600u) << std::oct << (s.first_seen.st_mode & 07777);
    struct stat now {};
    ASSERT_EQ(::stat(s.daemon->unix_path().c_str(), &now), 0);
    EXPECT_EQ(now.st_mode & 07777, 0600u) << std::oct << (now.st_mode & 07777);
    auto t = target::adopt(std::move(s.daemon), fcgid_test::echo_plugin());
    EXPECT_TRUE(t->survived());
}

TEST(Access, SocketWithoutSocketModeAppearsAs0660) {
    fcgid_test::temp_dir dir;
    auto s = start_on_unix_socket(dir, {});
    EXPECT_TRUE(S_ISSOCK(s.first_seen.st_mode));
    EXPECT_EQ(s.first_seen.st_mode & 07777, 0660u) << std::oct << (s.first_seen.st_mode & 07777);
}

TEST(Access, SocketOwnerNobodyAndGroupNogroupAreSetBeforeTheSocketAppears) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the socket away";
    const passwd* nobody = ::getpwnam("nobody");
    const group* nogroup = ::getgrnam("nogroup");
    if (nobody == nullptr || nogroup == nullptr) GTEST_SKIP() << "no user nobody / group nogroup";
    const uid_t uid = nobody->pw_uid;
    const gid_t gid = nogroup->gr_gid;
    fcgid_test::temp_dir dir;
    auto s = start_on_unix_socket(
        dir, {"--socket-owner", "nobody", "--socket-group", "nogroup", "--socket-mode", "0660"});
    EXPECT_EQ(s.first_seen.st_uid, uid);
    EXPECT_EQ(s.first_seen.st_gid, gid);
    EXPECT_EQ(s.first_seen.st_mode & 07777, 0660u);
    // Root may still connect; the point is who else may.
    auto t = target::adopt(std::move(s.daemon), fcgid_test::echo_plugin());
    EXPECT_TRUE(t->survived());
}

}  // namespace
}  // namespace fcgid_hardening
