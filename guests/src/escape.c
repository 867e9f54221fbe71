/*
 * escape.c - the sandbox-escape corpus: tries to leave its mounts.
 *
 * Expects the mount layout set up by tests/escape.rs: fd 3 is the preopen
 * "/sandbox", fd 4 the preopen "/other"; next to the sandbox (outside it) is
 * a directory "outside" holding "secret.txt". The sandbox holds the traps
 * file.txt, sub/, sub/deep/, abs_link -> /etc, abs_link2 -> (absolute path of
 * outside), climb -> ../outside, climb2 -> sub/../../outside/secret.txt,
 * dangling -> ../outside/created_by_guest and loop -> loop.
 *
 * Usage:
 *   escape CASE            runs one case of the corpus (see CASES below)
 *   escape ops LINE...     runs the given attempt lines
 *   escape race N          the race loop (N iterations), see race()
 *
 * Each attempt is one line "OP ARG [ARG2]" and prints "LINE: RESULT", where
 * RESULT is "ok", "ok DETAIL" or the symbolic errno name (EPERM, ELOOP,
 * EXDEV, ENOTCAPABLE...: the WASI name, independent of strerror). A path
 * argument "@other:P" means P relative to fd 4, anything else is relative to
 * fd 3. Attempts use the raw WASI calls (<wasi/api.h>), so the host sees
 * exactly the path written; the "libc-" attempts go through wasi-libc
 * (absolute paths matched against the preopens, cwd).
 *
 * Ops (raw):
 *   open P            path_open(follow) read-only; "ok dir" or "ok [CONTENT]"
 *   open-nofollow P   the same without following a last link
 *   opendir P         path_open(follow, O_DIRECTORY); "ok dir"
 *   ls P              opendir + readdir; "ok NAME,NAME" (sorted, no . ..;
 *                     "ok -" when empty)
 *   creat P           path_open(follow, O_CREAT) for writing, writes "guest"
 *   creat-nofollow P  the same without following a last link
 *   creat-excl P      O_CREAT|O_EXCL
 *   trunc P           O_TRUNC for writing, writes "guest"
 *   stat P / lstat P  path_filestat_get with / without follow; "ok TYPE"
 *                     (dir, file, symlink, other)
 *   readlink P        "ok TARGET"
 *   unlink P, rmdir P, mkdir P
 *   symlink T P       creates P -> T
 *   rename P Q        path_rename
 *   link P Q          path_link without follow; link-follow P Q with
 *   utimes P          sets the mtime (follow); utimes-nofollow P
 * Ops (libc): libc-open P, libc-creat P, libc-stat P, libc-opendir P,
 *   libc-readlink P, libc-unlink P, libc-mkdir P, libc-chdir P,
 *   libc-symlink T P, libc-rename P Q, libc-link P Q.
 *
 * Exit: 0 after running the attempts (whatever their results); 2 for an
 * unknown case or op, or a wrong argument count.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX APIs under -std=c11 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#define SANDBOX_FD 3
#define OTHER_FD 4

/* WASI errno names, indexed by the WASI number (wasi-libc's errno values
 * are the same numbers). */
static const char *const ERRNO_NAMES[] = {
    "SUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL",
    "EAFNOSUPPORT", "EAGAIN", "EALREADY", "EBADF", "EBADMSG", "EBUSY",
    "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET",
    "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG",
    "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO",
    "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP",
    "ENAMETOOLONG", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE",
    "ENOBUFS", "ENODEV", "ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM",
    "ENOMSG", "ENOPROTOOPT", "ENOSPC", "ENOSYS", "ENOTCONN", "ENOTDIR",
    "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP", "ENOTTY", "ENXIO",
    "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO", "EPROTONOSUPPORT",
    "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT",
    "ETXTBSY", "EXDEV", "ENOTCAPABLE",
};
#define NERRNO ((int)(sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0]))

static const char *errname(int e) {
    return e >= 0 && e < NERRNO ? ERRNO_NAMES[e] : "EUNKNOWN";
}

