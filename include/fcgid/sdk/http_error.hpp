// fcgid/sdk/http_error.hpp: an HTTP error a handler (or the SDK) throws.
//
// Thrown anywhere in a handler, it becomes the response: its status and its
// message as a text/plain body, when nothing was sent yet. The SDK throws it
// for bad input it parses on the handler's behalf: 400 for a malformed query,
// form, multipart body, cookie header or JSON body, with the parser's reason.
#ifndef FCGID_SDK_HTTP_ERROR_HPP
#define FCGID_SDK_HTTP_ERROR_HPP

#include <stdexcept>
#include <string>

namespace fcgid::sdk {

class http_error : public std::runtime_error {
public:
    http_error(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

}  // namespace fcgid::sdk

#endif  // FCGID_SDK_HTTP_ERROR_HPP
