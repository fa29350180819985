/*
 * fcgid/plugin.h: the plugin ABI, version 1 (plain C; compiles as C11 and C++).
 *
 * A plugin is a shared library that exports one function, fcgid_plugin_entry.
 * fcgid loads it once at startup, calls the entry point with its own ABI
 * version and a table of host functions, and receives a descriptor with the
 * plugin's ABI version and callbacks:
 *
 *     entry(host ABI, host table) -> descriptor
 *     descriptor->init(options)            once, before anything is served
 *     descriptor->handle(request, response) once per request
 *     descriptor->shutdown(state)          once, after the last request
 *
 * THREADING. fcgid runs one event loop on one thread (the "loop thread").
 * Every callback of the descriptor is called on the loop thread, and the loop
 * is blocked while it runs: a callback must not block (no sleeping, no waiting
 * on a database). Slow work belongs on a thread of the plugin's own, which
 * later completes the response (see "Deferred completion").
 * Host functions say next to them from which threads they may be called.
 * Only response_write and response_write_stderr ever make a plugin thread
 * wait (for the web server to read; the loop thread never waits).
 *
 * CHILD PROCESSES. A plugin may run programs (posix_spawn(), popen(),
 * system(); from its own thread if it waits for them). They inherit none of
 * fcgid's descriptors: the listening socket and the connections are
 * close-on-exec, and a listening socket handed to fcgid on fd 0, 1 or 2 is
 * replaced there by /dev/null. A plugin that fork()s without exec() gets a
 * copy of everything, and must not touch any of it in the child.
 *
 * ERRORS. Host functions and callbacks return int codes: FCGID_OK (0) or a
 * negative FCGID_E* value. No C++ exception may cross this boundary, in either
 * direction: a C++ plugin catches everything in its callbacks (plugin.hpp has
 * a helper for that). Host functions never throw.
 *
 * STRINGS are (pointer, length) pairs and need not be NUL-terminated, except
 * where a parameter says otherwise.
 *
 * COMPATIBILITY. See fcgid/version.h. NEW MEMBERS ARE ADDED AT THE END OF THE
 * STRUCTS ONLY; never reorder or remove one. ABI 1.0 is both structs exactly
 * as declared below (nothing was released before them); a member appended
 * later carries an "ABI 1.N" comment and raises FCGID_ABI_MINOR to N.
 *
 * THE struct_size RULE, the one way every plugin checks what its host has:
 *  1. The entry point returns NULL unless the host's ABI major equals
 *     FCGID_ABI_MAJOR. That is all it checks: every 1.x host has every
 *     member of ABI 1.0, so a member of 1.0 is used without a check.
 *  2. A member added in 1.N (N > 0) is used only where
 *     FCGID_HOST_HAS(host, member) is true (the host is older otherwise);
 *     test it where the member is used, or once in the entry point and
 *     return NULL there if the plugin cannot work without it.
 * FCGID_PLUGIN() below writes an entry point that does (1). The host follows
 * the same rule for the descriptor (FCGID_PLUGIN_HAS), so a plugin built for
 * an older or a newer minor of the same major loads.
 *
 * A MINIMAL C PLUGIN, all of it:
 *
 *     static const fcgid_host_api* g_host;
 *     static int my_handle(void* state, fcgid_request* rq, fcgid_response* rs) {
 *         (void)state; (void)rq;
 *         return g_host->response_write(rs, "hi\n", 3);
 *     }
 *     FCGID_PLUGIN(g_host, "my_app", "1.0.0", NULL, my_handle, NULL);
 */
#ifndef FCGID_PLUGIN_H
#define FCGID_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "fcgid/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FCGID_EXPORT __declspec(dllexport)
#else
#define FCGID_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Result codes ------------------------------------------------------ */

#define FCGID_OK 0
/* handle() only: the plugin keeps the response and completes it later. */
#define FCGID_DEFERRED 1
/* response_write/response_write_stderr on the loop thread only: the bytes
   WERE accepted, but the connection's output buffer is now full
   (--max-output-buffer). Write no more until the callback given to
   response_on_writable runs: that is how the daemon's memory stays bounded
   when the web server reads slowly. (On a plugin thread the write waits
   instead; see response_write.) */
#define FCGID_FULL 2
/* Generic failure of the plugin's own work (handle(), init()). */
#define FCGID_EFAIL (-1)
/* An argument was invalid (NULL pointer, bad status, bad header name...). */
#define FCGID_EINVAL (-2)
/* The call came in the wrong state: headers after the body started, a write
   after finish, a second finish... The call did nothing. */
