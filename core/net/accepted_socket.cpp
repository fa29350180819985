#include "net/accepted_socket.hpp"

#include <utility>

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
    reactor_ = &boost::asio::use_service<boost::asio::detail::reactor>(get_executor().context());
}

// The reactor's own entry point for socket operations (what async_wait()
// reaches through the socket service), called with `allow_speculative`:
// then, with the descriptor registered and no read queued, it makes no
// system call. It first asks the operation whether it is done already (the
// "speculative" try); a wait that has just drained the socket answers no,
// and is queued. When an edge comes, the reactor asks again: yes.
void accepted_socket::wait_drained(drained_read_wait& wait, std::shared_ptr<void> keep) {
    auto& impl = impl_.get_implementation();
    wait.keep_ = std::move(keep);
    wait.starting_ = true;
    reactor_->start_op(boost::asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, &wait,
                       /*is_continuation=*/false, /*allow_speculative=*/true);
    // Had the descriptor been closed, the wait is posted to complete with
    // an error, later: still safe to touch here.
    wait.starting_ = false;
}

drained_read_wait::drained_read_wait(ready_function ready, void* target) noexcept
    : reactor_op(boost::system::error_code(), &drained_read_wait::perform, &drained_read_wait::complete),
      ready_(ready),
      target_(target) {}

boost::asio::detail::reactor_op::status drained_read_wait::perform(reactor_op* base) {
    return static_cast<drained_read_wait*>(base)->starting_ ? not_done : done;
}

void drained_read_wait::complete(void* owner, boost::asio::detail::scheduler_operation* base,
                                 const boost::system::error_code&, std::size_t) {
    auto* wait = static_cast<drained_read_wait*>(static_cast<reactor_op*>(base));
    // Taken first: the callback may queue the wait again, and dropping the
    // last hold on the target (below) may destroy the wait with it.
    const std::shared_ptr<void> keep = std::move(wait->keep_);
    const boost::system::error_code ec = std::exchange(wait->ec_, boost::system::error_code());
    // `owner` is null when the loop is destroyed with the wait queued.
    if (owner != nullptr) wait->ready_(wait->target_, ec);
}

bool accepted_socket::asio_sees_non_blocking() const noexcept {
    return (impl_.get_implementation().state_ & socket_ops::internal_non_blocking) != 0;
}

bool accepted_socket::asio_sees_possible_dup() const noexcept {
    return (impl_.get_implementation().state_ & socket_ops::possible_dup) != 0;
}

}  // namespace fcgid::net
