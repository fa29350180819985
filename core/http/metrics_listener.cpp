#include "http/metrics_listener.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "net/endpoint_text.hpp"

namespace fcgid::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// Whether a media range's parameters say q=0 ("not acceptable").
bool refused(std::string_view parameters) {
    while (!parameters.empty()) {
        const std::size_t semicolon = parameters.find(';');
        const std::string_view parameter = trimmed(parameters.substr(0, semicolon));
        parameters = semicolon == std::string_view::npos ? std::string_view() : parameters.substr(semicolon + 1);
        if (parameter.size() < 2 || std::tolower(static_cast<unsigned char>(parameter[0])) != 'q' ||
            parameter[1] != '=')
            continue;
        const std::string_view q = trimmed(parameter.substr(2));
        return !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;  // 0, 0.0, 0.000
    }
    return false;
}

}  // namespace

metrics_format negotiate_metrics_format(std::string_view accept) {
    // Prometheus sends "application/openmetrics-text;version=1.0.0,...;q=0.75,
    // text/plain;version=0.0.4;q=0.5,*/*;q=0.1": like its client libraries,
    // answer OpenMetrics whenever it is among the accepted types.
    while (!accept.empty()) {
        const std::size_t comma = accept.find(',');
        const std::string_view range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        const std::size_t semicolon = range.find(';');
        const std::string_view type = trimmed(range.substr(0, semicolon));
        if (equal_ignoring_case(type, "application/openmetrics-text") &&
            !(semicolon != std::string_view::npos && refused(range.substr(semicolon + 1))))
            return metrics_format::openmetrics;
    }
    return metrics_format::prometheus;
}

const char* content_type_of(metrics_format format) noexcept {
    return format == metrics_format::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                                 : "text/plain; version=0.0.4; charset=utf-8";
}

listen_address parse_listen_address(const std::string& text) {
    listen_address address;
    std::string port_text = text;
    address.host = "127.0.0.1";  // a bare port: loopback
    if (const std::size_t colon = text.rfind(':'); colon != std::string::npos) {
        address.host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']')
            address.host = address.host.substr(1, address.host.size() - 2);
        else if (address.host.find(':') != std::string::npos)
            throw std::invalid_argument("'" + text + "': write an IPv6 address in brackets, e.g. [::1]:9100");
        if (address.host.empty()) throw std::invalid_argument("'" + text + "' has no host before the port");
    }
    unsigned port = 0;
    const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || port > 65535)
        throw std::invalid_argument("'" + text + "' is not HOST:PORT, [IPV6]:PORT or PORT (0 to 65535)");
    address.port = static_cast<std::uint16_t>(port);
    return address;
}

class metrics_session;

struct metrics_listener::state {
    explicit state(metrics_listener_options o) : options(std::move(o)) {}

    void accept();
    void session_started(metrics_session* session) { sessions.insert(session); }
    void session_ended(metrics_session* session);
    void shut_down();  // on the listener's thread

    metrics_listener_options options;
    asio::io_context io{1};  // first: destroyed last, after what uses it
    tcp::acceptor acceptor{io};
    asio::steady_timer retry_timer{io};
    std::string description;
    bool loopback = true;
    std::set<metrics_session*> sessions;  // open ones, closed by shut_down()
    bool accept_paused = false;  // at max_connections
    bool stopping = false;
    std::thread thread;
};

// One connection: read a request, answer, again while the client keeps it
// alive. Owned by the handlers in flight; gone when the last one ends.
class metrics_session : public std::enable_shared_from_this<metrics_session> {
public:
    metrics_session(tcp::socket socket, metrics_listener::state& listener)
        : stream_(std::move(socket)), listener_(listener) {}
    ~metrics_session() { listener_.session_ended(this); }

