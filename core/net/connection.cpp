#include "net/connection.hpp"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>

#include <boost/asio/post.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "fcgi/encoder.hpp"
#include "fcgi/error.hpp"
#include "fcgi/name_value.hpp"
#include "fcgi/record_text.hpp"
#include "net/request.hpp"
#include "net/request_dispatcher.hpp"
#include "net/request_log.hpp"
#include "net/server_inbox.hpp"
#include "observe/metrics_table.hpp"

namespace fcgid::net {
namespace {

namespace asio = boost::asio;
using fcgi::record_type;
using observe::counter_id;

// The first size of a connection's own input buffer, for a record split
// across reads; grows up to fcgi::max_record_size, never beyond.
constexpr std::size_t initial_input_size = 16 * 1024;

// Reads in one turn before the connection lets others have theirs (a peer
// sending without pause); the next turn is posted, so nothing is left
// unread behind the edge-triggered reactor.
constexpr int reads_per_turn = 4;

// A read straight into a body puts the record headers between the parts
// in the loop's shared input buffer (stdin_read_plan).
static_assert(stdin_read_plan::gaps_size <= shared_input::size);

// How long a draining connection that never carried a request waits for one.
constexpr std::chrono::seconds drain_grace{1};

}  // namespace

connection::connection(const connection_context& context, const boost::asio::any_io_executor& executor,
                       int fd, const socket_type::endpoint_type& peer)
    : context_(context),
      read_wait_(
          [](void* self, const boost::system::error_code& ec) { static_cast<connection*>(self)->on_readable(ec); },
          this),
      socket_(executor), fd_(fd), protocol_(peer.protocol()), peer_{peer},
      budget_(context.limits.max_params_bytes, context.limits.max_body_bytes),
      output_(context.limits.max_output_buffer), last_read_(std::chrono::steady_clock::now()),
      last_write_(last_read_) {}

connection::~connection() {
    // Closed by close() in every normal path; the socket closes itself once
    // registered.
    if (!closed_ && !socket_.is_open()) ::close(fd_);
}

void connection::start() {
    spdlog::debug("connection from {}", peer_);
    // Something noted outside a turn of ours (a plugin finishing a deferred
    // request, a thread's write) gets a turn of its own on the loop.
    output_.set_wake([this] {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->settle(); });
    });
    read_turn();
}

bool connection::registered_with_loop() {
    if (socket_.is_open()) return true;
    boost::system::error_code ec;
    socket_.adopt(protocol_, fd_, ec);
    if (!ec) return true;
    // The reactor could not take it (out of memory): the web server sees
    // the connection close.
    spdlog::warn("{}: closing connection: {}", peer_, ec.message());
    close();
    return false;
}

// ---- Turns -------------------------------------------------------------------------

void connection::begin_turn() {
    output_.in_turn();
    // A request that finished since our last turn (on a posted call) is
    // forgotten before anything else can name its id again.
    forget_finished();
}

void connection::settle() {
    if (closed_) return;
    forget_finished();
    output_.take_writable_waiters(writable_);
    for (const auto& r : writable_) r->notify_writable();  // may write, even finish
    writable_.clear();
    forget_finished();
    flush();
    output_.settled();
    close_if_done();
}

void connection::forget_finished() {
    if (!output_.take_finished()) return;
    // The finished ones are those completed among ours (a detached request
    // is no longer ours); the list is a few entries long.
    std::chrono::steady_clock::time_point now{};  // read once, only if a request has no finish time
    for (std::size_t i = 0; i < requests_.size();) {
        const request& r = *requests_[i].r;
        if (!r.completed()) {
            ++i;
            continue;
        }
        if (!r.keep_conn()) close_when_idle_ = true;
        context_.inbox.request_finished(r.status());
        // Answered by the plugin: its finish time is noted already; answered
        // by fcgid (413, 504, quarantine, status page): now.
        auto finished = r.timing().finished;
        if (finished == std::chrono::steady_clock::time_point{}) {
            if (now == std::chrono::steady_clock::time_point{}) now = std::chrono::steady_clock::now();
            finished = now;
        }
        observe::local().request_answered(
            r.status(), static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::microseconds>(finished - r.begun_at()).count()));
        // Held for the request log until written, and only then spare.
        const bool log = context_.log.enabled();
        if (log) unwritten_.push_back(requests_[i].r);
        forget(r, /*keep_spare=*/!log);
    }
}

