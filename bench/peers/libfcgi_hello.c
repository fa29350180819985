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
 */
#include <stdio.h>
#include <unistd.h>

#include "fcgi_stdio.h"
#include "fcgiapp.h"

int main(int argc, char** argv) {
    if (argc > 1) {
        int fd = FCGX_OpenSocket(argv[1], 1024);
        if (fd < 0 || dup2(fd, 0) < 0) {
            fprintf(stderr, "libfcgi_hello: cannot listen on %s\n", argv[1]);
            return 1;
        }
        if (fd != 0) close(fd);
    }
    while (FCGI_Accept() >= 0) {
        printf("Status: 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>Hello, World!</h1>");
    }
    return 0;
}
