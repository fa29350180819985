// Programs a plugin starts (system(), popen(), posix_spawn()) inherit none of
// fcgid's sockets. Holding the listening socket, such a program would keep
// the port after fcgid exits, and connections would queue there unanswered;
// holding a connection, it would keep that connection's resources alive.
#include <gtest/gtest.h>

#include "daemon_process.hpp"
#include "fcgi_client.hpp"

namespace fcgid_test {
namespace {

// The shell's descriptors as spawns_child.so reports them: "N -> target".
std::string inherited_descriptors(fcgi_connection conn) {
    response r = conn.round_trip(1, "");
    cgi_response parsed = parse_cgi_response(r.stdout_data);
    EXPECT_EQ(parsed.status, 200) << r.stdout_data;
    return parsed.body;
}

void expect_no_socket(const std::string& descriptors) {
    EXPECT_NE(descriptors.find("1 -> pipe:"), std::string::npos)
        << "not the shell's listing:\n" << descriptors;
    EXPECT_EQ(descriptors.find("socket:"), std::string::npos)
        << "a program the plugin started holds a socket of fcgid's:\n" << descriptors;
}

TEST(ChildProcess, InheritsNoSocketWhenFcgidListensOnTcp) {
    auto d = daemon_process::start(test_plugin("spawns_child"));
    auto idle = d->connect();  // another open connection, which must not leak either
    expect_no_socket(inherited_descriptors(d->connect()));
}

TEST(ChildProcess, InheritsNoSocketWhenFcgidListensOnAUnixSocket) {
    temp_dir dir;
    daemon_process d({"run", "--plugin", test_plugin("spawns_child"), "--socket", dir.file("s")});
    d.wait_listening();
    expect_no_socket(inherited_descriptors(d.connect()));
}

// Handed the listening socket on fd 0 (Apache, lighttpd, mod_fcgid): the
// program still finds a standard input there, /dev/null, not the socket.
TEST(ChildProcess, InheritsDevNullNotTheListeningSocketOnFd0) {
    inherited_socket s = make_tcp_socket(true);
    daemon_process d({"run", "--plugin", test_plugin("spawns_child")}, s.fd, 0);
    d.wait_listening();
    const std::string descriptors = inherited_descriptors(d.connect());
    expect_no_socket(descriptors);
    EXPECT_NE(descriptors.find("0 -> /dev/null"), std::string::npos) << descriptors;
    // fcgid itself still serves on the socket it was handed.
    EXPECT_EQ(parse_cgi_response(d.connect().round_trip(1, "").stdout_data).status, 200);
}

}  // namespace
}  // namespace fcgid_test
