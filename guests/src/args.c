/*
 * args.c - prints its command-line arguments.
 *
 * stdout: "argc=N\n", then "argv[i]=VALUE\n" for i = 0 .. N-1
 * exit:   0
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
}
