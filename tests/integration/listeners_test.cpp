// Where the daemon listens: TCP v4/v6, unix sockets, an inherited descriptor.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
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

// TCP_NODELAY of every accepted TCP connection `pid` holds (taken with
// pidfd_getfd(2), which needs the rights to ptrace it: the test's own child).
std::vector<int> nodelay_of_connections(pid_t pid) {
    std::vector<int> values;
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return values;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        const int target = std::stoi(entry.path().filename().string());
        const int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target, 0));
        if (fd < 0) continue;
        int type = 0, listening = 1, domain = 0, on = -1;
        socklen_t length = sizeof type;
        const bool tcp_connection =
            ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM &&
            (length = sizeof domain, ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0) &&
            (domain == AF_INET || domain == AF_INET6) &&
            (length = sizeof listening, ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0) &&
            listening == 0;
        length = sizeof on;
        if (tcp_connection && ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0) values.push_back(on);
        ::close(fd);
    }
    ::close(pidfd);
    return values;
}

// A response finished from a plugin thread reaches the socket as two writes;
// with Nagle's algorithm the second waited for the web server's delayed ACK
// (40 ms) on every kept-alive connection. The option is set once, on the
// listening socket, and accepted connections inherit it.
TEST(Listeners, AcceptedTcpConnectionsSendWithoutNagleDelay) {
    auto d = daemon_process::start(hello_plugin());
    fcgi_connection c = d->connect();
    c.round_trip(1, "");  // accepted and served, so fcgid holds it now
    EXPECT_EQ(nodelay_of_connections(d->pid()), std::vector<int>{1});
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
