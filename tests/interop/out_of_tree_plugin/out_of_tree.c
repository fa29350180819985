/* The smallest useful fcgid plugin: every request gets "out of tree". */
#include <fcgid/plugin.h>

static const fcgid_host_api* host_;

static int handle(void* state, fcgid_request* request, fcgid_response* response) {
    static const char content_type[] = "text/plain";
    static const char body[] = "out of tree";
    (void)state;
    (void)request;
    int rc = host_->response_add_header(response, "Content-Type", 12, content_type,
                                        sizeof content_type - 1);
    if (rc != FCGID_OK) {
        return rc;
    }
    return host_->response_write(response, body, sizeof body - 1);
}

static const fcgid_plugin plugin_ = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "out_of_tree",
    .version = "1.0.0",
    .init = NULL,
    .handle = handle,
    .shutdown = NULL,
};

FCGID_EXPORT const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,
                                                    const fcgid_host_api* host) {
    /* Another major version means another ABI: refuse rather than guess. */
    if (FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) {
        return NULL;
    }
    host_ = host;
    return &plugin_;
}
