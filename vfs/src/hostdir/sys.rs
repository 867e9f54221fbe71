//! Host system-call helpers of [`super::HostDir`]: opening one component, the mount-point
//! checks, and conversions between host and WASI types.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno as HostErrno;

use crate::{Errno, FileType, Result, SetTime, Stat};

/// The permissions of a file created by `open_at` (the process umask applies).
const FILE_MODE: u32 = 0o666;

/// The most buffers one `writev`/`pwritev` takes (Linux's `UIO_MAXIOV`).
pub(super) const IOV_MAX: usize = 1024;

/// Refuses a name that is not exactly one component (the resolver never sends one).
pub(super) fn check_name(name: &str) -> Result<()> {
    match name {
        "" | "." => Err(Errno::Inval),
        ".." => Err(Errno::Notcapable),
        _ if name.bytes().any(|b| b == b'/' || b == 0) => Err(Errno::Inval),
        _ => Ok(()),
    }
}

/// A new open file description of the directory `fd` (readable, no `O_PATH`). `.` names the
/// directory itself, never anything outside it.
pub(super) fn reopen_dir(fd: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rfs::openat(fd, ".", flags, Mode::empty())
}

/// What `openat2` must refuse on a path below a directory: leaving it, any symbolic link
/// (the resolver follows those itself) and magic links.
pub(super) const BENEATH: ResolveFlags =
    ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);

/// Whether `openat2` with [`BENEATH`] and `RESOLVE_NO_XDEV` is available (Linux 5.6, and not
/// refused by a seccomp filter), tried on the directory itself.
pub(super) fn openat2_works(dir: &OwnedFd) -> bool {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rfs::openat2(dir, ".", flags, Mode::empty(), BENEATH | ResolveFlags::NO_XDEV).is_ok()
}

/// How [`open_without_blocking`] resolves its path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// `openat`: one component, crossing mount points.
    Openat,
    /// `openat2` with these flags.
    Openat2(ResolveFlags),
}

/// Opens `path` with `O_NONBLOCK` added (so that a FIFO cannot block the open), except for an
/// `O_DIRECTORY` open, which cannot block. The caller clears `O_NONBLOCK` on what is not a
/// directory (`F_SETFL` only touches O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK,
/// none of which this backend wants set).
pub(super) fn open_without_blocking(dir: &OwnedFd, path: &str, flags: OFlags, how: How) -> rustix::io::Result<OwnedFd> {
    let open = |flags: OFlags| match how {
        How::Openat => rfs::openat(dir, path, flags, Mode::from_bits_truncate(FILE_MODE)),
        How::Openat2(resolve) => {
            // openat2 refuses a mode without O_CREAT.
            let mode = if flags.contains(OFlags::CREATE) { Mode::from_bits_truncate(FILE_MODE) } else { Mode::empty() };
            rfs::openat2(dir, path, flags, mode, resolve)
        }
    };
    if flags.contains(OFlags::DIRECTORY) {
        return open(flags);
    }
    match open(flags | OFlags::NONBLOCK) {
        // Only a lease held by another process makes a non-blocking open fail with EAGAIN (a
        // FIFO never does): wait for it like a blocking open would. (With `RESOLVE_BENEATH`,
        // EAGAIN can also mean a rename raced the lookup: the caller walks instead.)
        Err(HostErrno::AGAIN) if how == How::Openat => open(flags),
        other => other,
    }
}

/// Whether an `openat2` [`BENEATH`] of a path of plain names answered what the component walk
/// would answer for certain (then the errno stands), or must leave the path to the walk (`None`):
/// a link on the path (`ELOOP`; `ENOTDIR` for an `O_DIRECTORY` open, which a link as the last
/// name also gives), a rename racing the lookup (`EAGAIN`), a mount point (`EXDEV`), a kernel
/// or filter refusing the call (`ENOSYS`, `EPERM`, `EINVAL`, `E2BIG`).
pub(super) fn decided(err: HostErrno, directory: bool) -> Option<Errno> {
    match err {
        HostErrno::LOOP | HostErrno::AGAIN | HostErrno::XDEV | HostErrno::NOSYS | HostErrno::PERM => None,
        HostErrno::INVAL | HostErrno::TOOBIG => None,
        HostErrno::NOTDIR if directory => None,
        err => Some(err.into()),
    }
}

/// Whether the entry `name` of `dir` is the root of another mount (not following a link):
/// `statx`'s `STATX_ATTR_MOUNT_ROOT` where the kernel reports it, else an `st_dev` other than
/// `dev`. Also returns the entry's attributes. [`Errno::Noent`] if there is no such entry.
pub(super) fn mount_root_at(dir: &OwnedFd, name: &str, dev: u64) -> Result<(bool, Stat)> {
    let flags = AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
    match rfs::statx(dir, name, flags, StatxFlags::BASIC_STATS) {
        Ok(stx) => {
            let st = statx_to_stat(&stx);
            let crosses = if stx.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) {
                stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
            } else {
                st.dev != dev
            };
            Ok((crosses, st))
        }
        Err(HostErrno::NOSYS) => {
            let st = to_stat(&rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?);
            Ok((st.dev != dev, st))
        }
        Err(err) => Err(err.into()),
    }
}

