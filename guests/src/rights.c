/*
 * rights.c - the preview1 rights sequences of real toolchains' standard
 * libraries, made with the raw calls and the exact rights masks those
 * libraries pass, so a host can be checked against what Wasmtime answers.
 *
 * Args: none. The preopen at fd 3 must be an empty, writable directory.
 *
 * Each step prints one line, "STEP ERRNO" (ERRNO is "ok" or the errno's
 * name: EBADF, ENOTCAPABLE...), whatever it answers, and the program goes
 * on; a step whose input could not be made prints "STEP skipped". Exit 0.
 *
 * The sequences:
 *   go-*    Go 1.24+ os.Root: the root is opened as Go's syscall.openat
 *           opens an O_RDONLY|O_DIRECTORY path (base rights without
 *           path_filestat_set_size), then Root.Create and Root.OpenFile with
 *           O_TRUNC, MkdirAll and a hard link inside it.
 *   zig-*   Zig's std.fs.Dir: a directory opened with base = inheriting =
 *           directory rights (no fd_write), then a file created in it for
 *           writing.
 *   zero-*  a directory and a file opened with base and inheriting rights of
 *           0 (what many programs pass), then the calls programs make.
 *   ro-*    a file opened with fd_read only; wo-*: with fd_write only.
 *   drop-*  rights the guest drops itself (fd_fdstat_set_rights), which stay
 *           refused.
 *   linux-* where Linux's answer and Wasmtime's differ: a file opened with
 *           FDFLAGS_SYNC (O_SYNC), and a hard link of a dangling symlink made
 *           following it.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define ROOT 3

static const char *name(__wasi_errno_t e) {
    switch (e) {
    case __WASI_ERRNO_SUCCESS: return "ok";
    case __WASI_ERRNO_ACCES: return "EACCES";
    case __WASI_ERRNO_BADF: return "EBADF";
    case __WASI_ERRNO_EXIST: return "EEXIST";
    case __WASI_ERRNO_INVAL: return "EINVAL";
    case __WASI_ERRNO_ISDIR: return "EISDIR";
    case __WASI_ERRNO_NOENT: return "ENOENT";
    case __WASI_ERRNO_NOSYS: return "ENOSYS";
    case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
    case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
    case __WASI_ERRNO_PERM: return "EPERM";
    case __WASI_ERRNO_ROFS: return "EROFS";
    case __WASI_ERRNO_SPIPE: return "ESPIPE";
    case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
    default: {
        static char buf[16];
        snprintf(buf, sizeof buf, "errno%u", (unsigned)e);
        return buf;
    }
    }
}

static void report(const char *step, __wasi_errno_t e) { printf("%s %s\n", step, name(e)); }

/* Go's syscall constants (src/syscall/fs_wasip1.go). */
#define R(x) __WASI_RIGHTS_##x
static const __wasi_rights_t go_read = R(FD_READ) | R(FD_READDIR);
static const __wasi_rights_t go_write = R(FD_DATASYNC) | R(FD_WRITE) | R(FD_ALLOCATE) | R(PATH_FILESTAT_SET_SIZE);
static const __wasi_rights_t go_file =
    R(FD_DATASYNC) | R(FD_READ) | R(FD_SEEK) | R(FD_FDSTAT_SET_FLAGS) | R(FD_SYNC) | R(FD_TELL) | R(FD_WRITE) |
    R(FD_ADVISE) | R(FD_ALLOCATE) | R(PATH_CREATE_DIRECTORY) | R(PATH_CREATE_FILE) | R(PATH_LINK_SOURCE) |
    R(PATH_LINK_TARGET) | R(PATH_OPEN) | R(FD_READDIR) | R(PATH_READLINK) | R(PATH_RENAME_SOURCE) |
    R(PATH_RENAME_TARGET) | R(PATH_FILESTAT_GET) | R(PATH_FILESTAT_SET_SIZE) | R(PATH_FILESTAT_SET_TIMES) |
    R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_SIZE) | R(FD_FILESTAT_SET_TIMES) | R(PATH_SYMLINK) |
    R(PATH_REMOVE_DIRECTORY) | R(PATH_UNLINK_FILE) | R(POLL_FD_READWRITE);
