/*
 * ls.c - lists directory entries with opendir/readdir.
 *
 * Args: zero or more directory paths (default: ".").
 * Every entry returned by readdir is printed (nothing is skipped, so "." and
 * ".." appear if the host reports them), sorted by name with strcmp (byte
 * order), one per line:
 *   NAME TYPE
 * where TYPE comes from d_type: "dir" (DT_DIR), "file" (DT_REG),
 * "link" (DT_LNK) or "other" (anything else, including DT_UNKNOWN).
 * With more than one argument, each listing is preceded by a line "PATH:".
 *
 * stderr: "ls: PATH: <strerror(errno)>\n" if PATH cannot be opened or read;
 *         remaining paths are still processed.
 * exit:   0 on success, 1 if any error occurred
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *name;
    const char *type;
};

static const char *type_name(unsigned char d_type) {
    switch (d_type) {
    case DT_DIR: return "dir";
    case DT_REG: return "file";
    case DT_LNK: return "link";
    default:     return "other";
    }
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name,
                  ((const struct entry *)b)->name);
}

/* Lists one directory; returns 0 on success, 1 on error. */
static int list_dir(const char *path) {
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        return 1;
    }

    struct entry *entries = NULL;
    size_t count = 0, cap = 0;
    int status = 0;
    struct dirent *de;

    for (;;) {
        errno = 0;
        de = readdir(dir);
        if (de == NULL) {
            if (errno != 0) {
                fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
                status = 1;
            }
            break;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct entry *n = realloc(entries, ncap * sizeof *n);
            if (n == NULL) {
                fprintf(stderr, "ls: %s: %s\n", path, strerror(ENOMEM));
                status = 1;
                break;
            }
            entries = n;
            cap = ncap;
        }
        entries[count].name = strdup(de->d_name);
        if (entries[count].name == NULL) {
            fprintf(stderr, "ls: %s: %s\n", path, strerror(ENOMEM));
            status = 1;
            break;
        }
        entries[count].type = type_name(de->d_type);
        count++;
    }
    closedir(dir);

    if (status == 0) {
        qsort(entries, count, sizeof *entries, cmp_entry);
        for (size_t i = 0; i < count; i++)
            printf("%s %s\n", entries[i].name, entries[i].type);
    }
    for (size_t i = 0; i < count; i++)
        free(entries[i].name);
    free(entries);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return list_dir(".");

    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (argc > 2)
            printf("%s:\n", argv[i]);
        status |= list_dir(argv[i]);
    }
    return status;
}
