/*
 * clock.c - prints clock readings and resolutions in nanoseconds.
 *
 * stdout (4 lines, all values unsigned decimal nanoseconds):
 *   realtime=<ns>        clock_gettime(CLOCK_REALTIME)
 *   monotonic=<ns>       clock_gettime(CLOCK_MONOTONIC)
 *   res_realtime=<ns>    clock_getres(CLOCK_REALTIME)
 *   res_monotonic=<ns>   clock_getres(CLOCK_MONOTONIC)
 * Each value is tv_sec * 1000000000 + tv_nsec, so a host clock returning a
 * fixed WASI timestamp T prints exactly T.
 *
 * On failure: "clock: <call> <clock>: <strerror>" on stderr, exit 1.
 * exit: 0 on success
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static unsigned long long to_ns(const struct timespec *ts) {
    return (unsigned long long)ts->tv_sec * 1000000000ULL +
           (unsigned long long)ts->tv_nsec;
}

/* Calls fn(id, &ts) and prints "label=<ns>"; returns 0 on success. */
static int report(const char *label, const char *what, clockid_t id,
                  int (*fn)(clockid_t, struct timespec *)) {
    struct timespec ts;
    if (fn(id, &ts) != 0) {
        fprintf(stderr, "clock: %s %s: %s\n", what, label, strerror(errno));
        return -1;
    }
    printf("%s=%llu\n", label, to_ns(&ts));
    return 0;
}

int main(void) {
    int rc = 0;
    rc |= report("realtime", "clock_gettime", CLOCK_REALTIME, clock_gettime);
    rc |= report("monotonic", "clock_gettime", CLOCK_MONOTONIC, clock_gettime);
    rc |= report("res_realtime", "clock_getres", CLOCK_REALTIME, clock_getres);
    rc |= report("res_monotonic", "clock_getres", CLOCK_MONOTONIC, clock_getres);
    return rc != 0 ? 1 : 0;
}
