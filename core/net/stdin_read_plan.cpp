#include "net/stdin_read_plan.hpp"

#include <algorithm>

#include "fcgi/decoder.hpp"

namespace fcgid::net {

namespace {

// The padding a sender gives a record of `length` content bytes, judged by
// the record it sent last: either to a multiple of 8 (nginx, libfcgi,
// fcgi-bench) or none at all.
std::size_t guess_padding(std::size_t length, std::size_t last_length, std::size_t last_padding) noexcept {
    if (length == last_length) return last_padding;
    const bool pads_to_8 = last_padding == (8 - last_length % 8) % 8;
    return pads_to_8 ? (8 - length % 8) % 8 : 0;
}

}  // namespace

stdin_read_plan::stdin_read_plan(const current_record& record, std::span<char> room, std::span<char> gaps) noexcept
    : first_(record), gaps_(gaps.data()) {
    const std::size_t limit = room.size();
    std::size_t body = std::min(record.left, limit);
    records_[0] = {body, record.padding, 0, 0};
    planned_ = 1;
    iov_[count_++] = {room.data(), body};
    size_ = body;
    // The body's room ends inside this record: no header to read after it.
    if (body < record.left) return;
    std::size_t gap_at = 0;
    for (;;) {
        // A gap after each whole record: its padding, and the next header.
        planned_record& last = records_[planned_ - 1];
        last.gap = last.padding + fcgi::header_size;
        last.gap_at = gap_at;
        iov_[count_++] = {gaps_ + gap_at, last.gap};
        gap_at += last.gap;
        size_ += last.gap;
        if (planned_ == max_records) return;
        const std::size_t length = std::min(record.length, limit - body);
        if (length == 0) return;
        const std::size_t padding = guess_padding(length, record.length, record.length_padding);
        if (size_ + length + padding + fcgi::header_size > max_bytes) return;
        records_[planned_++] = {length, padding, 0, 0};
        iov_[count_++] = {room.data() + body, length};
        body += length;
        size_ += length;
    }
}

stdin_read_plan::outcome stdin_read_plan::take(std::size_t got, std::string& scratch) const {
    outcome out;
    std::size_t left = got;
    for (std::size_t i = 0; i < planned_; ++i) {
        const planned_record& record = records_[i];
        // The first record's content may go on past the room; the others'
        // lengths were checked against their headers.
        const std::size_t content_left = i == 0 ? first_.left : record.length;
        const std::size_t content = std::min(left, record.length);
        out.body_bytes += content;
        left -= content;
        out.left = content_left - content;
        out.padding = record.padding;
        if (content < record.length || record.gap == 0) return out;
        const char* gap = gaps_ + record.gap_at;
        const std::size_t gap_read = std::min(left, record.gap);
        left -= gap_read;
        if (gap_read < record.gap || i + 1 == planned_) {
            out.usual = std::string_view(gap, gap_read);
            return out;
        }
        const planned_record& next = records_[i + 1];
        const fcgi::record_header header =
            fcgi::decode_header(std::string_view(gap + record.padding, fcgi::header_size));
        if (header.version != fcgi::protocol_version || header.type != fcgi::record_type::stdin_ ||
            header.request_id != first_.id || header.content_length != next.length ||
            header.padding_length != next.padding) {
            // Not the record guessed: this gap and all read after it, in
            // stream order, go the usual way.
            scratch.assign(gap, record.gap);
            for (std::size_t part = 2 * (i + 1); left > 0 && part < count_; ++part) {
                const std::size_t bytes = std::min(left, iov_[part].iov_len);
                scratch.append(static_cast<const char*>(iov_[part].iov_base), bytes);
                left -= bytes;
            }
            out.usual = scratch;
            return out;
        }
    }
    return out;  // not reached: the last record has a gap, or ended the read
}

}  // namespace fcgid::net
