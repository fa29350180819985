#include "fcgi/decoder.hpp"

#include "fcgi/error.hpp"

namespace fcgid::fcgi {
namespace {

const std::uint8_t* bytes(std::string_view s) noexcept {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace

record_header decode_header(std::string_view input) noexcept {
    const std::uint8_t* p = bytes(input);
    record_header h;
    h.version = p[0];
    h.type = static_cast<record_type>(p[1]);
    h.request_id = load_u16(p + 2);
    h.content_length = load_u16(p + 4);
    h.padding_length = p[6];
    // p[7] is reserved.
    return h;
}

std::size_t decode_record(std::string_view input, record_view& out, std::error_code& ec) noexcept {
    if (input.size() < header_size) {
        ec = errc::need_more;
        return 0;
    }
    const record_header h = decode_header(input);
    // Check the version before waiting for the content: a peer that is not
    // speaking FastCGI 1 is refused at once, not after up to 64 KiB more.
    if (h.version != protocol_version) {
        ec = errc::bad_version;
        return 0;
    }
    const std::size_t total = header_size + h.content_length + h.padding_length;
    if (input.size() < total) {
        ec = errc::need_more;
        return 0;
    }
    out.header = h;
    out.content = input.substr(header_size, h.content_length);
    ec.clear();
    return total;
}

begin_request_body decode_begin_request(std::string_view content, std::error_code& ec) noexcept {
    begin_request_body body;
    if (content.size() != 8) {
        ec = errc::bad_begin_request;
        return body;
    }
    const std::uint8_t* p = bytes(content);
    body.request_role = static_cast<role>(load_u16(p));
    body.flags = p[2];
    ec.clear();
    return body;
}

}  // namespace fcgid::fcgi