static const __wasi_rights_t go_dir =
    R(FD_SEEK) | R(FD_FDSTAT_SET_FLAGS) | R(FD_SYNC) | R(PATH_CREATE_DIRECTORY) | R(PATH_CREATE_FILE) |
    R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) | R(PATH_OPEN) | R(FD_READDIR) | R(PATH_READLINK) |
    R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) | R(PATH_FILESTAT_GET) | R(PATH_FILESTAT_SET_SIZE) |
    R(PATH_FILESTAT_SET_TIMES) | R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_TIMES) | R(PATH_SYMLINK) |
    R(PATH_REMOVE_DIRECTORY) | R(PATH_UNLINK_FILE);

/* Zig's directory rights (std.fs.Dir on WASI): no fd_read, no fd_write. */
static const __wasi_rights_t zig_dir =
    R(FD_FILESTAT_GET) | R(FD_FDSTAT_SET_FLAGS) | R(FD_FILESTAT_SET_TIMES) | R(PATH_CREATE_DIRECTORY) |
    R(PATH_CREATE_FILE) | R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) | R(PATH_OPEN) | R(FD_READDIR) |
    R(PATH_READLINK) | R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) | R(PATH_FILESTAT_GET) |
    R(PATH_FILESTAT_SET_TIMES) | R(PATH_SYMLINK) | R(PATH_REMOVE_DIRECTORY) | R(PATH_UNLINK_FILE);

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags, __wasi_rights_t base,
                              __wasi_rights_t inheriting, __wasi_fd_t *fd) {
    *fd = (__wasi_fd_t)-1;
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, base, inheriting, 0, fd);
}

static __wasi_errno_t write_all(__wasi_fd_t fd, const char *s) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    __wasi_size_t n;
    return __wasi_fd_write(fd, &iov, 1, &n);
}

static __wasi_errno_t size_of(__wasi_fd_t fd, __wasi_filesize_t *size) {
    __wasi_filestat_t st;
    __wasi_errno_t e = __wasi_fd_filestat_get(fd, &st);
    *size = st.size;
    return e;
}