// ---- Reading ---------------------------------------------------------------------

bool connection::wants_input() const noexcept {
    // Every request is answered and one of them ended without KEEP_CONN:
    // the connection closes once the answer is written, and anything the
    // web server might still send would go unread anyway.
    return !closed_ && reading_ && !(close_when_idle_ && requests_.empty());
}

void connection::read_turn() {
    for (int reads = 0; wants_input(); ++reads) {
        if (reads == reads_per_turn) {
            asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read_turn(); });
            return;
        }
        const std::span<char> body_room = direct_body_room();
        std::optional<stdin_read_plan> plan;
        ssize_t got = 0;
        std::size_t room = 0;
        char* into = nullptr;
        if (!body_room.empty()) {
            // Straight into the body: this record's rest, and the records
            // after it in the same read (see stdin_read_plan).
            plan.emplace(stdin_read_plan::current_record{stdin_id_, stdin_left_, stdin_padding_left_,
                                                         stdin_record_length_, stdin_record_padding_},
                         body_room, std::span<char>(context_.input.data(), stdin_read_plan::gaps_size));
            msghdr message{};
            message.msg_iov = const_cast<iovec*>(plan->iovecs());
            message.msg_iovlen = plan->iovec_count();
            room = plan->size();
            got = ::recvmsg(fd_, &message, 0);
        } else {
            const bool holding = in_end_ > in_begin_;
            if (holding) make_room_for_input();
            into = holding ? in_.get() + in_end_ : context_.input.data();
            room = holding ? in_size_ - in_end_
                           // After a body read straight in, the next record's header
                           // alone: the next part of the body may go straight in too.
                           : (next_header_alone_ ? stdin_padding_left_ + fcgi::header_size : shared_input::size);
            got = ::recv(fd_, into, room, 0);
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait_readable();
                return;
            }
            // A reset: an expected ending, not an error.
            spdlog::debug("read from {}: {}", peer_, std::strerror(errno));
            close();
            return;
        }
        begin_turn();
        if (got == 0) {
            on_peer_finished_sending();
            settle();
            return;
        }
        if (plan) take_direct_body(*plan, static_cast<std::size_t>(got));
        else take_input(into, static_cast<std::size_t>(got));
        settle();
        // A short read emptied the socket: whatever comes next raises a new
        // edge for the reactor, so waiting now misses nothing.
        if (static_cast<std::size_t>(got) < room) {
            if (wants_input()) wait_readable();
            return;
        }
    }
}

// Only ever called right after a read emptied the socket (see
// accepted_socket::wait_drained): a wait then costs no system call.
void connection::wait_readable() {
    if (!registered_with_loop() || read_wait_.queued()) return;
    socket_.wait_drained(read_wait_, shared_from_this());
}

void connection::on_readable(const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
        close();
        return;
    }
    read_turn();
}

void connection::make_room_for_input() {
    if (in_end_ < in_size_) return;
    // The buffer is full of one unfinished record: make room at the front
    // first, and grow only if the record is really that large.
    if (in_begin_ > 0) {
        std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
        return;
    }
    const std::size_t bigger_size = std::min(in_size_ * 2, fcgi::max_record_size);
    auto bigger = std::make_unique_for_overwrite<char[]>(bigger_size);
    std::memcpy(bigger.get(), in_.get(), in_end_);
    in_ = std::move(bigger);
    in_size_ = bigger_size;
}

std::chrono::steady_clock::time_point connection::note_bytes_read(std::size_t bytes) noexcept {
    observe::local()[counter_id::received_bytes].add(bytes);
    last_read_ = std::chrono::steady_clock::now();
    return last_read_;
}

