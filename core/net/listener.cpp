#include "net/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <fmt/core.h>

#include "net/endpoint_text.hpp"

namespace fcgid::net {
namespace {

namespace asio = boost::asio;
using generic_protocol = asio::generic::stream_protocol;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// The listening socket must not reach a program a plugin starts (system(),
// popen(), posix_spawn()): holding it, that program would keep the port
// after fcgid exits, and connections would queue there with nobody
// accepting. Asio opens sockets without SOCK_CLOEXEC, hence this, once.
// False, with errno set, on failure.
bool set_close_on_exec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

void close_on_exec(int fd, const std::string& what) {
    if (!set_close_on_exec(fd)) fail(fmt::format("cannot use {}: {}", what, std::strerror(errno)));
}

// Replies leave as soon as they are written: a response finished from a
// plugin thread reaches the loop as two writes (the body, then END_REQUEST),
// and with Nagle's algorithm the second waits for the web server's delayed
// ACK of the first, 40 ms on Linux, on every kept-alive connection. Set on
// the listening socket, it is inherited by every accepted connection: no
// call per connection. Best effort: a socket that refuses it still serves.
void send_without_delay(int fd, int domain) noexcept {
    if (domain != AF_INET && domain != AF_INET6) return;
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// An inherited socket on 0, 1 or 2 (fd 0 is FastCGI's FCGI_LISTENSOCK_FILENO)
// moves to a close-on-exec descriptor of its own, and /dev/null takes its
// place: a program a plugin starts still finds a standard stream there, and
// not the socket. Returns the descriptor to use.
int move_off_standard_streams(int fd, const std::string& what) {
    if (fd > STDERR_FILENO) {
        close_on_exec(fd, what);
        return fd;
    }
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) fail(fmt::format("cannot use {}: {}", what, std::strerror(errno)));
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || ::dup2(null, fd) < 0)
        fail(fmt::format("cannot put /dev/null in place of {}: {}", what, std::strerror(errno)));
    ::close(null);
    return moved;
}

void bind_and_listen(acceptor& a, const generic_protocol::endpoint& endpoint, const std::string& what) {
    boost::system::error_code ec;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) send_without_delay(a.native_handle(), endpoint.protocol().family());
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail(fmt::format("cannot listen on {}: {}", what, ec.message()));
    close_on_exec(a.native_handle(), what);
}

listener open_tcp(asio::io_context& io, const config::listen_config& config) {
    asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto results = resolver.resolve(config.host, std::to_string(config.port),
                                          asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty())
        fail(fmt::format("cannot resolve host '{}': {}", config.host, ec.message()));
    // "localhost" resolves to ::1 and 127.0.0.1; web server configs nearly
    // always say 127.0.0.1, so prefer the IPv4 address when there is one.
    asio::ip::tcp::endpoint chosen = results.begin()->endpoint();
    for (const auto& entry : results)
        if (entry.endpoint().address().is_v4()) {
            chosen = entry.endpoint();
            break;
        }
    listener l{acceptor(io), {}};
    bind_and_listen(l.socket, generic_protocol::endpoint(chosen), fmt::format("{}:{}", config.host, config.port));
    l.description = endpoint_text(l.socket.local_endpoint());
    return l;
}

// A socket file left by a process that died is removed; anything else at the
// path (a live socket, a regular file) is refused, never deleted.
void remove_stale_socket(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return;  // nothing there
    if (!S_ISSOCK(st.st_mode))
        fail(fmt::format("cannot listen on unix:{}: the path exists and is not a socket", path));
    asio::io_context probe_io;
    asio::local::stream_protocol::socket probe(probe_io);
    boost::system::error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (!ec) fail(fmt::format("cannot listen on unix:{}: another process is listening there", path));
    if (unlink(path.c_str()) != 0)
        fail(fmt::format("cannot remove stale socket unix:{}: {}", path, std::strerror(errno)));
}

// Looks up a user or group given by name or number; throws naming it if unknown.
uid_t resolve_user(const std::string& name) {
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
        return static_cast<uid_t>(std::stoul(name));
    const passwd* entry = getpwnam(name.c_str());  // startup only: no other thread uses it
    if (entry == nullptr) fail(fmt::format("unknown user '{}' for --socket-owner", name));
    return entry->pw_uid;
}

