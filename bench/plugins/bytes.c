/*
 * bytes: large bodies both ways, for the benchmark's large-response and
 * large-upload rows.
 *
 *   GET  /?size=N   answers N bytes of body, written 64 KiB at a time as a
 *                   streaming plugin should: stop at FCGID_FULL and go on
 *                   from the writable callback, so fcgid buffers at most
 *                   about --max-output-buffer per connection whatever N is.
 *   POST /          (any body) answers with the number of body bytes it got;
 *                   fcgid hands the plugin the whole body, received before
 *                   handle() was called.
 *
 * The body is one static chunk written over and over: what is measured is
 * the daemon moving bytes, not the plugin making them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgid/plugin.h"

enum { chunk_size = 64 * 1024 };

static const fcgid_host_api* g_host;
static char g_chunk[chunk_size];

/* What is left to write of one response; freed when it ends. */
typedef struct stream {
    uint64_t left;
} stream;

static void on_abort(void* user_data, fcgid_response* response) {
    free(user_data);
    g_host->response_release(response);
}

/* Writes until the body is done or the buffer is full. 1: all written;
   0: waiting for the writable callback; -1: failed (the hold is given up). */
static int write_some(stream* s, fcgid_response* response);

static void on_writable(void* user_data, fcgid_response* response) {
    stream* s = user_data;
    if (write_some(s, response) != 1) return;
    g_host->response_on_abort(response, NULL, NULL);
    free(s);
    g_host->response_finish(response);
}

static int write_some(stream* s, fcgid_response* response) {
    while (s->left > 0) {
        const size_t n = s->left < chunk_size ? (size_t)s->left : (size_t)chunk_size;
        const int rc = g_host->response_write(response, g_chunk, n);
        if (rc < 0) break;
        s->left -= n;
        if (rc == FCGID_FULL && s->left > 0) {
            if (g_host->response_on_writable(response, on_writable, s) != FCGID_OK) break;
            return 0;
        }
    }
    if (s->left == 0) return 1;
    g_host->response_on_abort(response, NULL, NULL);
    free(s);
    g_host->response_release(response);
    return -1;
}

static uint64_t query_size(const fcgid_request* request) {
    const char* query = NULL;
    size_t length = 0;
    if (g_host->request_param(request, "QUERY_STRING", 12, &query, &length) != FCGID_OK) return 0;
    /* Values are NUL-terminated. */
    const char* at = strstr(query, "size=");
    return at == NULL ? 0 : strtoull(at + 5, NULL, 10);
}

static int bytes_handle(void* state, fcgid_request* request, fcgid_response* response) {
    static const char type[] = "Content-Type";
    static const char octets[] = "application/octet-stream";
    const void* body = NULL;
    size_t body_length = 0;
    (void)state;
    g_host->request_body(request, &body, &body_length);
    if (body_length > 0) {
        char text[32];
        const int n = snprintf(text, sizeof text, "%zu\n", body_length);
        return g_host->response_write(response, text, (size_t)n);
    }
    const int rc = g_host->response_add_header(response, type, sizeof type - 1, octets, sizeof octets - 1);
    if (rc != FCGID_OK) return rc;
    stream* s = malloc(sizeof *s);
    if (s == NULL) return FCGID_ENOMEM;
    s->left = query_size(request);
    if (g_host->response_on_abort(response, on_abort, s) != FCGID_OK) {
        free(s);
        return FCGID_EABORTED;
    }
    switch (write_some(s, response)) {
        case 1: /* all of it fitted: done now, as any small response */
            g_host->response_on_abort(response, NULL, NULL);
            free(s);
            return FCGID_OK;
        case 0: return FCGID_DEFERRED; /* on_writable goes on */
        default: return FCGID_DEFERRED; /* released already */
    }
}

static int bytes_init(const fcgid_option* options, size_t option_count, void** state, char* error,
                      size_t error_size) {
    (void)options;
    (void)option_count;
    (void)state;
    (void)error;
    (void)error_size;
    memset(g_chunk, 'x', sizeof g_chunk);
    return FCGID_OK;
}

FCGID_PLUGIN(g_host, "bytes", "0.1.0", bytes_init, bytes_handle, NULL);
