// Where the daemon listens: TCP v4/v6, unix sockets, an inherited descriptor.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

void expect_hello(fcgi_connection conn) {
    response r = conn.round_trip(1, "");
    EXPECT_EQ(parse_cgi_response(r.stdout_data).body, "<h1>Hello, World!</h1>");
}

bool ipv6_loopback_available() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Leaves a socket file at `path` with nobody listening on it, as a crashed
// daemon would.
void make_stale_socket_file(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    ::close(fd);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    ASSERT_TRUE(S_ISSOCK(st.st_mode));
}

void expect_one_error_line(const run_result& r) {
    std::vector<std::string> lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
    EXPECT_EQ(lines[0].rfind("fcgid: error: ", 0), 0u) << lines[0];
}

TEST(Listeners, PortZeroOn127001ListensOnARealPort) {
    auto d = daemon_process::start(hello_plugin());
    EXPECT_EQ(d->host(), "127.0.0.1");
    EXPECT_NE(d->port(), 0);
    expect_hello(d->connect());
}

TEST(Listeners, PortWithoutHostListensOnLocalhost) {
    daemon_process d({"run", "--plugin", hello_plugin(), "--port", "0"});
    d.wait_listening();
    EXPECT_NE(d.port(), 0);
    EXPECT_TRUE(d.host() == "127.0.0.1" || d.host() == "::1" || d.host() == "localhost")
        << d.listen_address();
    expect_hello(d.connect());
}

TEST(Listeners, HostIpv6LoopbackListensOnV6) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback on this machine";
    daemon_process d({"run", "--plugin", hello_plugin(), "--host", "::1", "--port", "0"});
    d.wait_listening();
    EXPECT_EQ(d.host(), "::1") << d.listen_address();
    expect_hello(fcgi_connection::connect_tcp("::1", d.port()));
    // Nothing on the v4 loopback at that port.
    EXPECT_NE(fcgi_connection::try_connect_tcp("127.0.0.1", d.port()), 0);
}

TEST(Listeners, UnixSocketPathListensThere) {
    temp_dir dir;
    std::string path = dir.file("fcgid.sock");
    daemon_process d({"run", "--plugin", hello_plugin(), "--socket", path});
    d.wait_listening();
    EXPECT_EQ(d.listen_address(), "unix:" + path);
    expect_hello(d.connect());
    expect_hello(d.connect());
}

TEST(Listeners, StaleUnixSocketFileIsReplaced) {
    temp_dir dir;
    std::string path = dir.file("stale.sock");
    make_stale_socket_file(path);
    daemon_process d({"run", "--plugin", hello_plugin(), "--socket", path});
    d.wait_listening();
    expect_hello(d.connect());
}

TEST(Listeners, RegularFileAtSocketPathIsNotRemovedAndIsAnError) {
    temp_dir dir;
    std::string path = dir.file("precious.txt");
    { std::ofstream(path) << "do not delete me\n"; }
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--socket", path});
    EXPECT_NE(r.exit_code, 0);
    expect_one_error_line(r);
    EXPECT_NE(r.err.find(path), std::string::npos) << "the error does not name the path: " << r.err;
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    EXPECT_EQ(content.str(), "do not delete me\n") << "the regular file was touched";
}

TEST(Listeners, InheritedListeningSocketAsFd0) {
    inherited_socket s = make_tcp_socket(true);
    daemon_process d({"run", "--plugin", hello_plugin()}, s.fd, 0);
    d.wait_listening();
    EXPECT_EQ(d.listen_address(), "fd 0");
    expect_hello(d.connect());
    expect_hello(d.connect());
}

TEST(Listeners, InheritedListeningSocketAsFd5WithFdOption) {
    inherited_socket s = make_tcp_socket(true);
    daemon_process d({"run", "--plugin", hello_plugin(), "--fd", "5"}, s.fd, 5);
    d.wait_listening();
    EXPECT_EQ(d.listen_address(), "fd 5");
    expect_hello(d.connect());
}

TEST(Listeners, DevNullAsFd0IsRefused) {
    run_result r = run_fcgid({"run", "--plugin", hello_plugin()});  // stdin is /dev/null
    EXPECT_NE(r.exit_code, 0);
    expect_one_error_line(r);
}

TEST(Listeners, PipeAsFd0IsRefused) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    run_result r = run_fcgid({"run", "--plugin", hello_plugin()}, default_timeout, p[0], 0);
    ::close(p[1]);
    EXPECT_NE(r.exit_code, 0);
    expect_one_error_line(r);
}

TEST(Listeners, BoundButNotListeningSocketAsFd0IsRefused) {
    inherited_socket s = make_tcp_socket(false);
    run_result r = run_fcgid({"run", "--plugin", hello_plugin()}, default_timeout, s.fd, 0);
    EXPECT_NE(r.exit_code, 0);
    expect_one_error_line(r);
}

TEST(Listeners, PortAlreadyInUseIsAnErrorNamingIt) {
    inherited_socket taken = make_tcp_socket(true);  // kept here, listening
    std::string port = std::to_string(taken.port);
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--host", "127.0.0.1", "--port", port});
    ::close(taken.fd);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find(port), std::string::npos) << r.err;
}

TEST(Listeners, UnixSocketOfALiveDaemonIsNotTakenOver) {
    temp_dir dir;
    std::string path = dir.file("live.sock");
    daemon_process first({"run", "--plugin", hello_plugin(), "--socket", path});
    first.wait_listening();
    run_result second = run_fcgid({"run", "--plugin", hello_plugin(), "--socket", path});
    EXPECT_EQ(second.exit_code, 1) << second.err;
    expect_one_error_line(second);
    expect_hello(first.connect());  // still reachable at its path
}

TEST(Listeners, UnresolvableHostIsAnError) {
    run_result r = run_fcgid({"run", "--plugin", hello_plugin(), "--host", "no-such-host.invalid",
                              "--port", "0"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("no-such-host.invalid"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fcgid_test
