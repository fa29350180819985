/* finishes_twice.so: completes a response, then calls response_finish on it
   again, on the loop thread. plugin.h calls the second finish a bug of the
   plugin; the host must not crash, and returns FCGID_ESTATE where it can
   still tell. Each mode logs what the host returned:

     mode=inline   inside handle(): write, finish, finish again, write again;
                   then handle() returns FCGID_OK
                   -> "finishes_twice inline: finish 0, finish again -3, write after -3"
     mode=deferred inside handle(): finish, finish again, then return
                   FCGID_DEFERRED although nothing is held any more
     mode=loop     handle() returns FCGID_DEFERRED; a call_on_loop task later
                   finishes the response and finishes it again
     (no query)    200 with the body echoed (plain_answer.h). */
#include <string.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

static void finish_twice_task(void* user_data) {
    fcgid_response* response = (fcgid_response*)user_data;
    const int first = g_host->response_finish(response);
    const int second = g_host->response_finish(response);
    plain_log(g_host, "finishes_twice loop: finish %d, finish again %d", first, second);
}

static int finishes_twice_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    const char* query = plain_query(g_host, request);
    if (strcmp(query, "mode=inline") == 0) {
        g_host->response_write(response, "first", 5);
        const int first = g_host->response_finish(response);
        const int second = g_host->response_finish(response);
        const int write_after = g_host->response_write(response, "late", 4);
        plain_log(g_host, "finishes_twice inline: finish %d, finish again %d, write after %d",
                  first, second, write_after);
        return FCGID_OK;
    }
    if (strcmp(query, "mode=deferred") == 0) {
        const int first = g_host->response_finish(response);
        const int second = g_host->response_finish(response);
        plain_log(g_host, "finishes_twice deferred: finish %d, finish again %d", first, second);
        return FCGID_DEFERRED;
    }
    if (strcmp(query, "mode=loop") == 0) {
        const int rc = g_host->call_on_loop(finish_twice_task, response);
        return rc == FCGID_OK ? FCGID_DEFERRED : rc;
    }
    return plain_answer(g_host, request, response);
}

FCGID_PLUGIN(g_host, "finishes_twice", "0.1.0", NULL, finishes_twice_handle, NULL);
