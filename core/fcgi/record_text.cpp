#include "fcgi/record_text.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "fcgi/decoder.hpp"

namespace fcgid::fcgi {
namespace {

const char* type_name(std::uint8_t type) noexcept {
    switch (static_cast<record_type>(type)) {
        case record_type::begin_request: return "BEGIN_REQUEST";
        case record_type::abort_request: return "ABORT_REQUEST";
        case record_type::end_request: return "END_REQUEST";
        case record_type::params: return "PARAMS";
        case record_type::stdin_: return "STDIN";
        case record_type::stdout_: return "STDOUT";
        case record_type::stderr_: return "STDERR";
        case record_type::data: return "DATA";
        case record_type::get_values: return "GET_VALUES";
        case record_type::get_values_result: return "GET_VALUES_RESULT";
        case record_type::unknown_type: return "UNKNOWN_TYPE";
    }
    return "not a FastCGI 1.0 type";
}

}  // namespace

std::string sanitize_for_log(std::string_view text, std::size_t max) {
    std::string out;
    const std::string_view shown = text.substr(0, max);
    out.reserve(shown.size() + 8);
    for (const char c : shown) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') out.push_back(c);
        else fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
    }
    if (text.size() > max) out += "...";
    return out;
}

std::string describe_record(std::string_view raw, std::size_t max_content) {
    if (raw.size() < header_size)
        return fmt::format("a partial header \"{}\"", sanitize_for_log(raw, header_size));
    const record_header h = decode_header(raw);
    const std::uint8_t type = static_cast<std::uint8_t>(h.type);
    const std::string_view content =
        raw.substr(header_size, std::min<std::size_t>(h.content_length, raw.size() - header_size));
    return fmt::format("version {}, type {} ({}), request id {}, content length {}, content \"{}\"",
                       h.version, type, type_name(type), h.request_id, h.content_length,
                       sanitize_for_log(content, max_content));
}

}  // namespace fcgid::fcgi
