/*
 * bench.h - shared helpers of the benchmark guests.
 *
 * Every guest is built twice from the same source: for wasm32-wasi (the
 * committed bench/guests/NAME.wasm, see build.sh) and natively by the benchmark runner.
 * Each one takes REPS as argv[1], runs its measured loop REPS times and, after
 * each repetition, prints one line to stderr:
 *     ns=<elapsed nanoseconds of the loop> [extra=<n>...] check=<summary>
 * The loop is timed by the program itself with clock_gettime(CLOCK_MONOTONIC),
 * so every runtime measures exactly the same code. `check` summarises what the
 * loop saw (byte counts, checksums); it must be identical under every runtime.
 * Built natively, a program also prints its peak RSS ("hwm=<bytes>", from
 * VmHWM of /proc/self/status) when it exits.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what, const char *arg) {
    fprintf(stderr, "error: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    exit(2);
}

static inline long arg_long(int argc, char **argv, int i, const char *usage) {
    if (i >= argc) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    return strtol(argv[i], NULL, 10);
}

static inline const char *arg_str(int argc, char **argv, int i, const char *usage) {
    if (i >= argc) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    return argv[i];
}

#ifndef __wasi__
/* Native builds: report the peak RSS at exit (the runner's wasm children do
 * the same from Rust). */
__attribute__((destructor)) static void report_hwm(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) break;
    fclose(f);
    fprintf(stderr, "hwm=%llu\n", kib * 1024);
}
#endif

#endif
