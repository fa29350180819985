// plugin.h and plugin.hpp must compile warning-free as C++20 (-Wall -Wextra
// -Wpedantic -Werror), and plugin.hpp's helpers must do what they promise.
// plugin.hpp comes first to prove it is self-contained.
#include "fcgid/plugin.hpp"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

std::string g_logged;
int g_logged_level = -1;

void fake_log(int level, const char* msg, std::size_t len) {
    g_logged_level = level;
    g_logged.assign(msg, len);
}

// Two params, as a fake request; the request handle itself is never read.
constexpr std::string_view param_names[] = {"QUERY_STRING", "REQUEST_METHOD"};
constexpr std::string_view param_values[] = {"a=1", "GET"};

int fake_param_at(const fcgid_request*, std::size_t index, const char** name,
                  std::size_t* name_len, const char** value, std::size_t* value_len) {
    if (index >= 2) {
        return FCGID_ENOTFOUND;
    }
    *name = param_names[index].data();
    *name_len = param_names[index].size();
    *value = param_values[index].data();
    *value_len = param_values[index].size();
    return FCGID_OK;
}

std::size_t fake_param_count(const fcgid_request*) { return 2; }

int fake_param(const fcgid_request* rq, const char* name, std::size_t name_len,
               const char** value, std::size_t* value_len) {
    for (std::size_t i = 0; i < 2; ++i) {
        if (param_names[i] == std::string_view(name, name_len)) {
            const char* unused_name = nullptr;
            std::size_t unused_len = 0;
            return fake_param_at(rq, i, &unused_name, &unused_len, value, value_len);
        }
    }
    return FCGID_ENOTFOUND;
}

// Only the members the helpers call are filled in.
fcgid_host_api make_host() {
    fcgid_host_api host{};
    host.struct_size = sizeof host;
    host.abi_version = FCGID_ABI_VERSION;
    host.log = fake_log;
    host.request_param = fake_param;
    host.request_param_count = fake_param_count;
    host.request_param_at = fake_param_at;
    return host;
}

int g_failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "plugin_hpp_cxx: FAILED: %s\n", what);
        ++g_failures;
    }
}

// Compile-time promises: the guard and accessors never let an exception out.
struct throwing_callable {
    int operator()() const { throw 1; }
};
static_assert(noexcept(fcgid::guard(nullptr, throwing_callable{})));
static_assert(noexcept(fcgid::guard_init(nullptr, nullptr, 0, throwing_callable{})));
static_assert(noexcept(fcgid::log(nullptr, 0, {})));
static_assert(noexcept(fcgid::param(nullptr, nullptr, {})));
static_assert(noexcept(fcgid::body(nullptr, nullptr)));

// FCGID_PLUGIN must compile as C++ too, with noexcept callbacks from an
// unnamed namespace (as plugins/echo uses it).
const fcgid_host_api* g_host = nullptr;
int cxx_handle(void*, fcgid_request*, fcgid_response*) noexcept { return FCGID_OK; }

} // namespace

FCGID_PLUGIN(g_host, "abi_cxx", nullptr, nullptr, cxx_handle, nullptr);

int main() {
    const fcgid_host_api host = make_host();

    check(fcgid::guard(&host, [] { return FCGID_DEFERRED; }) == FCGID_DEFERRED,
          "guard passes the body's code through");
    check(fcgid::guard(&host, [] {}) == FCGID_OK, "guard treats a void body as FCGID_OK");

    const int rc = fcgid::guard(&host, []() -> int { throw std::runtime_error("boom"); });
    check(rc == FCGID_EFAIL, "guard turns std::exception into FCGID_EFAIL");
    check(g_logged == "unhandled exception: boom", "guard logs what()");
    check(g_logged_level == FCGID_LOG_ERROR, "guard logs at error level");

    check(fcgid::guard(&host, []() -> int { throw 42; }) == FCGID_EFAIL,
          "guard turns a non-std exception into FCGID_EFAIL");
    check(g_logged.find("unknown") != std::string::npos, "guard logs a non-std exception");

    check(fcgid::guard(nullptr, []() -> int { throw 42; }) == FCGID_EFAIL,
          "guard works without a host");

    char error[16];
    check(fcgid::guard_init(&host, error, sizeof error,
                            []() -> int { throw std::runtime_error("database unreachable"); }) ==
              FCGID_EFAIL,
          "guard_init returns FCGID_EFAIL");
    check(std::strlen(error) == sizeof error - 1, "guard_init truncates to the error buffer");

    fcgid::set_error(error, sizeof error, "short");
    check(std::string_view(error) == "short", "set_error copies and terminates");

    check(FCGID_HOST_HAS(&host, call_on_loop), "FCGID_HOST_HAS: full table");
    fcgid_host_api old_host = host;
    old_host.struct_size = offsetof(fcgid_host_api, call_on_loop);
    check(!FCGID_HOST_HAS(&old_host, call_on_loop), "FCGID_HOST_HAS: short table");

    const fcgid_plugin* plugin = fcgid_plugin_entry(FCGID_ABI_VERSION, &host);
    check(plugin != nullptr && g_host == &host, "FCGID_PLUGIN entry accepts the host");
    check(plugin != nullptr && std::string_view(plugin->name) == "abi_cxx" &&
              plugin->version == nullptr && plugin->init == nullptr &&
              plugin->handle == &cxx_handle && plugin->shutdown == nullptr,
          "FCGID_PLUGIN descriptor in C++");
    check(fcgid_plugin_entry((2u << 16), &host) == nullptr, "FCGID_PLUGIN entry refuses ABI 2");

    const fcgid_request* rq = nullptr; // the fake host never reads it
    check(fcgid::param(&host, rq, "REQUEST_METHOD") == std::string_view("GET"), "param found");
    check(!fcgid::param(&host, rq, "NOPE"), "param absent");
    check(fcgid::param_or(&host, rq, "NOPE", "x") == "x", "param_or fallback");

    std::string listing;
    fcgid::for_each_param(&host, rq, [&](std::string_view name, std::string_view value) {
        listing.append(name).append("=").append(value).append("\n");
    });
    check(listing == "QUERY_STRING=a=1\nREQUEST_METHOD=GET\n", "for_each_param in order");

    if (g_failures == 0) {
        std::puts("plugin_hpp_cxx: ok");
    }
    return g_failures == 0 ? 0 : 1;
}
