/* failing_init.so: init() fails with the reason "database unreachable".
   fcgid must print "init failed: database unreachable" (or similar) and exit
   non-zero without serving anything. */
#include <string.h>

#include "fcgid/plugin.h"

static const fcgid_host_api* g_host;

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

FCGID_PLUGIN(g_host, "failing_init", "0.1.0", failing_init_init, failing_init_handle, NULL);
