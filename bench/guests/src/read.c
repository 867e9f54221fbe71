/*
 * read.c - reads a whole file sequentially with read(fd, buf, CHUNK).
 * Args: REPS PATH CHUNK      e.g. 5 /data/big 65536
 * Each repetition opens the file, reads it to EOF and closes it (all timed).
 * check: total bytes and a checksum of the byte at every 4096th file offset
 * (independent of how the reads were split).
 */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define MAX_CHUNK (1 << 20)
static unsigned char buf[MAX_CHUNK];

int main(int argc, char **argv) {
    const char *usage = "read REPS PATH CHUNK";
    long reps = arg_long(argc, argv, 1, usage);
    const char *path = arg_str(argc, argv, 2, usage);
    long chunk = arg_long(argc, argv, 3, usage);
    if (chunk <= 0 || chunk > MAX_CHUNK) chunk = 65536;
    for (long r = 0; r < reps; r++) {
        uint64_t total = 0, sum = 0, reads = 0;
        uint64_t t0 = now_ns();
        int fd = open(path, O_RDONLY);
        if (fd < 0) die("open", path);
        for (;;) {
            ssize_t n = read(fd, buf, (size_t)chunk);
            if (n < 0) die("read", path);
            if (n == 0) break;
            reads++;
            /* first multiple of 4096 at or after `total` */
            uint64_t off = (total + 4095) & ~(uint64_t)4095;
            for (; off < total + (uint64_t)n; off += 4096)
                sum = sum * 31 + buf[off - total];
            total += (uint64_t)n;
        }
        close(fd);
        uint64_t t1 = now_ns();
        fprintf(stderr, "ns=%llu reads=%llu check=bytes:%llu,sum:%llu\n",
                (unsigned long long)(t1 - t0), (unsigned long long)reads,
                (unsigned long long)total, (unsigned long long)sum);
    }
    return 0;
}
