/* no_entry.so: the entry point is misspelled, so the library exports no
   fcgid_plugin_entry. fcgid must refuse it, naming the missing symbol. */
#include "fcgid/plugin.h"

FCGID_EXPORT const fcgid_plugin* fcgid_plugin_main(uint32_t host_abi_version,
                                                   const fcgid_host_api* host);

const fcgid_plugin* fcgid_plugin_main(uint32_t host_abi_version, const fcgid_host_api* host) {
    (void)host_abi_version;
    (void)host;
    return NULL;
}
