/* refuses_host.so: the entry point returns NULL, as a plugin does when it
   cannot work with the host it was given. fcgid must exit with an error. */
#include "fcgid/plugin.h"

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    (void)host_abi_version;
    (void)host;
    return NULL;
}
