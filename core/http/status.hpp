// HTTP status codes as text, for the CGI "Status:" line of a response.
#pragma once

#include <string_view>

namespace fcgid::http {

// The standard reason phrase for `status`, or "Unknown" for codes without one
// (any 100..999 status is allowed; the web server passes it on).
std::string_view reason_phrase(int status) noexcept;

}  // namespace fcgid::http