gid_t resolve_group(const std::string& name) {
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
        return static_cast<gid_t>(std::stoul(name));
    const group* entry = getgrnam(name.c_str());
    if (entry == nullptr) fail(fmt::format("unknown group '{}' for --socket-group", name));
    return entry->gr_gid;
}

// Binds at a private temporary name, created owner-only, sets mode and
// ownership there, and only then renames it into place: no process can ever
// connect through permissions wider than the ones asked for.
listener open_unix(asio::io_context& io, const config::listen_config& config,
                   const config::access_config& access) {
    const std::string& path = config.socket_path;
    const std::string temporary = fmt::format("{}.{}.tmp", path, ::getpid());
    if (path.empty() || temporary.size() >= sizeof(sockaddr_un::sun_path))
        fail(fmt::format("invalid unix socket path '{}' (1 to {} bytes)", path,
                         sizeof(sockaddr_un::sun_path) - 1 - (temporary.size() - path.size())));
    remove_stale_socket(path);
    const uid_t owner = access.socket_owner.empty() ? static_cast<uid_t>(-1) : resolve_user(access.socket_owner);
    const gid_t group_id = access.socket_group.empty() ? static_cast<gid_t>(-1) : resolve_group(access.socket_group);

    listener l{acceptor(io), "unix:" + path};
    const std::string what = "unix:" + path;
    ::unlink(temporary.c_str());
    const mode_t old_mask = ::umask(0177);
    boost::system::error_code ec;
    l.socket.open(generic_protocol(AF_UNIX, 0), ec);
    if (!ec) l.socket.bind(generic_protocol::endpoint(asio::local::stream_protocol::endpoint(temporary)), ec);
    ::umask(old_mask);
    if (ec) fail(fmt::format("cannot listen on {}: {}", what, ec.message()));
    const auto undo = [&](const std::string& message) {
        ::unlink(temporary.c_str());
        fail(message);
    };
    if (!set_close_on_exec(l.socket.native_handle()))
        undo(fmt::format("cannot use {}: {}", what, std::strerror(errno)));
    if (::chmod(temporary.c_str(), access.socket_mode) != 0)
        undo(fmt::format("cannot set mode {:o} on {}: {}", access.socket_mode, what, std::strerror(errno)));
    if ((owner != static_cast<uid_t>(-1) || group_id != static_cast<gid_t>(-1)) &&
        ::chown(temporary.c_str(), owner, group_id) != 0)
        undo(fmt::format("cannot set owner/group of {}: {}", what, std::strerror(errno)));
    l.socket.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) undo(fmt::format("cannot listen on {}: {}", what, ec.message()));
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        undo(fmt::format("cannot create {}: {}", what, std::strerror(errno)));
    return l;
}

listener adopt_fd(asio::io_context& io, const config::listen_config& config) {
    const int fd = config.fd;
    const std::string what = fmt::format("fd {}", fd);
    struct stat st {};
    if (fstat(fd, &st) != 0)
        fail(fmt::format("{} is not open; pass --port, --socket or a listening socket on the fd", what));
    int listening = 0;
    socklen_t length = sizeof listening;
    if (!S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0)
        fail(fmt::format("{} is not a listening socket; pass --port or --socket, or start fcgid "
                         "from a web server that hands it one",
                         what));
    int domain = 0;
    int protocol = 0;
    length = sizeof domain;
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length);
    length = sizeof protocol;
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length);
    listener l{acceptor(io), {}};
    boost::system::error_code ec;
    l.socket.assign(generic_protocol(domain, protocol), move_off_standard_streams(fd, what), ec);
    if (ec) fail(fmt::format("cannot use {}: {}", what, ec.message()));
    send_without_delay(l.socket.native_handle(), domain);
    const auto local = l.socket.local_endpoint(ec);
    l.description = ec ? what : fmt::format("{} ({})", what, endpoint_text(local));
    return l;
}

}  // namespace

listener open_listener(asio::io_context& io, const config::listen_config& config,
                       const config::access_config& access) {
    switch (config.type) {
        case config::listen_config::kind::tcp: return open_tcp(io, config);
        case config::listen_config::kind::unix_socket: return open_unix(io, config, access);
        case config::listen_config::kind::inherited_fd: return adopt_fd(io, config);
    }
    fail("unknown listener kind");
}

}  // namespace fcgid::net
