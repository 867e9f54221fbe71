/*
 * cat.c - copies files (or stdin) to stdout.
 *
 * Args: zero or more paths. Each path is opened read-only and its bytes are
 * copied to stdout, in argument order. With no arguments, stdin is copied to
 * stdout (the "echo stdin" test).
 *
 * stdout: the concatenated bytes, unmodified
 * stderr: "cat: PATH: <strerror(errno)>\n" for each path that cannot be
 *         opened or read ("cat: stdin: ..." / "cat: stdout: ..." for the
 *         standard streams); remaining paths are still processed.
 * exit:   0 if everything was copied, 1 if any error occurred
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes all of buf to fd 1; returns 0 or -1 (errno set). */
static int write_all(const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies fd to stdout; name is used in error messages. Returns 0 or 1. */
static int copy_fd(int fd, const char *name) {
    static char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "cat: %s: %s\n", name, strerror(errno));
            return 1;
        }
        if (write_all(buf, (size_t)n) != 0) {
            fprintf(stderr, "cat: stdout: %s\n", strerror(errno));
            return 1;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2)
        return copy_fd(STDIN_FILENO, "stdin");

    int status = 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        status |= copy_fd(fd, argv[i]);
        close(fd);
    }
    return status;
}