// Only while nothing is held in in_ (a STDIN record taken as it arrives
// consumes all the input there is), and only for a read worth the system
// call: a small rest goes the usual way.
std::span<char> connection::direct_body_room() noexcept {
    constexpr std::size_t least = 4096;
    if (stdin_left_ < least || in_end_ > in_begin_) return {};
    const auto r = find(stdin_id_);
    if (!r || r->body_done()) return {};  // answered already: the rest is dropped the usual way
    const std::span<char> room = r->body_room();
    if (std::min(room.size(), stdin_left_) < least) return {};
    if (budget_.body_fits(r->body_bytes(), room.size())) return room;
    // Over the budget the usual way answers 413; this record may still fit.
    const std::size_t bytes = std::min(room.size(), stdin_left_);
    if (!budget_.body_fits(r->body_bytes(), bytes)) return {};
    return room.first(bytes);
}

void connection::take_direct_body(const stdin_read_plan& plan, std::size_t got) {
    std::string scratch;  // only for a record unlike its guess
    const stdin_read_plan::outcome taken = plan.take(got, scratch);
    // The usual input counts itself below.
    note_bytes_read(got - taken.usual.size());
    // Still there: only the read ran since direct_body_room(), and a request
    // still receiving its body cannot have finished.
    if (const auto r = find(stdin_id_)) {
        budget_.take_body(r->body_bytes(), taken.body_bytes);  // fits: checked before the read
        r->body_read(taken.body_bytes);
    }
    stdin_left_ = taken.left;
    stdin_padding_left_ = taken.padding;
    if (!taken.usual.empty()) take_input(taken.usual.data(), taken.usual.size());
    else if (stdin_left_ == 0) next_header_alone_ = true;
}

void connection::take_input(const char* data, std::size_t bytes) {
    const auto now = note_bytes_read(bytes);
    next_header_alone_ = false;
    if (!partial_record()) partial_since_ = now;
    // The bytes were read after those held in in_, or into the shared buffer.
    const bool held = in_end_ > in_begin_;
    std::string_view input(data, bytes);
    if (held) {
        in_end_ += bytes;
        input = std::string_view(in_.get() + in_begin_, in_end_ - in_begin_);
    }
    bool completed_record = false;
    const auto consumed = process_input(input, completed_record);
    if (!consumed) return;  // a protocol error: nothing more is read
    // What is left now is a new partial record if a record was completed.
    if (completed_record) partial_since_ = now;
    const std::string_view rest = input.substr(*consumed);
    if (held) {
        in_begin_ += *consumed;
        if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    } else if (!rest.empty()) {
        // Keep the unfinished record's bytes: the shared buffer is the next
        // connection's as soon as this turn ends.
        if (in_size_ < rest.size()) {
            in_size_ = std::max(initial_input_size, std::min(rest.size() * 2, fcgi::max_record_size));
            in_size_ = std::max(in_size_, rest.size());
            in_ = std::make_unique_for_overwrite<char[]>(in_size_);
        }
        std::memcpy(in_.get(), rest.data(), rest.size());
        in_begin_ = 0;
        in_end_ = rest.size();
    }
    // Idle with nothing held: the buffer goes, so idle connections hold none.
    if (in_end_ == in_begin_ && requests_.empty() && in_) {
        in_.reset();
        in_size_ = 0;
    }
}

// The web server closed (or shut its sending side): in FastCGI that aborts
// whatever it still had in flight here, and the plugin is told at once.
// Output already queued (answers completed before the EOF was read) is
// still flushed before the socket closes: a web server that only half-closed
// gets them. A half-closing server that expects answers to requests still
// running after its EOF is not served; none of nginx, Apache, lighttpd,
// Caddy or h2o does that.
void connection::on_peer_finished_sending() {
    abandon_requests();
    in_begin_ = in_end_ = 0;
    stdin_left_ = stdin_padding_left_ = 0;
    reading_ = false;
    close_when_idle_ = true;
}

std::optional<std::size_t> connection::process_input(std::string_view input, bool& completed_record) {
    std::size_t consumed = 0;
    while (!closed_) {
        if (in_stdin_record()) {
            consumed += continue_stdin_record(input.substr(consumed));
            if (in_stdin_record()) break;  // the input ended inside it
            completed_record = true;
            forget_finished();
            continue;
        }
        fcgi::record_view record;
        std::error_code ec;
        const std::string_view rest = input.substr(consumed);
        const std::size_t used = fcgi::decode_record(rest, record, ec);
        if (ec == fcgi::errc::need_more) {
            const std::size_t started = start_stdin_record(rest);
            if (started == 0) break;
            consumed += started;
            forget_finished();
            continue;
        }
        if (!ec) ec = handle_record(record);
        if (ec) {
            protocol_error(ec, rest.substr(0, used != 0 ? used : fcgi::max_record_size));
            return std::nullopt;
        }
        consumed += used;
        completed_record = true;
        // What the record set off (a request answered at once) is settled
        // before the next record can refer to it.
        forget_finished();
    }
    if (closed_) return std::nullopt;
    return consumed;
}

