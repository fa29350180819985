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
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/container/small_vector.hpp>

#include "config/server_config.hpp"
#include "fcgi/decoder.hpp"
#include "fcgi/record.hpp"
#include "net/accepted_socket.hpp"
#include "net/stdin_read_plan.hpp"
#include "net/endpoint_text.hpp"
#include "net/handler_memory.hpp"
#include "net/input_budget.hpp"
#include "net/output_queue.hpp"
#include "net/request_pool.hpp"
#include "net/request_slots.hpp"

namespace fcgid::net {

class request;
class request_dispatcher;
class request_log;
class server_inbox;

// Where every connection reads into. The loop runs one connection at a
// time, and a connection keeps only a partial record's bytes of its own
// (see connection::in_), so an idle connection holds no input buffer.
class shared_input {
public:
    // Big enough for the largest record: an upload arrives in whole records.
    static constexpr std::size_t size = fcgi::max_record_size;
    shared_input() : bytes_(std::make_unique_for_overwrite<char[]>(size)) {}
    char* data() noexcept { return bytes_.get(); }

private:
    std::unique_ptr<char[]> bytes_;
};

// What the server lends every connection; it outlives them all.
struct connection_context {
    const config::limits_config& limits;
    request_slots& slots;             // --max-requests, process-wide
    request_dispatcher& dispatcher;   // where complete requests go
    server_inbox& inbox;              // where the server hears back
    shared_input& input;              // the loop's read buffer
    request_pool& requests;           // finished requests, for reuse
    request_log& log;                 // told of each request once written
};

class connection : public std::enable_shared_from_this<connection> {
public:
    using socket_type = accepted_socket;

    // `fd` is a socket from accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), now
    // owned by the connection; `peer` is the address accept4() returned,
    // named in log lines.
    connection(const connection_context& context, const boost::asio::any_io_executor& executor,
               int fd, const socket_type::endpoint_type& peer);
    ~connection();

    // Serves what the web server sent already (usually the whole request:
    // it writes it right after connecting), then waits for more.
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

    // ---- The socket ----
    // The socket is registered with the loop's reactor only when a read or
    // a write has to wait: a connection served at once (a request per
    // connection, sent with the connect) never costs an epoll_ctl.
    bool registered_with_loop();

    // ---- Reading ----
    // A turn of reading: reads what the socket holds, handles it, and
    // waits for more once the socket has no more.
    void read_turn();
    bool wants_input() const noexcept;
    void wait_readable();
    void on_readable(const boost::system::error_code& ec);
    // Handles `bytes` just read into `data` (the shared buffer, or in_
    // after its held bytes); keeps an unfinished record's bytes in in_.
    void take_input(const char* data, std::size_t bytes);
    // Counts bytes read and notes when; returns that time.
    std::chrono::steady_clock::time_point note_bytes_read(std::size_t bytes) noexcept;
    // In the middle of a STDIN record whose request has room reserved for
    // its body: that room (at most the record's rest) for a read straight
    // into the body, saving the copy from the read buffer. Empty otherwise.
    // All the room the body has (the records after this one may go there
    // too, see stdin_read_plan), within the input budget.
    std::span<char> direct_body_room() noexcept;
    // The read `plan` brought `got` bytes.
    void take_direct_body(const stdin_read_plan& plan, std::size_t got);
    // Room to read the rest of the record held in in_ into; grows in_.
    void make_room_for_input();
    void on_peer_finished_sending();
    // Consumes every whole record of `input` (and a STDIN record's part);
    // the bytes consumed, or nullopt on a protocol error. Sets
    // `completed_record` if a record ended in it.
    std::optional<std::size_t> process_input(std::string_view input, bool& completed_record);
    // A STDIN record that does not fit in what has arrived is taken as it
    // arrives, so that a large body is not held twice (in in_, then in the
    // request) and can be read straight into the request (direct_body_room).
    // Starts one at the front of `input` if it is one: the bytes taken
    // (header and the content there is), or 0.
    std::size_t start_stdin_record(std::string_view input);
    // Takes what `input` holds of the rest of that record; the bytes taken.
    std::size_t continue_stdin_record(std::string_view input);
    bool in_stdin_record() const noexcept { return stdin_left_ + stdin_padding_left_ > 0; }
    // Part of a record not handled yet: held bytes, or a STDIN record's rest.
    bool partial_record() const noexcept { return in_end_ > in_begin_ || in_stdin_record(); }
    std::error_code handle_record(const fcgi::record_view& record);
    std::error_code on_begin_request(const fcgi::record_view& record);
    void on_abort_request(std::uint16_t id);
    std::error_code on_params(const fcgi::record_view& record);
    // STDIN content for request `id`: a whole record's, or part of one
    // (never empty); empty content is the end of the body.
    void on_stdin(std::uint16_t id, std::string_view content);
    bool body_too_large(const request& r) const noexcept;
    // CONTENT_LENGTH as a number (the largest one when it overflows), if
    // the web server sent a valid one.
    static std::optional<std::uint64_t> announced_body(const request& r) noexcept;
    void on_get_values(std::string_view content);
    // Logs the error with the record that caused it, then stops reading:
    // answers queued already are written, then the connection closes.
    void protocol_error(std::error_code ec, std::string_view record_bytes);

    // ---- Writing ----
    void flush();
    // Sends the wire buffer while the socket takes it, then waits for room.
    void write_now();
    void wait_writable();

    // ---- Requests ----
    std::shared_ptr<request> find(std::uint16_t id) const noexcept;
    // Drops `r` from the requests in flight, giving it back to the loop's
    // pool unless `keep_spare` is false (held for the request log until
    // written); false if it was not there.
    bool forget(const request& r, bool keep_spare = true) noexcept;
    // Aborts and detaches every request in flight: none will be answered.
    void abandon_requests() noexcept;
    bool idle() const noexcept;
    void close_if_done();

    const connection_context& context_;
    // Declared before socket_: pending operations live in them until the
    // socket is destroyed. The wait for reading is the operation itself.
    drained_read_wait read_wait_;
    handler_memory write_memory_;
    // Open (registered with the reactor) only once something had to wait;
    // until then the connection uses fd_ directly.
    socket_type socket_;
    int fd_;
    socket_type::protocol_type protocol_;
    endpoint_name peer_;  // for log lines

    // Input held between reads: bytes [in_begin_, in_end_) of in_ are the
    // start of a record not complete yet. Reads go to the shared buffer
    // while nothing is held; in_ exists only while a record is split
    // across reads or requests are in flight on the connection, and goes
    // once it is idle. Not a std::vector: that would zero-fill it.
    std::unique_ptr<char[]> in_;
    std::size_t in_size_ = 0;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    // The STDIN record taken as it arrives: its request id, and how many of
    // its content and padding bytes are still to come.
    std::uint16_t stdin_id_ = 0;
    std::size_t stdin_left_ = 0;
    std::size_t stdin_padding_left_ = 0;
    // What that record's header said: the guess for the records after it.
    std::size_t stdin_record_length_ = 0;
    std::size_t stdin_record_padding_ = 0;
    // A STDIN record's content was just read straight into its body: the
    // next read takes the padding and the next header only.
    bool next_header_alone_ = false;
    input_budget budget_;

    output_queue output_;

    // Nearly always one: inline, so a connection allocates nothing for it.
    boost::container::small_vector<in_flight, 1> requests_;
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
    // When the partial record (unconsumed bytes in in_, or a STDIN record
    // taken as it arrives) began to arrive.
    std::chrono::steady_clock::time_point partial_since_;
};

}  // namespace fcgid::net
