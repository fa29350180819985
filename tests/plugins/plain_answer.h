/* plain_answer.h: what the misbehaving test plugins do when they are NOT
   asked to misbehave (empty QUERY_STRING): answer 200 with the request body
   echoed back. The hardening tests use that request to prove the daemon still
   serves after a fault, with the very plugin that caused it. Header-only,
   plain C, so the C and C++ plugins share it. */
#ifndef FCGID_TESTS_PLUGINS_PLAIN_ANSWER_H
#define FCGID_TESTS_PLUGINS_PLAIN_ANSWER_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fcgid/plugin.h"

/* The QUERY_STRING param, "" when absent. */
static inline const char* plain_query(const fcgid_host_api* host, const fcgid_request* request) {
    const char* value = NULL;
    size_t len = 0;
    if (host->request_param(request, "QUERY_STRING", 12, &value, &len) != FCGID_OK) return "";
    return value; /* NUL-terminated by the host */
}

/* The REQUEST_URI param, for log lines. */
static inline const char* plain_uri(const fcgid_host_api* host, const fcgid_request* request) {
    const char* value = NULL;
    size_t len = 0;
    if (host->request_param(request, "REQUEST_URI", 11, &value, &len) != FCGID_OK) return "?";
    return value;
}

/* 200, the body echoed back; the host finishes after handle() returns. */
static inline int plain_answer(const fcgid_host_api* host, const fcgid_request* request,
                               fcgid_response* response) {
    const void* body = NULL;
    size_t len = 0;
    int rc = host->request_body(request, &body, &len);
    if (rc != FCGID_OK) return rc;
    rc = host->response_write(response, body, len);
    return rc == FCGID_FULL ? FCGID_OK : rc;
}

/* One formatted line in the daemon's log, at info level. */
static inline void plain_log(const fcgid_host_api* host, const char* format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    host->log(FCGID_LOG_INFO, line, (size_t)n);
}

#endif /* FCGID_TESTS_PLUGINS_PLAIN_ANSWER_H */
