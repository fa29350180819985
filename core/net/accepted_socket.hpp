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
//
// (c) Waiting to read: async_wait() re-arms the descriptor with
// epoll_ctl(EPOLL_CTL_MOD) at every wait, so that the kernel looks again
// for bytes that may already be there. A connection only waits right after
// reading the socket empty, when that look can find nothing: Asio registers
// the descriptor edge-triggered, and bytes arriving on an empty socket raise
// a new edge. So wait_drained() just queues the wait on the reactor: on a
// kept-alive connection that is one system call less per request.
#pragma once

#include <memory>

// The socket type first: it brings in the reactor in the order Asio needs.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/detail/reactor_op.hpp>

namespace fcgid::net {

// A wait for an accepted socket to become readable, queued by
// accepted_socket::wait_drained(). It is the Asio operation itself, so its
// owner (the connection) holds it and a wait allocates nothing. At most one
// wait at a time; loop thread only.
class drained_read_wait : private boost::asio::detail::reactor_op {
public:
    // Called on the loop thread once the socket is readable, has an error or
    // hung up (`ec` clear: read it to find out which), or when the wait is
    // cancelled because the socket closed (`ec` is operation_aborted).
    // Not called if the loop is destroyed with the wait queued.
    using ready_function = void (*)(void* target, const boost::system::error_code& ec);

    drained_read_wait(ready_function ready, void* target) noexcept;
    drained_read_wait(const drained_read_wait&) = delete;
    drained_read_wait& operator=(const drained_read_wait&) = delete;

    bool queued() const noexcept { return keep_ != nullptr; }

private:
    friend class accepted_socket;
    static status perform(reactor_op* base);
    static void complete(void* owner, boost::asio::detail::scheduler_operation* base,
                         const boost::system::error_code& ignored, std::size_t);

    ready_function ready_;
    void* target_;
    std::shared_ptr<void> keep_;  // keeps the target alive while the wait is queued
    bool starting_ = false;       // inside wait_drained(): the reactor's first look
};

class accepted_socket : public boost::asio::generic::stream_protocol::socket {
public:
    using boost::asio::generic::stream_protocol::socket::basic_stream_socket;

    // Registers `fd`, from accept4() with SOCK_NONBLOCK, with the loop, as
    // assign() does, and tells Asio it is non-blocking and not shared.
    void adopt(const protocol_type& protocol, int fd, boost::system::error_code& ec);

    // Queues `wait` until the socket is readable; `keep` holds the wait's
    // target alive until it is called. The socket must be adopted, and `wait`
    // not queued already.
    //
    // ONLY right after a read that emptied the socket (EAGAIN, or fewer bytes
    // than asked for), with no return to the loop in between: bytes already
    // waiting raise no new edge, and the wait would last until more came.
    void wait_drained(drained_read_wait& wait, std::shared_ptr<void> keep);

    // Asio's view of the descriptor, for the unit test: non-blocking set by
    // Asio (no ioctl to come) and not a possible duplicate (no EPOLL_CTL_DEL).
    bool asio_sees_non_blocking() const noexcept;
    bool asio_sees_possible_dup() const noexcept;

private:
    boost::asio::detail::reactor* reactor_ = nullptr;  // the loop's, found by adopt()
};

}  // namespace fcgid::net