#define FCGID_ESTATE (-3)
/* A lookup found nothing (params, index out of range). */
#define FCGID_ENOTFOUND (-4)
/* The web server aborted the request or the connection is gone; the call did
   nothing. The plugin should stop work on this request and finish or release
   the response. */
#define FCGID_EABORTED (-5)
/* The host could not allocate memory. */
#define FCGID_ENOMEM (-6)

/* ---- Log levels (for fcgid_host_api.log) -------------------------------- */

#define FCGID_LOG_TRACE 0
#define FCGID_LOG_DEBUG 1
#define FCGID_LOG_INFO 2
#define FCGID_LOG_WARN 3
#define FCGID_LOG_ERROR 4

/* ---- FastCGI roles (fcgid_host_api.request_role) ------------------------ */

#define FCGID_ROLE_RESPONDER 1
#define FCGID_ROLE_AUTHORIZER 2
#define FCGID_ROLE_FILTER 3

/* ---- Opaque handles ----------------------------------------------------- */

/* One FastCGI request: its params and its complete body. Owned by the host.
   Valid from the start of handle() until the plugin has finished or released
   the matching response (see below); immutable during that time, so it may be
   read from any thread while it is valid. */
typedef struct fcgid_request fcgid_request;

/* The response to one request. Owned by the host. Valid from the start of
   handle() until the plugin calls response_finish, response_fail or
   response_release on it (or, when handle() returned anything other than
   FCGID_DEFERRED, until handle() returns). Using it after that is undefined
   behaviour, even if the connection died long before: the host keeps the
   handle alive, not the connection. */
typedef struct fcgid_response fcgid_response;

/* One `--plugin-option KEY=VALUE` from the command line, in command-line
   order. Borrowed: valid only during init(); copy what you keep. */
typedef struct fcgid_option {
    const char* key;   /* NUL-terminated */
    const char* value; /* NUL-terminated; "" when given as KEY= */
} fcgid_option;

/* Called at most once, on the loop thread, when the web server aborts the
   request (FCGI_ABORT_REQUEST) or its connection closes before the response
   was finished. The response stays valid: the plugin must still finish or
   release it (it may do so inside this callback); writes now return
   FCGID_EABORTED. A plugin thread may be about to complete the same response
   while this runs: the plugin decides, under its own lock, which of the two
   completes it (see plugins/echo/delay_timer.cpp for one way). A plugin
   thread waiting in response_write on this response was woken before this
   is called. */
typedef void (*fcgid_abort_callback)(void* user_data, fcgid_response* response);

/* Called once, on the loop thread, when a response's connection can take
   more output again (see FCGID_FULL and response_on_writable). */
typedef void (*fcgid_writable_callback)(void* user_data, fcgid_response* response);

/* A piece of work handed to the loop thread with call_on_loop. */
typedef void (*fcgid_loop_task)(void* user_data);

/* ---- Host functions ----------------------------------------------------- */

/* The table of host functions. Owned by the host, valid from the entry point
   call until shutdown() returns; the plugin keeps the pointer. Each plugin
   gets a table of its own (only `log` differs: see there).
   APPEND NEW MEMBERS AT THE END ONLY. Every member up to call_on_loop is
   ABI 1.0 and needs no check; use a later one only where FCGID_HOST_HAS
   says the host has it (see "THE struct_size RULE" at the top). */
