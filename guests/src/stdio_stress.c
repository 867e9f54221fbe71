/*
 * stdio_stress.c - reads all of stdin, writes it back in fixed-size chunks.
 *
 * Args: [CHUNK]  positive decimal chunk size in bytes, default 7.
 * Reads stdin until EOF with read(0, ...), then writes the bytes to stdout
 * with write(1, ...) calls of at most CHUNK bytes each (a short write is
 * continued, never dropped), then writes "done\n" to stderr.
 *
 * stdout: exactly the bytes read from stdin
 * stderr: "done\n" on success;
 *         "stdio_stress: <what>: <strerror>\n" on I/O error;
 *         "stdio_stress: invalid chunk size: ARG\n" on a bad argument
 * exit:   0 on success, 1 on I/O error, 2 on bad argument
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int io_error(const char *what) {
    fprintf(stderr, "stdio_stress: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    size_t chunk = 7;
    if (argc > 1) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end != '\0' || v == 0 ||
            argv[1][0] == '-') {
            fprintf(stderr, "stdio_stress: invalid chunk size: %s\n", argv[1]);
            return 2;
        }
        chunk = (size_t)v;
    }

    /* Slurp stdin into a growing buffer. */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *n = realloc(buf, ncap);
            if (n == NULL) {
                errno = ENOMEM;
                return io_error("stdin");
            }
            buf = n;
            cap = ncap;
        }
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error("stdin");
        }
        len += (size_t)n;
    }

    /* Write it back, at most `chunk` bytes per write() call. */
    size_t off = 0;
    while (off < len) {
        size_t want = len - off < chunk ? len - off : chunk;
        ssize_t n = write(STDOUT_FILENO, buf + off, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error("stdout");
        }
        off += (size_t)n;
    }
    free(buf);

    static const char done[] = "done\n";
    if (write(STDERR_FILENO, done, sizeof done - 1) != (ssize_t)(sizeof done - 1))
        return 1;
    return 0;
}
