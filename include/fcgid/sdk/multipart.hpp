// fcgid/sdk/multipart.hpp: multipart/form-data bodies (RFC 7578, framing
// from RFC 2046 section 5.1.1), parsed from a complete body in memory.
//
// ZERO-COPY: each part's data, headers, and usually its name and filename
// are views into the body. Only a name or filename that had to be unescaped
// or decoded (quoted-pair, filename*=) lives in the multipart_form. So the
// form must not outlive the body, and its views dangle once it is destroyed.
//
// Framing is strict where the RFC is (lines end in CRLF, the body must end
// with the closing boundary, every part needs a Content-Disposition:
// form-data with a name) and lenient where it allows (preamble and epilogue
// ignored, whitespace after a boundary, a line that merely starts with the
// boundary is data). Everything else is a parse_error naming the part.
#ifndef FCGID_SDK_MULTIPART_HPP
#define FCGID_SDK_MULTIPART_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgid/sdk/ascii.hpp"
#include "fcgid/sdk/header_value.hpp"
#include "fcgid/sdk/limits.hpp"
#include "fcgid/sdk/parse_error.hpp"
#include "fcgid/sdk/text_arena.hpp"

namespace fcgid::sdk {

// One header line of a part, as sent; the value without surrounding OWS.
struct part_header {
    std::string_view name;
    std::string_view value;
};

// The header lines of one part, in order; a view into the form's storage.
class part_headers {
public:
    using const_iterator = const part_header*;
    const_iterator begin() const noexcept { return first_; }
    const_iterator end() const noexcept { return first_ + size_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // The value of the first header called `name` (case-insensitive), if any.
    std::optional<std::string_view> get(std::string_view name) const noexcept {
        for (const part_header& h : *this) {
            if (ascii::iequals(h.name, name)) return h.value;
        }
        return std::nullopt;
    }

private:
    friend class multipart_form;
    const part_header* first_ = nullptr;
    std::size_t size_ = 0;
};

// One part of the form. The filename is what the client sent: never use it
// as a path without sanitising it.
struct form_part {
    std::string_view name;                    // the name parameter (may be empty)
    std::optional<std::string_view> filename; // set when the part is a file field (filename*= preferred)
    std::string_view content_type;            // the Content-Type header value, else "text/plain"
    part_headers headers;                     // every header line of the part
    std::string_view data;                    // the content, a view into the body
};

// The parts of a body, in order. Move-only: parts point into its storage.
class multipart_form {
public:
    using const_iterator = std::vector<form_part>::const_iterator;

    multipart_form() = default;
    multipart_form(multipart_form&&) noexcept = default;
    multipart_form& operator=(multipart_form&&) noexcept = default;
    multipart_form(const multipart_form&) = delete;
    multipart_form& operator=(const multipart_form&) = delete;

    const_iterator begin() const noexcept { return parts_.begin(); }
    const_iterator end() const noexcept { return parts_.end(); }
    std::size_t size() const noexcept { return parts_.size(); }
    bool empty() const noexcept { return parts_.empty(); }
    const form_part& operator[](std::size_t i) const noexcept { return parts_[i]; }

    // The first part called `name` (exact comparison), or nullptr.
    const form_part* find(std::string_view name) const noexcept {
        for (const form_part& p : parts_) {
            if (p.name == name) return &p;
        }
        return nullptr;
    }

private:
    friend result<multipart_form> parse_multipart(std::string_view, std::string_view, const parse_limits&);

    // Points each part's header list into headers_, once it stops growing.
    void link_headers(const std::vector<std::size_t>& first_header) noexcept {
        for (std::size_t i = 0; i < parts_.size(); ++i) {
            const std::size_t end = i + 1 < parts_.size() ? first_header[i + 1] : headers_.size();
            parts_[i].headers.first_ = headers_.data() + first_header[i];
            parts_[i].headers.size_ = end - first_header[i];
        }
    }

