// core/service/listening_socket: which socket `fcgid run` serves, which
// peers may connect, and what is undone when a step of the start fails.
// Sockets are real, on loopback and in a private temporary directory.
#include "service/listening_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fcgid::service {
namespace {

namespace asio = boost::asio;
using kind = config::listen_config::kind;

// --- which socket --------------------------------------------------------

TEST(AdoptSocketActivation, NoSocketOptionServesSystemdsSocket) {
    config::listen_config listen;  // no --port, --socket or --fd: fd 0
    adopt_socket_activation(listen, 3);
    EXPECT_EQ(listen.type, kind::inherited_fd);
    EXPECT_EQ(listen.fd, 3);
}

TEST(AdoptSocketActivation, WithoutActivationFdZeroStays) {
    config::listen_config listen;
    adopt_socket_activation(listen, std::nullopt);
    EXPECT_EQ(listen.type, kind::inherited_fd);
    EXPECT_EQ(listen.fd, 0);
}

TEST(AdoptSocketActivation, AnExplicitFdWins) {
    config::listen_config listen;
    listen.fd = 0;  // --fd 0 said on purpose
    listen.fd_given = true;
    adopt_socket_activation(listen, 3);
    EXPECT_EQ(listen.fd, 0);
}

TEST(AdoptSocketActivation, PortAndSocketWin) {
    config::listen_config tcp;
    tcp.type = kind::tcp;
    tcp.port = 9000;
    adopt_socket_activation(tcp, 3);
    EXPECT_EQ(tcp.type, kind::tcp);
    EXPECT_EQ(tcp.port, 9000);

    config::listen_config unix_socket;
    unix_socket.type = kind::unix_socket;
    unix_socket.socket_path = "/run/fcgid.sock";
    adopt_socket_activation(unix_socket, 3);
    EXPECT_EQ(unix_socket.type, kind::unix_socket);
    EXPECT_EQ(unix_socket.socket_path, "/run/fcgid.sock");
}

// --- which peers ---------------------------------------------------------

sockaddr_in v4(const char* dotted) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(asio::ip::make_address_v4(dotted).to_uint());
    return a;
}

bool allows(const net::address_filter& filter, const char* dotted) {
    const sockaddr_in a = v4(dotted);
    return filter.allows(reinterpret_cast<const sockaddr*>(&a));
}

TEST(AllowedPeers, NothingConfiguredAllowsEveryone) {
    EXPECT_TRUE(allowed_peers({}, nullptr).empty());
}

TEST(AllowedPeers, TheVariableAndAllowAddUp) {
    config::access_config access;
    access.allow = {"10.0.0.0/8"};
    const net::address_filter filter = allowed_peers(access, "127.0.0.1, 192.168.1.0/24");
    EXPECT_TRUE(allows(filter, "127.0.0.1"));
    EXPECT_TRUE(allows(filter, "192.168.1.77"));
    EXPECT_TRUE(allows(filter, "10.20.30.40"));
    EXPECT_FALSE(allows(filter, "127.0.0.2"));
    EXPECT_FALSE(allows(filter, "192.168.2.1"));
}

