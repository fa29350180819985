/* wrong_abi.so: a well-formed plugin built for ABI 2.0. It ignores the
   host's version and returns its descriptor anyway, so the refusal ("ABI 2
   instead of 1") must come from fcgid's own check of abi_version. */
#include "fcgid/plugin.h"

static int wrong_abi_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_OK;
}

static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = (2u << 16) | 0u,
    .name = "wrong_abi",
    .version = "0.1.0",
    .handle = wrong_abi_handle,
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    (void)host_abi_version;
    (void)host;
    return &k_descriptor;
}
