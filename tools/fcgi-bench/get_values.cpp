#include "get_values.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "fcgi_wire.hpp"
#include "request_encoder.hpp"
#include "response_reader.hpp"

namespace fcgi_bench {
namespace {

// Reads one length of a name-value pair (1 byte, or 4 with the high bit set).
bool read_length(std::string_view& in, std::size_t& length) {
    if (in.empty()) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    if (p[0] < 0x80) {
        length = p[0];
        in.remove_prefix(1);
        return true;
    }
    if (in.size() < 4) return false;
    length = wire::load_u32(p) & 0x7fffffffu;
    in.remove_prefix(4);
    return true;
}

std::map<std::string, std::string> parse_pairs(std::string_view in) {
    std::map<std::string, std::string> pairs;
    std::size_t name_length = 0;
    std::size_t value_length = 0;
    while (read_length(in, name_length) && read_length(in, value_length) &&
           in.size() >= name_length + value_length) {
        pairs.emplace(std::string(in.substr(0, name_length)), std::string(in.substr(name_length, value_length)));
        in.remove_prefix(name_length + value_length);
    }
    return pairs;
}

}  // namespace

std::map<std::string, std::string> get_values(const endpoint& to, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(timeout_s));
    const int fd = start_connect(to);
    if (fd < 0) return {};
    std::string pairs;
    for (const char* name : {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"})
        append_name_value(pairs, name, "");
    std::string out;
    append_record(out, wire::get_values, 0, pairs);
    std::size_t sent = 0;
    std::string in;
    std::map<std::string, std::string> answer;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        pollfd p{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        if ((p.revents & POLLOUT) && sent < out.size()) {
            const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) break;
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[4096];
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            in.append(buffer, static_cast<std::size_t>(n));
            record r;
            std::size_t used = 0;
            if (decode_record(in, r, used) == decode_result::ok) {
                if (r.type == wire::get_values_result) answer = parse_pairs(r.content);
                break;
            }
        }
    }
    ::close(fd);
    return answer;
}

}  // namespace fcgi_bench