typedef struct fcgid_host_api {
    uint32_t struct_size; /* sizeof(fcgid_host_api) as compiled into the host */
    uint32_t abi_version; /* FCGID_ABI_VERSION of the host */

    /* Writes one line to the daemon's log (stderr, spdlog) under the name of
       the plugin this table was given to, "[name] msg", even after a SIGHUP
       reload has loaded another one beside it. Until the entry point has
       returned, the name is the plugin's file name. `msg` is borrowed for
       the call; no trailing newline needed.
       Any thread, any time until shutdown() returns. */
    void (*log)(int level, const char* msg, size_t len);

    /* -- Request (any thread, while the request is valid) -- */

    /* The FastCGI role: FCGID_ROLE_RESPONDER for every request handled in
       ABI 1 (fcgid answers other roles itself). */
    int (*request_role)(const fcgid_request* request);

    /* Looks up a param by exact, case-sensitive name. On FCGID_OK, *value and
       *value_len describe the value (borrowed, valid as long as the request;
       NUL-terminated as a convenience). FCGID_ENOTFOUND if absent. If a name
       occurs more than once, the first occurrence wins. */
    int (*request_param)(const fcgid_request* request, const char* name, size_t name_len,
                         const char** value, size_t* value_len);

    /* Number of params, and the index-th one in the order the web server sent
       them (FCGID_ENOTFOUND past the end). Pointers as for request_param;
       names are NUL-terminated too. */
    size_t (*request_param_count)(const fcgid_request* request);
    int (*request_param_at)(const fcgid_request* request, size_t index, const char** name,
                            size_t* name_len, const char** value, size_t* value_len);

    /* The complete request body (FCGI_STDIN), received before handle() was
       called. Borrowed, valid as long as the request. *len may be 0, in which
       case *data is a valid non-NULL pointer. */
    int (*request_body)(const fcgid_request* request, const void** data, size_t* len);

    /* -- Response --
       Any thread. Called on the loop thread (inside a callback), each call
       takes effect before it returns and its result says what happened. Called
       from any other thread, the host copies the arguments, hands the call to
       the loop and returns FCGID_OK at once (response_write and
       response_write_stderr may wait first, see there); calls made from one
       thread take effect in the order they were made, and a failure is logged
       instead of returned. Calls on one response from different threads are each safe
       (the loop serialises them) and take effect in the order they reach the
       loop; the plugin orders them itself if the order matters.

       EXACTLY ONE of response_finish, response_fail or response_release ends
       the plugin's hold on a response. It may come from any thread, from
       inside the abort callback, and even from a plugin thread before handle()
       has returned FCGID_DEFERRED. After it, the handle may already be freed
       or reused for another request: using it again is undefined behaviour. */

    /* Sets the HTTP status (100..999, default 200). Only before the first
       body byte was written, else FCGID_ESTATE; FCGID_EABORTED after an
       abort. */
    int (*response_set_status)(fcgid_response* response, int status);

    /* Adds a response header; repeatable (several Set-Cookie lines are kept
       in order). Name and value are copied. The name must be a non-empty
       token; neither may contain CR or LF (FCGID_EINVAL). "Status" is not a
       header here: use response_set_status. Only before the first body byte,
       else FCGID_ESTATE; FCGID_EABORTED after an abort. */
    int (*response_add_header)(fcgid_response* response, const char* name, size_t name_len,
                               const char* value, size_t value_len);

    /* Appends body bytes (copied). The first write sends the status line and
       headers; bytes are streamed to the web server as they are written.
       Returns FCGID_OK, or FCGID_FULL when the bytes were taken but the
       connection's output buffer is full: stop writing and continue from the
       response_on_writable callback (a plugin that ignores FCGID_FULL still
       works, but makes the daemon buffer its whole output). len == 0 is a
       no-op. FCGID_EABORTED after an abort, FCGID_ESTATE after finish.

       From a plugin thread the bytes are copied and handed to the loop as
       above, and then the CALL WAITS while the connection's output, counting
       bytes handed over but not yet taken by the loop, is at or over
       --max-output-buffer: until the loop has taken them and the web server
       has read the output down to half the limit, or until the response ends
       (aborted, completed, released, or its connection gone). It returns
       FCGID_OK, or FCGID_EABORTED if the request was aborted by the time it
       returns; never FCGID_FULL. So a thread may simply write in a loop: the
       daemon holds about --max-output-buffer per connection plus one write's
       bytes per writing thread (a single write larger than the limit is
       taken whole, then waits to drain). The loop thread itself never waits.
       Guaranteed:
        - a write waiting here is woken before the abort callback is called
          and returns without needing the loop, and once a response is
          aborted no host function waits, so the abort callback may take a
          lock the writing thread holds across the write: it then waits for
          the plugin's own code only, never for the web server;
        - every way a response ends wakes its writers: an abort by the web
          server or its connection closing, --write-timeout, --request-timeout,
          and a drain cut short by --shutdown-timeout (which aborts what is
          left before shutdown() runs), so shutdown() may join the threads.
       Not allowed: making the loop thread wait for a writing thread, which
       waits for the loop. handle(), writable callbacks and call_on_loop
       tasks must not wait for a lock the writing thread holds across the
       write, nor for that thread (handle() must not block anyway). */
    int (*response_write)(fcgid_response* response, const void* data, size_t len);

    /* Sends text to the web server's error log (FCGI_STDERR), copied. Does not
       affect the HTTP response. Same states, and the same waiting on a plugin
       thread, as response_write. */
    int (*response_write_stderr)(fcgid_response* response, const void* data, size_t len);

    /* Completes the response: sends headers if not yet sent and ends the
       request. The handle is invalid afterwards. Also valid after an abort
       (it then only releases the handle). */
    int (*response_finish)(fcgid_response* response);

    /* Completes the response as a failure: if nothing was sent yet, the web
       server gets a 500 with an empty body; otherwise the output is cut short
       where it is. `reason` (copied; may be NULL) goes to the daemon's log
       with the request's URI. The handle is invalid afterwards. */
    int (*response_fail)(fcgid_response* response, const char* reason, size_t reason_len);

    /* Gives up the handle without completing the response. Meant for after an
       abort; if the response was not aborted, it is treated as response_fail.
       The handle is invalid afterwards. */
    int (*response_release)(fcgid_response* response);

    /* Registers the abort callback for this response (replacing an earlier
       one; NULL removes it). Loop thread only (normally inside handle()).
       If the response was already aborted, returns FCGID_EABORTED and does not
       call back. */
    int (*response_on_abort)(fcgid_response* response, fcgid_abort_callback callback,
                             void* user_data);

    /* 1 if the request was aborted or its connection is gone, else 0.
       Any thread; a hint only, since the answer may change right after. */
    int (*response_is_aborted)(const fcgid_response* response);

    /* Registers a one-shot callback that runs on the loop thread once the
       response's connection has drained its output buffer (to half of
       --max-output-buffer), or soon after this call if it already has.
       Replaces an earlier one; NULL removes it. Not called once the response
       is aborted (the abort callback is). Loop thread only, else
       FCGID_ESTATE; FCGID_EABORTED if already aborted. */
    int (*response_on_writable)(fcgid_response* response, fcgid_writable_callback callback,
                                void* user_data);

    /* Runs task(user_data) on the loop thread, soon, after the calls this
       thread made before it. Any thread; the way for a plugin thread to do
       loop-only things (response_on_writable, response_on_abort).
       FCGID_ENOMEM if it could not be queued. Tasks still queued when the
       daemon stops are dropped without running. */
    int (*call_on_loop)(fcgid_loop_task task, void* user_data);

    /* ABI 1.1 and later: ADD NEW MEMBERS HERE, AT THE END ONLY, each with an
       "ABI 1.N" comment, and raise FCGID_ABI_MINOR (version.h). */
} fcgid_host_api;

