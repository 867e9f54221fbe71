//! A sandboxed host directory: [`HostDir`].
//!
//! # The sandbox
//! Every directory handle of a [`HostDir`] holds an open host directory descriptor (opened with
//! `O_DIRECTORY | O_CLOEXEC`), and every operation is one `*at` system call on that descriptor
//! with one path component that never follows a symbolic link: `openat(O_NOFOLLOW)`,
//! `fstatat(AT_SYMLINK_NOFOLLOW)`, `mkdirat`, `unlinkat`, `renameat`, `linkat` without
//! `AT_SYMLINK_FOLLOW`, `symlinkat`, `readlinkat` and `utimensat(AT_SYMLINK_NOFOLLOW)`. The
//! component comes from [`crate::resolve`], which never passes `.`, `..`, or a name holding `/`
//! or NUL; this backend refuses such names anyway ([`Errno::Inval`], [`Errno::Notcapable`] for
//! `..`). No host path string is ever built or checked, so a guest cannot leave the mounted
//! directory, even when the host swaps a directory for a symbolic link between two calls (the
//! swapped name then answers [`Errno::Loop`]).
//!
//! # Behaviour worth knowing
//! - Opening never blocks on a FIFO: entries are opened with `O_NONBLOCK`, which is cleared
//!   again right after the open. Opening a FIFO for writing while it has no reader therefore
//!   fails with [`Errno::Nxio`] instead of waiting for one.
//! - A directory listing is a snapshot taken when [`Dir::read_dir`] is called with cookie 0 (or
//!   the first time on a handle); cookies are positions in that snapshot, so continuing a
//!   listing costs nothing however large the directory is. Entries added or removed after the
//!   snapshot are seen when the listing is restarted at cookie 0. Entries whose host name is
//!   not valid UTF-8 are not listed (they cannot be named through the [`Dir`] API).
//! - [`File::append`] uses `pwritev2(RWF_APPEND)`, atomic against every other appender of the
//!   host file; on kernels older than 4.16 it falls back to a write at the end of the file
//!   serialized with the other appends through the same handle.
//! - On a read-only instance ([`HostDir::open_read_only`]), files are opened `O_RDONLY` and every
//!   change (including opening with `write`, `create` or `truncate`) answers [`Errno::Rofs`]
//!   before any system call is made.
//!
//! # Example
//! ```
//! use hammertime_vfs::{FileSystem, HostDir, Node, OpenOptions};
//!
//! let tmp = tempfile::tempdir()?;
//! let fs = HostDir::open(tmp.path())?;
//! let root = fs.root()?;
//!
//! let options = OpenOptions { read: true, write: true, create: true, ..Default::default() };
//! let Node::File(file) = root.open_at("hello.txt", options)? else {
//!     return Err("expected a file".into());
//! };
//! assert_eq!(file.write_at(b"hello, host", 0)?, 11);
//!
//! let mut buf = [0u8; 32];
//! let n = file.read_at(&mut buf, 0)?;
//! assert_eq!(&buf[..n], b"hello, host");
//! assert_eq!(std::fs::read(tmp.path().join("hello.txt"))?, b"hello, host");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::any::Any;
use std::io;
use std::num::NonZeroU64;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno as HostErrno;

use crate::{Advice, Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// Source of the instance identities that tell two [`HostDir`]s apart (for [`Errno::Xdev`]).
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// The largest file offset or size the host accepts (`off_t` is signed).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// The permissions of a file created by [`Dir::open_at`] (the process umask applies).
const FILE_MODE: u32 = 0o666;

/// The permissions of a directory created by [`Dir::mkdir_at`] (the process umask applies).
const DIR_MODE: u32 = 0o777;

/// A host directory served as a sandboxed [`FileSystem`].
///
/// Cloning is cheap and yields the same instance (same root descriptor, same identity: renames
/// and hard links between clones work, between different instances they answer
/// [`Errno::Xdev`]). See the [module docs](self) for the sandbox design.
#[derive(Clone, Debug)]
pub struct HostDir {
    inner: Arc<Instance>,
}

#[derive(Debug)]
struct Instance {
    root: Arc<OwnedFd>,
    read_only: bool,
    id: u64,
}

impl HostDir {
    /// Opens the host directory `path` read-write. The path is resolved by the host (it may
    /// follow symbolic links); everything below it is sandboxed.
    ///
    /// Errors: the host's error opening `path` as a directory (`ENOTDIR` if it is not one).
    pub fn open(path: impl AsRef<Path>) -> io::Result<HostDir> {
        Self::open_path(path.as_ref(), false)
    }

    /// Opens the host directory `path` read-only: files open `O_RDONLY` and every change
    /// answers [`Errno::Rofs`].
    ///
    /// Errors: as [`HostDir::open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<HostDir> {
        Self::open_path(path.as_ref(), true)
    }

    /// Serves an already open host directory descriptor read-write. The directory is reopened
    /// (`openat(fd, ".")`) as a readable, close-on-exec descriptor, so an `O_PATH` descriptor
    /// (as [`cap_std`] opens them) works too.
    ///
    /// Errors: `ENOTDIR` if `fd` is not a directory; the host's error reopening it.
    pub fn from_fd(fd: OwnedFd) -> io::Result<HostDir> {
        Self::from_fd_with(reopen_dir(&fd)?, false)
    }

    /// Serves an already open host directory descriptor read-only.
    ///
    /// Errors: as [`HostDir::from_fd`].
    pub fn from_fd_read_only(fd: OwnedFd) -> io::Result<HostDir> {
        Self::from_fd_with(reopen_dir(&fd)?, true)
    }

    /// Serves a [`cap_std::fs::Dir`] read-write.
    ///
    /// Errors: as [`HostDir::from_fd`].
    pub fn from_cap_std(dir: cap_std::fs::Dir) -> io::Result<HostDir> {
        Self::from_fd(OwnedFd::from(dir))
    }

    /// Whether this instance refuses every change with [`Errno::Rofs`].
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    fn open_path(path: &Path, read_only: bool) -> io::Result<HostDir> {
        let fd = rfs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Self::from_fd_with(fd, read_only)
    }

    fn from_fd_with(fd: OwnedFd, read_only: bool) -> io::Result<HostDir> {
        let st = rfs::fstat(&fd)?;
        if raw_type(&st) != rfs::FileType::Directory {
            return Err(HostErrno::NOTDIR.into());
        }
        let id = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        Ok(HostDir { inner: Arc::new(Instance { root: Arc::new(fd), read_only, id }) })
    }
}

impl FileSystem for HostDir {
    /// A handle on the shared root descriptor. [`Errno::Noent`] if the host removed the
    /// directory.
    fn root(&self) -> Result<Arc<dyn Dir>> {
        let st = rfs::fstat(&*self.inner.root)?;
        if st.st_nlink == 0 {
            return Err(Errno::Noent);
        }
        Ok(Arc::new(HostDirHandle::new(Arc::clone(&self.inner.root), self.inner.read_only, self.inner.id)))
    }

    fn is_read_only(&self) -> bool {
        self.inner.read_only
    }
}

/// An open host directory.
struct HostDirHandle {
    fd: Arc<OwnedFd>,
    read_only: bool,
    instance: u64,
    /// The listing snapshot that cookies index (entry `i` has `next == i + 1`).
    listing: Mutex<Option<Arc<Vec<DirEntry>>>>,
}