#define READ_RIGHTS                                                            \
    (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |                           \
     __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR)
#define WRITE_RIGHTS (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_GET)
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

/* An attempt's result: an errno, or 0 and a detail string. */
static char detail[512];

static void report(const char *line, int err) {
    if (err != 0)
        printf("%s: %s\n", line, errname(err));
    else if (detail[0] != '\0')
        printf("%s: ok %s\n", line, detail);
    else
        printf("%s: ok\n", line);
}

/* "@other:P" names P under fd 4; anything else is under fd 3. */
static const char *split_fd(const char *spec, __wasi_fd_t *fd) {
    static const char prefix[] = "@other:";
    if (strncmp(spec, prefix, sizeof prefix - 1) == 0) {
        *fd = OTHER_FD;
        return spec + sizeof prefix - 1;
    }
    *fd = SANDBOX_FD;
    return spec;
}

static const char *type_name(__wasi_filetype_t t) {
    switch (t) {
    case __WASI_FILETYPE_DIRECTORY: return "dir";
    case __WASI_FILETYPE_REGULAR_FILE: return "file";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symlink";
    default: return "other";
    }
}

/* Sets detail to "[CONTENT]" (at most 200 bytes) or "dir" for fd. */
static int describe_open(__wasi_fd_t fd) {
    __wasi_filestat_t st;
    int err = __wasi_fd_filestat_get(fd, &st);
    if (err != 0)
        return err;
    if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
        strcpy(detail, "dir");
        return 0;
    }
    char buf[201];
    size_t total = 0;
    while (total < sizeof buf - 1) {
        __wasi_iovec_t iov = {(uint8_t *)buf + total, sizeof buf - 1 - total};
        __wasi_size_t n = 0;
        err = __wasi_fd_read(fd, &iov, 1, &n);
        if (err != 0)
            return err;
        if (n == 0)
            break;
        total += n;
    }
    buf[total] = '\0';
    snprintf(detail, sizeof detail, "[%s]", buf);
    return 0;
}

static int write_guest(__wasi_fd_t fd) {
    __wasi_ciovec_t iov = {(const uint8_t *)"guest", 5};
    __wasi_size_t n = 0;
    return __wasi_fd_write(fd, &iov, 1, &n);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the directory fd (takes ownership) into detail. */
static int list_dir(__wasi_fd_t fd) {
    DIR *dir = fdopendir((int)fd);
    if (dir == NULL) {
        int err = errno;
        (void)__wasi_fd_close(fd);
        return err;
    }
    char *names[128];
    int n = 0;
    struct dirent *e;
    errno = 0;
    while (n < 128 && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    int err = errno;
    closedir(dir);
    if (err != 0) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        return err;
    }
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    size_t len = 0;
    detail[0] = '\0';
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(detail + len, len < sizeof detail ? sizeof detail - len : 0,
                                "%s%s", i ? "," : "", names[i]);
        free(names[i]);
    }
    if (n == 0)
        strcpy(detail, "-");
    return 0;
}

static int raw_open(const char *spec, __wasi_lookupflags_t look, __wasi_oflags_t of,
                    __wasi_rights_t rights, __wasi_fd_t *out) {
    __wasi_fd_t dirfd;
    const char *path = split_fd(spec, &dirfd);
    return __wasi_path_open(dirfd, look, path, of, rights, 0, 0, out);
}

/* open/creat family: what happens after a successful open. */
enum after { DESCRIBE, WRITE, LIST };

static int do_open(const char *spec, __wasi_lookupflags_t look, __wasi_oflags_t of,
                   __wasi_rights_t rights, enum after after) {
    __wasi_fd_t fd;
    int err = raw_open(spec, look, of, rights, &fd);
    if (err != 0)
        return err;
    if (after == LIST)
        return list_dir(fd);
    err = after == WRITE ? write_guest(fd) : describe_open(fd);
    (void)__wasi_fd_close(fd);
    return err;
}

