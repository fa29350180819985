#include "response_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "fcgi_wire.hpp"

namespace fcgi_bench {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

}  // namespace

decode_result decode_record(std::string_view input, record& out, std::size_t& used) {
    if (input.size() < wire::header_size) return decode_result::need_more;
    const auto* p = reinterpret_cast<const unsigned char*>(input.data());
    if (p[0] != wire::version) return decode_result::bad_version;
    const std::size_t content = wire::load_u16(p + 4);
    const std::size_t total = wire::header_size + content + p[6];
    if (input.size() < total) return decode_result::need_more;
    out.type = p[1];
    out.id = wire::load_u16(p + 2);
    out.content = input.substr(wire::header_size, content);
    used = total;
    return decode_result::ok;
}

void response_head::reset() {
    head_.clear();
    complete_ = false;
    status_ = 0;
    body_bytes_ = 0;
}

bool response_head::feed(std::string_view data) {
    if (complete_) {
        body_bytes_ += data.size();
        return true;
    }
    const std::size_t search_from = head_.size() < 3 ? 0 : head_.size() - 3;
    head_.append(data);
    // The block ends at the first empty line; CGI allows bare LF line ends.
    std::size_t end = std::string::npos;
    std::size_t separator = 0;
    for (std::size_t i = search_from; i < head_.size(); ++i) {
        if (head_[i] != '\n') continue;
        if (i + 1 < head_.size() && head_[i + 1] == '\n') {
            end = i + 1;
            separator = 1;
            break;
        }
        if (i + 2 < head_.size() && head_[i + 1] == '\r' && head_[i + 2] == '\n') {
            end = i + 1;
            separator = 2;
            break;
        }
    }
    if (end == std::string::npos) return head_.size() <= max_head;
    parse_head(std::string_view(head_).substr(0, end));
    body_bytes_ = head_.size() - end - separator;
    complete_ = true;
    return end <= max_head;
}

void response_head::parse_head(std::string_view head) {
    status_ = 200;
    while (!head.empty()) {
        const std::size_t eol = head.find('\n');
        std::string_view line = head.substr(0, eol);
        head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
        if (!starts_with_nocase(line, "status:")) continue;
        line.remove_prefix(7);
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        int code = 0;
        const auto r = std::from_chars(line.data(), line.data() + line.size(), code);
        status_ = (r.ec == std::errc() && code >= 100 && code <= 999) ? code : 0;
        return;
    }
}

}  // namespace fcgi_bench