/// Whether `O_NONBLOCK` does nothing to the regular files of a filesystem of type `f_type`
/// (`statfs(2)`): the local disk and memory filesystems, whose reads and writes of regular files
/// never look at it (Linux's `open(2)`: "this flag has no effect for regular files"). On others
/// (FUSE passes the flag to its server, network filesystems) it is cleared after each open.
pub(super) fn nonblock_inert(f_type: i64) -> bool {
    const TMPFS: i64 = 0x0102_1994;
    const EXT234: i64 = 0xEF53;
    const XFS: i64 = 0x5846_5342;
    const BTRFS: i64 = 0x9123_683E;
    matches!(f_type, TMPFS | EXT234 | XFS | BTRFS)
}

/// Sets `O_NONBLOCK` and every other `F_SETFL` flag clear.
pub(super) fn make_blocking(fd: &OwnedFd) -> Result<()> {
    Ok(rfs::fcntl_setfl(fd.as_fd(), OFlags::empty())?)
}

/// A poison-tolerant lock (nothing guarded here can be left inconsistent by a panic).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The host file type of `st`.
#[allow(clippy::unnecessary_cast)]
pub(super) fn raw_type(st: &rfs::Stat) -> rfs::FileType {
    rfs::FileType::from_raw_mode(st.st_mode as rfs::RawMode)
}

/// The WASI file type of a host file type.
pub(super) fn file_type(host: rfs::FileType) -> FileType {
    match host {
        rfs::FileType::RegularFile => FileType::RegularFile,
        rfs::FileType::Directory => FileType::Directory,
        rfs::FileType::Symlink => FileType::SymbolicLink,
        rfs::FileType::CharacterDevice => FileType::CharacterDevice,
        rfs::FileType::BlockDevice => FileType::BlockDevice,
        rfs::FileType::Socket => FileType::SocketStream,
        _ => FileType::Unknown,
    }
}

/// Nanoseconds since the epoch (0 before it, saturating far after it).
fn nanos(sec: i64, nsec: u64) -> u64 {
    u64::try_from(sec).map_or(0, |sec| sec.saturating_mul(1_000_000_000).saturating_add(nsec))
}

/// The WASI `filestat` of a host `struct stat`.
#[allow(clippy::unnecessary_cast)]
pub(super) fn to_stat(st: &rfs::Stat) -> Stat {
    Stat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        filetype: file_type(raw_type(st)),
        nlink: st.st_nlink as u64,
        size: u64::try_from(st.st_size as i64).unwrap_or(0),
        atim: nanos(st.st_atime as i64, st.st_atime_nsec as u64),
        mtim: nanos(st.st_mtime as i64, st.st_mtime_nsec as u64),
        ctim: nanos(st.st_ctime as i64, st.st_ctime_nsec as u64),
    }
}

/// The WASI `filestat` of a host `struct statx` (the same values `fstatat` gives).
#[allow(clippy::unnecessary_cast)]
fn statx_to_stat(stx: &rfs::Statx) -> Stat {
    let time = |t: &rfs::StatxTimestamp| nanos(t.tv_sec, u64::from(t.tv_nsec));
    Stat {
        dev: rfs::makedev(stx.stx_dev_major, stx.stx_dev_minor) as u64,
        ino: stx.stx_ino,
        filetype: file_type(rfs::FileType::from_raw_mode(rfs::RawMode::from(stx.stx_mode))),
        nlink: u64::from(stx.stx_nlink),
        size: stx.stx_size,
        atim: time(&stx.stx_atime),
        mtim: time(&stx.stx_mtime),
        ctim: time(&stx.stx_ctime),
    }
}

/// `utimensat`/`futimens` arguments.
pub(super) fn timestamps(atime: SetTime, mtime: SetTime) -> rfs::Timestamps {
    rfs::Timestamps { last_access: timespec(atime), last_modification: timespec(mtime) }
}

fn timespec(time: SetTime) -> rfs::Timespec {
    match time {
        SetTime::Omit => rfs::Timespec { tv_sec: 0, tv_nsec: rfs::UTIME_OMIT },
        SetTime::Now => rfs::Timespec { tv_sec: 0, tv_nsec: rfs::UTIME_NOW },
        SetTime::At(ns) => rfs::Timespec {
            // Both fit: u64::MAX / 10^9 < 2^35, and the remainder < 10^9.
            tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
            tv_nsec: rfs::Nsecs::try_from(ns % 1_000_000_000).unwrap_or(0),
        },
    }
}

/// What identifies a host entry: its device and inode numbers.
#[allow(clippy::unnecessary_cast)]
pub(super) fn identity(st: &rfs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}
