/*
 * clock.c - N calls of clock_gettime(CLOCK_MONOTONIC) (clock_time_get).
 * Args: REPS N      e.g. 5 1000000
 */
#include "bench.h"

int main(int argc, char **argv) {
    const char *usage = "clock REPS N";
    long reps = arg_long(argc, argv, 1, usage);
    long n = arg_long(argc, argv, 2, usage);
    for (long r = 0; r < reps; r++) {
        long backwards = 0;
        uint64_t prev = 0;
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            struct timespec ts;
            if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime", NULL);
            uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            backwards += t < prev;
            prev = t;
        }
        uint64_t t1 = now_ns();
        fprintf(stderr, "ns=%llu check=calls:%ld,backwards:%ld\n",
                (unsigned long long)(t1 - t0), n, backwards);
    }
    return 0;
}
