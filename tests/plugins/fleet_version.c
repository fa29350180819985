/* fleet_version: the plugin of tests/interop/fleet_test.sh, a fleet of fcgid
   hosts behind HAProxy and nginx. Built twice, with -DFLEET_VERSION=1 and
   -DFLEET_VERSION=2 (fleet_version_1.so, fleet_version_2.so), so a rolling
   deploy can be seen in the answers.

   Every answer is 200 with the header "X-Fleet: v<VERSION> <HOST>" and the
   same text as its body, where HOST is --plugin-option host=NAME ("?" when
   not given): the load generator counts answers per version and per host
   from it.

   ?work_ms=N: the answer comes N ms later (at most 10 s), finished from the
   plugin's timer thread (FCGID_DEFERRED), as an app waiting on a database
   would. The loop thread stays free, so requests pile up in flight and
   fcgid's --max-requests answers the ones beyond it FCGI_OVERLOADED: the
   fleet's overload scenario. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, pthread_condattr_setclock */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgid/plugin.h"
#include "plain_answer.h"

#ifndef FLEET_VERSION
#error "build with -DFLEET_VERSION=N"
#endif
#define FLEET_STR2(x) #x
#define FLEET_STR(x) FLEET_STR2(x)

static const fcgid_host_api* g_host;

/* A deferred answer waiting for its time. Every request asks for its own
   delay, so the queue is kept sorted by deadline (short: one per request in
   flight, which --max-requests bounds). */
typedef struct pending {
    struct timespec due;
    fcgid_response* response;
    struct pending* next;
} pending;

typedef struct fleet_state {
    char label[96]; /* "v2 host1" */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pending* queue; /* earliest first */
    int stopping;
    pthread_t timer;
} fleet_state;

static int before(const struct timespec* a, const struct timespec* b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Headers and body of every answer. */
static int fleet_write(const fleet_state* state, fcgid_response* response) {
    static const char name[] = "X-Fleet";
    static const char type_name[] = "Content-Type";
    static const char type[] = "text/plain";
    char body[128];
    int n = snprintf(body, sizeof body, "%s\n", state->label);
    int rc = g_host->response_add_header(response, name, sizeof name - 1, state->label,
                                         strlen(state->label));
    if (rc == FCGID_OK) rc = g_host->response_add_header(response, type_name, sizeof type_name - 1,
                                                         type, sizeof type - 1);
    if (rc == FCGID_OK) rc = g_host->response_write(response, body, (size_t)n);
    return rc == FCGID_FULL ? FCGID_OK : rc;
}

/* The timer thread: finishes each deferred answer when it is due. A response
   the web server aborted meanwhile is finished all the same (the host then
   only releases it), so no abort callback is needed. */
static void* fleet_timer(void* arg) {
    fleet_state* state = arg;
    pthread_mutex_lock(&state->lock);
    while (!state->stopping) {
        if (state->queue == NULL) {
            pthread_cond_wait(&state->wake, &state->lock);
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (before(&now, &state->queue->due)) {
            pthread_cond_timedwait(&state->wake, &state->lock, &state->queue->due);
            continue;
        }
        pending* due = state->queue;
        state->queue = due->next;
        pthread_mutex_unlock(&state->lock);
        if (fleet_write(state, due->response) == FCGID_OK) {
            g_host->response_finish(due->response);
        } else {
            g_host->response_release(due->response);
        }
        free(due);
        pthread_mutex_lock(&state->lock);
    }
    pthread_mutex_unlock(&state->lock);
    return NULL;
}

static int fleet_init(const fcgid_option* options, size_t count, void** out, char* error,
                      size_t error_size) {
    const char* host = "?";
    for (size_t i = 0; i < count; ++i) {
        if (strcmp(options[i].key, "host") == 0) host = options[i].value;
    }
    fleet_state* state = calloc(1, sizeof *state);
    if (state == NULL) {
        snprintf(error, error_size, "out of memory");
        return FCGID_ENOMEM;
    }
    snprintf(state->label, sizeof state->label, "v%s %s", FLEET_STR(FLEET_VERSION), host);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&state->lock, NULL);
    pthread_cond_init(&state->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&state->timer, NULL, fleet_timer, state) != 0) {
        snprintf(error, error_size, "could not start the timer thread");
        free(state);
        return FCGID_EFAIL;
    }
    *out = state;
    return FCGID_OK;
}

static int fleet_handle(void* arg, fcgid_request* request, fcgid_response* response) {
    fleet_state* state = arg;
    const char* work = strstr(plain_query(g_host, request), "work_ms=");
    long ms = work != NULL ? strtol(work + 8, NULL, 10) : 0;
    if (ms <= 0) return fleet_write(state, response);
    if (ms > 10000) ms = 10000;

    pending* item = calloc(1, sizeof *item);
    if (item == NULL) return FCGID_ENOMEM;
    item->response = response;
    clock_gettime(CLOCK_MONOTONIC, &item->due);
    item->due.tv_sec += ms / 1000;
    item->due.tv_nsec += (ms % 1000) * 1000000L;
    if (item->due.tv_nsec >= 1000000000L) {
        item->due.tv_sec += 1;
        item->due.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&state->lock);
    pending** at = &state->queue;
    while (*at != NULL && !before(&item->due, &(*at)->due)) at = &(*at)->next;
    item->next = *at;
    *at = item;
    pthread_cond_signal(&state->wake);
    pthread_mutex_unlock(&state->lock);
    return FCGID_DEFERRED;
}

/* After the last request, or after a drain cut short: answers still queued
   were aborted by the host; they are released here, after the thread that
   could finish them has stopped. */
static void fleet_shutdown(void* arg) {
    fleet_state* state = arg;
    pthread_mutex_lock(&state->lock);
    state->stopping = 1;
    pthread_cond_signal(&state->wake);
    pthread_mutex_unlock(&state->lock);
    pthread_join(state->timer, NULL);
    while (state->queue != NULL) {
        pending* item = state->queue;
        state->queue = item->next;
        g_host->response_release(item->response);
        free(item);
    }
    pthread_cond_destroy(&state->wake);
    pthread_mutex_destroy(&state->lock);
    free(state);
}

static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "fleet_version",
    .version = FLEET_STR(FLEET_VERSION),
    .init = fleet_init,
    .handle = fleet_handle,
    .shutdown = fleet_shutdown,
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) return NULL;
    g_host = host;
    return &k_descriptor;
}
