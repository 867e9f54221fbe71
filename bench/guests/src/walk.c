/*
 * walk.c - a recursive grep-like tree walk: every directory under ROOT is
 * listed (fdopendir/readdir), every entry stat'ed (fstatat, no symlink
 * following), every regular file opened (openat) and read to EOF in 64 KiB
 * reads while counting its newlines and its 'q' bytes.
 * Args: REPS ROOT      e.g. 5 /data/tree
 * check: directories, files, bytes, newlines, hits.
 */
#include "bench.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char buf[65536];
static uint64_t dirs, files, bytes, lines, hits;

static void grep_fd(int fd) {
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) die("read", NULL);
        if (n == 0) break;
        bytes += (uint64_t)n;
        for (ssize_t i = 0; i < n; i++) {
            lines += buf[i] == '\n';
            hits += buf[i] == 'q';
        }
    }
}

static void walk(int dirfd_) {
    DIR *d = fdopendir(dirfd_);
    if (d == NULL) die("fdopendir", NULL);
    dirs++;
    int fd = dirfd(d);
    struct dirent *e;
    while ((errno = 0, e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat", name);
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
            if (sub < 0) die("openat", name);
            walk(sub);
        } else if (S_ISREG(st.st_mode)) {
            int f = openat(fd, name, O_RDONLY);
            if (f < 0) die("openat", name);
            files++;
            grep_fd(f);
            close(f);
        }
    }
    if (errno != 0) die("readdir", NULL);
    closedir(d);
}

int main(int argc, char **argv) {
    const char *usage = "walk REPS ROOT";
    long reps = arg_long(argc, argv, 1, usage);
    const char *root = arg_str(argc, argv, 2, usage);
    for (long r = 0; r < reps; r++) {
        dirs = files = bytes = lines = hits = 0;
        uint64_t t0 = now_ns();
        int fd = open(root, O_RDONLY | O_DIRECTORY);
        if (fd < 0) die("open", root);
        walk(fd);
        uint64_t t1 = now_ns();
        fprintf(stderr, "ns=%llu check=dirs:%llu,files:%llu,bytes:%llu,lines:%llu,hits:%llu\n",
                (unsigned long long)(t1 - t0), (unsigned long long)dirs,
                (unsigned long long)files, (unsigned long long)bytes,
                (unsigned long long)lines, (unsigned long long)hits);
    }
    return 0;
}