std::size_t connection::start_stdin_record(std::string_view input) {
    if (input.size() < fcgi::header_size) return 0;
    const auto header = fcgi::decode_header(input);
    if (header.version != fcgi::protocol_version || header.type != record_type::stdin_ ||
        header.content_length == 0)
        return 0;
    stdin_id_ = header.request_id;
    stdin_left_ = stdin_record_length_ = header.content_length;
    stdin_padding_left_ = stdin_record_padding_ = header.padding_length;
    return fcgi::header_size + continue_stdin_record(input.substr(fcgi::header_size));
}

std::size_t connection::continue_stdin_record(std::string_view input) {
    const std::size_t content = std::min(stdin_left_, input.size());
    if (content > 0) {
        stdin_left_ -= content;
        on_stdin(stdin_id_, input.substr(0, content));
    }
    const std::size_t padding = stdin_left_ == 0 ? std::min(stdin_padding_left_, input.size() - content) : 0;
    stdin_padding_left_ -= padding;
    return content + padding;
}

std::error_code connection::handle_record(const fcgi::record_view& record) {
    const std::uint16_t id = record.header.request_id;
    switch (record.header.type) {
        case record_type::get_values:
            if (id == fcgi::management_request_id) on_get_values(record.content);
            return {};
        case record_type::begin_request: return on_begin_request(record);
        case record_type::abort_request: on_abort_request(id); return {};
        case record_type::params: return on_params(record);
        case record_type::stdin_: on_stdin(id, record.content); return {};
        case record_type::data: return {};  // FILTER role only, which fcgid does not take
        case record_type::end_request:
        case record_type::stdout_:
        case record_type::stderr_:
        case record_type::get_values_result:
        case record_type::unknown_type:
            // Records only an application sends: a web server that sends them
            // is confused, but nothing of ours is at stake. Ignore them.
            spdlog::debug("{}: ignoring record type {} for request {}", peer_,
                          static_cast<int>(record.header.type), id);
            return {};
    }
    // A type this protocol version does not define: say so and carry on (spec 4.2).
    fcgi::append_unknown_type(output_.raw(), static_cast<std::uint8_t>(record.header.type));
    return {};
}

std::error_code connection::on_begin_request(const fcgi::record_view& record) {
    const std::uint16_t id = record.header.request_id;
    std::error_code ec;
    const auto body = fcgi::decode_begin_request(record.content, ec);
    if (ec) return ec;
    if (id == fcgi::management_request_id || find(id)) return fcgi::errc::bad_request_id;
    if (body.request_role != fcgi::role::responder) {
        output_.append_end_request(id, 0, fcgi::protocol_status::unknown_role);
        if (!body.keep_conn()) close_when_idle_ = true;
        return {};
    }
    // Over a limit, this request is refused but the connection stays usable.
    request_slots::slot slot;
    if (requests_.size() < context_.limits.max_requests_per_connection) slot = context_.slots.take();
    if (!slot) {
        spdlog::warn("{}: refusing request {}: too many requests in flight", peer_, id);
        observe::local()[counter_id::overloaded].add();
        output_.append_end_request(id, 0, fcgi::protocol_status::overloaded);
        if (!body.keep_conn()) close_when_idle_ = true;
        return {};
    }
    requests_.push_back({context_.requests.take(output_, id, body.keep_conn()), std::move(slot)});
    ++requests_seen_;
    return {};
}

void connection::on_abort_request(std::uint16_t id) {
    const auto r = find(id);
    if (!r) return;  // finished already, or never begun: nothing to abort
    spdlog::debug("{}: request {} aborted by the web server", peer_, id);
    observe::local()[counter_id::aborted_requests].add();
    // The web server wants END_REQUEST now; the plugin may still hold the
    // handle, which stays valid (and is told) but no longer reaches anyone.
    forget(*r);
    r->abort();
    r->detach();
    output_.append_end_request(id, 0, fcgi::protocol_status::request_complete);
    if (!r->keep_conn()) close_when_idle_ = true;
}

