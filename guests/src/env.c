/*
 * env.c - prints environment variables.
 *
 * Without arguments: prints every entry of `environ`, one per line, in the
 * order the host provided them (each entry is printed verbatim, normally
 * "NAME=VALUE").
 * With arguments: for each NAME in argv[1..], prints "NAME=VALUE" if the
 * variable is set (VALUE may be empty) or "NAME unset" if it is not.
 *
 * exit: 0
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        for (char **e = environ; e != NULL && *e != NULL; e++)
            printf("%s\n", *e);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *value = getenv(argv[i]);
        if (value != NULL)
            printf("%s=%s\n", argv[i], value);
        else
            printf("%s unset\n", argv[i]);
    }
    return 0;
}
