// Feeds arbitrary bytes to decode_record as a connection's read loop does, then
// again in two reads split where the first byte says; both must decode alike.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>

#include "fcgi/decoder.hpp"
#include "fcgi/encoder.hpp"
#include "fcgi/error.hpp"

using namespace fcgid::fcgi;

// Consumes whole records off the front of `buf`, appending each to `log`
// re-encoded; returns why it stopped (need_more or bad_version).
static std::error_code drain(std::string& buf, std::string& log) {
    std::error_code ec, begin_ec;
    record_view r;
    while (const std::size_t n = decode_record(buf, r, ec)) {
        const std::size_t at = log.size();
        append_header(log, r.header.type, r.header.request_id, r.header.content_length,
                      r.header.padding_length);
        log.append(r.content);
        // Bytes 0-6 of a header round-trip (7 is reserved); content lies inside the record.
        if (log.compare(at, 7, buf, 0, 7) != 0 || r.content.data() != buf.data() + header_size ||
            n != header_size + r.content.size() + r.header.padding_length || n > buf.size())
            std::abort();
        if (r.header.type == record_type::begin_request &&
            (decode_begin_request(r.content, begin_ec), bool(begin_ec) != (r.content.size() != 8)))
            std::abort();
        buf.erase(0, n);
    }
    if (ec != errc::need_more && ec != errc::bad_version) std::abort();
    return ec;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::string whole = input, whole_log;
    const std::error_code whole_ec = drain(whole, whole_log);
    // Keep appending after an error, as a closing connection's buffer would.
    const std::size_t split = size == 0 ? 0 : size * data[0] / 255;
    std::string parts = input.substr(0, split), parts_log;
    drain(parts, parts_log);
    parts.append(input, split);
    if (drain(parts, parts_log) != whole_ec || parts_log != whole_log || parts != whole) std::abort();
    return 0;
}