/* True if `host` (a const fcgid_host_api*) has `member`, i.e. its
   struct_size covers it. Needed only for members added after ABI 1.0 (see
   "THE struct_size RULE"). */
#define FCGID_HOST_HAS(host, member) \
    ((host)->struct_size >= offsetof(fcgid_host_api, member) + sizeof((host)->member))

/* ---- The plugin's descriptor -------------------------------------------- */

/* Returned by the entry point. Owned by the plugin; must stay valid and
   unchanged until shutdown() returns (a static const object is ideal).
   APPEND NEW MEMBERS AT THE END ONLY. */
typedef struct fcgid_plugin {
    uint32_t struct_size; /* sizeof(fcgid_plugin) as compiled into the plugin */
    uint32_t abi_version; /* FCGID_ABI_VERSION the plugin was built against */
    const char* name;     /* NUL-terminated, short, for logs; not NULL */
    const char* version;  /* NUL-terminated, for logs; may be NULL */

    /* Called once, on the loop thread, before anything is served. `options`
       are borrowed for the call. Store per-process state in *state (passed
       back to handle() and shutdown()). On failure return a negative code and
       write a one-line, NUL-terminated reason into `error` (host-owned,
       `error_size` bytes, at least 256): fcgid prints it and exits non-zero.
       May be NULL (nothing to initialise). */
    int (*init)(const fcgid_option* options, size_t option_count, void** state, char* error,
                size_t error_size);

    /* Called on the loop thread for each request, after its params and whole
       body have arrived. Must not block.
       Returns:
        - FCGID_OK: the response is complete when handle() returns. The host
          finishes it if the plugin did not; the handles are invalid after.
          (FCGID_FULL, passed on from a last write, is taken as FCGID_OK.)
        - FCGID_DEFERRED: the plugin keeps the response (and the request) and
          will call response_finish/response_fail/response_release on it
          later, from any thread. The loop goes on serving other requests.
        - a negative code: failure. The web server gets a 500 if nothing was
          sent yet (otherwise the output is cut short), fcgid logs a line,
          and the next request is served normally. The handles are invalid
          after. */
    int (*handle)(void* state, fcgid_request* request, fcgid_response* response);

    /* Called once, on the loop thread, after the last request was handled or
       abandoned (a drain that timed out), or, after a SIGHUP reload, once no
       request is held by this (old) instance any more; its library stays
       loaded, so tasks it queued with call_on_loop still find their code,
       but they run after shutdown() and must not touch freed state.
       Responses still deferred at this point were already aborted by the
       host (abort callbacks ran); their handles stay valid only until
       shutdown() returns. The plugin stops and joins its
       threads here and frees *state. No host function may be called after it
       returns. May be NULL. */
    void (*shutdown)(void* state);

    /* ABI 1.1 and later: ADD NEW MEMBERS HERE, AT THE END ONLY, each with an
       "ABI 1.N" comment, and raise FCGID_ABI_MINOR (version.h). */
} fcgid_plugin;