static int do_stat(const char *spec, __wasi_lookupflags_t look) {
    __wasi_fd_t fd;
    const char *path = split_fd(spec, &fd);
    __wasi_filestat_t st;
    int err = __wasi_path_filestat_get(fd, look, path, &st);
    if (err == 0)
        strcpy(detail, type_name(st.filetype));
    return err;
}

static int do_readlink(const char *spec) {
    __wasi_fd_t fd;
    const char *path = split_fd(spec, &fd);
    uint8_t buf[400];
    __wasi_size_t n = 0;
    int err = __wasi_path_readlink(fd, path, buf, sizeof buf - 1, &n);
    if (err == 0) {
        buf[n] = '\0';
        snprintf(detail, sizeof detail, "%s", (const char *)buf);
    }
    return err;
}

static int do_rename(const char *a, const char *b) {
    __wasi_fd_t fa, fb;
    const char *pa = split_fd(a, &fa), *pb = split_fd(b, &fb);
    return __wasi_path_rename(fa, pa, fb, pb);
}

static int do_link(const char *a, const char *b, __wasi_lookupflags_t look) {
    __wasi_fd_t fa, fb;
    const char *pa = split_fd(a, &fa), *pb = split_fd(b, &fb);
    return __wasi_path_link(fa, look, pa, fb, pb);
}

static int do_symlink(const char *target, const char *spec) {
    __wasi_fd_t fd;
    const char *path = split_fd(spec, &fd);
    return __wasi_path_symlink(target, fd, path);
}

static int do_utimes(const char *spec, __wasi_lookupflags_t look) {
    __wasi_fd_t fd;
    const char *path = split_fd(spec, &fd);
    return __wasi_path_filestat_set_times(fd, look, path, 0, 1234567890ULL * 1000000000ULL,
                                          __WASI_FSTFLAGS_MTIM);
}

/* libc attempts: the errno of a failed call, 0 on success. */
static int libc_open(const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return errno;
    int err = flags & O_CREAT ? write_guest((__wasi_fd_t)fd) : describe_open((__wasi_fd_t)fd);
    close(fd);
    return err;
}

static int libc_result(int rc) { return rc == 0 ? 0 : errno; }

static int libc_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    strcpy(detail, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other");
    return 0;
}

static int libc_opendir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return errno;
    return list_dir((__wasi_fd_t)fd);
}

static int libc_readlink(const char *path) {
    char buf[400];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0)
        return errno;
    buf[n] = '\0';
    snprintf(detail, sizeof detail, "%s", buf);
    return 0;
}

