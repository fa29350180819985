/* slow_init.so: init() returns only once the file named by
   --plugin-option until=PATH exists (checked every 10 ms, 20 s at most,
   then it fails), so a test decides when the plugin has started and can
   look at the process while it is still starting (/ready of
   --metrics-listen). Logs "slow_init: waiting for PATH" first. Answers
   every request 200 with the body echoed (plain_answer.h). */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plain_answer.h"

static const fcgid_host_api* g_host = NULL;

static int slow_init_init(const fcgid_option* options, size_t option_count, void** state, char* error,
                          size_t error_size) {
    (void)state;
    const char* until = NULL;
    for (size_t i = 0; i < option_count; ++i)
        if (strcmp(options[i].key, "until") == 0) until = options[i].value;
    if (until == NULL) {
        snprintf(error, error_size, "slow_init needs --plugin-option until=PATH");
        return FCGID_EINVAL;
    }
    plain_log(g_host, "slow_init: waiting for %s", until);
    for (int i = 0; i < 2000; ++i) {
        if (access(until, F_OK) == 0) return FCGID_OK;
        const struct timespec interval = {0, 10 * 1000 * 1000};  /* the poll interval */
        nanosleep(&interval, NULL);
    }
    snprintf(error, error_size, "slow_init: %s did not appear within 20 s", until);
    return FCGID_EFAIL;
}

static int slow_init_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    return plain_answer(g_host, request, response);
}

FCGID_PLUGIN(g_host, "slow_init", "0.1.0", slow_init_init, slow_init_handle, NULL);
