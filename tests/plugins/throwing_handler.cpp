// throwing_handler.so: every handle() throws std::runtime_error("handler
// exploded"). fcgid::guard (plugin.hpp) turns it into FCGID_EFAIL and logs
// "unhandled exception: handler exploded" through the host, so the web server
// gets a 500 and fcgid keeps serving. Without the guard, the exception would
// cross the C boundary: undefined behaviour, in practice std::terminate.
#include <stdexcept>

#include "fcgid/plugin.hpp"

namespace {

const fcgid_host_api* g_host = nullptr;

int throwing_handle(void* /*state*/, fcgid_request* /*request*/,
                    fcgid_response* /*response*/) noexcept {
    return fcgid::guard(g_host, []() -> int { throw std::runtime_error("handler exploded"); });
}

} // namespace

FCGID_PLUGIN(g_host, "throwing_handler", "0.1.0", nullptr, throwing_handle, nullptr);