/* Runs one attempt line; returns -1 for a malformed line. */
static int attempt(const char *line) {
    char op[32], a[300], b[300];
    int n = sscanf(line, "%31s %299s %299s", op, a, b);
    if (n < 2)
        return -1;
    int err;
    detail[0] = '\0';
#define OP(name, argc) (strcmp(op, name) == 0 && n == (argc) + 1)
    if (OP("open", 1)) err = do_open(a, FOLLOW, 0, READ_RIGHTS, DESCRIBE);
    else if (OP("open-nofollow", 1)) err = do_open(a, 0, 0, READ_RIGHTS, DESCRIBE);
    else if (OP("opendir", 1)) err = do_open(a, FOLLOW, __WASI_OFLAGS_DIRECTORY, READ_RIGHTS, DESCRIBE);
    else if (OP("ls", 1)) err = do_open(a, FOLLOW, __WASI_OFLAGS_DIRECTORY, READ_RIGHTS, LIST);
    else if (OP("creat", 1)) err = do_open(a, FOLLOW, __WASI_OFLAGS_CREAT, WRITE_RIGHTS, WRITE);
    else if (OP("creat-nofollow", 1)) err = do_open(a, 0, __WASI_OFLAGS_CREAT, WRITE_RIGHTS, WRITE);
    else if (OP("creat-excl", 1))
        err = do_open(a, FOLLOW, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, WRITE_RIGHTS, WRITE);
    else if (OP("trunc", 1)) err = do_open(a, FOLLOW, __WASI_OFLAGS_TRUNC, WRITE_RIGHTS, WRITE);
    else if (OP("stat", 1)) err = do_stat(a, FOLLOW);
    else if (OP("lstat", 1)) err = do_stat(a, 0);
    else if (OP("readlink", 1)) err = do_readlink(a);
    else if (OP("unlink", 1)) {
        __wasi_fd_t fd;
        const char *p = split_fd(a, &fd);
        err = __wasi_path_unlink_file(fd, p);
    } else if (OP("rmdir", 1)) {
        __wasi_fd_t fd;
        const char *p = split_fd(a, &fd);
        err = __wasi_path_remove_directory(fd, p);
    } else if (OP("mkdir", 1)) {
        __wasi_fd_t fd;
        const char *p = split_fd(a, &fd);
        err = __wasi_path_create_directory(fd, p);
    } else if (OP("symlink", 2)) err = do_symlink(a, b);
    else if (OP("rename", 2)) err = do_rename(a, b);
    else if (OP("link", 2)) err = do_link(a, b, 0);
    else if (OP("link-follow", 2)) err = do_link(a, b, FOLLOW);
    else if (OP("utimes", 1)) err = do_utimes(a, FOLLOW);
    else if (OP("utimes-nofollow", 1)) err = do_utimes(a, 0);
    else if (OP("libc-open", 1)) err = libc_open(a, O_RDONLY);
    else if (OP("libc-creat", 1)) err = libc_open(a, O_WRONLY | O_CREAT);
    else if (OP("libc-stat", 1)) err = libc_stat(a);
    else if (OP("libc-opendir", 1)) err = libc_opendir(a);
    else if (OP("libc-readlink", 1)) err = libc_readlink(a);
    else if (OP("libc-unlink", 1)) err = libc_result(unlink(a));
    else if (OP("libc-mkdir", 1)) err = libc_result(mkdir(a, 0755));
    else if (OP("libc-chdir", 1)) err = libc_result(chdir(a));
    else if (OP("libc-symlink", 2)) err = libc_result(symlink(a, b));
    else if (OP("libc-rename", 2)) err = libc_result(rename(a, b));
    else if (OP("libc-link", 2)) err = libc_result(link(a, b));
    else return -1;
#undef OP
    report(line, err);
    return 0;
}

/* ---- The corpus ---------------------------------------------------------- */

/* ".." above the preopen, in every call that takes a path. */
static const char *const CASE_DOTDOT[] = {
    "open ../outside/secret.txt",
    "open-nofollow ../outside/secret.txt",
    "open ..",
    "opendir ..",
    "ls ..",
    "stat ..",
    "stat ../outside/secret.txt",
    "lstat ../outside/secret.txt",
    "readlink ../outside/secret.txt",
    "creat ../outside/secret.txt",
    "creat ../outside/new.txt",
    "creat-excl ../outside/new.txt",
    "trunc ../outside/secret.txt",
    "unlink ../outside/secret.txt",
    "rmdir ../outside/dir",
    "mkdir ../outside/newdir",
    "symlink file.txt ../outside/newlink",
    "rename ../outside/secret.txt stolen",
    "rename file.txt ../outside/planted",
    "rename sub ../escaped",
    "link ../outside/secret.txt stolen",
    "link-follow ../outside/secret.txt stolen",
    "link file.txt ../outside/planted",
    "utimes ../outside/secret.txt",
    "utimes-nofollow ../outside/secret.txt",
    "open sub/../../outside/secret.txt",
    "open ./../outside/secret.txt",
    "open .././outside/secret.txt",
    "open ..//outside//secret.txt",
    "open sub/./../../outside/secret.txt",
    "open sub/deep/../../..",
    "open sub/deep/../../../outside/secret.txt",
    "open sub/deep/../../../sandbox/file.txt",
    "open sub/deep/../deep/../../../outside/secret.txt",
    "open ../outside/dir/",
    "open ../../../../../../../../../../etc/passwd",
    "open /etc/passwd",
    "open /sandbox/file.txt",
    "open //outside/secret.txt",
    "stat /",
    "open @other:../outside/secret.txt",
    "open @other:../sandbox/file.txt",
    "open @other:..",
    "open sub/..",
    "open sub/deep/../../file.txt",
    "ls sub/deep/../..",
    NULL,
};

