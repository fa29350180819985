// Protocol errors as a std::error_category ("fcgid.protocol"), so codec and
// socket errors flow through one `if (ec)` path.
#pragma once

#include <system_error>

namespace fcgid::fcgi {

enum class errc {
    // Not a failure: the input ends inside a record; feed more bytes.
    need_more = 1,
    // The version byte of a record header is not 1.
    bad_version,
    // A name-value pair's lengths point past the end of its block.
    truncated_name_value,
    // A BEGIN_REQUEST body is not exactly 8 bytes.
    bad_begin_request,
    // A BEGIN_REQUEST for request id 0, or for an id already in use.
    bad_request_id,
    // A request's params are larger than the configured limit.
    params_too_large,
    // A request has more params than the configured limit.
    too_many_params,
    // A stream record for a request whose stream already ended.
    stream_after_end,
};

const std::error_category& protocol_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}

}  // namespace fcgid::fcgi

template <>
struct std::is_error_code_enum<fcgid::fcgi::errc> : std::true_type {};
