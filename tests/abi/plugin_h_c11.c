/*
 * plugin.h must stay valid, warning-free strict C11 (-std=c11 -pedantic
 * -Werror), and ABI 1.0 must never move. This file pins both: every member
 * of both structs (offset AND type), every constant, and the sizes. The
 * _Static_asserts fail the BUILD if a member is reordered, retyped, inserted,
 * or appended while FCGID_ABI_MINOR stays 0 (see version.h: an append
 * raises the minor; then pin the new member here, with its minor).
 * The runtime part calls entry points written with FCGID_PLUGIN the way the
 * host does.
 */
#include "fcgid/plugin.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Layout rule of ABI 1: two uint32_t (8 bytes) then pointer-sized slots.
   P is the size of one slot; the asserts below hold on ILP32 and LP64. */
typedef void (*fcgid_any_fn)(void);
#define P sizeof(fcgid_any_fn)
#define SLOT(k) (8 + (k) * P)

_Static_assert(sizeof(void*) == sizeof(fcgid_any_fn), "data and function pointers differ");
_Static_assert(8 % _Alignof(fcgid_any_fn) == 0, "pointer slots would be padded");

/* True if the expression has exactly type T (_Generic does not convert
   between pointer types, so a changed parameter or result type fails). */
#define HAS_TYPE(expr, T) _Generic((expr), T: 1, default: 0)
/* One member: where it is and what it is. */
#define PIN(type, member, offset, T)                                                      \
    _Static_assert(offsetof(type, member) == (offset), #type "." #member " moved");       \
    _Static_assert(HAS_TYPE(((type*)0)->member, T), #type "." #member " changed type")

/* ---- fcgid_host_api: ABI 1.0, every member in order ---- */
typedef void (*log_fn)(int, const char*, size_t);
typedef int (*role_fn)(const fcgid_request*);
typedef int (*param_fn)(const fcgid_request*, const char*, size_t, const char**, size_t*);
typedef size_t (*param_count_fn)(const fcgid_request*);
typedef int (*param_at_fn)(const fcgid_request*, size_t, const char**, size_t*, const char**,
                           size_t*);
typedef int (*body_fn)(const fcgid_request*, const void**, size_t*);
typedef int (*set_status_fn)(fcgid_response*, int);
typedef int (*add_header_fn)(fcgid_response*, const char*, size_t, const char*, size_t);
typedef int (*write_fn)(fcgid_response*, const void*, size_t);
typedef int (*end_fn)(fcgid_response*);
typedef int (*fail_fn)(fcgid_response*, const char*, size_t);
typedef int (*on_abort_fn)(fcgid_response*, fcgid_abort_callback, void*);
typedef int (*is_aborted_fn)(const fcgid_response*);
typedef int (*on_writable_fn)(fcgid_response*, fcgid_writable_callback, void*);
typedef int (*call_on_loop_fn)(fcgid_loop_task, void*);

PIN(fcgid_host_api, struct_size, 0, uint32_t);
PIN(fcgid_host_api, abi_version, 4, uint32_t);
PIN(fcgid_host_api, log, SLOT(0), log_fn);
PIN(fcgid_host_api, request_role, SLOT(1), role_fn);
PIN(fcgid_host_api, request_param, SLOT(2), param_fn);
PIN(fcgid_host_api, request_param_count, SLOT(3), param_count_fn);
PIN(fcgid_host_api, request_param_at, SLOT(4), param_at_fn);
PIN(fcgid_host_api, request_body, SLOT(5), body_fn);
PIN(fcgid_host_api, response_set_status, SLOT(6), set_status_fn);
PIN(fcgid_host_api, response_add_header, SLOT(7), add_header_fn);
PIN(fcgid_host_api, response_write, SLOT(8), write_fn);
PIN(fcgid_host_api, response_write_stderr, SLOT(9), write_fn);
PIN(fcgid_host_api, response_finish, SLOT(10), end_fn);
PIN(fcgid_host_api, response_fail, SLOT(11), fail_fn);
PIN(fcgid_host_api, response_release, SLOT(12), end_fn);
PIN(fcgid_host_api, response_on_abort, SLOT(13), on_abort_fn);
PIN(fcgid_host_api, response_is_aborted, SLOT(14), is_aborted_fn);
PIN(fcgid_host_api, response_on_writable, SLOT(15), on_writable_fn);
PIN(fcgid_host_api, call_on_loop, SLOT(16), call_on_loop_fn);
/* 17 function slots are ABI 1.0; one more needs a minor bump. */
_Static_assert(sizeof(fcgid_host_api) == SLOT(17) || FCGID_ABI_MINOR > 0,
               "fcgid_host_api grew: raise FCGID_ABI_MINOR and pin the new member");
_Static_assert(sizeof(fcgid_host_api) >= SLOT(17), "fcgid_host_api lost a member");

/* ---- fcgid_plugin: ABI 1.0, every member in order ---- */
typedef int (*init_fn)(const fcgid_option*, size_t, void**, char*, size_t);
typedef int (*handle_fn)(void*, fcgid_request*, fcgid_response*);
typedef void (*shutdown_fn)(void*);

PIN(fcgid_plugin, struct_size, 0, uint32_t);
PIN(fcgid_plugin, abi_version, 4, uint32_t);
PIN(fcgid_plugin, name, SLOT(0), const char*);
PIN(fcgid_plugin, version, SLOT(1), const char*);
PIN(fcgid_plugin, init, SLOT(2), init_fn);
PIN(fcgid_plugin, handle, SLOT(3), handle_fn);
PIN(fcgid_plugin, shutdown, SLOT(4), shutdown_fn);
_Static_assert(sizeof(fcgid_plugin) == SLOT(5) || FCGID_ABI_MINOR > 0,
               "fcgid_plugin grew: raise FCGID_ABI_MINOR and pin the new member");
_Static_assert(sizeof(fcgid_plugin) >= SLOT(5), "fcgid_plugin lost a member");

/* ---- The other types of the ABI ---- */
PIN(fcgid_option, key, 0, const char*);
PIN(fcgid_option, value, P, const char*);
_Static_assert(sizeof(fcgid_option) == 2 * P, "fcgid_option grew");

typedef void (*abort_cb)(void*, fcgid_response*);
typedef void (*writable_cb)(void*, fcgid_response*);
typedef void (*loop_task)(void*);
typedef const fcgid_plugin* (*entry_fn)(uint32_t, const fcgid_host_api*);
_Static_assert(HAS_TYPE((fcgid_abort_callback)0, abort_cb), "fcgid_abort_callback changed");
_Static_assert(HAS_TYPE((fcgid_writable_callback)0, writable_cb), "fcgid_writable_callback changed");
_Static_assert(HAS_TYPE((fcgid_loop_task)0, loop_task), "fcgid_loop_task changed");
_Static_assert(HAS_TYPE((fcgid_plugin_entry_fn)0, entry_fn), "fcgid_plugin_entry_fn changed");
_Static_assert(HAS_TYPE(&fcgid_plugin_entry, entry_fn), "fcgid_plugin_entry changed");

/* ---- Every constant, by value ---- */
_Static_assert(FCGID_ABI_MAJOR == 1, "ABI major bumped: update this test deliberately");
_Static_assert(FCGID_ABI_MINOR == 0, "ABI minor bumped: pin the new members, then this");
_Static_assert(FCGID_ABI_VERSION == 0x00010000, "version packing changed");
_Static_assert(FCGID_ABI_VERSION_MAJOR_OF(0x00020003u) == 2, "FCGID_ABI_VERSION_MAJOR_OF");
_Static_assert(FCGID_ABI_VERSION_MINOR_OF(0x00020003u) == 3, "FCGID_ABI_VERSION_MINOR_OF");
_Static_assert(FCGID_OK == 0 && FCGID_DEFERRED == 1 && FCGID_FULL == 2, "result codes changed");
_Static_assert(FCGID_EFAIL == -1 && FCGID_EINVAL == -2 && FCGID_ESTATE == -3, "codes changed");
_Static_assert(FCGID_ENOTFOUND == -4 && FCGID_EABORTED == -5 && FCGID_ENOMEM == -6, "codes");
_Static_assert(FCGID_LOG_TRACE == 0 && FCGID_LOG_DEBUG == 1 && FCGID_LOG_INFO == 2 &&
                   FCGID_LOG_WARN == 3 && FCGID_LOG_ERROR == 4,
               "log levels changed");
_Static_assert(FCGID_ROLE_RESPONDER == 1 && FCGID_ROLE_AUTHORIZER == 2 && FCGID_ROLE_FILTER == 3,
               "roles changed");
/* FCGID_PLUGIN_ENTRY_NAME is a string: checked at run time below. */

/* ---- A C11 plugin written with FCGID_PLUGIN ---- */
static const fcgid_host_api* g_host;

static int abi_init(const fcgid_option* options, size_t count, void** state, char* error,
                    size_t error_size) {
    (void)options;
    (void)count;
    (void)state;
    (void)error;
    (void)error_size;
    return FCGID_OK;
}
static int abi_handle(void* state, fcgid_request* request, fcgid_response* response) {
    (void)state;
    (void)request;
    (void)response;
    return FCGID_OK;
}
static void abi_shutdown(void* state) { (void)state; }

FCGID_PLUGIN(g_host, "abi_c11", "1.2.3", abi_init, abi_handle, abi_shutdown);

static int g_failures;
static void check(int ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "plugin_h_c11: FAILED: %s\n", what);
        ++g_failures;
    }
}