/* Host-made symbolic links that lead outside: absolute, and relative ones
 * that climb out; followed they fail, not followed they are links. */
static const char *const CASE_LINKS[] = {
#define LINK_ATTEMPTS(L)                                                       \
    "open " L, "open-nofollow " L, "opendir " L, "ls " L, "stat " L,           \
        "lstat " L, "readlink " L, "open " L "/", "open " L "/secret.txt",     \
        "creat " L, "creat " L "/planted", "mkdir " L "/newdir",               \
        "unlink " L "/secret.txt", "rename " L "/secret.txt stolen",           \
        "link " L "/secret.txt stolen", "link-follow " L " stolen",            \
        "utimes " L
    LINK_ATTEMPTS("abs_link"),
    LINK_ATTEMPTS("abs_link2"),
    LINK_ATTEMPTS("climb"),
    LINK_ATTEMPTS("climb2"),
#undef LINK_ATTEMPTS
    "open abs_link/passwd",
    "open sub/../climb/secret.txt",
    "open climb/../file.txt",
    "open loop",
    "open-nofollow loop",
    "stat loop",
    "lstat loop",
    "open loop/x",
    "creat loop",
    NULL,
};

/* A dangling link to outside: O_CREAT through it must not create there. */
static const char *const CASE_DANGLING[] = {
    "creat dangling",
    "creat-nofollow dangling",
    "creat-excl dangling",
    "trunc dangling",
    "open dangling",
    "stat dangling",
    "lstat dangling",
    "readlink dangling",
    "mkdir dangling",
    "symlink x dangling",
    "utimes dangling",
    "open dangling/",
    "creat dangling/",
    "symlink ../outside/guest_made gdangling",
    "creat gdangling",
    "symlink ../../outside/guest_made sub/gd2",
    "creat sub/gd2",
    "symlink sub/../../outside/guest_made gd3",
    "creat gd3",
    "rename file.txt dangling",
    "lstat dangling",
    "open dangling",
    NULL,
};

/* Hard links: to outside files, through links, across mounts. */
static const char *const CASE_HARDLINK[] = {
    "link climb hl_climb",
    "lstat hl_climb",
    "readlink hl_climb",
    "open hl_climb",
    "open hl_climb/secret.txt",
    "link climb2 hl_climb2",
    "open hl_climb2",
    "link-follow climb hl2",
    "link-follow climb2 hl3",
    "link-follow abs_link2 hl4",
    "link-follow dangling hl5",
    "link ../outside/secret.txt stolen",
    "link climb/secret.txt stolen",
    "link climb2/ stolen",
    "link file.txt ../outside/planted",
    "link file.txt climb/planted",
    "link file.txt dangling",
    "link file.txt @other:stolen",
    "link @other:o.txt imported",
    "link sub hl_dir",
    "link file.txt hl_file",
    "open hl_file",
    "lstat stolen",
    NULL,
};

/* Renames in or out of the mount. */
static const char *const CASE_RENAME[] = {
    "rename sub ../escaped",
    "rename file.txt ../outside/secret.txt",
    "rename ../outside/secret.txt file.txt",
    "rename ../outside stolen_dir",
    "rename file.txt climb/secret.txt",
    "rename climb/secret.txt stolen",
    "rename climb2/ stolen",
    "rename sub @other:sub",
    "rename file.txt @other:file.txt",
    "rename @other:o.txt imported",
    "rename sub/deep ../deep",
    "rename sub/deep sub/../../deep",
    "rename .. x",
    "rename sub/deep/../.. x",
    "rename climb moved_climb",
    "lstat moved_climb",
    "open moved_climb/secret.txt",
    "rename moved_climb sub/deep/moved",
    "open sub/deep/moved/secret.txt",
    "rename dangling sub/dangling",
    "creat sub/dangling",
    "rename sub sub2",
    "open sub2/../../outside/secret.txt",
    "lstat ../escaped",
    NULL,
};