/* The calls programs make on a descriptor they opened, each reported as PREFIX-CALL. */
static void file_calls(const char *prefix, __wasi_fd_t fd) {
    char step[64];
    uint8_t byte;
    __wasi_iovec_t iov = {&byte, 1};
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    __wasi_filesize_t pos;
    __wasi_filestat_t st;
#define CALL(label, expr)                                      \
    do {                                                       \
        snprintf(step, sizeof step, "%s-%s", prefix, label);   \
        report(step, expr);                                    \
    } while (0)
    CALL("seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    CALL("tell", __wasi_fd_tell(fd, &pos));
    CALL("filestat", __wasi_fd_filestat_get(fd, &st));
    CALL("advise", __wasi_fd_advise(fd, 0, 1, __WASI_ADVICE_NORMAL));
    CALL("pread", __wasi_fd_pread(fd, &iov, 1, 0, &n));
    CALL("read", __wasi_fd_read(fd, &iov, 1, &n));
    CALL("pwrite", __wasi_fd_pwrite(fd, &ciov, 1, 0, &n));
    CALL("write", __wasi_fd_write(fd, &ciov, 1, &n));
    CALL("set-size", __wasi_fd_filestat_set_size(fd, 4));
    CALL("allocate", __wasi_fd_allocate(fd, 0, 8));
    CALL("set-times", __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    CALL("datasync", __wasi_fd_datasync(fd));
    CALL("sync", __wasi_fd_sync(fd));
    CALL("set-flags", __wasi_fd_fdstat_set_flags(fd, 0));
#undef CALL
}

static void go(void) {
    __wasi_fd_t root, f, g;
    report("go-mkdir-root", __wasi_path_create_directory(ROOT, "go"));
    /* syscall.openat(O_RDONLY|O_DIRECTORY): fileRights &^ writeRights & dirRights. */
    __wasi_errno_t e = open_at(ROOT, "go", __WASI_OFLAGS_DIRECTORY, go_file & ~go_write & go_dir, go_file, &root);
    report("go-open-root", e);
    if (e != 0) return;
    /* Root.Create: O_RDWR|O_CREATE|O_TRUNC. */
    e = open_at(root, "new.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, go_file, go_file, &f);
    report("go-create", e);
    if (e == 0) {
        report("go-create-write", write_all(f, "hello"));
        __wasi_filesize_t size = 0;
        report("go-create-stat", size_of(f, &size));
        printf("go-create-size %s\n", size == 5 ? "five" : "wrong");
        (void)__wasi_fd_close(f);
    }
    /* Root.OpenFile(O_WRONLY|O_TRUNC): fileRights &^ readRights. */
    e = open_at(root, "new.txt", __WASI_OFLAGS_TRUNC, go_file & ~go_read, go_file, &g);
    report("go-truncate", e);
    if (e == 0) {
        __wasi_filesize_t size = 99;
        report("go-truncate-stat", size_of(g, &size));
        printf("go-truncate-size %s\n", size == 0 ? "zero" : "wrong");
        (void)__wasi_fd_close(g);
    }
    report("go-mkdirall", __wasi_path_create_directory(root, "a"));
    report("go-link", __wasi_path_link(root, 0, "new.txt", root, "a/link.txt"));
    report("go-rename", __wasi_path_rename(root, "a/link.txt", root, "moved.txt"));
    report("go-unlink", __wasi_path_unlink_file(root, "moved.txt"));
    (void)__wasi_fd_close(root);
}

static void zig(void) {
    __wasi_fd_t dir, f;
    report("zig-mkdir", __wasi_path_create_directory(ROOT, "zig"));
    __wasi_errno_t e = open_at(ROOT, "zig", __WASI_OFLAGS_DIRECTORY, zig_dir, zig_dir, &dir);
    report("zig-open-dir", e);
    if (e != 0) return;
    /* Dir.createFile(.{}): write-only, CREAT|TRUNC. */
    __wasi_rights_t file = R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL) | R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_SIZE) |
                           R(FD_DATASYNC) | R(FD_SYNC) | R(FD_ALLOCATE) | R(FD_ADVISE) | R(FD_FILESTAT_SET_TIMES) |
                           R(POLL_FD_READWRITE);
    e = open_at(dir, "out.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, file, file, &f);
    report("zig-create", e);
    if (e == 0) {
        report("zig-create-write", write_all(f, "zig"));
        (void)__wasi_fd_close(f);
    }
    /* A subdirectory opened through it, and a file created there. */
    report("zig-mkdir-sub", __wasi_path_create_directory(dir, "sub"));
    __wasi_fd_t sub;
    e = open_at(dir, "sub", __WASI_OFLAGS_DIRECTORY, zig_dir, zig_dir, &sub);
    report("zig-open-sub", e);
    if (e == 0) {
        e = open_at(sub, "deep.txt", __WASI_OFLAGS_CREAT, file | R(FD_READ), file, &f);
        report("zig-create-deep", e);
        if (e == 0) {
            report("zig-create-deep-write", write_all(f, "deep"));
            (void)__wasi_fd_close(f);
        }
        (void)__wasi_fd_close(sub);
    }
    (void)__wasi_fd_close(dir);
}

static void zero(void) {
    __wasi_fd_t dir, f;
    report("zero-mkdir", __wasi_path_create_directory(ROOT, "zero"));
    __wasi_errno_t e = open_at(ROOT, "zero", __WASI_OFLAGS_DIRECTORY, 0, 0, &dir);
    report("zero-open-dir", e);
    if (e != 0) return;
    e = open_at(dir, "f", __WASI_OFLAGS_CREAT, R(FD_READ) | R(FD_WRITE), 0, &f);
    report("zero-create", e);
    if (e == 0) {
        report("zero-create-write", write_all(f, "abcdef"));
        (void)__wasi_fd_close(f);
    }
    e = open_at(dir, "f", 0, 0, 0, &f);
    report("zero-open-file", e);
    if (e == 0) {
        file_calls("zero", f);
        (void)__wasi_fd_close(f);
    }
    (void)__wasi_fd_close(dir);
}

static void modes(void) {
    __wasi_fd_t f;
    __wasi_errno_t e = open_at(ROOT, "modes", __WASI_OFLAGS_CREAT, R(FD_WRITE), 0, &f);
    report("modes-create", e);
    if (e != 0) return;
    report("modes-create-write", write_all(f, "0123456789"));
    (void)__wasi_fd_close(f);
    e = open_at(ROOT, "modes", 0, R(FD_READ), 0, &f);
    report("ro-open", e);
    if (e == 0) {
        file_calls("ro", f);
        (void)__wasi_fd_close(f);
    }
    e = open_at(ROOT, "modes", 0, R(FD_WRITE), 0, &f);
    report("wo-open", e);
    if (e == 0) {
        file_calls("wo", f);
        (void)__wasi_fd_close(f);
    }
    /* A create with read rights only: O_RDONLY|O_CREAT. */
    e = open_at(ROOT, "created-ro", __WASI_OFLAGS_CREAT, R(FD_READ), 0, &f);
    report("ro-create", e);
    if (e == 0) {
        file_calls("ro-created", f);
        (void)__wasi_fd_close(f);
    }
}

static void dropped(void) {
    __wasi_fd_t f, sub;
    __wasi_fdstat_t st;
    __wasi_errno_t e = open_at(ROOT, "modes", 0, R(FD_READ) | R(FD_WRITE), 0, &f);
    report("drop-open", e);
    if (e == 0) {
        e = __wasi_fd_fdstat_get(f, &st);
        report("drop-fdstat", e);
        report("drop-set-rights", __wasi_fd_fdstat_set_rights(f, st.fs_rights_base & ~(R(FD_SEEK) | R(FD_WRITE)),
                                                              st.fs_rights_inheriting));
        file_calls("drop", f);
        report("drop-widen", __wasi_fd_fdstat_set_rights(f, st.fs_rights_base, st.fs_rights_inheriting));
        (void)__wasi_fd_close(f);
    }
    /* A right dropped from a directory's inheriting rights, for what is opened through it. */
    report("drop-mkdir", __wasi_path_create_directory(ROOT, "inh"));
    e = open_at(ROOT, "inh", __WASI_OFLAGS_DIRECTORY, go_dir, go_file, &sub);
    report("drop-open-dir", e);
    if (e == 0) {
        e = __wasi_fd_fdstat_get(sub, &st);
        report("drop-dir-fdstat", e);
        report("drop-dir-set-rights",
               __wasi_fd_fdstat_set_rights(sub, st.fs_rights_base, st.fs_rights_inheriting & ~R(FD_WRITE)));
        e = open_at(sub, "g", __WASI_OFLAGS_CREAT, R(FD_READ) | R(FD_WRITE), 0, &f);
        report("drop-dir-create", e);
        if (e == 0) {
            report("drop-dir-create-write", write_all(f, "g"));
            (void)__wasi_fd_close(f);
        }
        (void)__wasi_fd_close(sub);
    }
}

static void linux(void) {
    __wasi_fd_t f = (__wasi_fd_t)-1;
    __wasi_errno_t e = __wasi_path_open(ROOT, 0, "sync", __WASI_OFLAGS_CREAT, R(FD_READ) | R(FD_WRITE), 0,
                                        __WASI_FDFLAGS_SYNC, &f);
    report("linux-sync-open", e);
    if (e == 0) {
        report("linux-sync-write", write_all(f, "synced"));
        (void)__wasi_fd_close(f);
    } else {
        printf("linux-sync-write skipped\n");
    }
    report("linux-symlink", __wasi_path_symlink("missing", ROOT, "dangling"));
    report("linux-link-follow", __wasi_path_link(ROOT, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "dangling", ROOT, "l2"));
    report("linux-link-nofollow", __wasi_path_link(ROOT, 0, "dangling", ROOT, "l3"));
}

int main(void) {
    go();
    zig();
    zero();
    modes();
    dropped();
    linux();
    return 0;
}
