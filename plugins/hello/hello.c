/*
 * hello: the smallest useful fcgid plugin, and the example to copy.
 *
 * Every request gets "200 OK", Content-Type: text/html and the body
 * "<h1>Hello, World!</h1>".
 *
 * A plugin is one exported function, fcgid_plugin_entry(), which hands fcgid
 * a descriptor: a static table of the plugin's callbacks. Read
 * fcgid/plugin.h for the full contract; the comments below point out what
 * every plugin has to get right.
 */
#include <stddef.h>

#include "fcgid/plugin.h"

/* The host's function table. fcgid passes it to the entry point and keeps it
   valid until shutdown() returns, so one global pointer is all we need. */
static const fcgid_host_api* g_host;

static const char k_body[] = "<h1>Hello, World!</h1>";

/* Called once per request, on the loop thread. It must not block: a slow
   plugin would stall every other request (see plugin.h, THREADING). */
static int hello_handle(void* state, fcgid_request* request, fcgid_response* response) {
    static const char content_type[] = "Content-Type";
    static const char text_html[] = "text/html";
    int rc;

    (void)state;   /* hello keeps no state; see init below */
    (void)request; /* the same answer for every request */

    /* The status defaults to 200, so we only add our header. Headers must
       come before the first body byte; sizeof - 1 drops the NUL, since the
       ABI passes strings as (pointer, length). */
    rc = g_host->response_add_header(response, content_type, sizeof content_type - 1,
                                     text_html, sizeof text_html - 1);
    if (rc != FCGID_OK) {
        return rc;
    }

    /* The first write sends the status line and headers; the host copies the
       bytes, so a stack or static buffer is fine. */
    rc = g_host->response_write(response, k_body, sizeof k_body - 1);
    if (rc != FCGID_OK) {
        /* FCGID_EABORTED: the web server is gone. Returning the code is
           enough; fcgid cleans up the response either way. */
        return rc;
    }

    /* Returning FCGID_OK completes the response: fcgid finishes it for us
       (the same as calling g_host->response_finish). To answer later from
       another thread, return FCGID_DEFERRED instead; the echo plugin shows
       how. */
    return FCGID_OK;
}

/* The descriptor. It must stay valid until shutdown() returns, so a static
   const object is ideal. struct_size and abi_version let fcgid check that we
   were built against a compatible plugin.h. Designated initializers keep it
   readable and leave any member we do not name at zero (NULL). */
static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "hello",     /* shown in fcgid's log lines */
    .version = "0.1.0",
    .init = NULL,        /* nothing to set up, so no state */
    .handle = hello_handle,
    .shutdown = NULL,    /* nothing to tear down */
};

/* The one exported symbol (FCGID_EXPORT in plugin.h; the build hides all
   others). Return NULL to refuse a host we cannot work with: fcgid then exits
   with an error naming both ABI versions. */
const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    /* A different major version means an incompatible ABI. A different minor
       is fine: members are only ever appended. */
    if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) {
        return NULL;
    }
    /* Make sure the host's table reaches the last member we call (a member
       added in a later minor version would need this check before use). */
    if (host->struct_size < offsetof(fcgid_host_api, response_write) +
                                sizeof(host->response_write)) {
        return NULL;
    }
    g_host = host;
    return &k_descriptor;
}
