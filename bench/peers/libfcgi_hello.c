/*
 * The classic libfcgi hello (libfcgi-dev): an FCGI_Accept() loop with
 * fcgi_stdio's printf. One request at a time on one connection at a time;
 * it answers FCGI_GET_VALUES with FCGI_MPXS_CONNS=0.
 *
 *   libfcgi_hello 127.0.0.1:9000    listen on TCP
 *   libfcgi_hello /path/to/sock     listen on a unix socket
 *   libfcgi_hello                   the listening socket is fd 0 (spawn-fcgi)
 *
 * With an address it opens the socket itself and puts it on fd 0, where
 * FCGI_Accept() expects it (FCGI_LISTENSOCK_FILENO).
 *
 * For the large-body rows, as bench/plugins/bytes.c: `?size=N` answers N
 * bytes of body (fwrite 64 KiB at a time), and a request with a body reads
 * all of it (fread into one 64 KiB buffer) and answers its length.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_stdio.h"
#include "fcgiapp.h"

enum { chunk_size = 64 * 1024 };
static char g_chunk[chunk_size];

/* The N of ?size=N, or 0. */
static unsigned long long query_size(void) {
    const char* query = getenv("QUERY_STRING");
    const char* at = query == NULL ? NULL : strstr(query, "size=");
    return at == NULL ? 0 : strtoull(at + 5, NULL, 10);
}

static int answer_bytes(void) {
    unsigned long long left = query_size();
    const char* length = getenv("CONTENT_LENGTH");
    if (length != NULL && atoll(length) > 0) {
        size_t got = 0, n;
        while ((n = fread(g_chunk, 1, sizeof g_chunk, stdin)) > 0) got += n;
        printf("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n%zu\n", got);
        return 1;
    }
    if (left == 0) return 0;
    printf("Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
    while (left > 0) {
        const size_t n = left < chunk_size ? (size_t)left : (size_t)chunk_size;
        fwrite(g_chunk, 1, n, stdout);
        left -= n;
    }
    return 1;
}

int main(int argc, char** argv) {
    if (argc > 1) {
        int fd = FCGX_OpenSocket(argv[1], 1024);
        if (fd < 0 || dup2(fd, 0) < 0) {
            fprintf(stderr, "libfcgi_hello: cannot listen on %s\n", argv[1]);
            return 1;
        }
        if (fd != 0) close(fd);
    }
    memset(g_chunk, 'x', sizeof g_chunk);
    while (FCGI_Accept() >= 0) {
        if (answer_bytes()) continue;
        printf("Status: 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>Hello, World!</h1>");
    }
    return 0;
}
