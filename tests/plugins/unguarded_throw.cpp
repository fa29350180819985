// unguarded_throw.so: every handle() throws std::runtime_error straight
// across the C ABI, without fcgid::guard. That breaks the ABI's rule, but
// fcgid's plugin_host catches it anyway: a 500, a log line naming the
// plugin, and the next request served. This also pins how fcgid is linked:
// the exception unwinds from the plugin's libstdc++ through fcgid's frames,
// which works with one shared libgcc unwinder and aborts with -static-libgcc.
#include <stdexcept>

#include "fcgid/plugin.h"

namespace {

int unguarded_handle(void* /*state*/, fcgid_request* /*request*/, fcgid_response* /*response*/) {
    throw std::runtime_error("thrown across the ABI");
}

constexpr fcgid_plugin descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "unguarded_throw",
    .version = "0.1.0",
    .init = nullptr,
    .handle = unguarded_handle,
    .shutdown = nullptr,
};

}  // namespace

extern "C" const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,
                                                  const fcgid_host_api* host) {
    if (host == nullptr || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR)
        return nullptr;
    return &descriptor;
}
