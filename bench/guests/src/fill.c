/*
 * fill.c - writes SIZE bytes (a non-zero pattern) to PATH in CHUNK-byte
 * writes; used by the MemFs memory check.
 * Args: REPS PATH SIZE CHUNK      e.g. 1 /data/big 268435456 65536
 */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define MAX_CHUNK (1 << 20)
static unsigned char buf[MAX_CHUNK];

int main(int argc, char **argv) {
    const char *usage = "fill REPS PATH SIZE CHUNK";
    long reps = arg_long(argc, argv, 1, usage);
    const char *path = arg_str(argc, argv, 2, usage);
    long long size = arg_long(argc, argv, 3, usage);
    long chunk = arg_long(argc, argv, 4, usage);
    if (chunk <= 0 || chunk > MAX_CHUNK) chunk = 65536;
    for (long i = 0; i < MAX_CHUNK; i++) buf[i] = (unsigned char)('a' + i % 26);
    for (long r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0) die("open", path);
        long long left = size;
        while (left > 0) {
            size_t want = left < chunk ? (size_t)left : (size_t)chunk;
            ssize_t w = write(fd, buf, want);
            if (w <= 0) die("write", path);
            left -= w;
        }
        if (close(fd) != 0) die("close", path);
        uint64_t t1 = now_ns();
        fprintf(stderr, "ns=%llu check=bytes:%lld\n", (unsigned long long)(t1 - t0), size);
    }
    return 0;
}
