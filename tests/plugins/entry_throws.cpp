// entry_throws.so: its entry point throws, which the ABI forbids. fcgid must
// refuse it with one line ("threw from its entry point"), not terminate.
#include <stdexcept>

#include "fcgid/plugin.h"

extern "C" const fcgid_plugin* fcgid_plugin_entry(uint32_t /*host_abi_version*/,
                                                  const fcgid_host_api* /*host*/) {
    throw std::runtime_error("entry point exploded");
}
