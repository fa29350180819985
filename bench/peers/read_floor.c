/*
 * read_floor: the least a FastCGI server can do to take in a request body,
 * for the benchmark's large-upload row: the floor fcgid's CPU per MB is
 * compared with.
 *
 * One thread, blocking sockets, one connection at a time. Each request is
 * read with plain read() into one buffer (grown once to the largest request
 * seen, then reused), only the record headers are looked at, in place, to
 * find the empty STDIN record that ends the request, and a fixed 200 is
 * written back. No params are decoded and no body byte is copied or touched
 * after the kernel put it in the buffer.
 *
 *   read_floor 127.0.0.1:9000
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { header_size = 8, type_stdin = 5, flag_keep_conn = 1 };

static char* g_buffer;
static size_t g_capacity;

/* The answer: STDOUT "Status: 200 OK\r\n\r\n" (18 bytes, padded to 24),
   the empty STDOUT, END_REQUEST. The request id is patched in. */
static unsigned char g_answer[] = {
    1, 6, 0, 1, 0, 18, 6, 0, 'S', 't', 'a', 't', 'u', 's', ':', ' ', '2', '0', '0', ' ', 'O', 'K', '\r', '\n',
    '\r', '\n', 0, 0, 0, 0, 0, 0, 1, 6, 0, 1, 0, 0, 0, 0, 1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int write_all(int fd, const void* data, size_t length) {
    const char* p = data;
    while (length > 0) {
        const ssize_t n = write(fd, p, length);
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Serves one connection until it closes or asks for no keep-alive. */
static void serve(int fd) {
    size_t have = 0;
    for (;;) {
        /* Walk the records in the buffer; stop at the empty STDIN. */
        size_t at = 0;
        int keep = 0, done = 0;
        unsigned char id[2] = {0, 1};
        for (;;) {
            if (have - at < header_size) break;
            const unsigned char* h = (const unsigned char*)g_buffer + at;
            const size_t content = ((size_t)h[4] << 8) | h[5];
            const size_t record = header_size + content + h[6];
            if (have - at < record) break;
            if (h[1] == 1 && content >= 3) keep = (h[header_size + 2] & flag_keep_conn) != 0;
            id[0] = h[2];
            id[1] = h[3];
            at += record;
            if (h[1] == type_stdin && content == 0) {
                done = 1;
                break;
            }
        }
        if (done) {
            g_answer[2] = g_answer[34] = g_answer[42] = id[0];
            g_answer[3] = g_answer[35] = g_answer[43] = id[1];
            if (write_all(fd, g_answer, sizeof g_answer) != 0 || !keep) return;
            memmove(g_buffer, g_buffer + at, have - at);
            have -= at;
            continue;
        }
        if (have == g_capacity) {
            g_capacity *= 2;
            g_buffer = realloc(g_buffer, g_capacity);
            if (g_buffer == NULL) abort();
        }
        const ssize_t n = read(fd, g_buffer + have, g_capacity - have);
        if (n <= 0) return;
        have += (size_t)n;
    }
}

int main(int argc, char** argv) {
    if (argc != 2 || strchr(argv[1], ':') == NULL) {
        fprintf(stderr, "usage: read_floor HOST:PORT\n");
        return 2;
    }
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(argv[1], ':') - argv[1]), argv[1]);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(argv[1], ':') + 1))};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "read_floor: not an IPv4 address: %s\n", host);
        return 2;
    }
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 1024) != 0) {
        perror("read_floor: listen");
        return 1;
    }
    g_capacity = 1 << 20;
    g_buffer = malloc(g_capacity);
    for (;;) {
        const int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        serve(fd);
        close(fd);
    }
}
