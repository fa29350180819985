#include "log/access_line.hpp"

#include <charconv>

namespace fcgid::log {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex_byte(std::string& out, const char* prefix, unsigned char byte) {
    out.append(prefix);
    out.push_back(hex_digits[byte >> 4]);
    out.push_back(hex_digits[byte & 0xf]);
}

template <class number>
void append_number(std::string& out, number value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

// Length of the valid UTF-8 sequence starting at text[i], 0 if there is none
// (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
// or cut short). RFC 3629, table 3-7 of the Unicode standard.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;  // bounds of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead == 0xe0) length = 3, low = 0xa0;
    else if (lead >= 0xe1 && lead <= 0xec) length = 3;
    else if (lead == 0xed) length = 3, high = 0x9f;  // no surrogates
    else if (lead >= 0xee && lead <= 0xef) length = 3;
    else if (lead == 0xf0) length = 4, low = 0x90;
    else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
    else if (lead == 0xf4) length = 4, high = 0x8f;  // up to U+10FFFF
    else return 0;
    if (i + length > text.size()) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    return length;
}

void append_json_field(std::string& out, const char* name, std::string_view value) {
    out.append(",\"").append(name).append("\":");
    append_json_string(out, value);
}

template <class number>
void append_json_number(std::string& out, const char* name, number value) {
    out.append(",\"").append(name).append("\":");
    append_number(out, value);
}

void append_combined(std::string& out, const access_entry& e) {
    out.append(e.remote_addr.empty() ? std::string_view("-") : e.remote_addr);
    out.append(" - - [").append(e.time).append("] \"");
    append_combined_escaped(out, e.method);
    out.push_back(' ');
    append_combined_escaped(out, e.uri);
    if (!e.protocol.empty()) {
        out.push_back(' ');
        append_combined_escaped(out, e.protocol);
    }
    out.append("\" ");
    append_number(out, e.status);
    out.push_back(' ');
    append_number(out, e.bytes_out);
    out.append(" \"");
    append_combined_escaped(out, e.referer);
    out.append("\" \"");
    append_combined_escaped(out, e.user_agent);
    out.append("\" ");
    append_number(out, e.duration_us);
    out.push_back(' ');
    append_number(out, e.pid);
    out.push_back(' ');
    append_combined_escaped(out, e.request_id);
    out.push_back('\n');
}

void append_json(std::string& out, const access_entry& e) {
    out.append("{\"time\":");
    append_json_string(out, e.time);
    append_json_field(out, "remote_addr", e.remote_addr);
    append_json_field(out, "method", e.method);
    append_json_field(out, "uri", e.uri);
    append_json_field(out, "protocol", e.protocol);
    append_json_number(out, "status", e.status);
    append_json_number(out, "bytes_out", e.bytes_out);
    append_json_number(out, "bytes_in", e.bytes_in);
    append_json_number(out, "duration_us", e.duration_us);
    append_json_number(out, "handle_us", e.handle_us);
    append_json_number(out, "deferred_us", e.deferred_us);
    append_json_number(out, "writing_us", e.writing_us);
    append_json_number(out, "pid", e.pid);
    append_json_field(out, "request_id", e.request_id);
    append_json_field(out, "referer", e.referer);
    append_json_field(out, "user_agent", e.user_agent);
    out.append("}\n");
}

// Printable ASCII but the quote and the backslash: copied as it is, in runs.
bool plain_in_quotes(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\';
}

std::size_t plain_run(std::string_view text) noexcept {
    std::size_t n = 0;
    while (n < text.size() && plain_in_quotes(text[n])) ++n;
    return n;
}

}  // namespace

void append_access_line(std::string& out, access_format format, const access_entry& entry) {
    if (format == access_format::json) append_json(out, entry);
    else append_combined(out, entry);
}

void append_combined_escaped(std::string& out, std::string_view text) {
    if (text.empty()) {
        out.push_back('-');
        return;
    }
    while (!text.empty()) {
        const std::size_t plain = plain_run(text);
        out.append(text.data(), plain);
        text.remove_prefix(plain);
        if (text.empty()) break;
        append_hex_byte(out, "\\x", static_cast<unsigned char>(text.front()));
        text.remove_prefix(1);
    }
}

void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t plain = plain_run(text.substr(i));
        out.append(text.data() + i, plain);
        i += plain;
        if (i == text.size()) break;
        const char c = text[i];
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80) {
            const std::size_t length = utf8_sequence_length(text, i);
            if (length == 0) {
                out.append("\\ufffd");  // one replacement per byte that fits no sequence
                ++i;
            } else {
                out.append(text.substr(i, length));
                i += length;
            }
            continue;
        }
        ++i;
        switch (c) {
            case '"': out.append("\\\""); continue;
            case '\\': out.append("\\\\"); continue;
            case '\n': out.append("\\n"); continue;
            case '\r': out.append("\\r"); continue;
            case '\t': out.append("\\t"); continue;
            default: break;
        }
        if (byte < 0x20 || byte == 0x7f) append_hex_byte(out, "\\u00", byte);
        else out.push_back(c);
    }
    out.push_back('"');
}

std::string_view wall_clock_text::at(access_format format, std::time_t seconds, long nanoseconds) noexcept {
    if (seconds != second_) {
        second_ = seconds;
        std::tm utc{};
        ::gmtime_r(&seconds, &utc);
        combined_size_ = std::strftime(combined_, sizeof combined_, "%d/%b/%Y:%H:%M:%S +0000", &utc);
        json_size_ = std::strftime(json_, sizeof json_, "%Y-%m-%dT%H:%M:%S.", &utc);
    }
    if (format == access_format::combined) return {combined_, combined_size_};
    // Milliseconds and 'Z' after the cached second.
    const long millis = nanoseconds / 1'000'000;
    char* p = json_ + json_size_;
    *p++ = static_cast<char>('0' + millis / 100);
    *p++ = static_cast<char>('0' + millis / 10 % 10);
    *p++ = static_cast<char>('0' + millis % 10);
    *p++ = 'Z';
    return {json_, json_size_ + 4};
}

}  // namespace fcgid::log
