// fcgid/sdk/errors.hpp: what an exception from a handler becomes.
//
// http_error: its status and message (a text/plain body), and no log line
// for a 4xx (the client's fault). Anything else: a 500 with a short body and
// ONE log line naming the request, "GET /users/7: unhandled exception: ...",
// so the operator knows what to reproduce, without the headers the handler
// had set (they were meant for another answer). When the body had started, the
// response is cut short instead (fcgid ends it with an error status).
#ifndef FCGID_SDK_ERRORS_HPP
#define FCGID_SDK_ERRORS_HPP

#include <exception>
#include <string>
#include <string_view>

#include "fcgid/sdk/host.hpp"
#include "fcgid/sdk/http_error.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"

namespace fcgid::sdk::detail {

inline std::string request_line(const request& req) {
    return std::string(req.method()) + " " + std::string(req.target());
}

// A failure the handler did not foresee: nothing it prepared (a cookie, a
// content type) goes out with the 500.
inline void answer_500(response& res) {
    if (res.headers_sent()) return res.fail("unhandled exception");
    if (res.finished()) return;
    res.reset();
    res.send(500, "Internal Server Error\n");
}

// Call only inside a catch block. Never throws.
inline void answer_current_exception(const request& req, response& res) noexcept {
    try {
        try {
            throw;
        } catch (const http_error& e) {
            if (e.status() >= 500) log(log_level::warn, request_line(req) + ": " + std::to_string(e.status()) + " " + e.what());
            if (res.headers_sent()) return res.fail(e.what());
            if (res.finished()) return;
            // Headers the handler set on purpose stay (WWW-Authenticate for
            // a 401, Allow for a 405); the body is this text now.
            res.set_header("Content-Type", "text/plain; charset=utf-8");
            res.send(e.status(), std::string(e.what()) + "\n");
        } catch (const std::exception& e) {
            log(log_level::error, request_line(req) + ": unhandled exception: " + e.what());
            answer_500(res);
        } catch (...) {
            log(log_level::error, request_line(req) + ": unhandled exception (not derived from std::exception)");
            answer_500(res);
        }
    } catch (...) {
        // Out of memory while answering: give the handle up as failed.
        res.fail("unhandled exception");
    }
}

}  // namespace fcgid::sdk::detail

#endif  // FCGID_SDK_ERRORS_HPP