    std::vector<form_part> parts_;
    std::vector<part_header> headers_;
    text_arena text_;
};

namespace detail {

// bchars (RFC 2046 section 5.1.1), the bytes a boundary may hold.
constexpr bool is_bchar(char c) noexcept {
    if (ascii::is_alpha(c) || ascii::is_digit(c)) return true;
    switch (c) {
    case '\'': case '(': case ')': case '+': case '_': case ',': case '-': case '.':
    case '/': case ':': case '=': case '?': case ' ':
        return true;
    default:
        return false;
    }
}

// What follows an occurrence of "--boundary" at `at`.
enum class boundary_kind { next_part, close, not_a_boundary, truncated };

// Classifies the bytes after a boundary: "--" closes; transport padding
// (spaces, tabs) then CRLF opens a part, whose headers start at `next`;
// anything else means the boundary text was part of the data.
constexpr boundary_kind classify_boundary(std::string_view body, std::size_t at, std::size_t& next) noexcept {
    if (body.substr(at, 2) == "--") return boundary_kind::close;
    while (at < body.size() && ascii::is_ows(body[at])) ++at;
    if (body.substr(at, 2) == "\r\n") {
        next = at + 2;
        return boundary_kind::next_part;
    }
    // "--", "\r" or nothing may still follow in a longer body.
    if (body.size() - at < 2 && (at == body.size() || body[at] == '\r' || body[at] == '-')) {
        return boundary_kind::truncated;
    }
    return boundary_kind::not_a_boundary;
}

}  // namespace detail

// Parses `body` given the request's Content-Type header value, which must be
// multipart/form-data with a valid boundary (1 to 70 bchars, not ending in
// a space; quoted or not). Bounded by limits.max_parts,
// max_part_header_bytes and max_part_headers. Part numbers in errors are
// 1-based. Allocates the part and header vectors, plus decoded names.
inline result<multipart_form> parse_multipart(std::string_view content_type, std::string_view body,
                                              const parse_limits& limits = {}) {
    const result<header_value> type = parse_header_value(content_type);
    if (!type) return type.error();
    if (!ascii::iequals(type->value(), "multipart/form-data")) return parse_errc::not_multipart_form_data;
    const header_param* boundary_param = type->find("boundary");
    if (boundary_param == nullptr) return parse_errc::missing_boundary;
    const std::string_view boundary = boundary_param->value;
    if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ') return parse_errc::invalid_boundary;
    for (const char c : boundary) {
        if (!detail::is_bchar(c)) return parse_errc::invalid_boundary;
    }

    // The delimiter, CRLF "--" boundary; a fixed buffer, since the boundary is short.
    char delimiter_bytes[4 + 70];
    std::string_view("\r\n--").copy(delimiter_bytes, 4);
    boundary.copy(delimiter_bytes + 4, boundary.size());
    const std::string_view delimiter(delimiter_bytes, 4 + boundary.size());
    const std::string_view dash_boundary = delimiter.substr(2);

    // The first boundary starts the body or a line; what precedes it is preamble.
    std::size_t at = 0;
    detail::boundary_kind kind = detail::boundary_kind::not_a_boundary;
    std::size_t next = 0;
    if (body.substr(0, dash_boundary.size()) == dash_boundary) {
        kind = detail::classify_boundary(body, dash_boundary.size(), next);
    }
    while (kind == detail::boundary_kind::not_a_boundary) {
        at = body.find(delimiter, at);
        if (at == std::string_view::npos) return parse_errc::missing_first_boundary;
        at += 2;  // past the CRLF, so the next search starts after this one
        kind = detail::classify_boundary(body, at + dash_boundary.size(), next);
    }
    if (kind == detail::boundary_kind::truncated) return parse_errc::missing_final_boundary;

    multipart_form form;
    std::vector<std::size_t> first_header;
    std::string scratch;
    while (kind == detail::boundary_kind::next_part) {
        const std::size_t number = form.parts_.size() + 1;
        if (number > limits.max_parts) return parse_error(parse_errc::too_many_parts, number);

        // Header block: lines up to an empty line, within the byte limit.
        std::size_t content = 0;
        std::string_view block;
        if (body.substr(next, 2) == "\r\n") {
            content = next + 2;
        } else {
            const std::string_view window = body.substr(next, limits.max_part_header_bytes);
            const std::size_t end = window.find("\r\n\r\n");
            if (end == std::string_view::npos) {
                return window.size() == body.size() - next ? parse_error(parse_errc::missing_final_boundary)
                                                           : parse_error(parse_errc::part_headers_too_long, number);
            }
            block = window.substr(0, end + 2);  // each line keeps its CRLF
            content = next + end + 4;
        }

        form_part part;
        part.content_type = "text/plain";
        first_header.push_back(form.headers_.size());
        std::optional<result<header_value>> disposition;
        bool has_type = false;
        while (!block.empty()) {
            const std::size_t eol = block.find("\r\n");
            const std::string_view line = block.substr(0, eol);
            block.remove_prefix(eol + 2);
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || !ascii::is_token(line.substr(0, colon))) {
                return parse_error(parse_errc::invalid_part_header, number);
            }
            const part_header h{line.substr(0, colon), ascii::trim_ows(line.substr(colon + 1))};
            for (const char c : h.value) {
                if (ascii::is_ctl(c) && c != '\t') return parse_error(parse_errc::invalid_part_header, number);
            }
            if (form.headers_.size() - first_header.back() == limits.max_part_headers) {
                return parse_error(parse_errc::too_many_part_headers, number);
            }
            form.headers_.push_back(h);
            if (ascii::iequals(h.name, "Content-Disposition")) {
                if (disposition) return parse_error(parse_errc::duplicate_content_disposition, number);
                disposition = parse_header_value(h.value);
            } else if (ascii::iequals(h.name, "Content-Type") && !has_type && !h.value.empty()) {
                has_type = true;
                part.content_type = h.value;
            }
        }

        // Content-Disposition: form-data; name="..."; filename="..."; filename*=...
        if (!disposition) return parse_error(parse_errc::missing_content_disposition, number);
        if (!*disposition) return parse_error(disposition->error().code, number);
        const header_value& cd = **disposition;
        if (!ascii::iequals(cd.value(), "form-data")) return parse_error(parse_errc::not_form_data_disposition, number);
        const header_param* name = cd.find("name");
        if (name == nullptr) return parse_error(parse_errc::missing_part_name, number);
        part.name = name->escaped ? form.text_.store(name->unescaped(scratch)) : name->value;
        scratch.clear();
        const header_param* ext = cd.find("filename*");
        if (ext != nullptr && !ext->quoted && decode_ext_value(ext->value, scratch)) {
            part.filename = form.text_.store(scratch);
        } else if (const header_param* filename = cd.find("filename")) {
            part.filename = filename->escaped ? form.text_.store(filename->unescaped(scratch)) : filename->value;
        }

        // Content: up to the next delimiter that really is one.
        for (std::size_t from = content;;) {
            const std::size_t end = body.find(delimiter, from);
            if (end == std::string_view::npos) return parse_errc::missing_final_boundary;
            kind = detail::classify_boundary(body, end + delimiter.size(), next);
            if (kind == detail::boundary_kind::truncated) return parse_errc::missing_final_boundary;
            if (kind != detail::boundary_kind::not_a_boundary) {
                part.data = body.substr(content, end - content);
                break;
            }
            from = end + 1;
        }
        form.parts_.push_back(part);
    }
    form.link_headers(first_header);
    return form;
}

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_MULTIPART_HPP