impl HostDirHandle {
    fn new(fd: Arc<OwnedFd>, read_only: bool, instance: u64) -> HostDirHandle {
        HostDirHandle { fd, read_only, instance, listing: Mutex::new(None) }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only { Err(Errno::Rofs) } else { Ok(()) }
    }

    /// `new_dir` as a handle of this same instance, else [`Errno::Xdev`].
    fn same_instance<'a>(&self, new_dir: &'a dyn Dir) -> Result<&'a HostDirHandle> {
        match new_dir.as_any().downcast_ref::<HostDirHandle>() {
            Some(other) if other.instance == self.instance => Ok(other),
            _ => Err(Errno::Xdev),
        }
    }

    /// Reads the whole directory once, through a fresh open file description (so that no
    /// other handle's position is disturbed).
    fn snapshot(&self) -> Result<Vec<DirEntry>> {
        let mut stream = rfs::Dir::new(reopen_dir(&self.fd)?)?;
        let mut entries = Vec::new();
        while let Some(entry) = stream.read() {
            let entry = entry?;
            let bytes = entry.file_name().to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let Ok(name) = std::str::from_utf8(bytes) else {
                continue;
            };
            let filetype = match entry.file_type() {
                rfs::FileType::Unknown => match rfs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => file_type(raw_type(&st)),
                    Err(HostErrno::NOENT) => continue,
                    Err(_) => FileType::Unknown,
                },
                known => file_type(known),
            };
            let next = u64::try_from(entries.len()).unwrap_or(u64::MAX).saturating_add(1);
            entries.push(DirEntry { next, ino: entry.ino(), filetype, name: name.to_owned() });
        }
        Ok(entries)
    }
}

impl Dir for HostDirHandle {
    /// The same directory fd with a listing snapshot of its own.
    fn reopen(&self) -> Option<Arc<dyn Dir>> {
        Some(Arc::new(HostDirHandle::new(Arc::clone(&self.fd), self.read_only, self.instance)))
    }