/* Links made by the guest. */
static const char *const CASE_SYMLINK[] = {
    "symlink ../outside evil",
    "open evil/secret.txt",
    "stat evil",
    "ls evil",
    "creat evil/planted",
    "mkdir evil/newdir",
    "symlink ../../outside sub/evil",
    "open sub/evil/secret.txt",
    "symlink /etc abs",
    "symlink /sandbox/file.txt abs2",
    "lstat abs",
    "symlink file.txt ../outside/newlink",
    "symlink file.txt climb/newlink",
    "symlink ../../../outside/secret.txt @other:escape",
    "open @other:escape",
    "symlink sub c1",
    "symlink c1/.. c2",
    "open c2/file.txt",
    "symlink c2/.. c3",
    "open c3",
    "open c3/outside/secret.txt",
    "symlink sub/deep/../../.. c4",
    "open c4/outside/secret.txt",
    "symlink . self",
    "open self/self/self/file.txt",
    "open self/..",
    "symlink .. up",
    "open up",
    "open sub/deep/../../up/outside/secret.txt",
    "symlink ../../../../../../../../../../etc/passwd deep_climb",
    "open deep_climb",
    "symlink l2 l1",
    "symlink l1 l2",
    "open l1",
    NULL,
};

/* Through wasi-libc: absolute paths matched against the preopen names, the
 * cwd, and paths under no preopen. */
static const char *const CASE_LIBC[] = {
    "libc-open /sandbox/file.txt",
    "libc-open /sandbox/../outside/secret.txt",
    "libc-open /sandbox/sub/../../outside/secret.txt",
    "libc-open /sandbox/climb/secret.txt",
    "libc-open /outside/secret.txt",
    "libc-open /etc/passwd",
    "libc-open /",
    "libc-open ../outside/secret.txt",
    "libc-open sandbox/../outside/secret.txt",
    "libc-stat /sandbox/..",
    "libc-opendir /sandbox/..",
    "libc-opendir /sandbox/climb",
    "libc-creat /sandbox/dangling",
    "libc-creat /sandbox/climb/planted",
    "libc-creat /outside/planted",
    "libc-readlink /sandbox/climb",
    "libc-unlink /sandbox/../outside/secret.txt",
    "libc-mkdir /sandbox/../newdir",
    "libc-symlink /etc /sandbox/abs",
    "libc-symlink ../outside /sandbox/evil",
    "libc-open /sandbox/evil/secret.txt",
    "libc-rename /sandbox/file.txt /outside/planted",
    "libc-rename /sandbox/sub /sandbox/../escaped",
    "libc-rename /sandbox/file.txt /other/file.txt",
    "libc-link /sandbox/file.txt /sandbox/../planted",
    "libc-link /sandbox/file.txt /other/planted",
    "libc-chdir /sandbox/sub",
    "libc-open ../file.txt",
    "libc-open ../../outside/secret.txt",
    "libc-open ../climb/secret.txt",
    "libc-chdir /sandbox/..",
    "libc-open inner.txt",
    NULL,
};

struct named_case {
    const char *name;
    const char *const *lines;
};

static const struct named_case CASES[] = {
    {"dotdot", CASE_DOTDOT},   {"links", CASE_LINKS},     {"dangling", CASE_DANGLING},
    {"hardlink", CASE_HARDLINK}, {"rename", CASE_RENAME}, {"symlink", CASE_SYMLINK},
    {"libc", CASE_LIBC},
};

/* ---- The race -------------------------------------------------------------
 *
 * While the host swaps sandbox/swap between a directory (holding f and g
 * whose content is "inside-g") and links to outside/dir, repeat N times:
 *   creat swap/f   (O_CREAT, write "x")      read swap/g (follow)
 *   ls swap                                  mkdir swap/d, rmdir swap/d
 *   stat swap/g    utimes swap/g
 * then print one line per op: "race OP: ok=N ERRNAME=N ..." (counts, errnos
 * in WASI order), preceded by "LEAK OP: WHAT" for any content or name read
 * that the sandbox's swap directory does not hold.
 */