TEST(AllowedPeers, ABadVariableIsNamedInTheError) {
    try {
        allowed_peers({}, "127.0.0.1,bogus");
        FAIL() << "accepted a bad FCGI_WEB_SERVER_ADDRS";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("FCGI_WEB_SERVER_ADDRS: ", 0), 0u) << what;
        EXPECT_NE(what.find("bogus"), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
}

TEST(AllowedPeers, ABadAllowIsInvalidArgument) {
    config::access_config access;
    access.allow = {"10.0.0.0/33"};
    EXPECT_THROW(allowed_peers(access, nullptr), std::invalid_argument);
}

// --- the socket and what comes with it -------------------------------------

// A private directory for socket and pid files, removed with its contents.
struct temp_dir {
    temp_dir() {
        std::string pattern = ::testing::TempDir() + "fcgid_listening_socket_XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~temp_dir() {
        for (const char* name : {"fcgid.sock", "fcgid.pid", "file"}) ::unlink((path + "/" + name).c_str());
        ::rmdir(path.c_str());
    }
    std::string operator/(const char* name) const { return path + "/" + name; }
    std::string path;
};

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_socket(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

config::server_config tcp_on(const char* host, std::uint16_t port) {
    config::server_config c;
    c.listen.type = kind::tcp;
    c.listen.host = host;
    c.listen.port = port;
    return c;
}

// The port of a socket listening on "127.0.0.1:PORT".
std::uint16_t port_of(const listening_socket& bound) {
    const std::string& where = bound.listener.description;
    return static_cast<std::uint16_t>(std::stoi(where.substr(where.rfind(':') + 1)));
}

// The message of the exception `make` throws, or "" if it throws none.
template <typename F>
std::string error_of(F make) {
    try {
        make();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

TEST(ListeningSocket, TcpOnLoopbackAcceptsConnections) {
    asio::io_context io;
    listening_socket bound(io, tcp_on("127.0.0.1", 0));
    ASSERT_EQ(bound.listener.description.rfind("127.0.0.1:", 0), 0u) << bound.listener.description;
    const std::uint16_t port = port_of(bound);
    EXPECT_NE(port, 0);

    asio::ip::tcp::socket client(io);
    boost::system::error_code ec;
    client.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
}

TEST(ListeningSocket, BusyAddressNamesTheAddressAndTheReason) {
    asio::io_context io;
    listening_socket first(io, tcp_on("127.0.0.1", 0));
    const std::uint16_t port = port_of(first);

    const std::string error = error_of([&] { listening_socket second(io, tcp_on("127.0.0.1", port)); });
    EXPECT_EQ(error, "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(ListeningSocket, AnAddressOfNoLocalInterfaceIsRefused) {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails locally,
    // before anything could go on the wire.
    asio::io_context io;
    const std::string error = error_of([&] { listening_socket bound(io, tcp_on("192.0.2.1", 0)); });
    EXPECT_EQ(error, "cannot listen on 192.0.2.1:0: Cannot assign requested address");
}

TEST(ListeningSocket, UnixSocketFileAndPidFileLastAsLongAsIt) {
    temp_dir dir;
    config::server_config c;
    c.listen.type = kind::unix_socket;
    c.listen.socket_path = dir / "fcgid.sock";
    c.process.pid_file = dir / "fcgid.pid";
    {
        asio::io_context io;
        listening_socket bound(io, c);
        EXPECT_EQ(bound.listener.description, "unix:" + c.listen.socket_path);
        EXPECT_TRUE(is_socket(c.listen.socket_path));
        std::ifstream pid(c.process.pid_file);
        long written = 0;
        pid >> written;
        EXPECT_EQ(written, static_cast<long>(::getpid()));
    }
    EXPECT_FALSE(exists(c.listen.socket_path));
    EXPECT_FALSE(exists(c.process.pid_file));
}

TEST(ListeningSocket, NoPidFileIsWrittenWhenTheSocketFails) {
    temp_dir dir;
    asio::io_context io;
    listening_socket first(io, tcp_on("127.0.0.1", 0));
    config::server_config c = tcp_on("127.0.0.1", port_of(first));
    c.process.pid_file = dir / "fcgid.pid";
    EXPECT_NE(error_of([&] { listening_socket second(io, c); }), "");
    EXPECT_FALSE(exists(c.process.pid_file));
}

TEST(ListeningSocket, AFailedPidFileRemovesTheSocketFile) {
    temp_dir dir;
    config::server_config c;
    c.listen.type = kind::unix_socket;
    c.listen.socket_path = dir / "fcgid.sock";
    c.process.pid_file = dir / "no/such/dir/fcgid.pid";
    asio::io_context io;
    const std::string error = error_of([&] { listening_socket bound(io, c); });
    EXPECT_EQ(error.rfind("cannot write --pid-file " + c.process.pid_file + ": ", 0), 0u) << error;
    EXPECT_FALSE(exists(c.listen.socket_path));
}

TEST(ListeningSocket, FailingToDropRootUndoesSocketFileAndPidFile) {
    // --group without --user is refused whoever runs the test, root or not.
    temp_dir dir;
    config::server_config c;
    c.listen.type = kind::unix_socket;
    c.listen.socket_path = dir / "fcgid.sock";
    c.process.pid_file = dir / "fcgid.pid";
    c.process.group = "nogroup";
    asio::io_context io;
    const std::string error = error_of([&] { listening_socket bound(io, c); });
    EXPECT_NE(error.find("--group needs --user"), std::string::npos) << error;
    EXPECT_FALSE(exists(c.listen.socket_path));
    EXPECT_FALSE(exists(c.process.pid_file));
}

TEST(ListeningSocket, AWorkersMasterKeepsRoot) {
    // The same request that fails above: the master does not drop anything
    // (its workers do), so it starts.
    temp_dir dir;
    config::server_config c;
    c.listen.type = kind::unix_socket;
    c.listen.socket_path = dir / "fcgid.sock";
    c.process.group = "nogroup";
    asio::io_context io;
    listening_socket bound(io, c, /*keep_root=*/true);
    EXPECT_TRUE(is_socket(c.listen.socket_path));
}

TEST(ListeningSocket, AFileInTheWayIsRefusedAndKept) {
    temp_dir dir;
    const std::string path = dir / "file";
    std::ofstream(path) << "not a socket";
    config::server_config c;
    c.listen.type = kind::unix_socket;
    c.listen.socket_path = path;
    asio::io_context io;
    const std::string error = error_of([&] { listening_socket bound(io, c); });
    EXPECT_EQ(error, "cannot listen on unix:" + path + ": the path exists and is not a socket");
    EXPECT_TRUE(exists(path));
}

}  // namespace
}  // namespace fcgid::service
