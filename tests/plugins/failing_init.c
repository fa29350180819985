/* failing_init.so: init() fails with the reason "database unreachable".
   fcgid must print "init failed: database unreachable" (or similar) and exit
   non-zero without serving anything. */
#include <string.h>

#include "fcgid/plugin.h"

static int failing_init_init(const fcgid_option* options, size_t option_count, void** state,
                             char* error, size_t error_size) {
    static const char reason[] = "database unreachable";
    (void)options;
    (void)option_count;
    (void)state;
    /* error_size is at least 256 (plugin.h); check anyway, as plugins should. */
    if (error != NULL && error_size >= sizeof reason) {
        memcpy(error, reason, sizeof reason);
    }
    return FCGID_EFAIL;
}

static int failing_init_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_OK;
}

static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "failing_init",
    .version = "0.1.0",
    .init = failing_init_init,
    .handle = failing_init_handle,
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    (void)host_abi_version;
    (void)host;
    return &k_descriptor;
}
