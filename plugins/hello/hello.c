/*
 * hello: the smallest useful fcgid plugin, and the example to copy.
 *
 * Every request gets "200 OK", Content-Type: text/html and the body
 * "<h1>Hello, World!</h1>".
 *
 * A plugin is one exported function, fcgid_plugin_entry(), which hands fcgid
 * a descriptor: a static table of the plugin's callbacks. FCGID_PLUGIN, at
 * the end, writes both. Read
 * fcgid/plugin.h for the full contract; the comments below point out what
 * every plugin has to get right.
 */
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

/* The descriptor and the one exported symbol, fcgid_plugin_entry(), in one
   line: name and version for fcgid's log, then init (NULL: nothing to set
   up, so no state), handle, and shutdown (NULL: nothing to tear down).
   The entry point it writes refuses a host of another ABI major (fcgid then
   exits with an error naming both versions) and stores the host table in
   g_host. It checks nothing else: every function hello calls belongs to
   ABI 1.0, which every 1.x host has. A function added in a later minor
   would be called only where FCGID_HOST_HAS(g_host, member) is true (see
   "THE struct_size RULE" in plugin.h, which also shows the long form of
   this macro). */
FCGID_PLUGIN(g_host, "hello", "0.1.0", NULL, hello_handle, NULL);
