/* bad_descriptor.c: one well-formed plugin, built three times with one
   defect each (tests/plugins/CMakeLists.txt), for the loader's checks of the
   descriptor (tests/unit/plugin/plugin_host_test.cpp):
     short_descriptor.so  struct_size 16, smaller than ABI 1.0's descriptor;
     nameless.so          name NULL;
     handleless.so        handle NULL.
   The entry point is the long form, since the defect is in the descriptor. */
#include "fcgid/plugin.h"

#if !defined(BAD_DESCRIPTOR_HANDLELESS)
static int bad_descriptor_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_OK;
}
#endif

static const fcgid_plugin k_descriptor = {
#if defined(BAD_DESCRIPTOR_SHORT)
    .struct_size = 16,
#else
    .struct_size = sizeof(fcgid_plugin),
#endif
    .abi_version = FCGID_ABI_VERSION,
#if defined(BAD_DESCRIPTOR_NAMELESS)
    .name = NULL,
#else
    .name = "bad_descriptor",
#endif
    .version = "0.1.0",
#if defined(BAD_DESCRIPTOR_HANDLELESS)
    .handle = NULL,
#else
    .handle = bad_descriptor_handle,
#endif
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) {
        return NULL;
    }
    return &k_descriptor;
}