/* The host's side of the rule: true if the descriptor `plugin` has `member`.
   fcgid reads a descriptor member added after ABI 1.0 only where this holds. */
#define FCGID_PLUGIN_HAS(plugin, member) \
    ((plugin)->struct_size >= offsetof(fcgid_plugin, member) + sizeof((plugin)->member))

/* ---- The entry point ----------------------------------------------------- */

/* The one symbol a plugin exports, with C linkage and default visibility.
   Called once per load, on the loop thread, before init(). `host_abi_version`
   is the host's FCGID_ABI_VERSION; `host` stays valid until shutdown()
   returns. Return the descriptor, or NULL to refuse this host (fcgid then
   exits with an error naming both versions). */
#define FCGID_PLUGIN_ENTRY_NAME "fcgid_plugin_entry"
typedef const fcgid_plugin* (*fcgid_plugin_entry_fn)(uint32_t host_abi_version,
                                                     const fcgid_host_api* host);
FCGID_EXPORT const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,
                                                    const fcgid_host_api* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* ---- The entry point in one line ----------------------------------------- */

/* FCGID_PLUGIN(host_var, name, version, init, handle, shutdown);
   Defines the descriptor and the entry point of a plugin, following "THE
   struct_size RULE": the entry point refuses a host of another ABI major,
   stores the host table in `host_var` (a `static const fcgid_host_api*` the
   plugin declared before its callbacks, which use it) and returns the
   descriptor. `name` and `version` are string literals (version may be
   NULL); init and shutdown may be NULL. Use it once, at file scope (in C++
   outside any namespace, so the entry point keeps C linkage).

   It stands for the long form, which a plugin writes itself when its entry
   point must do more (refuse a host that lacks a 1.N member, say):

       static const fcgid_plugin k_descriptor = {
           .struct_size = sizeof(fcgid_plugin),
           .abi_version = FCGID_ABI_VERSION,
           .name = name, .version = version,
           .init = init, .handle = handle, .shutdown = shutdown,
       };
       const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,
                                              const fcgid_host_api* host) {
           if (host == NULL ||
               FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR)
               return NULL;
           host_var = host;
           return &k_descriptor;
       }

   The descriptor is initialised by position because C++17 (which
   plugin.hpp supports) has no designated initialisers; the order is the
   struct's and tests/abi pins it. The trailing declaration only makes the
   macro take a semicolon like a statement. */
#define FCGID_PLUGIN(host_var, name, version, init, handle, shutdown)                        \
    static const fcgid_plugin fcgid_plugin_descriptor_ = {                                  \
        sizeof(fcgid_plugin), FCGID_ABI_VERSION, (name), (version), (init), (handle),       \
        (shutdown)};                                                                        \
    FCGID_EXPORT const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,          \
                                                        const fcgid_host_api* host) {       \
        if (host == NULL || FCGID_ABI_VERSION_MAJOR_OF(host_abi_version) != FCGID_ABI_MAJOR) \
            return NULL;                                                                    \
        (host_var) = host;                                                                  \
        return &fcgid_plugin_descriptor_;                                                   \
    }                                                                                       \
    FCGID_EXPORT const fcgid_plugin* fcgid_plugin_entry(uint32_t host_abi_version,          \
                                                        const fcgid_host_api* host)

#endif /* FCGID_PLUGIN_H */
