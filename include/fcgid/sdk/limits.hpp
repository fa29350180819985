// fcgid/sdk/limits.hpp: the bounds every SDK parser enforces.
//
// The request's bytes are already bounded by the host (header and body
// limits); these bound the WORK and MEMORY a parser spends on them, so that a
// small hostile body cannot become a large vector of fields or parts. A
// parser that hits a limit fails with a parse_error naming it (HTTP 400),
// rather than truncating: a form silently missing its last fields is worse
// than a form refused.
//
// Raise a limit by copying the defaults: `auto l = sdk::parse_limits{}; l.max_parts = 1000;`.
#ifndef FCGID_SDK_LIMITS_HPP
#define FCGID_SDK_LIMITS_HPP

#include <cstddef>

namespace fcgid::sdk {

struct parse_limits {
    // Fields of a query string or an application/x-www-form-urlencoded body.
    // PHP's max_input_vars defaults to 1000 too.
    std::size_t max_fields = 1000;

    // Bytes of one field name, before percent-decoding (decoding only shrinks it).
    std::size_t max_field_name_bytes = 1024;

    // Bytes of one field value, before percent-decoding.
    std::size_t max_field_value_bytes = 1024 * 1024;

    // Cookies of one Cookie header; pairs skipped as malformed do not count.
    // Browsers keep about 180 per domain, and headers are already bounded.
    std::size_t max_cookies = 100;

    // Parts of one multipart/form-data body.
    std::size_t max_parts = 100;

    // Bytes of the header block of one part, its CRLFs included. Real parts
    // carry two short headers (Content-Disposition, Content-Type).
    std::size_t max_part_header_bytes = 8 * 1024;

    // Header lines of one part. Bounds the header list, which would
    // otherwise grow by one entry per 4 bytes of headers ("a:" CRLF).
    std::size_t max_part_headers = 16;

    // Nesting of a JSON body (arrays and objects), for fcgid/sdk/json.hpp.
    // Values are printed and destroyed recursively; this keeps that within
    // the stack whatever the client sends.
    std::size_t max_json_depth = 256;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_LIMITS_HPP
