// One accepted connection from the web server: reads records, runs the
// request state machine, passes complete requests down to the dispatcher
// and writes responses back.
//
// A connection works in turns: a read, a write, a wake-up, a call from the
// server (timeouts, drain). Within a turn it calls down only (requests, the
// dispatcher, the plugin); what they produce is noted in its output_queue
// and handled when the turn settles, after they have returned. What the
// server must know (a request finished, the connection closed) is noted in
// the server_inbox, which the server reads on a turn of its own.
//
// fcgid is single-threaded: all of this runs on the loop thread, so there
// are no strands and no locks. A connection is owned by the server, and
// every pending handler binds shared_from_this(): after close() it lives
// until the server has read the report and the last handler has run.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/container/small_vector.hpp>

#include "config/server_config.hpp"
#include "fcgi/decoder.hpp"
#include "fcgi/record.hpp"
#include "net/endpoint_text.hpp"
#include "net/handler_memory.hpp"
#include "net/input_budget.hpp"
#include "net/output_queue.hpp"
#include "net/request_slots.hpp"

namespace fcgid::net {

class request;
class request_dispatcher;
class request_log;
class server_inbox;

// What the server lends every connection; it outlives them all.
struct connection_context {
    const config::limits_config& limits;
    request_slots& slots;             // --max-requests, process-wide
    request_dispatcher& dispatcher;   // where complete requests go
    server_inbox& inbox;              // where the server hears back
    request_log& log;                 // told of each request once written
};

class connection : public std::enable_shared_from_this<connection> {
public:
    using socket_type = boost::asio::generic::stream_protocol::socket;

    // `peer` is the address accept() returned, named in log lines.
    connection(const connection_context& context, socket_type socket,
               const socket_type::endpoint_type& peer);
    ~connection();

    void start();
    // The server is draining: close as soon as nothing is in flight.
    void drain();
    // Applies the idle, read, write and request timeouts; the server calls
    // this about once a second. May close the connection.
    void check_timeouts(std::chrono::steady_clock::time_point now);
    // Close now, aborting whatever is in flight. Idempotent. Reported to
    // the server through the inbox.
    void close();

private:
    // A request in flight and its count against --max-requests, given
    // back when the entry goes.
    struct in_flight {
        std::shared_ptr<request> r;
        request_slots::slot slot;
    };

    // ---- Turns ----
    void begin_turn();
    // Ends a turn: forgets finished requests, tells waiting writers, starts
    // a write, and closes if that is all.
    void settle();
    // Forgets the requests that finished (noted in output_) and reports them.
    void forget_finished();
    // Tells the request log of the answered requests whose END_REQUEST the
    // writes so far have carried (all of them when `closing`).
    void report_written(bool closing);

    // ---- Reading ----
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void on_peer_finished_sending();
    // Consumes every whole record in the input buffer; false on a protocol error.
    bool process_input();
    std::error_code handle_record(const fcgi::record_view& record);
    std::error_code on_begin_request(const fcgi::record_view& record);
    void on_abort_request(std::uint16_t id);
    std::error_code on_params(const fcgi::record_view& record);
    void on_stdin(const fcgi::record_view& record);
    bool body_too_large(const request& r) const noexcept;
    void on_get_values(std::string_view content);
    // Logs the error with the record that caused it, then stops reading:
    // answers queued already are written, then the connection closes.
    void protocol_error(std::error_code ec, std::string_view record_bytes);

    // ---- Writing ----
    void flush();
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);

    // ---- Requests ----
    std::shared_ptr<request> find(std::uint16_t id) const noexcept;
    // A request object for `id`: a recycled one when one is free.
    std::shared_ptr<request> make_request(std::uint16_t id, bool keep_conn);
    // Drops `r` from the requests in flight, keeping it for reuse unless
    // `keep_spare` is false; false if it was not there.
    bool forget(const request& r, bool keep_spare = true) noexcept;
    // A finished request, into the spares if there is room.
    void keep_for_reuse(std::shared_ptr<request> r) noexcept;
    // Aborts and detaches every request in flight: none will be answered.
    void abandon_requests() noexcept;
    bool idle() const noexcept;
    void close_if_done();

    const connection_context& context_;
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
    input_budget budget_;

    output_queue output_;

    std::vector<in_flight> requests_;
    // Finished requests kept for reuse; one still referenced elsewhere (a
    // plugin's hold, a posted call) is skipped until it is free.
    std::vector<std::shared_ptr<request>> spare_requests_;
    // Scratch list for settle(), kept for its capacity.
    std::vector<std::shared_ptr<request>> writable_;
    // Answered requests whose END_REQUEST is not written yet, oldest first,
    // held for the request log (only when it is enabled); each becomes a
    // spare once written. As long as the answers in the output buffer; the
    // usual few inline, so a connection per request allocates nothing for it.
    boost::container::small_vector<std::shared_ptr<request>, 4> unwritten_;

    bool draining_ = false;
    bool close_when_idle_ = false;  // a request without KEEP_CONN ended, or input is over
    bool reading_ = true;           // false after a protocol error or the peer's EOF
    std::uint64_t requests_seen_ = 0;
    bool closed_ = false;

    // For the timeouts: when bytes last arrived, and when a write last progressed.
    std::chrono::steady_clock::time_point last_read_;
    std::chrono::steady_clock::time_point last_write_;
    // When the unconsumed bytes in in_ (a partial record) began to arrive.
    std::chrono::steady_clock::time_point partial_since_;
};

}  // namespace fcgid::net
