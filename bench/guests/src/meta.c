/*
 * meta.c - file metadata: N files created and written, stat'ed, listed and
 * unlinked, in a fresh directory DIR/meta.
 * Args: REPS DIR N      e.g. 5 /data 5000
 * Phases (each timed, ns= is their sum):
 *   create  open(O_CREAT|O_WRONLY|O_TRUNC) + write 16 bytes + close, per file
 *   stat    stat() per file
 *   readdir opendir + readdir to the end + closedir
 *   unlink  unlink() per file
 * The directory is made before and removed after the timed phases.
 */
#include "bench.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];

static const char *file_path(const char *dir, long i) {
    snprintf(path, sizeof path, "%s/meta/f%06ld", dir, i);
    return path;
}

int main(int argc, char **argv) {
    const char *usage = "meta REPS DIR N";
    long reps = arg_long(argc, argv, 1, usage);
    const char *dir = arg_str(argc, argv, 2, usage);
    long n = arg_long(argc, argv, 3, usage);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/meta", dir);
    static const char data[16] = "0123456789abcdef";
    for (long r = 0; r < reps; r++) {
        if (mkdir(sub, 0755) != 0) die("mkdir", sub);
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            int fd = open(file_path(dir, i), O_CREAT | O_WRONLY | O_TRUNC, 0644);
            if (fd < 0) die("open", path);
            if (write(fd, data, sizeof data) != (ssize_t)sizeof data) die("write", path);
            if (close(fd) != 0) die("close", path);
        }
        uint64_t t1 = now_ns();
        uint64_t size = 0;
        for (long i = 0; i < n; i++) {
            struct stat st;
            if (stat(file_path(dir, i), &st) != 0) die("stat", path);
            size += (uint64_t)st.st_size;
        }
        uint64_t t2 = now_ns();
        long listed = 0;
        DIR *d = opendir(sub);
        if (d == NULL) die("opendir", sub);
        struct dirent *e;
        while ((errno = 0, e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) listed++;
        if (errno != 0) die("readdir", sub);
        closedir(d);
        uint64_t t3 = now_ns();
        for (long i = 0; i < n; i++)
            if (unlink(file_path(dir, i)) != 0) die("unlink", path);
        uint64_t t4 = now_ns();
        if (rmdir(sub) != 0) die("rmdir", sub);
        fprintf(stderr,
                "ns=%llu create=%llu stat=%llu readdir=%llu unlink=%llu "
                "check=files:%ld,bytes:%llu,listed:%ld\n",
                (unsigned long long)(t4 - t0), (unsigned long long)(t1 - t0),
                (unsigned long long)(t2 - t1), (unsigned long long)(t3 - t2),
                (unsigned long long)(t4 - t3), n, (unsigned long long)size, listed);
    }
    return 0;
}
