/*
 * plugin.h must stay valid, warning-free strict C11 (-std=c11 -pedantic
 * -Werror), and its ABI 1.0 layout must never move. This file pins both: the
 * _Static_asserts fail the BUILD if a member is reordered, retyped or
 * inserted; appending at the end (an ABI minor bump) keeps them passing.
 * The runtime part calls a C entry point the way the host does.
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

/* The header both structs start with: sizes and versions come first. */
_Static_assert(offsetof(fcgid_host_api, struct_size) == 0, "host struct_size moved");
_Static_assert(offsetof(fcgid_host_api, abi_version) == 4, "host abi_version moved");
_Static_assert(offsetof(fcgid_plugin, struct_size) == 0, "plugin struct_size moved");
_Static_assert(offsetof(fcgid_plugin, abi_version) == 4, "plugin abi_version moved");

/* fcgid_host_api, ABI 1.0 members in order. */
_Static_assert(offsetof(fcgid_host_api, log) == SLOT(0), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, request_role) == SLOT(1), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, request_param) == SLOT(2), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, request_param_count) == SLOT(3), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, request_param_at) == SLOT(4), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, request_body) == SLOT(5), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_set_status) == SLOT(6), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_add_header) == SLOT(7), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_write) == SLOT(8), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_write_stderr) == SLOT(9), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_finish) == SLOT(10), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_fail) == SLOT(11), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_release) == SLOT(12), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_on_abort) == SLOT(13), "host layout changed");
_Static_assert(offsetof(fcgid_host_api, response_is_aborted) == SLOT(14), "host layout changed");
_Static_assert(sizeof(fcgid_host_api) >= SLOT(15), "host table lost a member");

/* fcgid_plugin, ABI 1.0 members in order. */
_Static_assert(offsetof(fcgid_plugin, name) == SLOT(0), "plugin layout changed");
_Static_assert(offsetof(fcgid_plugin, version) == SLOT(1), "plugin layout changed");
_Static_assert(offsetof(fcgid_plugin, init) == SLOT(2), "plugin layout changed");
_Static_assert(offsetof(fcgid_plugin, handle) == SLOT(3), "plugin layout changed");
_Static_assert(offsetof(fcgid_plugin, shutdown) == SLOT(4), "plugin layout changed");
_Static_assert(sizeof(fcgid_plugin) >= SLOT(5), "descriptor lost a member");

_Static_assert(offsetof(fcgid_option, key) == 0, "option layout changed");
_Static_assert(offsetof(fcgid_option, value) == P, "option layout changed");
_Static_assert(sizeof(fcgid_option) == 2 * P, "option layout changed");

/* Version packing and the values of codes plugins compile in. */
_Static_assert(FCGID_ABI_VERSION_MAJOR_OF(FCGID_ABI_VERSION) == FCGID_ABI_MAJOR, "major");
_Static_assert(FCGID_ABI_VERSION_MINOR_OF(FCGID_ABI_VERSION) == FCGID_ABI_MINOR, "minor");
_Static_assert(FCGID_ABI_MAJOR == 1, "ABI major bumped: update this test deliberately");
_Static_assert(FCGID_OK == 0 && FCGID_DEFERRED == 1, "result codes changed");
_Static_assert(FCGID_EFAIL == -1 && FCGID_EINVAL == -2 && FCGID_ESTATE == -3, "codes changed");
_Static_assert(FCGID_ENOTFOUND == -4 && FCGID_EABORTED == -5 && FCGID_ENOMEM == -6, "codes");
_Static_assert(FCGID_LOG_TRACE == 0 && FCGID_LOG_ERROR == 4, "log levels changed");
_Static_assert(FCGID_ROLE_RESPONDER == 1, "roles changed");

/* A plugin written in C11 against the declarations: the definition must
   match the prototype in plugin.h, and designated initializers must work. */
static const fcgid_plugin k_descriptor = {
    .struct_size = sizeof(fcgid_plugin),
    .abi_version = FCGID_ABI_VERSION,
    .name = "abi_c11",
};

const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version, const fcgid_host_api* host) {
    if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) {
        return NULL;
    }
    return &k_descriptor;
}

int main(void) {
    /* Through the typedef, as the host calls it after dlsym. */
    const fcgid_plugin_entry_fn entry = fcgid_plugin_entry;
    fcgid_host_api host;
    const fcgid_plugin* plugin;

    memset(&host, 0, sizeof host);
    host.struct_size = sizeof host;
    host.abi_version = FCGID_ABI_VERSION;

    plugin = entry(FCGID_ABI_VERSION, &host);
    if (plugin == NULL || plugin->struct_size != sizeof(fcgid_plugin) ||
        plugin->abi_version != FCGID_ABI_VERSION || strcmp(plugin->name, "abi_c11") != 0 ||
        plugin->handle != NULL) {
        fprintf(stderr, "plugin_h_c11: descriptor not as built\n");
        return 1;
    }
    if (entry((2u << 16) | 0u, &host) != NULL) {
        fprintf(stderr, "plugin_h_c11: ABI 2 host accepted\n");
        return 1;
    }
    if (strcmp(FCGID_PLUGIN_ENTRY_NAME, "fcgid_plugin_entry") != 0) {
        fprintf(stderr, "plugin_h_c11: entry name changed\n");
        return 1;
    }
    printf("plugin_h_c11: ok (host table %u bytes, descriptor %u bytes)\n",
           (unsigned)sizeof(fcgid_host_api), (unsigned)sizeof(fcgid_plugin));
    return 0;
}
