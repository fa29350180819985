#include "request_encoder.hpp"

#include <algorithm>

#include "fcgi_wire.hpp"

namespace fcgi_bench {
namespace {

void append_length(std::string& out, std::size_t length) {
    if (length < 128) {
        out.push_back(static_cast<char>(length));
        return;
    }
    out.push_back(static_cast<char>(0x80 | ((length >> 24) & 0x7f)));
    out.push_back(static_cast<char>((length >> 16) & 0xff));
    out.push_back(static_cast<char>((length >> 8) & 0xff));
    out.push_back(static_cast<char>(length & 0xff));
}

}  // namespace

param_list default_params(std::string_view uri, const param_list& overrides) {
    const std::string u(uri);
    const std::string path = u.substr(0, u.find('?'));
    const std::string query = u.find('?') == std::string::npos ? "" : u.substr(u.find('?') + 1);
    param_list params = {
        {"QUERY_STRING", query},
        {"REQUEST_METHOD", "GET"},
        {"CONTENT_TYPE", ""},
        {"CONTENT_LENGTH", ""},
        {"SCRIPT_NAME", path},
        {"SCRIPT_FILENAME", path},
        {"REQUEST_URI", u},
        {"DOCUMENT_URI", path},
        {"DOCUMENT_ROOT", "/var/www/html"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_SCHEME", "http"},
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"SERVER_SOFTWARE", "nginx/1.22.1"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_PORT", "54321"},
        {"SERVER_ADDR", "127.0.0.1"},
        {"SERVER_PORT", "80"},
        {"SERVER_NAME", "localhost"},
        {"REDIRECT_STATUS", "200"},
        {"HTTP_HOST", "127.0.0.1"},
        {"HTTP_USER_AGENT", "fcgi-bench"},
        {"HTTP_ACCEPT", "*/*"},
    };
    for (const auto& [name, value] : overrides) {
        const auto same = [&name](const auto& p) { return p.first == name; };
        if (const auto it = std::find_if(params.begin(), params.end(), same); it != params.end())
            it->second = value;
        else
            params.emplace_back(name, value);
    }
    return params;
}

void append_name_value(std::string& out, std::string_view name, std::string_view value) {
    append_length(out, name.size());
    append_length(out, value.size());
    out.append(name).append(value);
}

void append_record(std::string& out, std::uint8_t type, std::uint16_t id, std::string_view content) {
    const std::size_t padding = (8 - content.size() % 8) % 8;
    const char header[wire::header_size] = {
        static_cast<char>(wire::version),
        static_cast<char>(type),
        static_cast<char>(id >> 8),
        static_cast<char>(id & 0xff),
        static_cast<char>(content.size() >> 8),
        static_cast<char>(content.size() & 0xff),
        static_cast<char>(padding),
        0,
    };
    out.append(header, sizeof header).append(content).append(padding, '\0');
}

std::string encode_request(std::uint16_t id, bool keep_conn, const param_list& params,
                           std::uint64_t body_size) {
    std::string out;
    const char begin[8] = {0, static_cast<char>(wire::role_responder),
                           static_cast<char>(keep_conn ? wire::flag_keep_conn : 0), 0, 0, 0, 0, 0};
    append_record(out, wire::begin_request, id, std::string_view(begin, sizeof begin));
    std::string pairs;
    for (const auto& [name, value] : params) append_name_value(pairs, name, value);
    for (std::size_t at = 0; at < pairs.size(); at += wire::max_content)
        append_record(out, wire::params, id, std::string_view(pairs).substr(at, wire::max_content));
    append_record(out, wire::params, id, {});
    // The body in records of 32 KiB, the size nginx's default
    // fastcgi_buffer_size gives its STDIN records.
    constexpr std::size_t body_record = 32 * 1024;
    const std::string chunk(body_record, 'b');
    for (std::uint64_t left = body_size; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, body_record));
        append_record(out, wire::stdin_, id, std::string_view(chunk).substr(0, n));
        left -= n;
    }
    append_record(out, wire::stdin_, id, {});
    return out;
}

}  // namespace fcgi_bench
