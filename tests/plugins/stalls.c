/* stalls.so: stalls the loop thread on request, for the stall watchdog tests
   (tests/integration/stall_test.cpp).

   ?spin=MS: handle() busy-loops for MS milliseconds in spin_in_handle(), a
   real stall (no sleep: the loop thread is on the CPU and in plugin code
   all along), then answers 200 "spun".
   ?task_spin=MS: handle() queues a call_on_loop task that busy-loops MS
   milliseconds in spin_in_loop_task(), and answers 200 "queued" at once: a
   stall outside any request.
   ?defer=MS: handle() returns FCGID_DEFERRED at once and a thread of its own
   answers 200 "deferred" MS milliseconds later: a request that takes long
   without blocking the loop, which no stall report may name.
   No query string: 200 with the body echoed (plain_answer.h).

   spin_in_handle is exported (default visibility, and built without the
   plugin link script that exports fcgid_plugin_entry alone): dladdr() then
   names it in the stack of a stall report. A plugin built with
   fcgid_add_plugin() shows its own functions as "plugin.so+0xOFFSET". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Not static, not inlined: a frame of its own, with a name dladdr finds. */
FCGID_EXPORT __attribute__((noinline)) unsigned long spin_in_handle(long long ms) {
    volatile unsigned long turns = 0;
    const long long until = now_ms() + ms;
    while (now_ms() < until)
        for (int i = 0; i < 100000; ++i) turns = turns + 1;
    return turns;
}

static long long g_task_ms = 0;

FCGID_EXPORT __attribute__((noinline)) void spin_in_loop_task(void* user_data) {
    (void)user_data;
    /* Used after the call: not a tail call, so this frame stays on the stack. */
    volatile unsigned long turns = spin_in_handle(g_task_ms);
    (void)turns;
}

static long long query_number(const char* query, const char* key) {
    const size_t n = strlen(key);
    if (strncmp(query, key, n) != 0 || query[n] != '=') return -1;
    return atoll(query + n + 1);
}

typedef struct deferred {
    fcgid_response* response;
    long long ms;
} deferred;

static void* answer_later(void* arg) {
    deferred* d = (deferred*)arg;
    struct timespec wait = {(time_t)(d->ms / 1000), (long)(d->ms % 1000) * 1000000L};
    while (nanosleep(&wait, &wait) != 0) {
    }
    static const char body[] = "deferred";
    g_host->response_write(d->response, body, sizeof body - 1);
    g_host->response_finish(d->response);
    free(d);
    return NULL;
}

static int stalls_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    const char* query = plain_query(g_host, request);
    const long long spin = query_number(query, "spin");
    if (spin >= 0) {
        spin_in_handle(spin);
        static const char body[] = "spun";
        const int rc = g_host->response_write(response, body, sizeof body - 1);
        return rc == FCGID_FULL ? FCGID_OK : rc;
    }
    const long long task_spin = query_number(query, "task_spin");
    if (task_spin >= 0) {
        g_task_ms = task_spin;
        const int rc = g_host->call_on_loop(spin_in_loop_task, NULL);
        if (rc != FCGID_OK) return rc;
        static const char body[] = "queued";
        const int wrc = g_host->response_write(response, body, sizeof body - 1);
        return wrc == FCGID_FULL ? FCGID_OK : wrc;
    }
    const long long defer = query_number(query, "defer");
    if (defer >= 0) {
        deferred* d = (deferred*)malloc(sizeof *d);
        if (d == NULL) return FCGID_ENOMEM;
        d->response = response;
        d->ms = defer;
        pthread_t thread;
        if (pthread_create(&thread, NULL, answer_later, d) != 0) {
            free(d);
            return FCGID_ENOMEM;
        }
        pthread_detach(thread);
        return FCGID_DEFERRED;
    }
    return plain_answer(g_host, request, response);
}

FCGID_PLUGIN(g_host, "stalls", "0.1.0", NULL, stalls_handle, NULL);
