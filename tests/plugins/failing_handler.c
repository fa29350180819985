/* failing_handler.so: every handle() returns FCGID_EFAIL without writing
   anything. The web server must get "Status: 500 Internal Server Error", and
   fcgid must keep serving (and log a line per failure). */
#include "fcgid/plugin.h"

static const fcgid_host_api* g_host;

static int failing_handler_handle(void* state, fcgid_request* request,
                                  fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_EFAIL;
}

FCGID_PLUGIN(g_host, "failing_handler", "0.1.0", NULL, failing_handler_handle, NULL);
