// One accepted connection from the web server: reads records, runs the
// request state machine, hands complete requests to the plugin and writes
// responses back.
//
// fcgid is single-threaded: all of this runs on the loop thread, so there
// are no strands and no locks. A connection keeps itself alive: every pending
// handler binds shared_from_this(), and it is freed when none is left.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>

#include "fcgi/decoder.hpp"
#include "fcgi/record.hpp"
#include "net/endpoint_text.hpp"
#include "net/handler_memory.hpp"

namespace fcgid::net {

class request;
class server;

class connection : public std::enable_shared_from_this<connection> {
public:
    using socket_type = boost::asio::generic::stream_protocol::socket;

    // `peer` is the address accept() returned, named in log lines.
    connection(server& owner, socket_type socket, const socket_type::endpoint_type& peer);
    ~connection();

    void start();
    // The server is draining: close as soon as nothing is in flight.
    void drain();
    // Applies the idle, read, write and request timeouts; the server calls
    // this about once a second. May close the connection.
    void check_timeouts(std::chrono::steady_clock::time_point now);
    // Close now, aborting whatever is in flight. Idempotent.
    void close();

    // ---- Output, called by requests ----

    // The CGI head of a response: status line then header block, one record.
    void append_head(std::uint16_t id, std::string_view status_line, std::string_view headers);
    void append_stream(std::uint16_t id, fcgi::record_type type, std::string_view data);
    // Ends the streams, queues END_REQUEST and forgets the request.
    void complete_request(request& r, bool stderr_used, std::uint32_t app_status = 0);
    // True when buffered output has reached --max-output-buffer.
    bool output_full() const noexcept;
    // Bytes that may still be buffered before output_full(); 0 once it is.
    std::size_t output_room() const noexcept;
    // Calls r.notify_writable() once buffered output is down to half the limit.
    void wait_writable(std::shared_ptr<request> r);

private:
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void on_peer_finished_sending();
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void notify_writable_waiters();
    std::size_t buffered_bytes() const noexcept;

    // Consumes every whole record in the input buffer; false on a protocol error.
    bool process_input();
    std::error_code handle_record(const fcgi::record_view& record);
    std::error_code on_begin_request(const fcgi::record_view& record);
    void on_abort_request(std::uint16_t id);
    std::error_code on_params(const fcgi::record_view& record);
    void on_stdin(const fcgi::record_view& record);
    bool body_too_large(const request& r) const noexcept;
    bool input_budget_allows(std::size_t more) const noexcept;
    void on_get_values(std::string_view content);
    void dispatch(const std::shared_ptr<request>& r);

    std::shared_ptr<request> find(std::uint16_t id) const noexcept;
    // A request object for `id`: a recycled one when one is free.
    std::shared_ptr<request> make_request(std::uint16_t id, bool keep_conn);
    void forget(const request& r) noexcept;
    void end_request_record(std::uint16_t id, std::uint32_t app_status, fcgi::protocol_status status);
    void flush();
    bool idle() const noexcept;
    void close_if_done();
    void protocol_error(std::error_code ec, std::uint16_t id);

    server& server_;
    // Declared before socket_: pending operations live in them until the
    // socket is destroyed.
    handler_memory read_memory_;
    handler_memory write_memory_;
    socket_type socket_;
    endpoint_name peer_;  // for log lines

    // Input: bytes [in_begin_, in_end_) of in_ are received but not consumed.
    // Not a std::vector: that would zero-fill the whole buffer for every
    // connection, touching pages a typical request never reaches.
    std::unique_ptr<char[]> in_;
    std::size_t in_size_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;

    // Output is double-buffered: requests append to out_pending_ while
    // out_writing_ is on the wire; the two swap, so steady state allocates nothing.
    std::string out_pending_;
    std::string out_writing_;
    std::size_t written_ = 0;  // bytes of out_writing_ already on the wire
    bool writing_ = false;
    std::vector<std::shared_ptr<request>> writable_waiters_;
    bool processing_ = false;  // inside process_input: flush once at the end

    std::vector<std::shared_ptr<request>> requests_;  // in flight on this connection
    // Finished requests kept for reuse; one still referenced elsewhere (a
    // plugin's hold, a posted call) is skipped until it is free.
    std::vector<std::shared_ptr<request>> spare_requests_;
    // Params and body bytes held by requests_. Multiplexed requests share one
    // budget (--max-body-size + --max-params-size), so a connection's input
    // memory is bounded however many requests it opens.
    std::uint64_t input_bytes_ = 0;
    bool draining_ = false;
    bool close_when_idle_ = false;  // a request without KEEP_CONN ended
    std::uint64_t requests_seen_ = 0;
    bool closed_ = false;

    // For the timeouts: when bytes last arrived, and when a write last progressed.
    std::chrono::steady_clock::time_point last_read_;
    std::chrono::steady_clock::time_point last_write_;
    // When the unconsumed bytes in in_ (a partial record) began to arrive.
    std::chrono::steady_clock::time_point partial_since_;
};

}  // namespace fcgid::net
