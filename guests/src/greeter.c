/*
 * greeter.c - the quick-start example.
 *
 * Reads names from stdin, one per line, and prints "hello NAME\n" for each.
 * - A final line without a trailing newline is still greeted.
 * - A trailing "\r" (CRLF input) is removed from each line.
 * - Empty lines (after removing "\r") are skipped.
 *
 * stdout: "hello NAME\n" per non-empty line, in input order
 * exit:   0 (1 if reading stdin or writing stdout fails)
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    while ((len = getline(&line, &cap, stdin)) != -1) {
        /* Strip the line terminator ("\n" or "\r\n"), if any. */
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0)
            continue; /* skip empty lines */
        printf("hello %s\n", line);
    }
    free(line);

    if (ferror(stdin)) {
        perror("greeter: stdin");
        return 1;
    }
    if (fflush(stdout) != 0) {
        perror("greeter: stdout");
        return 1;
    }
    return 0;
}
