#include "net/accepted_socket.hpp"

#include <boost/asio/detail/socket_ops.hpp>

namespace fcgid::net {

// The state flags are Asio's (boost/asio/detail/socket_ops.hpp), read by
// reactive_socket_service_base: start_op() skips set_internal_non_blocking()
// when `internal_non_blocking` is set, and close() lets the kernel drop the
// epoll entry when `possible_dup` is not. The unit test checks both through
// Asio's public view (native_non_blocking) and a real close.
namespace socket_ops = boost::asio::detail::socket_ops;

void accepted_socket::adopt(const protocol_type& protocol, int fd, boost::system::error_code& ec) {
    assign(protocol, fd, ec);
    if (ec) return;
    auto& state = impl_.get_implementation().state_;
    state |= socket_ops::internal_non_blocking;
    state &= ~socket_ops::possible_dup;
}

bool accepted_socket::asio_sees_non_blocking() const noexcept {
    return (impl_.get_implementation().state_ & socket_ops::internal_non_blocking) != 0;
}

bool accepted_socket::asio_sees_possible_dup() const noexcept {
    return (impl_.get_implementation().state_ & socket_ops::possible_dup) != 0;
}

}  // namespace fcgid::net
