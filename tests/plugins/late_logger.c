/* late_logger.so: logs from a thread of its own when it is shut down, which
   after a SIGHUP reload is when another plugin is already serving. Pins that
   fcgid_host_api.log writes under the name of the plugin that calls it:
   the line must read "[late_logger] late_logger: thread stops", never carry
   the new plugin's name. init() starts the thread, which waits until
   shutdown() tells it to stop, logs, and ends; shutdown() joins it.
   Requests get plain_answer's 200. */
#include <pthread.h>

#include "fcgid/plugin.h"
#include "plain_answer.h"

static const fcgid_host_api* g_host;

static pthread_t g_thread;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;
static int g_stop;

static void* late_logger_thread(void* unused) {
    static const char line[] = "late_logger: thread stops";
    (void)unused;
    pthread_mutex_lock(&g_lock);
    while (!g_stop) pthread_cond_wait(&g_wake, &g_lock);
    pthread_mutex_unlock(&g_lock);
    g_host->log(FCGID_LOG_INFO, line, sizeof line - 1);
    return NULL;
}

static int late_logger_init(const fcgid_option* options, size_t option_count, void** state,
                            char* error, size_t error_size) {
    (void)options;
    (void)option_count;
    (void)state;
    if (pthread_create(&g_thread, NULL, late_logger_thread, NULL) != 0) {
        snprintf(error, error_size, "late_logger: cannot start its thread");
        return FCGID_EFAIL;
    }
    return FCGID_OK;
}

static int late_logger_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    return plain_answer(g_host, request, response);
}

static void late_logger_shutdown(void* state) {
    (void)state;
    pthread_mutex_lock(&g_lock);
    g_stop = 1;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
    pthread_join(g_thread, NULL);
}

FCGID_PLUGIN(g_host, "late_logger", "0.1.0", late_logger_init, late_logger_handle,
             late_logger_shutdown);
