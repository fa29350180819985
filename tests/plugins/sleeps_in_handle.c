/* sleeps_in_handle.so: ?sleep_ms=N sleeps N ms (at most 5 s) inside
   handle(), on the loop thread, then answers as plain_answer does: a plugin
   that does slow work synchronously, for the slow-request log's "in
   handle()" time. Any other request is answered at once. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

static int sleeps_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    const char* query = plain_query(g_host, request);
    if (strncmp(query, "sleep_ms=", 9) == 0) {
        long ms = strtol(query + 9, NULL, 10);
        if (ms < 0) ms = 0;
        if (ms > 5000) ms = 5000;
        struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&pause, &pause) != 0) {
        }
    }
    return plain_answer(g_host, request, response);
}

FCGID_PLUGIN(g_host, "sleeps_in_handle", "0.1.0", NULL, sleeps_handle, NULL);