    fn stat(&self) -> Result<Stat> {
        Ok(to_stat(&rfs::fstat(&*self.fd)?))
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        check_name(name)?;
        Ok(to_stat(&rfs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?))
    }

    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        check_name(name)?;
        if self.read_only && (options.write || options.create || options.truncate) {
            return Err(Errno::Rofs);
        }
        let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        flags |= match (options.read, options.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            (_, false) => OFlags::RDONLY,
        };
        if options.create {
            flags |= OFlags::CREATE;
            if options.exclusive {
                flags |= OFlags::EXCL;
            }
        }
        if options.truncate {
            flags |= OFlags::TRUNC;
        }
        if options.directory {
            flags |= OFlags::DIRECTORY;
        }
        // Linux answers ENOTDIR, not ELOOP, to `O_NOFOLLOW | O_DIRECTORY` on a symbolic link:
        // look at the entry to tell the two apart. If the host swapped a link for a directory in
        // between, open again (a bounded number of times; then the last answer stands).
        let mut attempts = 0;
        let fd = loop {
            match open_without_blocking(&self.fd, name, flags) {
                Ok(fd) => break fd,
                Err(HostErrno::NOTDIR) if options.directory => {
                    match rfs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) if raw_type(&st) == rfs::FileType::Symlink => return Err(Errno::Loop),
                        Ok(st) if raw_type(&st) == rfs::FileType::Directory && attempts < 8 => attempts += 1,
                        _ => return Err(Errno::Notdir),
                    }
                }
                Err(err) => return Err(err.into()),
            }
        };
        // An `O_DIRECTORY` open can only give a directory: no need to look.
        let host_type = if options.directory { rfs::FileType::Directory } else { raw_type(&rfs::fstat(&fd)?) };
        match host_type {
            rfs::FileType::Directory => {
                Ok(Node::Dir(Arc::new(HostDirHandle::new(Arc::new(fd), self.read_only, self.instance))))
            }
            other => {
                // Blocking again (O_NONBLOCK could matter even for a regular file on some
                // filesystems, FUSE among them).
                rfs::fcntl_setfl(fd.as_fd(), OFlags::empty())?;
                Ok(Node::File(Arc::new(HostFile::new(fd, self.read_only, file_type(other)))))
            }
        }
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        let snapshot = {
            let mut listing = lock(&self.listing);
            match &*listing {
                Some(snapshot) if cookie != 0 => Arc::clone(snapshot),
                _ => {
                    let snapshot = Arc::new(self.snapshot()?);
                    *listing = Some(Arc::clone(&snapshot));
                    snapshot
                }
            }
        };
        // The lock is released: `sink` may call back into this handle.
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for entry in snapshot.get(start..).unwrap_or(&[]) {
            if !sink(entry.clone()) {
                break;
            }
        }
        Ok(())
    }

    fn mkdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        Ok(rfs::mkdirat(&*self.fd, name, Mode::from_bits_truncate(DIR_MODE))?)
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        match rfs::unlinkat(&*self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) => Ok(()),
            // POSIX allows EEXIST for a non-empty directory; the contract says Notempty.
            Err(HostErrno::EXIST) => Err(Errno::Notempty),
            Err(err) => Err(err.into()),
        }
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        Ok(rfs::unlinkat(&*self.fd, name, AtFlags::empty())?)
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        check_name(name)?;
        if target.contains('\0') {
            return Err(Errno::Inval);
        }
        self.check_writable()?;
        Ok(rfs::symlinkat(target, &*self.fd, name)?)
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        check_name(name)?;
        let target = rfs::readlinkat(&*self.fd, name, Vec::new())?;
        target.into_string().map_err(|_| Errno::Ilseq)
    }

    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        self.check_writable()?;
        let target = self.same_instance(new_dir)?;
        match rfs::renameat(&*self.fd, name, &*target.fd, new_name) {
            Ok(()) => Ok(()),
            // POSIX allows EEXIST for a non-empty target directory; the contract says Notempty.
            Err(HostErrno::EXIST) => Err(Errno::Notempty),
            Err(err) => Err(err.into()),
        }
    }

    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        self.check_writable()?;
        let target = self.same_instance(new_dir)?;
        Ok(rfs::linkat(&*self.fd, name, &*target.fd, new_name, AtFlags::empty())?)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        Ok(rfs::utimensat(&*self.fd, name, &timestamps(atime, mtime), AtFlags::SYMLINK_NOFOLLOW)?)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.check_writable()?;
        Ok(rfs::futimens(&*self.fd, &timestamps(atime, mtime))?)
    }

    fn sync(&self) -> Result<()> {
        Ok(rfs::fsync(&*self.fd)?)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open host file (regular file, FIFO, device…), kept open for the life of the handle.
struct HostFile {
    fd: OwnedFd,
    read_only: bool,
    /// The file's type, from the `fstat` made when it was opened.
    filetype: FileType,
    /// The kernel refused `RWF_APPEND` once: use the serialized fallback from now on.
    no_rwf_append: AtomicBool,
    /// Serializes fallback appends through this handle.
    append_lock: Mutex<()>,
}

impl HostFile {
    fn new(fd: OwnedFd, read_only: bool, filetype: FileType) -> HostFile {
        HostFile { fd, read_only, filetype, no_rwf_append: AtomicBool::new(false), append_lock: Mutex::new(()) }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only { Err(Errno::Rofs) } else { Ok(()) }
    }

    fn size(&self) -> Result<u64> {
        Ok(to_stat(&rfs::fstat(&self.fd)?).size)
    }

    /// `O_APPEND` semantics without `RWF_APPEND`: serialized with this handle's appends.
    fn append_fallback(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let _guard = lock(&self.append_lock);
        let end = self.size()?;
        let written = match rustix::io::pwrite(&self.fd, buf, end) {
            Err(HostErrno::SPIPE) => rustix::io::write(&self.fd, buf)?,
            other => other?,
        };
        Ok((written, self.size()?))
    }
}

impl File for HostFile {
    fn stat(&self) -> Result<Stat> {
        Ok(to_stat(&rfs::fstat(&self.fd)?))
    }

    fn filetype(&self) -> Result<FileType> {
        Ok(self.filetype)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if offset > MAX_OFFSET {
            // Past the end of any host file.
            return Ok(0);
        }
        Ok(rustix::io::pread(&self.fd, buf, offset)?)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.check_writable()?;
        if offset > MAX_OFFSET {
            return Err(Errno::Fbig);
        }
        Ok(rustix::io::pwrite(&self.fd, buf, offset)?)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.check_writable()?;
        #[cfg(all(target_os = "linux", not(target_env = "ohos")))]
        if !self.no_rwf_append.load(Ordering::Relaxed) {
            // The offset is ignored with RWF_APPEND (and the file position is left alone).
            match rustix::io::pwritev2(&self.fd, &[io::IoSlice::new(buf)], 0, rustix::io::ReadWriteFlags::APPEND) {
                Ok(written) => return Ok((written, self.size()?)),
                // Not seekable (FIFO, character device): a plain write is an append.
                Err(HostErrno::SPIPE) => return Ok((rustix::io::write(&self.fd, buf)?, self.size()?)),
                // Kernel older than 4.16 (unknown flag) or 4.6 (no pwritev2).
                Err(HostErrno::NOTSUP | HostErrno::NOSYS) => self.no_rwf_append.store(true, Ordering::Relaxed),
                Err(err) => return Err(err.into()),
            }
        }
        self.append_fallback(buf)
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.check_writable()?;
        if size > MAX_OFFSET {
            return Err(Errno::Fbig);
        }
        Ok(rfs::ftruncate(&self.fd, size)?)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.check_writable()?;
        Ok(rfs::futimens(&self.fd, &timestamps(atime, mtime))?)
    }

    fn sync(&self) -> Result<()> {
        Ok(rfs::fsync(&self.fd)?)
    }

    fn datasync(&self) -> Result<()> {
        Ok(rfs::fdatasync(&self.fd)?)
    }

    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.check_writable()?;
        match offset.checked_add(len) {
            Some(end) if end <= MAX_OFFSET => {}
            _ => return Err(Errno::Fbig),
        }
        Ok(rfs::fallocate(&self.fd, rfs::FallocateFlags::empty(), offset, len)?)
    }

    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        let advice = match advice {
            Advice::Normal => rfs::Advice::Normal,
            Advice::Sequential => rfs::Advice::Sequential,
            Advice::Random => rfs::Advice::Random,
            Advice::WillNeed => rfs::Advice::WillNeed,
            Advice::DontNeed => rfs::Advice::DontNeed,
            Advice::NoReuse => rfs::Advice::NoReuse,
        };
        Ok(rfs::fadvise(&self.fd, offset, NonZeroU64::new(len), advice)?)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Refuses a name that is not exactly one component (the resolver never sends one).
fn check_name(name: &str) -> Result<()> {
    match name {
        "" | "." => Err(Errno::Inval),
        ".." => Err(Errno::Notcapable),
        _ if name.bytes().any(|b| b == b'/' || b == 0) => Err(Errno::Inval),
        _ => Ok(()),
    }
}

/// A new open file description of the directory `fd` (its own position, readable, no
/// `O_PATH`). `.` names the directory itself, never anything outside it.
fn reopen_dir(fd: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rfs::openat(fd, ".", flags, Mode::empty())
}

/// `openat` with `O_NONBLOCK` (so that a FIFO never blocks the open), which is then cleared.
/// Opens `name` with `O_NONBLOCK` added (so that a FIFO cannot block the open), except for an
/// `O_DIRECTORY` open, which cannot block. The caller clears `O_NONBLOCK` on what is not a
/// directory (`F_SETFL` only touches O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK,
/// none of which this backend wants set).
fn open_without_blocking(dir: &OwnedFd, name: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let mode = Mode::from_bits_truncate(FILE_MODE);
    if flags.contains(OFlags::DIRECTORY) {
        return rfs::openat(dir, name, flags, mode);
    }
    match rfs::openat(dir, name, flags | OFlags::NONBLOCK, mode) {
        // Only a lease held by another process makes a non-blocking open fail with EAGAIN (a
        // FIFO never does): wait for it like a blocking open would.
        Err(HostErrno::AGAIN) => rfs::openat(dir, name, flags, mode),
        other => other,
    }
}

/// A poison-tolerant lock (nothing guarded here can be left inconsistent by a panic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The host file type of `st`.
#[allow(clippy::unnecessary_cast)]
fn raw_type(st: &rfs::Stat) -> rfs::FileType {
    rfs::FileType::from_raw_mode(st.st_mode as rfs::RawMode)
}

/// The WASI file type of a host file type.
fn file_type(host: rfs::FileType) -> FileType {
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
fn to_stat(st: &rfs::Stat) -> Stat {
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

/// `utimensat`/`futimens` arguments.
fn timestamps(atime: SetTime, mtime: SetTime) -> rfs::Timestamps {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    use super::*;

    const RW: OpenOptions =
        OpenOptions { read: true, write: true, create: false, exclusive: false, truncate: false, directory: false };
    const RO: OpenOptions =
        OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };
    const CREATE: OpenOptions =
        OpenOptions { read: true, write: true, create: true, exclusive: false, truncate: false, directory: false };
    const DIRECTORY: OpenOptions =
        OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: true };

    /// A temp dir holding `mount/` (served) and `outside/` (must never be touched).
    struct Fixture {
        _tmp: tempfile::TempDir,
        mount: PathBuf,
        outside: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mount = tmp.path().join("mount");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&mount).expect("mkdir mount");
        std::fs::create_dir(&outside).expect("mkdir outside");
        std::fs::write(outside.join("secret"), b"secret").expect("write secret");
        Fixture { _tmp: tmp, mount, outside }
    }

    fn rw_root(fx: &Fixture) -> Arc<dyn Dir> {
        HostDir::open(&fx.mount).expect("open").root().expect("root")
    }

    fn file(node: Result<Node>) -> Arc<dyn File> {
        match node.expect("open_at") {
            Node::File(f) => f,
            Node::Dir(_) => panic!("expected a file"),
        }
    }

    fn dir(node: Result<Node>) -> Arc<dyn Dir> {
        match node.expect("open_at") {
            Node::Dir(d) => d,
            Node::File(_) => panic!("expected a directory"),
        }
    }

    fn open_err(d: &dyn Dir, name: &str, options: OpenOptions) -> Errno {
        match d.open_at(name, options) {
            Ok(node) => panic!("open_at({name}) succeeded: {node:?}"),
            Err(e) => e,
        }
    }

    fn list(d: &dyn Dir) -> Vec<DirEntry> {
        let mut out = Vec::new();
        d.read_dir(0, &mut |e| {
            out.push(e);
            true
        })
        .expect("read_dir");
        out
    }

    fn names(d: &dyn Dir) -> Vec<String> {
        let mut v: Vec<String> = list(d).into_iter().map(|e| e.name).collect();
        v.sort();
        v
    }

    fn host_names(path: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(path)
            .expect("host read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        v.sort();
        v
    }

    fn mtime_ns(m: &std::fs::Metadata) -> u64 {
        m.mtime() as u64 * 1_000_000_000 + m.mtime_nsec() as u64
    }

    fn atime_ns(m: &std::fs::Metadata) -> u64 {
        m.atime() as u64 * 1_000_000_000 + m.atime_nsec() as u64
    }

    fn assert_stat_matches(stat: &Stat, path: &Path) {
        let m = std::fs::symlink_metadata(path).expect("symlink_metadata");
        assert_eq!(stat.dev, m.dev());
        assert_eq!(stat.ino, m.ino());
        assert_eq!(stat.nlink, m.nlink());
        assert_eq!(stat.size, m.size());
        assert_eq!(stat.mtim, mtime_ns(&m));
        assert_eq!(stat.atim, atime_ns(&m));
        assert_eq!(stat.ctim, m.ctime() as u64 * 1_000_000_000 + m.ctime_nsec() as u64);
    }

    /// Whether permission bits bind us (false when running with CAP_DAC_OVERRIDE, e.g. root).
    fn permissions_apply(fx: &Fixture) -> bool {
        let probe = fx.outside.join("probe");
        std::fs::write(&probe, b"x").expect("probe");
        std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let denied = std::fs::File::open(&probe).is_err();
        std::fs::remove_file(&probe).expect("rm probe");
        denied
    }

    struct Foreign;
    impl Dir for Foreign {
        fn stat(&self) -> Result<Stat> {
            Err(Errno::Nosys)
        }
        fn stat_at(&self, _: &str) -> Result<Stat> {
            Err(Errno::Nosys)
        }
        fn open_at(&self, _: &str, _: OpenOptions) -> Result<Node> {
            Err(Errno::Nosys)
        }
        fn read_dir(&self, _: u64, _: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn mkdir_at(&self, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn rmdir_at(&self, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn unlink_at(&self, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn symlink_at(&self, _: &str, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn readlink_at(&self, _: &str) -> Result<String> {
            Err(Errno::Nosys)
        }
        fn rename_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn link_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
            Err(Errno::Nosys)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[test]
    fn handles_are_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<HostDir>();
        fn check_dyn<T: Send + Sync>() {}
        check_dyn::<HostDirHandle>();
        check_dyn::<HostFile>();
    }

    #[test]
    fn open_rejects_non_directories_and_missing_paths() {
        let fx = fixture();
        let err = HostDir::open(fx.outside.join("secret")).expect_err("a file is no mount");
        assert_eq!(err.raw_os_error(), Some(HostErrno::NOTDIR.raw_os_error()));
        let err = HostDir::open(fx.outside.join("missing")).expect_err("missing");
        assert_eq!(err.raw_os_error(), Some(HostErrno::NOENT.raw_os_error()));
        let fd = rfs::open(fx.outside.join("secret"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).expect("open");
        let err = HostDir::from_fd(fd).expect_err("a file fd is no mount");
        assert_eq!(err.raw_os_error(), Some(HostErrno::NOTDIR.raw_os_error()));
    }

    #[test]
    fn from_fd_and_cap_std_serve_the_directory() {
        let fx = fixture();
        std::fs::write(fx.mount.join("a"), b"1").expect("write");
        let fd =
            rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open");
        let fs = HostDir::from_fd(fd).expect("from_fd");
        assert!(!fs.is_read_only());
        assert_eq!(names(&*fs.root().expect("root")), ["a"]);
        let fd =
            rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open");
        let fs = HostDir::from_fd_read_only(fd).expect("from_fd_read_only");
        assert!(FileSystem::is_read_only(&fs));
        assert_eq!(fs.root().expect("root").mkdir_at("x"), Err(Errno::Rofs));
        let cap = cap_std::fs::Dir::open_ambient_dir(&fx.mount, cap_std::ambient_authority()).expect("cap");
        let fs = HostDir::from_cap_std(cap).expect("from_cap_std");
        assert_eq!(names(&*fs.root().expect("root")), ["a"]);
    }

    #[test]
    fn root_of_a_removed_directory_is_noent() {
        let fx = fixture();
        let fs = HostDir::open(&fx.mount).expect("open");
        let root = fs.root().expect("root");
        std::fs::remove_dir(&fx.mount).expect("rmdir");
        assert_eq!(fs.root().err(), Some(Errno::Noent));
        // The old handle sees an empty, removed directory and cannot create in it.
        assert_eq!(root.open_at("new", CREATE).err(), Some(Errno::Noent));
        assert_eq!(root.mkdir_at("new"), Err(Errno::Noent));
    }

    #[test]
    fn bad_names_are_refused() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        let root = rw_root(&fx);
        for (name, errno) in [
            ("", Errno::Inval),
            (".", Errno::Inval),
            ("..", Errno::Notcapable),
            ("a/b", Errno::Inval),
            ("/", Errno::Inval),
            ("../outside", Errno::Inval),
            ("f\0", Errno::Inval),
        ] {
            assert_eq!(root.stat_at(name).err(), Some(errno), "stat_at {name:?}");
            assert_eq!(root.open_at(name, CREATE).err(), Some(errno), "open_at {name:?}");
            assert_eq!(root.mkdir_at(name), Err(errno), "mkdir_at {name:?}");
            assert_eq!(root.rmdir_at(name), Err(errno), "rmdir_at {name:?}");
            assert_eq!(root.unlink_at(name), Err(errno), "unlink_at {name:?}");
            assert_eq!(root.symlink_at("t", name), Err(errno), "symlink_at {name:?}");
            assert_eq!(root.readlink_at(name).err(), Some(errno), "readlink_at {name:?}");
            assert_eq!(root.rename_at(name, &*root, "g"), Err(errno), "rename_at {name:?}");
            assert_eq!(root.rename_at("f", &*root, name), Err(errno), "rename_at to {name:?}");
            assert_eq!(root.link_at(name, &*root, "g"), Err(errno), "link_at {name:?}");
            assert_eq!(root.link_at("f", &*root, name), Err(errno), "link_at to {name:?}");
            assert_eq!(root.set_times_at(name, SetTime::Now, SetTime::Now), Err(errno), "set_times_at {name:?}");
        }
        assert_eq!(root.symlink_at("a\0b", "l"), Err(Errno::Inval));
        assert_eq!(host_names(&fx.mount), ["f"]);
        assert_eq!(host_names(&fx.outside), ["secret"]);
    }

    #[test]
    fn stat_matches_the_host() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"hello").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        std::os::unix::fs::symlink("f", fx.mount.join("l")).expect("symlink");
        let root = rw_root(&fx);

        let st = root.stat_at("f").expect("stat f");
        assert_eq!(st.filetype, FileType::RegularFile);
        assert_eq!(st.size, 5);
        assert_stat_matches(&st, &fx.mount.join("f"));

        let st = root.stat_at("d").expect("stat d");
        assert_eq!(st.filetype, FileType::Directory);
        assert_stat_matches(&st, &fx.mount.join("d"));

        let st = root.stat_at("l").expect("stat l");
        assert_eq!(st.filetype, FileType::SymbolicLink);
        assert_eq!(st.size, 1);
        assert_stat_matches(&st, &fx.mount.join("l"));

        let st = root.stat().expect("stat root");
        assert_eq!(st.filetype, FileType::Directory);
        assert_stat_matches(&st, &fx.mount);

        let f = file(root.open_at("f", RO));
        let st = f.stat().expect("fstat");
        assert_eq!(st.filetype, FileType::RegularFile);
        assert_stat_matches(&st, &fx.mount.join("f"));

        let d = dir(root.open_at("d", DIRECTORY));
        assert_stat_matches(&d.stat().expect("fstat dir"), &fx.mount.join("d"));

        assert_eq!(root.stat_at("missing").err(), Some(Errno::Noent));
        assert_eq!(root.stat_at(&"n".repeat(300)).err(), Some(Errno::Nametoolong));
    }

    #[test]
    fn special_file_types() {
        let fx = fixture();
        let root = rw_root(&fx);
        let host = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
        rfs::mknodat(&host, "fifo", rfs::FileType::Fifo, Mode::from_bits_truncate(0o644), 0).expect("mkfifo");
        let listener = std::os::unix::net::UnixListener::bind(fx.mount.join("sock")).expect("bind");
        assert_eq!(root.stat_at("fifo").expect("stat").filetype, FileType::Unknown);
        assert_eq!(root.stat_at("sock").expect("stat").filetype, FileType::SocketStream);
        let mut listed: Vec<(String, FileType)> = list(&*root).into_iter().map(|e| (e.name, e.filetype)).collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(listed, [("fifo".to_owned(), FileType::Unknown), ("sock".to_owned(), FileType::SocketStream)]);

        // Opening a FIFO for reading does not wait for a writer, and leaves O_NONBLOCK clear.
        let f = file(root.open_at("fifo", RO));
        let host_file = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
        let flags = rfs::fcntl_getfl(&host_file.fd).expect("getfl");
        assert!(!flags.contains(OFlags::NONBLOCK), "{flags:?}");
        assert_eq!(f.stat().expect("fstat").filetype, FileType::Unknown);
        assert_eq!(f.read_at(&mut [0u8; 4], 0), Err(Errno::Spipe));
        // With a reader present, a writer opens and appends; pwrite is refused.
        let w = file(root.open_at("fifo", OpenOptions { write: true, ..RO }));
        assert_eq!(w.write_at(b"x", 0), Err(Errno::Spipe));
        assert_eq!(w.append(b"abc"), Ok((3, 0)));
        drop(w);
        drop(f);
        // Without a reader, opening for writing fails instead of blocking.
        assert_eq!(open_err(&*root, "fifo", OpenOptions { write: true, read: false, ..RO }), Errno::Nxio);
        // A socket cannot be opened.
        assert_eq!(open_err(&*root, "sock", RO), Errno::Nxio);
        drop(listener);
        // A character device reports its type (through a host directory holding /dev/null).
        let dev = HostDir::open_read_only("/dev").expect("open /dev").root().expect("root");
        assert_eq!(dev.stat_at("null").expect("stat null").filetype, FileType::CharacterDevice);
    }

    #[test]
    fn open_at_creates_reads_writes_and_truncates() {
        let fx = fixture();
        let root = rw_root(&fx);
        assert_eq!(open_err(&*root, "f", RW), Errno::Noent);
        let f = file(root.open_at("f", CREATE));
        assert_eq!(f.write_at(b"hello", 0), Ok(5));
        assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"hello");
        let mode = std::fs::metadata(fx.mount.join("f")).expect("meta").mode() & 0o777;
        assert_eq!(mode & !0o666, 0, "mode {mode:o}");

        // create without exclusive opens the existing file unchanged.
        let g = file(root.open_at("f", CREATE));
        let mut buf = [0u8; 8];
        assert_eq!(g.read_at(&mut buf, 0), Ok(5));
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(open_err(&*root, "f", OpenOptions { exclusive: true, ..CREATE }), Errno::Exist);

        // truncate empties it.
        let t = file(root.open_at("f", OpenOptions { truncate: true, ..RW }));
        assert_eq!(t.stat().expect("stat").size, 0);
        assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"");

        // Access modes are honoured.
        let r = file(root.open_at("f", RO));
        assert_eq!(r.write_at(b"x", 0), Err(Errno::Badf));
        let w = file(root.open_at("f", OpenOptions { read: false, write: true, ..RO }));
        assert_eq!(w.read_at(&mut buf, 0), Err(Errno::Badf));
        let flags = rfs::fcntl_getfl(&w.as_any().downcast_ref::<HostFile>().expect("HostFile").fd).expect("getfl");
        assert!(!flags.contains(OFlags::NONBLOCK) && !flags.contains(OFlags::APPEND), "{flags:?}");

        // Exclusive creation of a new file.
        let e = file(root.open_at("new", OpenOptions { exclusive: true, ..CREATE }));
        assert_eq!(e.stat().expect("stat").size, 0);
        assert!(fx.mount.join("new").is_file());
        assert_eq!(host_names(&fx.outside), ["secret"]);
    }

    #[test]
    fn open_at_directories() {
        let fx = fixture();
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        std::fs::write(fx.mount.join("d/inner"), b"in").expect("write");
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        let root = rw_root(&fx);
        // Opened with or without `directory`, a directory is a Node::Dir.
        let d = dir(root.open_at("d", DIRECTORY));
        assert_eq!(names(&*d), ["inner"]);
        let d2 = dir(root.open_at("d", RO));
        assert_eq!(d2.stat_at("inner").expect("stat").size, 2);
        assert_eq!(open_err(&*root, "d", RW), Errno::Isdir);
        assert_eq!(open_err(&*root, "d", OpenOptions { truncate: true, ..RO }), Errno::Isdir);
        assert_eq!(open_err(&*root, "d", CREATE), Errno::Isdir);
        assert_eq!(open_err(&*root, "d", OpenOptions { read: true, write: false, ..CREATE }), Errno::Isdir);
        assert_eq!(open_err(&*root, "f", DIRECTORY), Errno::Notdir);
        assert_eq!(open_err(&*root, "missing", DIRECTORY), Errno::Noent);
        // Operations through a subdirectory handle act inside it.
        d.mkdir_at("sub").expect("mkdir");
        assert!(fx.mount.join("d/sub").is_dir());
    }

    #[test]
    fn open_at_permission_denied() {
        let fx = fixture();
        if !permissions_apply(&fx) {
            eprintln!("skipped: running with permission override");
            return;
        }
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        std::fs::set_permissions(fx.mount.join("f"), std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let root = rw_root(&fx);
        assert_eq!(open_err(&*root, "f", RO), Errno::Acces);
    }

    #[test]
    fn symlinks_are_never_followed() {
        let fx = fixture();
        let secret = fx.outside.join("secret");
        std::os::unix::fs::symlink(&secret, fx.mount.join("abs")).expect("symlink");
        std::os::unix::fs::symlink("../outside/secret", fx.mount.join("rel")).expect("symlink");
        std::os::unix::fs::symlink("../../../../../../../../etc", fx.mount.join("up")).expect("symlink");
        std::os::unix::fs::symlink(&fx.outside, fx.mount.join("absdir")).expect("symlink");
        std::os::unix::fs::symlink("../outside/missing", fx.mount.join("dangling")).expect("symlink");
        let before = std::fs::metadata(&secret).expect("meta");
        let root = rw_root(&fx);

        for name in ["abs", "rel", "up", "absdir", "dangling"] {
            assert_eq!(open_err(&*root, name, RO), Errno::Loop, "{name}");
            assert_eq!(open_err(&*root, name, RW), Errno::Loop, "{name}");
            assert_eq!(open_err(&*root, name, DIRECTORY), Errno::Loop, "{name}");
            assert_eq!(open_err(&*root, name, CREATE), Errno::Loop, "{name}");
            assert_eq!(open_err(&*root, name, OpenOptions { truncate: true, ..RW }), Errno::Loop, "{name}");
            assert_eq!(open_err(&*root, name, OpenOptions { exclusive: true, ..CREATE }), Errno::Exist, "{name}");
            let st = root.stat_at(name).expect("stat");
            assert_eq!(st.filetype, FileType::SymbolicLink, "{name}");
            assert_stat_matches(&st, &fx.mount.join(name));
            assert_eq!(root.mkdir_at(name), Err(Errno::Exist), "{name}");
            assert_eq!(root.rmdir_at(name), Err(Errno::Notdir), "{name}");
        }
        assert_eq!(root.readlink_at("rel").expect("readlink"), "../outside/secret");
        assert_eq!(root.readlink_at("abs").expect("readlink"), secret.to_str().expect("utf8"));

        // set_times_at changes the link itself.
        root.set_times_at("abs", SetTime::At(1_000_000_123), SetTime::At(2_000_000_456)).expect("utimes");
        let link = std::fs::symlink_metadata(fx.mount.join("abs")).expect("meta");
        assert_eq!(mtime_ns(&link), 2_000_000_456);
        assert_eq!(atime_ns(&link), 1_000_000_123);
        // link_at links the link itself.
        root.link_at("rel", &*root, "rel2").expect("link");
        assert_eq!(root.readlink_at("rel2").expect("readlink"), "../outside/secret");
        assert_eq!(root.stat_at("rel2").expect("stat").nlink, 2);
        // unlink_at removes the link only; rename_at moves the link only.
        root.unlink_at("rel2").expect("unlink");
        root.rename_at("abs", &*root, "abs2").expect("rename");
        assert_eq!(root.stat_at("abs2").expect("stat").filetype, FileType::SymbolicLink);

        let after = std::fs::metadata(&secret).expect("meta");
        assert_eq!(after.nlink(), 1);
        assert_eq!(mtime_ns(&after), mtime_ns(&before));
        assert_eq!(atime_ns(&after), atime_ns(&before));
        assert_eq!(std::fs::read(&secret).expect("read"), b"secret");
        assert_eq!(host_names(&fx.outside), ["secret"]);
    }

    #[test]
    fn directory_swapped_for_a_symlink_is_not_followed() {
        let fx = fixture();
        std::fs::create_dir(fx.mount.join("sub")).expect("mkdir");
        let root = rw_root(&fx);
        let sub = dir(root.open_at("sub", DIRECTORY));
        // The host swaps the directory for a link pointing outside.
        std::fs::rename(fx.mount.join("sub"), fx.mount.join("old")).expect("rename");
        std::os::unix::fs::symlink(&fx.outside, fx.mount.join("sub")).expect("symlink");
        assert_eq!(open_err(&*root, "sub", DIRECTORY), Errno::Loop);
        assert_eq!(open_err(&*root, "sub", RO), Errno::Loop);
        assert_eq!(root.stat_at("sub").expect("stat").filetype, FileType::SymbolicLink);
        // Relative swap too.
        std::fs::remove_file(fx.mount.join("sub")).expect("rm");
        std::os::unix::fs::symlink("../outside", fx.mount.join("sub")).expect("symlink");
        assert_eq!(open_err(&*root, "sub", DIRECTORY), Errno::Loop);
        // The handle opened before the swap still refers to the moved directory (inside).
        sub.mkdir_at("made").expect("mkdir");
        assert!(fx.mount.join("old/made").is_dir());
        assert_eq!(host_names(&fx.outside), ["secret"]);
    }

    #[test]
    fn read_dir_lists_once_with_types_and_inodes() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        std::os::unix::fs::symlink("d", fx.mount.join("l")).expect("symlink");
        let root = rw_root(&fx);
        let mut entries = list(&*root);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.next, i as u64 + 1);
            assert_eq!(e.ino, std::fs::symlink_metadata(fx.mount.join(&e.name)).expect("meta").ino());
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let types: Vec<(&str, FileType)> = entries.iter().map(|e| (e.name.as_str(), e.filetype)).collect();
        assert_eq!(types, [("d", FileType::Directory), ("f", FileType::RegularFile), ("l", FileType::SymbolicLink)]);

        // Cookies past the end list nothing.
        for cookie in [3, 4, 1 << 40, u64::MAX] {
            let mut n = 0;
            root.read_dir(cookie, &mut |_| {
                n += 1;
                true
            })
            .expect("read_dir");
            assert_eq!(n, 0, "cookie {cookie}");
        }

        // Continuing a listing uses the snapshot; restarting at 0 sees the changes.
        let mut first = Vec::new();
        root.read_dir(0, &mut |e| {
            first.push(e);
            false
        })
        .expect("read_dir");
        assert_eq!(first.len(), 1);
        std::fs::write(fx.mount.join("added"), b"").expect("write");
        std::fs::remove_file(fx.mount.join("f")).expect("rm");
        let mut rest = Vec::new();
        root.read_dir(first[0].next, &mut |e| {
            rest.push(e.name);
            true
        })
        .expect("read_dir");
        let mut all: Vec<String> = first.into_iter().map(|e| e.name).chain(rest).collect();
        all.sort();
        assert_eq!(all, ["d", "f", "l"]);
        assert_eq!(names(&*root), ["added", "d", "l"]);

        // An empty directory lists nothing.
        let d = dir(root.open_at("d", DIRECTORY));
        assert!(list(&*d).is_empty());
    }

    #[test]
    fn read_dir_sink_may_reenter_the_handle() {
        let fx = fixture();
        std::fs::write(fx.mount.join("a"), b"").expect("write");
        std::fs::write(fx.mount.join("b"), b"").expect("write");
        let root = rw_root(&fx);
        let mut seen = Vec::new();
        let r2 = Arc::clone(&root);
        root.read_dir(0, &mut |e| {
            // Re-entering (a stat and a nested continued listing) must not deadlock.
            assert_eq!(r2.stat_at(&e.name).expect("stat").filetype, FileType::RegularFile);
            r2.read_dir(e.next, &mut |_| false).expect("nested");
            seen.push(e.name);
            true
        })
        .expect("read_dir");
        seen.sort();
        assert_eq!(seen, ["a", "b"]);
    }

    #[test]
    fn read_dir_ten_thousand_entries_three_at_a_time() {
        let fx = fixture();
        const N: usize = 10_000;
        for i in 0..N {
            std::fs::write(fx.mount.join(format!("file{i:05}")), b"").expect("write");
        }
        let root = rw_root(&fx);
        let mut seen = HashSet::new();
        let mut cookie = 0;
        let mut calls = 0;
        loop {
            let mut batch = Vec::new();
            root.read_dir(cookie, &mut |e| {
                batch.push(e);
                batch.len() < 3
            })
            .expect("read_dir");
            calls += 1;
            let Some(last) = batch.last() else { break };
            assert!(batch.len() == 3 || batch.len() == N % 3, "batch of {}", batch.len());
            cookie = last.next;
            for e in batch {
                let path = fx.mount.join(&e.name);
                let m = std::fs::symlink_metadata(&path).expect("meta");
                assert_eq!(e.ino, m.ino(), "{}", e.name);
                assert_eq!(e.filetype, FileType::RegularFile);
                let st = root.stat_at(&e.name).expect("stat");
                assert_eq!((st.dev, st.ino, st.nlink), (m.dev(), m.ino(), m.nlink()), "{}", e.name);
                assert!(seen.insert(e.name.clone()), "{} listed twice", e.name);
            }
        }
        assert_eq!(seen.len(), N);
        assert_eq!(calls, N.div_ceil(3) + 1);
        for i in 0..N {
            assert!(seen.contains(&format!("file{i:05}")));
        }
    }

    #[test]
    fn mkdir_rmdir_unlink() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        std::fs::create_dir(fx.mount.join("full")).expect("mkdir");
        std::fs::write(fx.mount.join("full/x"), b"").expect("write");
        std::os::unix::fs::symlink("full", fx.mount.join("ldir")).expect("symlink");
        let root = rw_root(&fx);

        root.mkdir_at("d").expect("mkdir");
        assert!(fx.mount.join("d").is_dir());
        assert_eq!(root.mkdir_at("d"), Err(Errno::Exist));
        assert_eq!(root.mkdir_at("f"), Err(Errno::Exist));
        assert_eq!(root.mkdir_at("ldir"), Err(Errno::Exist));

        assert_eq!(root.rmdir_at("missing"), Err(Errno::Noent));
        assert_eq!(root.rmdir_at("f"), Err(Errno::Notdir));
        assert_eq!(root.rmdir_at("ldir"), Err(Errno::Notdir));
        assert_eq!(root.rmdir_at("full"), Err(Errno::Notempty));
        root.rmdir_at("d").expect("rmdir");
        assert!(!fx.mount.join("d").exists());

        assert_eq!(root.unlink_at("full"), Err(Errno::Isdir));
        assert_eq!(root.unlink_at("missing"), Err(Errno::Noent));
        root.unlink_at("ldir").expect("unlink link");
        assert!(fx.mount.join("full/x").exists());
        root.unlink_at("f").expect("unlink");
        assert_eq!(host_names(&fx.mount), ["full"]);
    }

    #[test]
    fn symlink_and_readlink() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        let root = rw_root(&fx);
        root.symlink_at("../../somewhere/else", "l").expect("symlink");
        assert_eq!(std::fs::read_link(fx.mount.join("l")).expect("readlink"), Path::new("../../somewhere/else"));
        assert_eq!(root.readlink_at("l").expect("readlink"), "../../somewhere/else");
        assert_eq!(root.symlink_at("x", "l"), Err(Errno::Exist));
        assert_eq!(root.symlink_at("x", "f"), Err(Errno::Exist));
        assert_eq!(root.readlink_at("f").err(), Some(Errno::Inval));
        assert_eq!(root.readlink_at("missing").err(), Some(Errno::Noent));
        assert_eq!(host_names(&fx.outside), ["secret"]);
    }

    #[test]
    fn rename() {
        let fx = fixture();
        std::fs::write(fx.mount.join("a"), b"A").expect("write");
        std::fs::write(fx.mount.join("b"), b"B").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        std::fs::create_dir(fx.mount.join("e")).expect("mkdir");
        std::fs::create_dir(fx.mount.join("full")).expect("mkdir");
        std::fs::write(fx.mount.join("full/x"), b"").expect("write");
        let root = rw_root(&fx);
        let d = dir(root.open_at("d", DIRECTORY));

        root.rename_at("a", &*root, "a2").expect("rename");
        assert_eq!(std::fs::read(fx.mount.join("a2")).expect("read"), b"A");
        root.rename_at("a2", &*root, "b").expect("replace");
        assert_eq!(std::fs::read(fx.mount.join("b")).expect("read"), b"A");
        root.rename_at("b", &*d, "moved").expect("across");
        assert_eq!(std::fs::read(fx.mount.join("d/moved")).expect("read"), b"A");
        d.rename_at("moved", &*root, "back").expect("back");
        assert!(fx.mount.join("back").is_file());

        assert_eq!(root.rename_at("missing", &*root, "x"), Err(Errno::Noent));
        assert_eq!(root.rename_at("e", &*root, "back"), Err(Errno::Notdir));
        assert_eq!(root.rename_at("back", &*root, "e"), Err(Errno::Isdir));
        assert_eq!(root.rename_at("e", &*root, "full"), Err(Errno::Notempty));
        assert_eq!(root.rename_at("d", &*d, "inside"), Err(Errno::Inval));
        root.rename_at("e", &*root, "d").expect("dir onto empty dir");
        assert!(!fx.mount.join("e").exists());

        // Another instance or another backend: Xdev, nothing changes.
        let other = HostDir::open(&fx.mount).expect("open").root().expect("root");
        assert_eq!(root.rename_at("back", &*other, "x"), Err(Errno::Xdev));
        assert_eq!(root.rename_at("back", &Foreign, "x"), Err(Errno::Xdev));
        // A clone of the same instance is the same filesystem.
        let fs = HostDir::open(&fx.mount).expect("open");
        let (r1, r2) = (fs.root().expect("root"), fs.clone().root().expect("root"));
        r1.rename_at("back", &*r2, "again").expect("same instance");
        assert_eq!(host_names(&fx.mount), ["again", "d", "full"]);
    }

    #[test]
    fn hard_links() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"F").expect("write");
        std::fs::write(fx.mount.join("g"), b"G").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        let root = rw_root(&fx);
        let d = dir(root.open_at("d", DIRECTORY));
        root.link_at("f", &*d, "f2").expect("link");
        assert_eq!(root.stat_at("f").expect("stat").nlink, 2);
        assert_eq!(d.stat_at("f2").expect("stat").ino, root.stat_at("f").expect("stat").ino);
        assert_eq!(std::fs::read(fx.mount.join("d/f2")).expect("read"), b"F");
        assert_eq!(root.link_at("f", &*root, "g"), Err(Errno::Exist));
        assert_eq!(root.link_at("missing", &*root, "x"), Err(Errno::Noent));
        assert_eq!(root.link_at("d", &*root, "d2"), Err(Errno::Perm));
        let other = HostDir::open(&fx.mount).expect("open").root().expect("root");
        assert_eq!(root.link_at("f", &*other, "x"), Err(Errno::Xdev));
        assert_eq!(root.link_at("f", &Foreign, "x"), Err(Errno::Xdev));
        assert_eq!(host_names(&fx.mount), ["d", "f", "g"]);
    }

    #[test]
    fn set_times() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        let root = rw_root(&fx);
        root.set_times_at("f", SetTime::At(5_000_000_001), SetTime::At(7_000_000_002)).expect("utimes");
        let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
        assert_eq!((atime_ns(&m), mtime_ns(&m)), (5_000_000_001, 7_000_000_002));
        root.set_times_at("f", SetTime::Omit, SetTime::At(9_000_000_003)).expect("utimes");
        let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
        assert_eq!((atime_ns(&m), mtime_ns(&m)), (5_000_000_001, 9_000_000_003));
        root.set_times_at("f", SetTime::Now, SetTime::Omit).expect("utimes");
        let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
        assert!(atime_ns(&m) > 1_600_000_000_000_000_000);
        assert_eq!(mtime_ns(&m), 9_000_000_003);
        assert_eq!(root.set_times_at("missing", SetTime::Now, SetTime::Now), Err(Errno::Noent));

        let d = dir(root.open_at("d", DIRECTORY));
        d.set_times(SetTime::At(11), SetTime::At(12)).expect("futimens dir");
        let m = std::fs::metadata(fx.mount.join("d")).expect("meta");
        assert_eq!((atime_ns(&m), mtime_ns(&m)), (11, 12));
        assert_eq!(d.stat().expect("stat").mtim, 12);

        let f = file(root.open_at("f", RW));
        f.set_times(SetTime::At(21), SetTime::At(22)).expect("futimens");
        let st = f.stat().expect("stat");
        assert_eq!((st.atim, st.mtim), (21, 22));
        f.set_times(SetTime::Omit, SetTime::Now).expect("futimens");
        assert!(f.stat().expect("stat").mtim > 1_600_000_000_000_000_000);
        assert_eq!(f.stat().expect("stat").atim, 21);
    }

    #[test]
    fn file_io() {
        let fx = fixture();
        let root = rw_root(&fx);
        let f = file(root.open_at("f", CREATE));
        let mut buf = [0xffu8; 16];
        assert_eq!(f.read_at(&mut buf, 0), Ok(0));
        assert_eq!(f.write_at(b"abc", 4), Ok(3));
        assert_eq!(f.read_at(&mut buf, 0), Ok(7));
        assert_eq!(&buf[..7], b"\0\0\0\0abc");
        assert_eq!(f.read_at(&mut buf, 5), Ok(2));
        assert_eq!(f.read_at(&mut buf, 100), Ok(0));
        assert_eq!(f.read_at(&mut buf, u64::MAX), Ok(0));
        assert_eq!(f.write_at(b"", 0), Ok(0));
        assert_eq!(f.write_at(b"x", u64::MAX), Err(Errno::Fbig));

        assert_eq!(f.append(b"de"), Ok((2, 9)));
        assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0\0\0abcde");

        f.set_size(3).expect("truncate");
        assert_eq!(f.stat().expect("stat").size, 3);
        f.set_size(10).expect("extend");
        assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(f.set_size(u64::MAX), Err(Errno::Fbig));

        f.sync().expect("sync");
        f.datasync().expect("datasync");
        root.sync().expect("dir sync");
        for advice in
            [Advice::Normal, Advice::Sequential, Advice::Random, Advice::WillNeed, Advice::DontNeed, Advice::NoReuse]
        {
            f.advise(0, 10, advice).expect("advise");
        }
        f.advise(0, 0, Advice::Normal).expect("advise whole file");

        match f.allocate(0, 100) {
            Ok(()) => assert_eq!(f.stat().expect("stat").size, 100),
            Err(e) => assert_eq!(e, Errno::Notsup),
        }
        assert_eq!(f.allocate(u64::MAX, 2), Err(Errno::Fbig));
        assert_eq!(f.allocate(0, 0), Err(Errno::Inval));
    }

    #[test]
    fn appends_are_atomic() {
        let fx = fixture();
        let root = rw_root(&fx);
        let f = file(root.open_at("log", CREATE));
        let g = file(root.open_at("log", RW));
        // Positioned writes are not affected by appends (no O_APPEND on the descriptor).
        assert_eq!(f.append(b"0123456789"), Ok((10, 10)));
        assert_eq!(f.write_at(b"X", 0), Ok(1));
        assert_eq!(std::fs::read(fx.mount.join("log")).expect("read"), b"X123456789");

        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let h = if t % 2 == 0 { Arc::clone(&f) } else { Arc::clone(&g) };
                std::thread::spawn(move || {
                    let record = [b'a' + t; 16];
                    for _ in 0..200 {
                        let (n, size) = h.append(&record).expect("append");
                        assert_eq!(n, 16);
                        assert!(size >= 26 && (size - 10) % 16 == 0, "size {size}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let data = std::fs::read(fx.mount.join("log")).expect("read");
        assert_eq!(data.len(), 10 + 4 * 200 * 16);
        let mut counts = [0; 4];
        for record in data[10..].chunks(16) {
            assert!(record.iter().all(|&b| b == record[0]), "torn record {record:?}");
            counts[usize::from(record[0] - b'a')] += 1;
        }
        assert_eq!(counts, [200; 4]);

        // The fallback path (kernels without RWF_APPEND) appends too.
        let host = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
        host.no_rwf_append.store(true, Ordering::Relaxed);
        let len = data.len() as u64;
        assert_eq!(f.append(b"tail"), Ok((4, len + 4)));
        assert_eq!(&std::fs::read(fx.mount.join("log")).expect("read")[data.len()..], b"tail");
    }

    #[test]
    fn read_only_refuses_every_change() {
        let fx = fixture();
        std::fs::write(fx.mount.join("f"), b"data").expect("write");
        std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
        std::fs::write(fx.mount.join("d/x"), b"").expect("write");
        std::fs::create_dir(fx.mount.join("empty")).expect("mkdir");
        std::os::unix::fs::symlink("f", fx.mount.join("l")).expect("symlink");
        let snapshot = |fx: &Fixture| {
            let mut v: Vec<(String, u64, u64, u64)> = Vec::new();
            for sub in ["", "d", "empty"] {
                for name in host_names(&fx.mount.join(sub)) {
                    let m = std::fs::symlink_metadata(fx.mount.join(sub).join(&name)).expect("meta");
                    v.push((format!("{sub}/{name}"), m.size(), mtime_ns(&m), m.nlink()));
                }
            }
            (v, std::fs::read(fx.mount.join("f")).expect("read"))
        };
        let before = snapshot(&fx);

        let fs = HostDir::open_read_only(&fx.mount).expect("open");
        assert!(fs.is_read_only());
        assert!(FileSystem::is_read_only(&fs));
        let root = fs.root().expect("root");
        let d = dir(root.open_at("d", DIRECTORY));

        for options in [
            RW,
            CREATE,
            OpenOptions { exclusive: true, ..CREATE },
            OpenOptions { truncate: true, ..RO },
            OpenOptions { read: false, write: true, ..RO },
        ] {
            assert_eq!(open_err(&*root, "f", options), Errno::Rofs, "{options:?}");
            assert_eq!(open_err(&*root, "new", options), Errno::Rofs, "{options:?}");
        }
        assert_eq!(root.mkdir_at("new"), Err(Errno::Rofs));
        assert_eq!(root.rmdir_at("empty"), Err(Errno::Rofs));
        assert_eq!(root.unlink_at("f"), Err(Errno::Rofs));
        assert_eq!(root.symlink_at("f", "l2"), Err(Errno::Rofs));
        assert_eq!(root.rename_at("f", &*root, "g"), Err(Errno::Rofs));
        assert_eq!(root.rename_at("f", &*d, "g"), Err(Errno::Rofs));
        assert_eq!(root.link_at("f", &*root, "g"), Err(Errno::Rofs));
        assert_eq!(root.set_times_at("f", SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(root.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(d.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(d.unlink_at("x"), Err(Errno::Rofs));

        let f = file(root.open_at("f", RO));
        let host = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
        assert_eq!(rfs::fcntl_getfl(&host.fd).expect("getfl") & OFlags::RWMODE, OFlags::RDONLY);
        assert_eq!(f.write_at(b"x", 0), Err(Errno::Rofs));
        assert_eq!(f.append(b"x"), Err(Errno::Rofs));
        assert_eq!(f.set_size(0), Err(Errno::Rofs));
        assert_eq!(f.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(f.allocate(0, 100), Err(Errno::Rofs));

        // Reading still works.
        let mut buf = [0u8; 8];
        assert_eq!(f.read_at(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"data");
        f.advise(0, 4, Advice::Sequential).expect("advise");
        f.sync().expect("sync");
        assert_eq!(names(&*root), ["d", "empty", "f", "l"]);
        assert_eq!(root.readlink_at("l").expect("readlink"), "f");
        assert_eq!(root.stat_at("f").expect("stat").size, 4);

        assert_eq!(snapshot(&fx), before);
    }
}
