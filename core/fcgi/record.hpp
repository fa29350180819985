// Wire types of FastCGI 1.0: the 8-byte record header, record types, roles,
// flags and protocol statuses, and big-endian load/store helpers.
// Pure data; no I/O. See the FastCGI 1.0 specification, sections 3 and 8.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fcgid::fcgi {

inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t max_content_length = 65535;
inline constexpr std::size_t max_padding_length = 255;
// The largest record on the wire; a connection's input buffer is sized from it.
inline constexpr std::size_t max_record_size = header_size + max_content_length + max_padding_length;
inline constexpr std::uint16_t management_request_id = 0;

enum class record_type : std::uint8_t {
    begin_request = 1,
    abort_request = 2,
    end_request = 3,
    params = 4,
    stdin_ = 5,
    stdout_ = 6,
    stderr_ = 7,
    data = 8,
    get_values = 9,
    get_values_result = 10,
    unknown_type = 11,
};

enum class role : std::uint16_t { responder = 1, authorizer = 2, filter = 3 };

inline constexpr std::uint8_t flag_keep_conn = 1;

enum class protocol_status : std::uint8_t {
    request_complete = 0,
    cant_mpx_conn = 1,
    overloaded = 2,
    unknown_role = 3,
};

struct record_header {
    std::uint8_t version = protocol_version;
    record_type type = record_type::unknown_type;
    std::uint16_t request_id = 0;
    std::uint16_t content_length = 0;
    std::uint8_t padding_length = 0;
};

inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace fcgid::fcgi
