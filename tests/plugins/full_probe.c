/* full_probe.so: with any query string, writes 16 KiB chunks of 'x' inside
   handle() until response_write returns FCGID_FULL (or 64 MiB were written),
   logs "full_probe: FULL after <N> body bytes" (or "full_probe: never FULL
   after <N> body bytes") and returns FCGID_OK. The loop is blocked meanwhile,
   so nothing drains: FULL must come once the connection's buffered output
   reaches --max-output-buffer. Without a query string: 200 with the body
   echoed (plain_answer.h). */
#include <string.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

enum { k_chunk = 16 * 1024 };
static const size_t k_give_up = (size_t)64 << 20;

static int full_probe_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    if (plain_query(g_host, request)[0] == '\0') return plain_answer(g_host, request, response);
    static char chunk[k_chunk];
    memset(chunk, 'x', sizeof chunk);
    size_t written = 0;
    while (written < k_give_up) {
        const int rc = g_host->response_write(response, chunk, sizeof chunk);
        if (rc < 0) return rc;
        written += sizeof chunk;
        if (rc == FCGID_FULL) {
            plain_log(g_host, "full_probe: FULL after %zu body bytes", written);
            return FCGID_OK;
        }
    }
    plain_log(g_host, "full_probe: never FULL after %zu body bytes", written);
    return FCGID_OK;
}

FCGID_PLUGIN(g_host, "full_probe", "0.1.0", NULL, full_probe_handle, NULL);
