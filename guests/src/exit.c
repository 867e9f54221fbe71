/*
 * exit.c - exits with a given status via exit().
 *
 * Args: [CODE]  decimal integer, default 0. The value is passed to exit()
 *               unchanged (WASI proc_exit receives it as a u32; the host
 *               decides how to present codes outside 0..255).
 *
 * stdout: nothing
 * stderr: "exit: invalid code: ARG\n" if CODE is not a decimal integer
 * exit:   CODE (2 if CODE is invalid)
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int code = 0;
    if (argc > 1) {
        char *end;
        errno = 0;
        long v = strtol(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end != '\0' ||
            v < INT_MIN || v > INT_MAX) {
            fprintf(stderr, "exit: invalid code: %s\n", argv[1]);
            exit(2);
        }
        code = (int)v;
    }
    exit(code);
}
