// unguarded_throw.so: every handle() throws std::runtime_error straight
// across the C ABI, without fcgid::guard. That breaks the ABI's rule, but
// fcgid's plugin_host catches it anyway: a 500, a log line naming the
// plugin, and the next request served. This also pins how fcgid is linked:
// the exception unwinds from the plugin's libstdc++ through fcgid's frames,
// which works with one shared libgcc unwinder and aborts with -static-libgcc.
#include <stdexcept>

#include "fcgid/plugin.h"

namespace {

const fcgid_host_api* g_host = nullptr;

int unguarded_handle(void* /*state*/, fcgid_request* /*request*/, fcgid_response* /*response*/) {
    throw std::runtime_error("thrown across the ABI");
}

}  // namespace

FCGID_PLUGIN(g_host, "unguarded_throw", "0.1.0", nullptr, unguarded_handle, nullptr);