std::error_code connection::on_params(const fcgi::record_view& record) {
    const auto r = find(record.header.request_id);
    if (!r) return {};  // a request we already answered (e.g. rejected)
    if (r->params_done()) return fcgi::errc::stream_after_end;
    if (!record.content.empty()) {
        if (!budget_.take_params(r->params_bytes(), record.content.size()))
            return fcgi::errc::params_too_large;
        r->append_params(record.content);
        return {};
    }
    if (auto ec = r->end_params(context_.limits.max_params_count)) return ec;
    if (body_too_large(*r)) {
        // Answer before the body is sent rather than after buffering it.
        spdlog::warn("{}: request {} announces a body over {} bytes: answering 413", peer_,
                     r->id(), context_.limits.max_body_bytes);
        observe::local()[counter_id::body_too_large].add();
        r->reject(413);
        return {};
    }
    if (r->ready()) context_.dispatcher.dispatch(*r);
    return {};
}

std::optional<std::uint64_t> connection::announced_body(const request& r) noexcept {
    std::string_view text;
    if (!r.find_param("CONTENT_LENGTH", text)) return std::nullopt;
    std::uint64_t length = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), length);
    if (result.ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
    if (result.ec != std::errc()) return std::nullopt;
    return length;
}

bool connection::body_too_large(const request& r) const noexcept {
    const auto length = announced_body(r);
    return length && *length > context_.limits.max_body_bytes;
}

void connection::on_stdin(std::uint16_t id, std::string_view content) {
    const auto r = find(id);
    if (!r || r->body_done()) return;  // answered already (e.g. 413): drop the rest
    if (content.empty()) {
        r->end_body();
        if (r->ready()) context_.dispatcher.dispatch(*r);
        return;
    }
    if (!budget_.take_body(r->body_bytes(), content.size())) {
        spdlog::warn("{}: request {} body exceeds {} bytes: answering 413", peer_, id,
                     context_.limits.max_body_bytes);
        observe::local()[counter_id::body_too_large].add();
        r->reject(413);
        return;
    }
    // The first body bytes: room for all the web server announced (within
    // --max-body, checked at the params), taken only now that it is sending.
    if (r->body_bytes() == 0) {
        if (const auto length = announced_body(*r); length && *length > content.size())
            context_.requests.reserve_body(*r, static_cast<std::size_t>(*length));
    }
    r->append_body(content);
}

void connection::on_get_values(std::string_view content) {
    const auto& limits = context_.limits;
    fcgi::name_value_reader reader(content);
    std::string pairs;
    std::string_view name;
    std::string_view value;
    std::error_code ec;
    while (reader.next(name, value, ec)) {
        std::string answer;
        if (name == "FCGI_MAX_CONNS")
            answer = std::to_string(limits.max_connections);
        else if (name == "FCGI_MAX_REQS")
            // The smaller limit: a web server may put them all on one connection.
            answer = std::to_string(std::min(limits.max_requests, limits.max_requests_per_connection));
        else if (name == "FCGI_MPXS_CONNS")
            answer = "1";
        else
            continue;  // unknown names are left out of the answer (spec 4.1)
        if (pairs.size() + fcgi::name_value_size(name, answer) <= fcgi::max_content_length)
            fcgi::append_name_value(pairs, name, answer);
    }
    fcgi::append_get_values_result(output_.raw(), pairs);
}

void connection::protocol_error(std::error_code ec, std::string_view record_bytes) {
    // Whole header at least: decode_record() reports need_more before that.
    const auto header = fcgi::decode_header(record_bytes);
    std::string detail;
    if (ec == fcgi::errc::params_too_large)
        detail = fmt::format("; over {} bytes of params, or {} bytes of input held",
                             context_.limits.max_params_bytes,
                             context_.limits.max_params_bytes + context_.limits.max_body_bytes);
    else if (ec == fcgi::errc::too_many_params)
        detail = fmt::format("; over {} params", context_.limits.max_params_count);
    spdlog::warn("{}: closing connection: {} (request {}{}): {}", peer_, ec.message(),
                 header.request_id, detail, fcgi::describe_record(record_bytes));
    observe::local()[counter_id::protocol_errors].add();
    // Nothing more is read or answered; what is queued (answers completed
    // before the bad record) is still written, then settle() closes.
    abandon_requests();
    in_begin_ = in_end_ = 0;
    stdin_left_ = stdin_padding_left_ = 0;
    reading_ = false;
    close_when_idle_ = true;
}

