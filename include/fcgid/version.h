/*
 * fcgid/version.h: the single source of truth for version numbers.
 *
 * Two independent numbers live here:
 *  - the product version (FCGID_VERSION_*), what `fcgid --version` prints;
 *  - the plugin ABI version (FCGID_ABI_*), what a plugin is checked against.
 *
 * ABI RULES (a plugin built today must load next year):
 *  - Appending a member at the END of fcgid_host_api or fcgid_plugin bumps
 *    FCGID_ABI_MINOR. Older plugins keep working; the host reads optional
 *    plugin fields only when the plugin's struct_size covers them.
 *  - Removing, reordering or changing the type of any member, or changing the
 *    meaning of a function, bumps FCGID_ABI_MAJOR. The host refuses a plugin
 *    built for another major version.
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
