/*
 * mkdir_rmdir.c - exercises mkdir, rmdir, unlink and stat under a base dir.
 *
 * Args: BASE (an existing, writable directory; a trailing "/" is ignored).
 *
 * Steps, each printed on stdout as "STEP: ok" when it succeeds:
 *   mkdir a            mkdir("BASE/a", 0755)
 *   mkdir a/b          mkdir("BASE/a/b", 0755)
 *   write a/b/f.txt    create BASE/a/b/f.txt with content "data\n"
 *   read a/b/f.txt     read it back and compare with "data\n"
 *   rmdir nonempty     rmdir("BASE/a") must fail with ENOTEMPTY; prints
 *                      "rmdir nonempty: ENOTEMPTY" (or the actual errno
 *                      name, or "succeeded", which are failures)
 *   unlink a/b/f.txt   unlink the file
 *   rmdir a/b          rmdir("BASE/a/b")
 *   rmdir a            rmdir("BASE/a")
 *   stat a             stat("BASE/a") must fail with ENOENT; prints
 *                      "stat a: ENOENT" (or the actual errno name, or
 *                      "exists", which are failures)
 * then "ok".
 *
 * Expected stdout on success (exit 0):
 *   mkdir a: ok
 *   mkdir a/b: ok
 *   write a/b/f.txt: ok
 *   read a/b/f.txt: ok
 *   rmdir nonempty: ENOTEMPTY
 *   unlink a/b/f.txt: ok
 *   rmdir a/b: ok
 *   rmdir a: ok
 *   stat a: ENOENT
 *   ok
 *
 * On the first failing step, its line is printed as "STEP: ERRNAME" (e.g.
 * "mkdir a: EACCES"; "read a/b/f.txt: mismatch" for wrong content),
 * "mkdir_rmdir: STEP: <strerror>" goes to stderr, nothing further is done
 * and the exit code is 1. Wrong argument count: usage on stderr, exit 2.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Symbolic name of an errno value (WASI errno set of wasi-libc). */
static const char *errno_name(int e) {
    switch (e) {
    case E2BIG: return "E2BIG";
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case EALREADY: return "EALREADY";
    case EBADF: return "EBADF";
    case EBADMSG: return "EBADMSG";
    case EBUSY: return "EBUSY";
    case ECANCELED: return "ECANCELED";
    case ECHILD: return "ECHILD";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EDEADLK: return "EDEADLK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EDOM: return "EDOM";
    case EDQUOT: return "EDQUOT";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EFBIG: return "EFBIG";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EIDRM: return "EIDRM";
    case EILSEQ: return "EILSEQ";
    case EINPROGRESS: return "EINPROGRESS";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISCONN: return "EISCONN";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case EMLINK: return "EMLINK";
    case EMSGSIZE: return "EMSGSIZE";
    case EMULTIHOP: return "EMULTIHOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENETDOWN: return "ENETDOWN";
    case ENETRESET: return "ENETRESET";
    case ENETUNREACH: return "ENETUNREACH";
    case ENFILE: return "ENFILE";
    case ENOBUFS: return "ENOBUFS";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case ENOEXEC: return "ENOEXEC";
    case ENOLCK: return "ENOLCK";
    case ENOLINK: return "ENOLINK";
    case ENOMEM: return "ENOMEM";
    case ENOMSG: return "ENOMSG";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case ENOTCONN: return "ENOTCONN";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTSUP: return "ENOTSUP";
    case ENOTTY: return "ENOTTY";
    case ENXIO: return "ENXIO";
    case EOVERFLOW: return "EOVERFLOW";
    case EOWNERDEAD: return "EOWNERDEAD";
    case EPERM: return "EPERM";
    case EPIPE: return "EPIPE";
    case EPROTO: return "EPROTO";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ERANGE: return "ERANGE";
    case EROFS: return "EROFS";
    case ESPIPE: return "ESPIPE";
    case ESRCH: return "ESRCH";
    case ESTALE: return "ESTALE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ETXTBSY: return "ETXTBSY";
    case EXDEV: return "EXDEV";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "EUNKNOWN";
    }
}

