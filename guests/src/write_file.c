/*
 * write_file.c - creates/truncates a file and writes text to it.
 *
 * Args: PATH TEXT
 * Opens PATH with O_WRONLY|O_CREAT|O_TRUNC (mode 0644), writes TEXT exactly
 * (no newline is added), and closes it.
 *
 * stdout: nothing
 * stderr: "write_file: PATH: <strerror(errno)>\n" if open, write or close
 *         fails (e.g. on a read-only mount);
 *         "usage: write_file PATH TEXT\n" if the argument count is wrong
 * exit:   0 on success, 1 on I/O error, 2 on usage error
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *path) {
    fprintf(stderr, "write_file: %s: %s\n", path, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fputs("usage: write_file PATH TEXT\n", stderr);
        return 2;
    }
    const char *path = argv[1];
    const char *text = argv[2];
    size_t len = strlen(text);

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail(path);

    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return fail(path);
        }
        text += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0)
        return fail(path);
    return 0;
}
