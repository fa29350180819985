/*
 * fcgid/plugin.hpp: a small, header-only C++ convenience layer over plugin.h.
 *
 * Nothing here is part of the ABI: it only calls the C functions of the host
 * table, so a plugin may use any subset of it, or none. Requires C++17.
 *
 * The one thing every C++ plugin needs is fcgid::guard(): no exception may
 * cross the C boundary (see plugin.h, ERRORS), so each callback body runs
 * inside it:
 *
 *     int my_handle(void* state, fcgid_request* rq, fcgid_response* rs) noexcept {
 *         return fcgid::guard(g_host, [&] {
 *             ...                  // may throw
 *             return FCGID_OK;
 *         });
 *     }
 *
 * Nothing here allocates, and every function is noexcept except where it
 * runs a callable of yours (for_each_param), whose exceptions it passes on.
 *
 * Everything here calls ABI 1.0 host members only, which need no struct_size
 * check (plugin.h, "THE struct_size RULE"; FCGID_HOST_HAS and FCGID_PLUGIN
 * are there too, and work in C++).
 */
#ifndef FCGID_PLUGIN_HPP
#define FCGID_PLUGIN_HPP

#include <cstddef>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "fcgid/plugin.h"

namespace fcgid {

/* Writes one line to the daemon's log. Does nothing if host or host->log is
   NULL, so it is safe before the entry point has run. */
inline void log(const fcgid_host_api* host, int level, std::string_view msg) noexcept {
    if (host != nullptr && host->log != nullptr) {
        host->log(level, msg.data(), msg.size());
    }
}

/* Copies `msg` into init()'s error buffer, truncated to fit and always
   NUL-terminated (if error_size > 0). */
inline void set_error(char* error, std::size_t error_size, std::string_view msg) noexcept {
    if (error == nullptr || error_size == 0) {
        return;
    }
    const std::size_t n = msg.size() < error_size - 1 ? msg.size() : error_size - 1;
    std::memcpy(error, msg.data(), n);
    error[n] = '\0';
}

namespace detail {

/* Describes the exception being handled as "unhandled exception: <what()>"
   in `buf` (truncated, NUL-terminated) and returns its length. Call only
   inside a catch block. A fixed buffer, because allocating could throw again. */
inline std::size_t describe_current_exception(char* buf, std::size_t size) noexcept {
    constexpr std::string_view prefix = "unhandled exception: ";
    std::string_view what = "unknown (not derived from std::exception)";
    try {
        throw;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    std::size_t n = 0;
    for (std::string_view part : {prefix, what}) {
        const std::size_t take = part.size() < size - 1 - n ? part.size() : size - 1 - n;
        std::memcpy(buf + n, part.data(), take);
        n += take;
    }
    buf[n] = '\0';
    return n;
}

template <class F>
int run_guarded(F& body) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        body();
        return FCGID_OK;
    } else {
        return static_cast<int>(body());
    }
}

} // namespace detail

/* Runs `body` (a callable taking no arguments and returning an int code, or
   void, which counts as FCGID_OK) and returns its result. If it throws, the
   exception is caught here, its what() is logged at error level through
   `host` (may be NULL: then nothing is logged) and FCGID_EFAIL is returned.
   This is the whole try/catch(...) a C++ callback needs. */
template <class F>
int guard(const fcgid_host_api* host, F&& body) noexcept {
    try {
        return detail::run_guarded(body);
    } catch (...) {
        char msg[512];
        const std::size_t len = detail::describe_current_exception(msg, sizeof msg);
        log(host, FCGID_LOG_ERROR, std::string_view(msg, len));
    }
    return FCGID_EFAIL;
}

/* guard() for init(): also copies the exception's description into the
   error buffer, which fcgid prints before it exits. */
template <class F>
int guard_init(const fcgid_host_api* host, char* error, std::size_t error_size,
               F&& body) noexcept {
    try {
        return detail::run_guarded(body);
    } catch (...) {
        char msg[512];
        const std::size_t len = detail::describe_current_exception(msg, sizeof msg);
        log(host, FCGID_LOG_ERROR, std::string_view(msg, len));
        set_error(error, error_size, std::string_view(msg, len));
    }
    return FCGID_EFAIL;
}

/* ---- string_view accessors (any thread, while the request is valid) ---- */

/* The param `name`, or nullopt if absent. The view is valid as long as the
   request. */
inline std::optional<std::string_view> param(const fcgid_host_api* host,
                                             const fcgid_request* request,
                                             std::string_view name) noexcept {
    const char* value = nullptr;
    std::size_t len = 0;
    if (host->request_param(request, name.data(), name.size(), &value, &len) != FCGID_OK) {
        return std::nullopt;
    }
    return std::string_view(value, len);
}

/* The param `name`, or `fallback` if absent. */
inline std::string_view param_or(const fcgid_host_api* host, const fcgid_request* request,
                                 std::string_view name,
                                 std::string_view fallback = {}) noexcept {
    return param(host, request, name).value_or(fallback);
}

/* Calls f(name, value) for each param, in the order the web server sent
   them. Throws only what f throws, so call it inside guard() if f may. */
template <class F>
void for_each_param(const fcgid_host_api* host, const fcgid_request* request, F&& f) noexcept(
    std::is_nothrow_invocable_v<F&, std::string_view, std::string_view>) {
    const std::size_t count = host->request_param_count(request);
    for (std::size_t i = 0; i < count; ++i) {
        const char* name = nullptr;
        const char* value = nullptr;
        std::size_t name_len = 0;
        std::size_t value_len = 0;
        if (host->request_param_at(request, i, &name, &name_len, &value, &value_len) ==
            FCGID_OK) {
            f(std::string_view(name, name_len), std::string_view(value, value_len));
        }
    }
}

/* The complete request body (empty if there is none). */
inline std::string_view body(const fcgid_host_api* host, const fcgid_request* request) noexcept {
    const void* data = nullptr;
    std::size_t len = 0;
    if (host->request_body(request, &data, &len) != FCGID_OK || data == nullptr) {
        return {};
    }
    return std::string_view(static_cast<const char*>(data), len);
}

/* ---- Response shorthands (same threads and results as the C calls) ---- */

inline int add_header(const fcgid_host_api* host, fcgid_response* response,
                      std::string_view name, std::string_view value) noexcept {
    return host->response_add_header(response, name.data(), name.size(), value.data(),
                                     value.size());
}

inline int write(const fcgid_host_api* host, fcgid_response* response,
                 std::string_view data) noexcept {
    return host->response_write(response, data.data(), data.size());
}

inline int write_stderr(const fcgid_host_api* host, fcgid_response* response,
                        std::string_view text) noexcept {
    return host->response_write_stderr(response, text.data(), text.size());
}

} // namespace fcgid

#endif /* FCGID_PLUGIN_HPP */
