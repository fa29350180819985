/*
 * alloc_count.so: counts heap allocations of the process it is preloaded
 * into, for the benchmark's "allocations per request" figure.
 *
 *   ALLOC_COUNT_FILE=/tmp/counts LD_PRELOAD=./alloc_count.so fcgid run ...
 *   kill -USR2 <pid>    appends a snapshot line to ALLOC_COUNT_FILE
 *
 * A line is written on every SIGUSR2 and once at exit:
 *   alloc_count snapshot mallocs=N reallocs=N frees=N bytes=N
 * mallocs counts every call that returns a new block (malloc, calloc, the
 * aligned family; C++ operator new ends up in malloc); reallocs every
 * realloc; bytes what they asked for. The difference between two snapshots
 * is what happened in between (fcgi-bench --signal-pid sends SIGUSR2 when
 * its measuring starts and ends).
 *
 * It forwards to glibc's __libc_* entry points, so it needs no dlsym (which
 * itself allocates) and works from the first allocation on. Without
 * ALLOC_COUNT_FILE the lines go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void* ptr);

static atomic_uint_fast64_t g_mallocs;
static atomic_uint_fast64_t g_reallocs;
static atomic_uint_fast64_t g_frees;
static atomic_uint_fast64_t g_bytes;
static int g_out_fd = 2;

#define EXPORT __attribute__((visibility("default")))

static void count(size_t size) {
    atomic_fetch_add_explicit(&g_mallocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_bytes, size, memory_order_relaxed);
}

EXPORT void* malloc(size_t size) {
    count(size);
    return __libc_malloc(size);
}

EXPORT void* calloc(size_t n, size_t size) {
    count(n * size);
    return __libc_calloc(n, size);
}

EXPORT void* realloc(void* ptr, size_t size) {
    atomic_fetch_add_explicit(&g_reallocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_bytes, size, memory_order_relaxed);
    return __libc_realloc(ptr, size);
}

EXPORT void free(void* ptr) {
    if (ptr != NULL) atomic_fetch_add_explicit(&g_frees, 1, memory_order_relaxed);
    __libc_free(ptr);
}

EXPORT void* memalign(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

EXPORT void* aligned_alloc(size_t alignment, size_t size) {
    return memalign(alignment, size);
}

EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void* p = memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void* valloc(size_t size) {
    return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

/* Async-signal-safe: only write(2) and our own formatting. */
static char* put_text(char* at, const char* text) {
    while (*text) *at++ = *text++;
    return at;
}

static char* put_number(char* at, uint64_t value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0) *at++ = digits[--n];
    return at;
}

static void write_line(const char* what) {
    char line[256];
    char* at = put_text(line, "alloc_count ");
    at = put_text(at, what);
    at = put_text(at, " mallocs=");
    at = put_number(at, atomic_load_explicit(&g_mallocs, memory_order_relaxed));
    at = put_text(at, " reallocs=");
    at = put_number(at, atomic_load_explicit(&g_reallocs, memory_order_relaxed));
    at = put_text(at, " frees=");
    at = put_number(at, atomic_load_explicit(&g_frees, memory_order_relaxed));
    at = put_text(at, " bytes=");
    at = put_number(at, atomic_load_explicit(&g_bytes, memory_order_relaxed));
    *at++ = '\n';
    ssize_t ignored = write(g_out_fd, line, (size_t)(at - line));
    (void)ignored;
}

static void on_sigusr2(int signal_number) {
    int saved = errno;
    (void)signal_number;
    write_line("snapshot");
    errno = saved;
}

__attribute__((constructor)) static void alloc_count_start(void) {
    const char* path = getenv("ALLOC_COUNT_FILE");
    if (path != NULL && *path != '\0') {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) g_out_fd = fd;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigusr2;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR2, &action, NULL);
}

__attribute__((destructor)) static void alloc_count_stop(void) {
    write_line("exit");
}
