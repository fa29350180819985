/* failing_handler.so: every handle() returns FCGID_EFAIL without writing
   anything. The web server must get "Status: 500 Internal Server Error", and
   fcgid must keep serving (and log a line per failure). */
#include "fcgid/plugin.h"

static int failing_handler_handle(void* state, fcgid_request* request,
                                  fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_EFAIL;
}

static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "failing_handler",
    .version = "0.1.0",
    .handle = failing_handler_handle,
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    (void)host_abi_version;
    (void)host;
    return &k_descriptor;
}
