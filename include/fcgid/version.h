/*
 * fcgid/version.h: the single source of truth for version numbers.
 *
 * Two independent numbers live here:
 *  - the product version (FCGID_VERSION_*), what `fcgid --version` prints;
 *  - the plugin ABI version (FCGID_ABI_*), what a plugin is checked against.
 *
 * ABI 1.0 is fcgid_host_api (struct_size .. call_on_loop) and fcgid_plugin
 * (struct_size .. shutdown) exactly as plugin.h declares them in fcgid 0.1,
 * the first release; members appended while nothing was released yet are
 * part of 1.0, which is why the minor is still 0. tests/abi/plugin_h_c11.c
 * pins that layout and fails the build if a member is appended while the
 * minor stays 0.
 *
 * ABI RULES (a plugin built today must load next year):
 *  - Appending a member at the END of fcgid_host_api or fcgid_plugin bumps
 *    FCGID_ABI_MINOR by one (1.1, 1.2, ...); the member's comment names the
 *    minor that added it.
 *  - Removing, reordering or changing the type of any member, or changing the
 *    meaning of a function, bumps FCGID_ABI_MAJOR and resets the minor to 0.
 *  - A host loads a plugin of its own major whatever the minor:
 *     - an older minor: the host reads a descriptor member newer than 1.0
 *       only when FCGID_PLUGIN_HAS says the plugin has it;
 *     - a newer minor: the host ignores the descriptor members it does not
 *       know, and the plugin uses a host member newer than 1.0 only when
 *       FCGID_HOST_HAS says the host has it (plugin.h, "THE struct_size
 *       RULE"), or refuses the host by returning NULL from its entry point.
 *    It refuses a plugin built for another major, naming both versions.
 *
 * CMakeLists.txt parses this file; keep the #define lines in this form.
 */
#ifndef FCGID_VERSION_H
#define FCGID_VERSION_H

#define FCGID_VERSION_MAJOR 0
#define FCGID_VERSION_MINOR 1
#define FCGID_VERSION_PATCH 0
#define FCGID_VERSION_STRING "0.1.0"

#define FCGID_ABI_MAJOR 1
#define FCGID_ABI_MINOR 0

/* (major << 16) | minor, as carried in the abi_version fields. */
#define FCGID_ABI_VERSION ((FCGID_ABI_MAJOR << 16) | FCGID_ABI_MINOR)
#define FCGID_ABI_VERSION_MAJOR_OF(v) (((v) >> 16) & 0xFFFFu)
#define FCGID_ABI_VERSION_MINOR_OF(v) ((v) & 0xFFFFu)

#endif /* FCGID_VERSION_H */
