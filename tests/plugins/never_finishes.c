/* never_finishes.so: with any query string, handle() registers an abort
   callback and returns FCGID_DEFERRED, then never touches the response
   again: not on abort, not on --request-timeout. Only shutdown() releases
   what it still holds. The abort callback only logs
   "never_finishes: told of the abort of <REQUEST_URI>", which is how tests
   see that the host told the plugin. Without a query string: 200 with the
   body echoed (plain_answer.h). Everything runs on the loop thread. */
#include <stdlib.h>
#include <string.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

typedef struct held_response {
    fcgid_response* response;
    char uri[200];
    struct held_response* next;
} held_response;

static held_response* g_held = NULL;

static void never_finishes_on_abort(void* user_data, fcgid_response* response) {
    (void)response;
    const held_response* held = (const held_response*)user_data;
    plain_log(g_host, "never_finishes: told of the abort of %s", held->uri);
}

static int never_finishes_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    if (plain_query(g_host, request)[0] == '\0') return plain_answer(g_host, request, response);
    held_response* held = (held_response*)calloc(1, sizeof *held);
    if (held == NULL) return FCGID_ENOMEM;
    held->response = response;
    strncpy(held->uri, plain_uri(g_host, request), sizeof held->uri - 1);
    const int rc = g_host->response_on_abort(response, never_finishes_on_abort, held);
    if (rc != FCGID_OK) {
        free(held);
        return rc;
    }
    held->next = g_held;
    g_held = held;
    return FCGID_DEFERRED;
}

static void never_finishes_shutdown(void* state) {
    (void)state;
    while (g_held != NULL) {
        held_response* next = g_held->next;
        g_host->response_release(g_held->response);
        free(g_held);
        g_held = next;
    }
}

FCGID_PLUGIN(g_host, "never_finishes", "0.1.0", NULL, never_finishes_handle,
             never_finishes_shutdown);
