/* spawns_child.so: every handle() starts a shell with popen(), as a plugin
   calling system(), popen() or posix_spawn() would, and answers 200 with
   what that shell had open: one line per descriptor, "N -> target". A
   program a plugin starts must not inherit fcgid's sockets: holding the
   listening socket it would keep the port, and connections would queue
   there with nobody accepting after fcgid exits.
   popen() blocks the loop while the shell runs: fine for a test, not for a
   real plugin. */
#include <stdio.h>

#include "fcgid/plugin.h"

/* The shell lists its own descriptors ($$ is the shell, not a child of it).
   Its stdout is popen()'s pipe; the rest came from fcgid. */
static const char k_list_fds[] =
    "for f in /proc/$$/fd/*; do echo \"${f##*/} -> $(readlink \"$f\")\"; done";

static const fcgid_host_api* g_host = NULL;

static int spawns_child_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    (void)request;
    FILE* shell = popen(k_list_fds, "r");
    if (shell == NULL) return FCGID_EFAIL;
    char listing[4096];
    size_t len = fread(listing, 1, sizeof listing, shell);
    if (pclose(shell) != 0) return FCGID_EFAIL;
    int rc = g_host->response_add_header(response, "Content-Type", 12, "text/plain", 10);
    if (rc == FCGID_OK) rc = g_host->response_write(response, listing, len);
    return rc == FCGID_FULL ? FCGID_OK : rc;
}

FCGID_PLUGIN(g_host, "spawns_child", "0.1.0", NULL, spawns_child_handle, NULL);