// ---- Writing ---------------------------------------------------------------------

void connection::flush() {
    if (closed_ || !output_.begin_write()) return;
    last_write_ = std::chrono::steady_clock::now();
    write_now();
}

// Writes straight from the turn that produced the output: the socket nearly
// always takes a response whole, and then no completion has to come back
// through the loop. Piece by piece rather than all at once when it does
// not, so that each bit of progress counts for the write timeout and frees
// room for the plugin.
void connection::write_now() {
    for (;;) {
        // The batch in one call even when it wraps around the output ring.
        const std::string_view unwritten = output_.unwritten();
        const std::string_view second = output_.unwritten_second();
        ssize_t sent = 0;
        if (second.empty()) {
            sent = ::send(fd_, unwritten.data(), unwritten.size(), MSG_NOSIGNAL);
        } else {
            std::array<iovec, 2> parts{iovec{const_cast<char*>(unwritten.data()), unwritten.size()},
                                       iovec{const_cast<char*>(second.data()), second.size()}};
            msghdr message{};
            message.msg_iov = parts.data();
            message.msg_iovlen = parts.size();
            sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
        }
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait_writable();
                return;
            }
            spdlog::debug("write to {}: {}", peer_, std::strerror(errno));
            close();
            return;
        }
        observe::local()[counter_id::sent_bytes].add(static_cast<std::uint64_t>(sent));
        last_write_ = std::chrono::steady_clock::now();
        const bool all_out = output_.wrote(static_cast<std::size_t>(sent));
        if (!unwritten_.empty()) report_written(/*closing=*/false);
        if (!all_out) {
            // The socket's buffer is full: wait for room.
            wait_writable();
            return;
        }
        if (!output_.begin_write()) return;  // all out
    }
}

void connection::wait_writable() {
    if (!registered_with_loop()) return;
    socket_.async_wait(
        socket_type::wait_write,
        with_memory(write_memory_, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (self->closed_) return;
            if (ec) {
                self->close();
                return;
            }
            self->begin_turn();
            self->write_now();
            // Room was freed: waiting writers go on, and the next batch goes out.
            self->settle();
        }));
}

void connection::report_written(bool closing) {
    std::size_t done = 0;
    const auto now = closing ? std::chrono::steady_clock::now() : last_write_;
    for (; done < unwritten_.size(); ++done) {
        request& r = *unwritten_[done];
        if (!closing && r.output_end() > output_.written_total()) break;
        r.written_at(now);
        context_.log.written(r);
        if (!closing) context_.requests.give_back(std::move(unwritten_[done]));
    }
    unwritten_.erase(unwritten_.begin(), unwritten_.begin() + static_cast<std::ptrdiff_t>(done));
}

// ---- Lifetime ----------------------------------------------------------------------

bool connection::idle() const noexcept { return requests_.empty() && output_.empty(); }

void connection::close_if_done() {
    if (closed_ || !idle()) return;
    // Nothing in flight or buffered: a large output buffer goes back now, so
    // an idle connection holds none. While a response streams it is kept.
    output_.release_spare();
    if (close_when_idle_) {
        close();
        return;
    }
    // A draining connection that never carried a request was opened for one
    // that may be on its way: it gets a short grace (check_timeouts) first.
    // One with input waiting (a partial record, or bytes not read yet) has
    // a request on its way for sure: serve it first.
    if (!draining_ || requests_seen_ == 0 || partial_record()) return;
    int unread = 0;
    if (::ioctl(fd_, FIONREAD, &unread) == 0 && unread > 0) return;
    close();
}