static char base[4096];

/* Returns "BASE/rel" in a static buffer (one of two, so two may be live). */
static const char *path(const char *rel) {
    static char bufs[2][4200];
    static int which;
    char *p = bufs[which ^= 1];
    snprintf(p, sizeof bufs[0], "%s/%s", base, rel);
    return p;
}

static void step_ok(const char *step) {
    printf("%s: ok\n", step);
}

/* Reports a failed step (errno-based) and exits 1. */
static void step_fail(const char *step) {
    int e = errno;
    printf("%s: %s\n", step, errno_name(e));
    fflush(stdout);
    fprintf(stderr, "mkdir_rmdir: %s: %s\n", step, strerror(e));
    exit(1);
}

/* Reports a failed step with a custom word (no errno) and exits 1. */
static void step_fail_msg(const char *step, const char *msg) {
    printf("%s: %s\n", step, msg);
    fflush(stdout);
    fprintf(stderr, "mkdir_rmdir: %s: %s\n", step, msg);
    exit(1);
}

static const char content[] = "data\n";

static void write_file(const char *step, const char *p) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        step_fail(step);
    size_t len = sizeof content - 1;
    errno = 0;
    if (write(fd, content, len) != (ssize_t)len) {
        if (errno == 0)
            errno = EIO;
        step_fail(step);
    }
    if (close(fd) != 0)
        step_fail(step);
    step_ok(step);
}

static void read_file(const char *step, const char *p) {
    char buf[64];
    size_t len = 0;
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        step_fail(step);
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0)
            step_fail(step);
        if (n == 0 || (len += (size_t)n) == sizeof buf)
            break;
    }
    close(fd);
    if (len != sizeof content - 1 || memcmp(buf, content, len) != 0)
        step_fail_msg(step, "mismatch");
    step_ok(step);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fputs("usage: mkdir_rmdir BASE\n", stderr);
        return 2;
    }
    /* Copy BASE, dropping trailing slashes (but keep a lone "/"). */
    size_t blen = strlen(argv[1]);
    if (blen >= sizeof base) {
        fputs("mkdir_rmdir: BASE too long\n", stderr);
        return 2;
    }
    memcpy(base, argv[1], blen + 1);
    while (blen > 1 && base[blen - 1] == '/')
        base[--blen] = '\0';
    if (strcmp(base, "/") == 0)
        base[0] = '\0'; /* so path() yields "/a", not "//a" */

    if (mkdir(path("a"), 0755) != 0)
        step_fail("mkdir a");
    step_ok("mkdir a");

    if (mkdir(path("a/b"), 0755) != 0)
        step_fail("mkdir a/b");
    step_ok("mkdir a/b");

    write_file("write a/b/f.txt", path("a/b/f.txt"));
    read_file("read a/b/f.txt", path("a/b/f.txt"));

    /* rmdir of a non-empty directory must fail with ENOTEMPTY. */
    if (rmdir(path("a")) == 0)
        step_fail_msg("rmdir nonempty", "succeeded");
    if (errno != ENOTEMPTY)
        step_fail("rmdir nonempty");
    printf("rmdir nonempty: %s\n", errno_name(ENOTEMPTY));

    if (unlink(path("a/b/f.txt")) != 0)
        step_fail("unlink a/b/f.txt");
    step_ok("unlink a/b/f.txt");

    if (rmdir(path("a/b")) != 0)
        step_fail("rmdir a/b");
    step_ok("rmdir a/b");

    if (rmdir(path("a")) != 0)
        step_fail("rmdir a");
    step_ok("rmdir a");

    /* The removed directory must be gone. */
    struct stat st;
    if (stat(path("a"), &st) == 0)
        step_fail_msg("stat a", "exists");
    if (errno != ENOENT)
        step_fail("stat a");
    printf("stat a: %s\n", errno_name(ENOENT));

    puts("ok");
    return 0;
}
