/*
 * write.c - N small writes to stdout (the host sends stdout to a sink).
 * Args: REPS N SIZE      e.g. 5 1000000 16
 * Each iteration is one write(1, buf, SIZE) (one fd_write with one iovec).
 */
#include "bench.h"
#include <unistd.h>

static char buf[4096];

int main(int argc, char **argv) {
    const char *usage = "write REPS N SIZE";
    long reps = arg_long(argc, argv, 1, usage);
    long n = arg_long(argc, argv, 2, usage);
    long size = arg_long(argc, argv, 3, usage);
    if (size <= 0 || size > (long)sizeof buf) size = 16;
    memset(buf, 'x', sizeof buf);
    for (long r = 0; r < reps; r++) {
        uint64_t written = 0;
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            ssize_t w = write(1, buf, (size_t)size);
            if (w < 0) die("write", "stdout");
            written += (uint64_t)w;
        }
        uint64_t t1 = now_ns();
        fprintf(stderr, "ns=%llu check=writes:%ld,bytes:%llu\n",
                (unsigned long long)(t1 - t0), n, (unsigned long long)written);
    }
    return 0;
}
