/*
 * hello.c - the trivial guest used by the CLI smoke test.
 *
 * stdout: "hello world\n"
 * exit:   0
 */
#include <stdio.h>

int main(void) {
    fputs("hello world\n", stdout);
    return 0;
}