enum { R_CREAT, R_READ, R_LS, R_MKDIR, R_RMDIR, R_STAT, R_UTIMES, R_OPS };
static const char *const RACE_OPS[R_OPS] = {
    "creat swap/f", "open swap/g", "ls swap", "mkdir swap/d",
    "rmdir swap/d", "stat swap/g", "utimes swap/g",
};
static unsigned counts[R_OPS][NERRNO + 1];
static int leaks;

static void count(int op, int err) {
    counts[op][err >= 0 && err < NERRNO ? err : NERRNO]++;
}

static void leak(int op, const char *what) {
    if (leaks++ < 20)
        printf("LEAK %s: %s\n", RACE_OPS[op], what);
}

static int race(long iterations) {
    for (long i = 0; i < iterations; i++) {
        int err;
        for (int op = 0; op < R_OPS; op++) {
            detail[0] = '\0';
            switch (op) {
            case R_CREAT: err = do_open("swap/f", FOLLOW, __WASI_OFLAGS_CREAT, WRITE_RIGHTS, WRITE); break;
            case R_READ:
                err = do_open("swap/g", FOLLOW, 0, READ_RIGHTS, DESCRIBE);
                if (err == 0 && strcmp(detail, "[inside-g]") != 0)
                    leak(op, detail);
                break;
            case R_LS:
                err = do_open("swap", FOLLOW, __WASI_OFLAGS_DIRECTORY, READ_RIGHTS, LIST);
                if (err == 0) {
                    /* Allowed: f, g and d (the guest's own), comma-separated. */
                    char *save = NULL;
                    for (char *t = strtok_r(detail, ",", &save); t; t = strtok_r(NULL, ",", &save))
                        if (strcmp(t, "f") && strcmp(t, "g") && strcmp(t, "d") && strcmp(t, "-"))
                            leak(op, t);
                }
                break;
            case R_MKDIR: {
                __wasi_fd_t fd;
                const char *p = split_fd("swap/d", &fd);
                err = __wasi_path_create_directory(fd, p);
                break;
            }
            case R_RMDIR: {
                __wasi_fd_t fd;
                const char *p = split_fd("swap/d", &fd);
                err = __wasi_path_remove_directory(fd, p);
                break;
            }
            case R_STAT: err = do_stat("swap/g", FOLLOW); break;
            default: err = do_utimes("swap/g", FOLLOW); break;
            }
            count(op, err);
        }
    }
    for (int op = 0; op < R_OPS; op++) {
        printf("race %s:", RACE_OPS[op]);
        for (int e = 0; e <= NERRNO; e++)
            if (counts[op][e])
                printf(" %s=%u", e == 0 ? "ok" : errname(e), counts[op][e]);
        printf("\n");
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: escape CASE | escape ops LINE... | escape race N\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "race") == 0) {
        if (argc != 3)
            return usage();
        char *end;
        long n = strtol(argv[2], &end, 10);
        if (*end != '\0' || n <= 0)
            return usage();
        return race(n);
    }
    if (strcmp(argv[1], "ops") == 0) {
        for (int i = 2; i < argc; i++)
            if (attempt(argv[i]) != 0) {
                fprintf(stderr, "escape: bad attempt: %s\n", argv[i]);
                return 2;
            }
        return 0;
    }
    if (argc != 2)
        return usage();
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        if (strcmp(CASES[c].name, argv[1]) != 0)
            continue;
        for (const char *const *l = CASES[c].lines; *l; l++)
            if (attempt(*l) != 0) {
                fprintf(stderr, "escape: bad attempt: %s\n", *l);
                return 2;
            }
        return 0;
    }
    fprintf(stderr, "escape: unknown case: %s\n", argv[1]);
    return 2;
}
