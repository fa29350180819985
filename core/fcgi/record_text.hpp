// A record as text for a log line: what a protocol error names as the
// offending value.
//
// The bytes come from a web server that broke the protocol, so nothing is
// trusted: the header is read only as far as it is there, and the content
// is cut short and escaped (printable ASCII as is, the rest as \xNN), so a
// hostile stream can neither flood the log nor forge a line in it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fcgid::fcgi {

// E.g. `version 1, type 4 (PARAMS), request id 1, content length 3, content "a\x00b"`.
// `raw` starts at the record's first byte; `max_content` bounds the bytes shown.
std::string describe_record(std::string_view raw, std::size_t max_content = 32);

// `text` escaped as above, at most `max` bytes of it, "..." when cut.
std::string sanitize_for_log(std::string_view text, std::size_t max);

}  // namespace fcgid::fcgi
