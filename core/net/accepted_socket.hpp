// The socket type of an accepted connection: Asio's stream socket, told
// what accept4() already settled, so that a connection costs no system
// call Asio would otherwise add to it.
//
// Asio's assign() knows nothing of the descriptor it is handed. It assumes
// (a) it may be blocking: the first operation on it sets non-blocking mode
// with ioctl(FIONBIO), and (b) it may be a duplicate of a descriptor held
// elsewhere: close() removes it from the epoll set explicitly
// (EPOLL_CTL_DEL) before closing, since the kernel only does that once the
// last descriptor of the socket is closed. Neither holds for a descriptor
// from accept4(SOCK_NONBLOCK | SOCK_CLOEXEC): with a connection per request
// (nginx's default) those two calls were a quarter of fcgid's system calls.
//
// On (b): a plugin that fork()s without exec() while a connection closes
// leaves the socket open in the child; its epoll entry then outlives the
// descriptor until the child closes it. That is benign: the entry points
// at Asio's per-descriptor state, which Asio keeps in a pool and never
// frees while the loop lives, so an event for it wakes nothing or one
// operation that finds nothing to do and waits again. The connection
// shuts the socket down before closing, so the web server sees the end
// whatever the child does.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>

namespace fcgid::net {

class accepted_socket : public boost::asio::generic::stream_protocol::socket {
public:
    using boost::asio::generic::stream_protocol::socket::basic_stream_socket;

    // Registers `fd`, from accept4() with SOCK_NONBLOCK, with the loop, as
    // assign() does, and tells Asio it is non-blocking and not shared.
    void adopt(const protocol_type& protocol, int fd, boost::system::error_code& ec);

    // Asio's view of the descriptor, for the unit test: non-blocking set by
    // Asio (no ioctl to come) and not a possible duplicate (no EPOLL_CTL_DEL).
    bool asio_sees_non_blocking() const noexcept;
    bool asio_sees_possible_dup() const noexcept;
};

}  // namespace fcgid::net