int main(void) {
    /* Through the typedef, as the host calls it after dlsym. */
    const fcgid_plugin_entry_fn entry = fcgid_plugin_entry;
    fcgid_host_api host;
    const fcgid_plugin* plugin;

    memset(&host, 0, sizeof host);
    host.struct_size = sizeof host;
    host.abi_version = FCGID_ABI_VERSION;

    /* FCGID_PLUGIN's descriptor, member by member (it initialises by position). */
    plugin = entry(FCGID_ABI_VERSION, &host);
    check(plugin != NULL, "entry accepts a host of the same major");
    if (plugin != NULL) {
        check(plugin->struct_size == sizeof(fcgid_plugin), "descriptor struct_size");
        check(plugin->abi_version == FCGID_ABI_VERSION, "descriptor abi_version");
        check(strcmp(plugin->name, "abi_c11") == 0, "descriptor name");
        check(strcmp(plugin->version, "1.2.3") == 0, "descriptor version");
        check(plugin->init == abi_init, "descriptor init");
        check(plugin->handle == abi_handle, "descriptor handle");
        check(plugin->shutdown == abi_shutdown, "descriptor shutdown");
        check(FCGID_PLUGIN_HAS(plugin, shutdown), "FCGID_PLUGIN_HAS: full descriptor");
    }
    check(g_host == &host, "FCGID_PLUGIN stores the host table");
    check(entry(FCGID_ABI_VERSION | 7u, &host) != NULL, "a newer minor of the same major is accepted");
    check(entry((2u << 16) | 0u, &host) == NULL, "an ABI 2 host is refused");
    check(entry(FCGID_ABI_VERSION, NULL) == NULL, "a NULL host is refused");

    /* The struct_size rule's macros. */
    check(FCGID_HOST_HAS(&host, call_on_loop), "FCGID_HOST_HAS: full table");
    host.struct_size = offsetof(fcgid_host_api, call_on_loop);
    check(!FCGID_HOST_HAS(&host, call_on_loop), "FCGID_HOST_HAS: table one member short");
    check(FCGID_HOST_HAS(&host, response_on_writable), "FCGID_HOST_HAS: member before the end");
    {
        fcgid_plugin short_plugin;
        memset(&short_plugin, 0, sizeof short_plugin);
        short_plugin.struct_size = offsetof(fcgid_plugin, shutdown);
        check(!FCGID_PLUGIN_HAS(&short_plugin, shutdown), "FCGID_PLUGIN_HAS: short descriptor");
    }

    check(strcmp(FCGID_PLUGIN_ENTRY_NAME, "fcgid_plugin_entry") == 0, "entry name changed");
    if (g_failures != 0) return 1;
    printf("plugin_h_c11: ok (host table %u bytes, descriptor %u bytes)\n",
           (unsigned)sizeof(fcgid_host_api), (unsigned)sizeof(fcgid_plugin));
    return 0;
}