void connection::check_timeouts(std::chrono::steady_clock::time_point now) {
    if (closed_) return;
    begin_turn();
    const config::limits_config& limits = context_.limits;
    const auto expired = [now](std::chrono::steady_clock::time_point since, std::chrono::seconds limit) {
        return limit.count() > 0 && now - since >= limit;
    };
    if (output_.writing() && expired(last_write_, limits.write_timeout)) {
        spdlog::warn("{}: closing connection: write timeout ({} s): the web server stopped reading",
                     peer_, limits.write_timeout.count());
        observe::local()[counter_id::write_timeouts].add();
        close();
        return;
    }
    if (limits.request_timeout.count() > 0) {
        // time_out() only notes the request as finished: the list stays as it is.
        for (const auto& entry : requests_)
            if (entry.r->held_by_plugin() && expired(entry.r->dispatched_at(), limits.request_timeout))
                entry.r->time_out();
    }
    // The read timeout counts from when the input now awaited began (the
    // oldest request still receiving, or a partial record), not from the
    // last byte: a client trickling a byte a second cannot hold a request
    // open forever. Web servers buffer a request before passing it on, so
    // an honest one sends it at once.
    auto awaited_since = std::chrono::steady_clock::time_point::max();
    if (partial_record()) awaited_since = partial_since_;
    for (const auto& entry : requests_)
        if (entry.r->receiving()) awaited_since = std::min(awaited_since, entry.r->begun_at());
    const bool receiving = awaited_since != std::chrono::steady_clock::time_point::max();
    if (receiving && expired(awaited_since, limits.read_timeout)) {
        spdlog::warn("{}: closing connection: read timeout ({} s) in the middle of a request",
                     peer_, limits.read_timeout.count());
        observe::local()[counter_id::read_timeouts].add();
        close();
        return;
    }
    settle();
    if (closed_) return;
    if (draining_ && !receiving && idle() && expired(last_read_, drain_grace)) {
        close();  // opened for a request that never came
        return;
    }
    if (!receiving && idle() && expired(std::max(last_read_, last_write_), limits.idle_timeout)) {
        spdlog::debug("{}: closing idle connection ({} s)", peer_, limits.idle_timeout.count());
        observe::local()[counter_id::idle_timeouts].add();
        close();
    }
}

void connection::drain() {
    if (closed_) return;
    begin_turn();
    draining_ = true;
    settle();
}

void connection::close() {
    if (closed_) return;
    closed_ = true;
    // shutdown() first: the web server sees the end even if a process the
    // plugin forked still holds a copy of the descriptor.
    ::shutdown(fd_, SHUT_RDWR);
    if (socket_.is_open()) {
        boost::system::error_code ignored;
        socket_.close(ignored);  // cancels what waits: the handlers see closed_
    } else {
        ::close(fd_);
    }
    in_.reset();
    // Whatever is still in flight can no longer be answered: tell the plugin.
    abandon_requests();
    // Answered, but the web server may not have had all of it: logged with
    // the time the connection gave up.
    if (!unwritten_.empty()) report_written(/*closing=*/true);
    budget_.clear();
    output_.clear();
    spdlog::debug("connection from {} closed", peer_);
    context_.inbox.connection_closed(this);
}

// ---- Requests ----------------------------------------------------------------------

std::shared_ptr<request> connection::find(std::uint16_t id) const noexcept {
    for (const auto& entry : requests_)
        if (entry.r->id() == id) return entry.r;
    return nullptr;
}

bool connection::forget(const request& r, bool keep_spare) noexcept {
    const auto it = std::find_if(requests_.begin(), requests_.end(),
                                 [&](const in_flight& entry) { return entry.r.get() == &r; });
    if (it == requests_.end()) return false;
    budget_.give_back(r.received_bytes());
    if (keep_spare) context_.requests.give_back(std::move(it->r));
    requests_.erase(it);  // gives its slot back
    return true;
}

void connection::abandon_requests() noexcept {
    auto in_flight = std::move(requests_);
    requests_.clear();
    for (const auto& entry : in_flight) {
        if (!entry.r->completed()) observe::local()[counter_id::aborted_requests].add();
        budget_.give_back(entry.r->received_bytes());
        entry.r->abort();
        entry.r->detach();
    }
    // The slots go back as `in_flight` does.
}

}  // namespace fcgid::net
