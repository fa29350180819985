/* faulty.so: a plugin with the bugs real plugins have, chosen per request by
   the query string, for the crash-containment tests (tests/process and
   tests/interop). Any other query answers 200 "ok".

     ?crash          dereferences NULL in handle() (SIGSEGV)
     ?abort-thread   answers 200, then a thread of its own calls abort()
     ?leak=N         answers 200 and keeps N MiB it never frees
     ?hang           never returns from handle()

   --plugin-option fail_init_if=PATH: init() crashes (SIGSEGV) while PATH
   exists: a build that cannot start. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgid/plugin.h"

static const fcgid_host_api* g_host;

/* What ?leak=N keeps: each block points to the one before. Reachable from
   here, so the compiler cannot drop the allocation as unused. */
static void* volatile g_kept;

/* A real NULL dereference. Not instrumented: in the sanitizer build,
   UndefinedBehaviorSanitizer would otherwise stop the process at the store
   (exit 1) before the SIGSEGV the tests are about. */
static int* volatile g_nowhere = NULL; /* volatile: the compiler cannot see it is NULL */
__attribute__((noinline, no_sanitize("undefined"))) static void dereference_null(void) {
    *g_nowhere = 1;
}

static int query_is(const char* query, size_t length, const char* word) {
    return length == strlen(word) && memcmp(query, word, length) == 0;
}

static void* abort_soon(void* unused) {
    (void)unused;
    usleep(1000);
    abort();
}

static int answer(fcgid_response* response, const char* body) {
    int rc = g_host->response_add_header(response, "Content-Type", 12, "text/plain", 10);
    if (rc != FCGID_OK) return rc;
    return g_host->response_write(response, body, strlen(body));
}

static int faulty_handle(void* state, fcgid_request* request, fcgid_response* response) {
    const char* query = "";
    size_t length = 0;
    (void)state;
    g_host->request_param(request, "QUERY_STRING", 12, &query, &length);
    if (query_is(query, length, "crash")) {
        dereference_null();
    } else if (query_is(query, length, "abort-thread")) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, abort_soon, NULL) == 0) pthread_detach(thread);
    } else if (length > 5 && memcmp(query, "leak=", 5) == 0) {
        const size_t bytes = (size_t)atoi(query + 5) * 1024 * 1024;
        char* kept = malloc(bytes);
        if (kept != NULL && bytes >= sizeof(void*)) {
            memset(kept, 1, bytes); /* resident, not just reserved */
            void* previous = g_kept;
            memcpy(kept, &previous, sizeof previous);
            g_kept = kept;
        }
    } else if (query_is(query, length, "hang")) {
        for (;;) pause();
    }
    return answer(response, "ok\n");
}

static int faulty_init(const fcgid_option* options, size_t option_count, void** state, char* error,
                       size_t error_size) {
    size_t i;
    (void)state;
    (void)error;
    (void)error_size;
    for (i = 0; i < option_count; ++i) {
        if (strcmp(options[i].key, "fail_init_if") == 0 && access(options[i].value, F_OK) == 0) {
            dereference_null();
        }
    }
    return FCGID_OK;
}

FCGID_PLUGIN(g_host, "faulty", "0.1.0", faulty_init, faulty_handle, NULL);