    void start() {
        listener_.session_started(this);
        read();
    }
    void close() {
        error_code ignored;
        stream_.socket().close(ignored);
    }

private:
    void read() {
        const auto& options = listener_.options;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
        parser_->body_limit(options.max_body_bytes);
        stream_.expires_after(options.connection_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(const error_code& ec) {
        if (ec == bhttp::error::header_limit) return answer_and_close(bhttp::status::request_header_fields_too_large);
        if (ec == bhttp::error::body_limit) return answer_and_close(bhttp::status::payload_too_large);
        if (ec && ec != bhttp::error::end_of_stream && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
            return answer_and_close(bhttp::status::bad_request);
        if (ec) return close();  // the client left, or the timeout passed
        const auto& request = parser_->get();
        respond(request);
        write(request.keep_alive());
    }

    void respond(const bhttp::request<bhttp::string_body>& request) {
        response_ = {};
        response_.version(11);
        response_.set(bhttp::field::server, "fcgid");
        response_.set(bhttp::field::cache_control, "no-store");
        const bool head = request.method() == bhttp::verb::head;
        // Beast 1.74 speaks boost::string_view.
        const auto beast_target = request.target();
        std::string_view target(beast_target.data(), beast_target.size());
        target = target.substr(0, target.find('?'));
        if (!head && request.method() != bhttp::verb::get) {
            plain(bhttp::status::method_not_allowed, "method not allowed\n");
            response_.set(bhttp::field::allow, "GET, HEAD");
        } else if (target == "/metrics") {
            const auto accept = request[bhttp::field::accept];
            const metrics_format format = negotiate_metrics_format(std::string_view(accept.data(), accept.size()));
            response_.result(bhttp::status::ok);
            response_.set(bhttp::field::content_type, content_type_of(format));
            response_.set(bhttp::field::vary, "Accept");
            try {
                response_.body() = listener_.options.metrics_body(format);
            } catch (const std::exception&) {  // bad_alloc, a renderer's bug: this scrape fails, not the process
                response_.erase(bhttp::field::vary);
                plain(bhttp::status::internal_server_error, "metrics unavailable\n");
            }
        } else if (target == "/health") {
            plain(bhttp::status::ok, "alive\n");
        } else if (target == "/ready") {
            if (listener_.options.ready()) plain(bhttp::status::ok, "ready\n");
            else plain(bhttp::status::service_unavailable, "not ready\n");
        } else {
            plain(bhttp::status::not_found, "not found: /metrics, /health, /ready\n");
        }
        response_.prepare_payload();
        if (head) response_.body().clear();  // the length stays: that of the GET
    }

    void plain(bhttp::status status, std::string_view body) {
        response_.result(status);
        response_.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        response_.body().assign(body);
    }

    void answer_and_close(bhttp::status status) {
        response_ = {};
        response_.version(11);
        plain(status, std::string(bhttp::obsolete_reason(status)) + "\n");
        response_.prepare_payload();
        write(false);
    }

    void write(bool keep_alive) {
        response_.keep_alive(keep_alive);
        stream_.expires_after(listener_.options.connection_timeout);
        bhttp::async_write(stream_, response_,
                           [self = shared_from_this(), keep_alive](const error_code& ec, std::size_t) {
                               if (ec || !keep_alive || self->listener_.stopping) {
                                   error_code ignored;
                                   self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                                   return self->close();
                               }
                               self->read();
                           });
    }

    beast::tcp_stream stream_;
    metrics_listener::state& listener_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
};

// accept4() with SOCK_CLOEXEC rather than Asio's accept, as the FastCGI
// listener does (net/server.cpp): a program the plugin starts must not
// inherit a metrics connection.
void metrics_listener::state::accept() {
    acceptor.async_wait(tcp::acceptor::wait_read, [this](const error_code& ec) {
        if (stopping || ec == asio::error::operation_aborted) return;
        const int fd = ec ? -1 : ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (!ec && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED))
                return accept();  // nothing there after all, or the client gave up
            // Out of descriptors, most likely: try again shortly, quietly
            // (this thread does not log; see the header).
            retry_timer.expires_after(std::chrono::milliseconds(100));
            retry_timer.async_wait([this](const error_code& wait_ec) {
                if (!wait_ec && !stopping) accept();
            });
            return;
        }
        tcp::socket socket(io);
        error_code assign_ec;
        socket.assign(acceptor.local_endpoint(assign_ec).protocol(), fd, assign_ec);
        if (assign_ec) {
            ::close(fd);
            return accept();
        }
        std::make_shared<metrics_session>(std::move(socket), *this)->start();
        if (sessions.size() < options.max_connections) accept();
        else accept_paused = true;  // the kernel's queue holds the next ones
    });
}

void metrics_listener::state::session_ended(metrics_session* session) {
    sessions.erase(session);
    if (accept_paused && !stopping) {
        accept_paused = false;
        accept();
    }
}

void metrics_listener::state::shut_down() {
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
    for (metrics_session* session : sessions) session->close();
    // With nothing left to do, io.run() returns and the thread ends.
}

metrics_listener::metrics_listener(metrics_listener_options options)
    : state_(std::make_unique<state>(std::move(options))) {
    state& s = *state_;
    const std::string asked = s.options.address.host + ":" + std::to_string(s.options.address.port);
    try {
        tcp::resolver resolver(s.io);
        const auto found = resolver.resolve(s.options.address.host, std::to_string(s.options.address.port));
        const tcp::endpoint endpoint = found.begin()->endpoint();
        s.acceptor.open(endpoint.protocol());
        s.acceptor.set_option(tcp::acceptor::reuse_address(true));
        s.acceptor.bind(endpoint);
        s.acceptor.listen(64);
        s.acceptor.non_blocking(true);  // for accept4()
        // Asio opens sockets without SOCK_CLOEXEC: see accept().
        const int flags = ::fcntl(s.acceptor.native_handle(), F_GETFD);
        if (flags >= 0) ::fcntl(s.acceptor.native_handle(), F_SETFD, flags | FD_CLOEXEC);
        const tcp::endpoint bound = s.acceptor.local_endpoint();
        s.description = net::endpoint_text(asio::generic::stream_protocol::endpoint(bound));
        s.loopback = bound.address().is_loopback();
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen for metrics on " + asked + ": " + e.code().message());
    }
    s.accept();
    // Signals go to the serving thread (or the master's sigtimedwait), never
    // here; faults stay deliverable so a crash is still a crash.
    sigset_t blocked;
    sigset_t previous;
    sigfillset(&blocked);
    for (const int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigdelset(&blocked, fault);
    pthread_sigmask(SIG_SETMASK, &blocked, &previous);
    s.thread = std::thread([&s] {
        for (;;) {
            try {
                s.io.run();  // returns once shut_down() left nothing to do
                return;
            } catch (const std::exception&) {
                // A handler threw (bad_alloc): that connection is lost,
                // the listener goes on.
            }
        }
    });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

metrics_listener::~metrics_listener() {
    state& s = *state_;
    asio::post(s.io, [&s] { s.shut_down(); });
    s.thread.join();
}

const std::string& metrics_listener::description() const noexcept { return state_->description; }

bool metrics_listener::loopback() const noexcept { return state_->loopback; }

void metrics_listener::forget_in_forked_child() noexcept {
    // The raw descriptor only: the child never runs this io_context.
    ::close(state_->acceptor.native_handle());
}

}  // namespace fcgid::http
