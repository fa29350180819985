/*
 * busy: hello with a fixed amount of CPU work per request, for measuring how
 * --workers scales when the handler, not the daemon or the load generator,
 * is what limits throughput. hello itself costs so little that on a small
 * machine one worker already keeps up with the load generator.
 *
 * BUSY_ITERATIONS rounds of a multiply-xorshift chain (each round depends on
 * the last, so the compiler cannot fold or vectorize it): about 100 µs on the
 * 2-core machine bench/README.md reports from, the order of a small real
 * handler. The result goes into a header so that the work cannot be
 * optimized away.
 */
#include <stddef.h>
#include <stdio.h>

#include "fcgid/plugin.h"

#ifndef BUSY_ITERATIONS
#define BUSY_ITERATIONS 40000
#endif

static const fcgid_host_api* g_host;

static const char k_body[] = "<h1>Hello, World!</h1>";

static unsigned long long busy_work(void) {
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < BUSY_ITERATIONS; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        x ^= x >> 29;
    }
    return x;
}

static int busy_handle(void* state, fcgid_request* request, fcgid_response* response) {
    static const char work_header[] = "X-Busy-Result";
    char result[32];
    int length;
    int rc;

    (void)state;
    (void)request;
    length = snprintf(result, sizeof result, "%llx", busy_work());
    rc = g_host->response_add_header(response, work_header, sizeof work_header - 1, result,
                                     (size_t)length);
    if (rc != FCGID_OK) return rc;
    return g_host->response_write(response, k_body, sizeof k_body - 1);
}

static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "busy",
    .version = "0.1.0",
    .handle = busy_handle,
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) return NULL;
    if (host->struct_size < offsetof(fcgid_host_api, response_write) + sizeof(host->response_write))
        return NULL;
    g_host = host;
    return &k_descriptor;
}
