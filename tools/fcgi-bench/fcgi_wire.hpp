// The FastCGI 1.0 wire constants a client needs (spec sections 3 and 8).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fcgi_bench::wire {

inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t max_content = 65535;

enum type : std::uint8_t {
    begin_request = 1,
    abort_request = 2,
    end_request = 3,
    params = 4,
    stdin_ = 5,
    stdout_ = 6,
    stderr_ = 7,
    get_values = 9,
    get_values_result = 10,
    unknown_type = 11,
};

inline constexpr std::uint16_t role_responder = 1;
inline constexpr std::uint8_t flag_keep_conn = 1;
inline constexpr std::uint8_t request_complete = 0;  // END_REQUEST protocolStatus

inline std::uint16_t load_u16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t load_u32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

}  // namespace fcgi_bench::wire
