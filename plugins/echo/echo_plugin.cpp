// echo: answers with what it was sent, shaped by the query string. Test
// fixture and demonstration of deferred completion; see echo_query.hpp for
// the keys and their parsing rules, echo_response.hpp for the answer.
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "delay_timer.hpp"
#include "echo_query.hpp"
#include "echo_response.hpp"
#include "fcgid/plugin.hpp"

namespace fcgid::echo {
namespace {

// Valid from the entry point until shutdown() returns (plugin.h).
const fcgid_host_api* g_host = nullptr;

struct echo_state {
    explicit echo_state(const fcgid_host_api* host) noexcept : timer(host) {}

    delay_timer timer;
    // hold_mb blocks, kept until shutdown. Loop thread only.
    std::vector<std::unique_ptr<std::byte[]>> held;
};

// Allocates `mib` MiB and writes every page, so it counts as resident memory
// (what --memory-limit measures), not just reserved address space.
void hold_memory(echo_state& state, std::uint32_t mib) {
    const std::size_t size = std::size_t{mib} << 20;
    auto block = std::make_unique_for_overwrite<std::byte[]>(size);
    // Not 0: zero-filling fresh pages may be optimised into a calloc that
    // never touches them.
    std::memset(block.get(), 0xA5, size);
    state.held.push_back(std::move(block));
}

int echo_init(const fcgid_option* options, std::size_t option_count, void** state, char* error,
              std::size_t error_size) noexcept {
    return fcgid::guard_init(g_host, error, error_size, [&] {
        for (std::size_t i = 0; i < option_count; ++i) {
            fcgid::log(g_host, FCGID_LOG_WARN,
                       std::string("echo takes no options; ignoring ") + options[i].key);
        }
        auto s = std::make_unique<echo_state>(g_host);
        s->timer.start();
        *state = s.release();
        return FCGID_OK;
    });
}

int echo_handle(void* state, fcgid_request* request, fcgid_response* response) noexcept {
    auto& s = *static_cast<echo_state*>(state);
    return fcgid::guard(g_host, [&] {
        // The default request allocates nothing: parsing works on views and
        // the response is written straight from the request body.
        echo_query q = parse_echo_query(fcgid::param_or(g_host, request, "QUERY_STRING"));
        if (q.hold_mb > 0) {
            hold_memory(s, q.hold_mb);
        }
        if (q.delay_ms) {
            const auto delay = std::chrono::milliseconds(*q.delay_ms);
            const int rc = s.timer.schedule(delay, delayed_echo{request, response, std::move(q)});
            return rc == FCGID_EABORTED ? FCGID_OK : rc;
        }
        return write_echo_response(g_host, request, response, q);
    });
}

void echo_shutdown(void* state) noexcept {
    // Joins the timer thread (stop() is noexcept), then frees the held blocks.
    delete static_cast<echo_state*>(state);
}

} // namespace
} // namespace fcgid::echo

// The descriptor and the entry point (plugin.h). It checks the ABI major
// only: echo calls ABI 1.0 host functions only, which every 1.x host has
// (plugin.h, "THE struct_size RULE").
FCGID_PLUGIN(fcgid::echo::g_host, "echo", "0.1.0", fcgid::echo::echo_init, fcgid::echo::echo_handle,
             fcgid::echo::echo_shutdown);
