//! A sandboxed host directory: [`HostDir`].
//!
//! # The sandbox
//! Every directory handle of a [`HostDir`] holds an open host directory descriptor (opened with
//! `O_DIRECTORY | O_CLOEXEC`), and every operation is one `*at` system call on that descriptor
//! with one path component that never follows a symbolic link: `openat(O_NOFOLLOW)`,
//! `fstatat(AT_SYMLINK_NOFOLLOW)`, `mkdirat`, `unlinkat`, `renameat`, `linkat` without
//! `AT_SYMLINK_FOLLOW`, `symlinkat`, `readlinkat` and `utimensat(AT_SYMLINK_NOFOLLOW)`. The
//! component comes from [`crate::resolve`], which never passes `.`, `..`, or a name holding `/`
//! or NUL (paths of several names go to the kernel whole, with `openat2(RESOLVE_BENEATH)`: see
//! below); this backend refuses such names anyway ([`Errno::Inval`], [`Errno::Notcapable`] for
//! `..`). No host path string is ever built or checked, so a guest cannot leave the mounted
//! directory, even when the host swaps a directory for a symbolic link between two calls (the
//! swapped name then answers [`Errno::Loop`]).
//!
//! # Paths in one system call
//! A path of several plain names (no `.`, `..` or trailing `/`) is opened in one
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` instead of one
//! `openat` per component ([`Dir::open_path`], and [`Dir::open_dir_path`] for the directory
//! holding the last name of a `stat`, `unlink`, `mkdir`…): the kernel itself refuses to leave
//! the directory or to follow any link. Wherever the kernel's answer could differ from the
//! component walk's — a link anywhere on the path (which the walk follows within the sandbox),
//! `ENOTDIR` from a directory open (a link as the last name gives it too), a rename racing the
//! lookup, a mount point, a kernel without `openat2` (before 5.6) or a seccomp filter refusing
//! it — the call goes on with the walk of [`crate::resolve`], so results and errnos are the
//! walk's in every case.
//!
//! # Kept directories
//! A guest built with wasi-libc names every file by its path from the preopen, so the same
//! directories are looked up for every call. The root keeps the descriptors of the last 16
//! directories it opened by a path of several names, keyed by that path, and the next call under
//! one of them is a single `*at` call on the kept descriptor. Before a kept descriptor is used,
//! one `fstatat` of its path from the root (not following a last link) checks that the path
//! still names that directory (same device and inode), so a directory the host renamed, removed
//! or replaced meanwhile is never reached at its old path. An instance built with
//! [`HostDirBuilder::exclusive`] — a promise that nothing else changes the tree — skips that
//! check; every rename and directory removal made through the instance empties the cache. At most
//! 16 host descriptors are kept per instance, whatever the guest does.
//!
//! # Staying on one filesystem
//! [`HostDirBuilder::same_filesystem`] makes an instance refuse to cross a host mount point
//! below its root, as `openat2(RESOLVE_NO_XDEV)` does: opening a mount point (a directory, or a
//! file bind-mounted over an entry) answers [`Errno::Xdev`], and so do `stat_at` and
//! `set_times_at` on one, which would otherwise describe or change the mounted filesystem's
//! root. The kernel enforces it where it can (`openat2` with `RESOLVE_NO_XDEV`, Linux 5.6;
//! `statx`'s `STATX_ATTR_MOUNT_ROOT`, Linux 5.8); on older kernels an entry counts as another
//! filesystem when its `st_dev` differs from the root's.
//!
//! # Behaviour worth knowing
//! - Opening never blocks on a FIFO: entries are opened with `O_NONBLOCK`, which is cleared
//!   again right after the open (but for a regular file on a filesystem that ignores the flag:
//!   tmpfs, ext2/3/4, XFS, Btrfs). Opening a FIFO for writing while it has no reader therefore
//!   fails with [`Errno::Nxio`] instead of waiting for one.
//! - A directory listing is read from the host as it goes, with `getdents64`, and its cookies
//!   are the kernel's own directory offsets (`d_off`, what `telldir` returns): continuing a
//!   listing seeks the descriptor to the cookie and reads on. A handle keeps no listing state,
//!   so any number of descriptors of one directory cost nothing but their handle, and a listing
//!   sees what the host filesystem's `seekdir` semantics give (on ext4, tmpfs and overlayfs: an
//!   entry removed before it is reached is not listed, none is listed twice, and no unchanged
//!   entry is skipped; an entry added meanwhile may or may not be). A cookie the kernel never
//!   issued continues wherever the host filesystem places it (on ext4, the next entry in hash
//!   order); one above `i64::MAX` (no kernel offset) is past the end and lists nothing. Entries whose
//!   host name is not valid UTF-8 are not listed (they cannot be named through the [`Dir`]
//!   API).
//! - [`File::append`] and [`File::append_vectored`] use `pwritev2(RWF_APPEND)`, atomic against
//!   every other appender of the host file; on kernels older than 4.16 they fall back to a
//!   write at the end of the file serialized with the other appends through the same handle.
//!   [`File::write_vectored_at`] is one `pwritev` (more than 1,024 buffers, Linux's `IOV_MAX`,
//!   are joined into one first).
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
//! let options = OpenOptions::new().read(true).write(true).create(true);
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
//!
//! [`Dir::open_path`]: crate::Dir::open_path
//! [`Dir::open_dir_path`]: crate::Dir::open_dir_path
//! [`File::append`]: crate::File::append
//! [`File::append_vectored`]: crate::File::append_vectored
//! [`File::write_vectored_at`]: crate::File::write_vectored_at

mod cache;
mod dir;
mod file;
mod listing;
mod sys;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustix::fs::{self as rfs, Mode, OFlags};

use crate::{Dir, Errno, FileSystem, Result};
use dir::{DirFd, HostDirHandle};

/// A host directory served as a sandboxed [`FileSystem`].
///
/// Cloning is cheap and yields the same instance (same root descriptor, same identity: renames
/// and hard links between clones work, between different instances they answer
/// [`Errno::Xdev`]). See the [module docs](self) for the sandbox design.
#[derive(Clone, Debug)]
pub struct HostDir {
    inner: Arc<Instance>,
}

/// What every handle of one [`HostDir`] shares.
struct Instance {
    root: Arc<DirFd>,
    read_only: bool,
    /// Refuse to cross a mount point below the root.
    same_filesystem: bool,
    /// `openat2` with `RESOLVE_BENEATH`, `RESOLVE_NO_SYMLINKS` and `RESOLVE_NO_XDEV` works here
    /// (probed once per process: the kernel's answer, or a seccomp filter's, is the process's).
    openat2: bool,
    /// The root's `st_dev`, for the `same_filesystem` checks without kernel support and the
    /// regular files of the root's filesystem; looked up when first needed.
    dev: OnceLock<u64>,
    /// Nothing else changes the tree: cached directories are used without a check.
    exclusive: bool,
    /// The root's filesystem ignores `O_NONBLOCK` on regular files ([`sys::nonblock_inert`]);
    /// looked up at the first file opened.
    nonblock_inert: OnceLock<bool>,
    /// The root was found a directory, and linked, by the `open` just made: the first `root()`
    /// need not look again.
    fresh: AtomicBool,
    /// Directories opened by path from the root, kept for the next lookup.
    cache: cache::DirCache,
}

impl Instance {
    /// The root's `st_dev`.
    fn dev(&self) -> Result<u64> {
        if let Some(dev) = self.dev.get() {
            return Ok(*dev);
        }
        let dev = sys::to_stat(&rfs::fstat(&self.root.fd)?).dev;
        Ok(*self.dev.get_or_init(|| dev))
    }

    /// Whether the root's filesystem ignores `O_NONBLOCK` on regular files.
    fn nonblock_inert(&self) -> bool {
        #[allow(clippy::unnecessary_cast)] // `f_type`'s type differs between targets
        *self
            .nonblock_inert
            .get_or_init(|| rfs::fstatfs(&self.root.fd).is_ok_and(|fs| sys::nonblock_inert(fs.f_type as i64)))
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("read_only", &self.read_only)
            .field("same_filesystem", &self.same_filesystem)
            .field("exclusive", &self.exclusive)
            .finish_non_exhaustive()
    }
}

impl HostDir {
    /// Opens the host directory `path` read-write. The path is resolved by the host (it may
    /// follow symbolic links); everything below it is sandboxed.
    ///
    /// Errors: the host's error opening `path` as a directory (`ENOTDIR` if it is not one).
    pub fn open(path: impl AsRef<Path>) -> io::Result<HostDir> {
        HostDir::builder(path).open()
    }

    /// Opens the host directory `path` read-only: files open `O_RDONLY` and every change
    /// answers [`Errno::Rofs`].
    ///
    /// Errors: as [`HostDir::open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<HostDir> {
        HostDir::builder(path).read_only(true).open()
    }

    /// A builder for an instance serving the host directory `path`, with options
    /// ([`HostDirBuilder::read_only`], [`HostDirBuilder::same_filesystem`]).
    ///
    /// ```
    /// use hammertime_vfs::{Errno, FileSystem, HostDir};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// let fs = HostDir::builder(tmp.path()).read_only(true).same_filesystem(true).open()?;
    /// assert!(fs.is_read_only() && fs.is_same_filesystem());
    /// assert_eq!(fs.root()?.mkdir_at("new"), Err(Errno::Rofs));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> HostDirBuilder {
        HostDirBuilder::new(Source::Path(path.as_ref().to_owned()))
    }

    /// A builder for an instance serving an already open host directory descriptor (see
    /// [`HostDir::from_fd`]).
    pub fn builder_from_fd(fd: OwnedFd) -> HostDirBuilder {
        HostDirBuilder::new(Source::Fd(fd))
    }

    /// Serves an already open host directory descriptor read-write. The directory is reopened
    /// (`openat(fd, ".")`) as a readable, close-on-exec descriptor, so an `O_PATH` descriptor
    /// (as [`cap_std`] opens them) works too.
    ///
    /// Errors: `ENOTDIR` if `fd` is not a directory; the host's error reopening it.
    pub fn from_fd(fd: OwnedFd) -> io::Result<HostDir> {
        HostDir::builder_from_fd(fd).open()
    }

    /// Serves an already open host directory descriptor read-only.
    ///
    /// Errors: as [`HostDir::from_fd`].
    pub fn from_fd_read_only(fd: OwnedFd) -> io::Result<HostDir> {
        HostDir::builder_from_fd(fd).read_only(true).open()
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

    /// Whether this instance refuses to cross host mount points ([`Errno::Xdev`]).
    pub fn is_same_filesystem(&self) -> bool {
        self.inner.same_filesystem
    }
}

/// Where a [`HostDirBuilder`] takes its directory from.
#[derive(Debug)]
enum Source {
    Path(PathBuf),
    Fd(OwnedFd),
}

/// Options for a [`HostDir`], from [`HostDir::builder`] or [`HostDir::builder_from_fd`].
/// By default the instance is read-write and may cross host mount points.
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct HostDirBuilder {
    source: Source,
    read_only: bool,
    same_filesystem: bool,
    exclusive: bool,
}

impl HostDirBuilder {
    fn new(source: Source) -> HostDirBuilder {
        HostDirBuilder { source, read_only: false, same_filesystem: false, exclusive: false }
    }

    /// Promise that while the instance serves the directory, nothing but the instance (and its
    /// clones) changes the tree below it: no other process, no other instance on the same
    /// directory. The directories it keeps open between calls (see the [module
    /// docs](self#kept-directories)) are then used without checking them against the host
    /// first, which saves a path lookup per call under them. Default: `false`.
    ///
    /// If the promise is broken, a path may reach a directory the host moved away at its new
    /// place, or miss one the host put in its stead; a guest never reaches more than it could
    /// with a descriptor of that directory it had opened and kept.
    ///
    /// ```
    /// use hammertime_vfs::{FileSystem, HostDir, resolve};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// std::fs::create_dir_all(tmp.path().join("src/lib"))?;
    /// std::fs::write(tmp.path().join("src/lib/a.c"), "int a;")?;
    /// let fs = HostDir::builder(tmp.path()).exclusive(true).open()?;
    /// let root = fs.root()?;
    /// assert_eq!(resolve::stat(&root, "src/lib/a.c", false)?.size, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exclusive(mut self, exclusive: bool) -> HostDirBuilder {
        self.exclusive = exclusive;
        self
    }

    /// Serve the directory read-only: files open `O_RDONLY` and every change answers
    /// [`Errno::Rofs`] (opening an existing file with `create` alone changes nothing, and opens
    /// it, as on a read-only Linux mount). Default: `false`.
    pub fn read_only(mut self, read_only: bool) -> HostDirBuilder {
        self.read_only = read_only;
        self
    }

    /// Refuse to cross a host mount point below the root: opening one, or `stat_at` and
    /// `set_times_at` on one, answers [`Errno::Xdev`] (see the [module docs](self)). Default:
    /// `false`.
    pub fn same_filesystem(mut self, same_filesystem: bool) -> HostDirBuilder {
        self.same_filesystem = same_filesystem;
        self
    }

    /// Opens the directory.
    ///
    /// Errors: the host's error opening the path as a directory (`ENOTDIR` if it is not one);
    /// for a descriptor, as [`HostDir::from_fd`].
    ///
    /// Opening costs one system call (`open(2)` with `O_DIRECTORY`, which refuses anything but a
    /// directory): what else an instance needs to know of its root (its device, its filesystem's
    /// type) is looked up when first needed, and whether the kernel has `openat2` once per
    /// process.
    pub fn open(self) -> io::Result<HostDir> {
        let fd = match &self.source {
            Source::Path(path) => rfs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?,
            Source::Fd(fd) => sys::reopen_dir(fd)?,
        };
        static OPENAT2: OnceLock<bool> = OnceLock::new();
        let openat2 = *OPENAT2.get_or_init(|| sys::openat2_works(&fd));
        let root = Arc::new(DirFd::new(fd));
        let (read_only, same_filesystem, exclusive) = (self.read_only, self.same_filesystem, self.exclusive);
        let cache = cache::DirCache::default();
        Ok(HostDir {
            inner: Arc::new(Instance {
                root,
                read_only,
                same_filesystem,
                openat2,
                dev: OnceLock::new(),
                exclusive,
                nonblock_inert: OnceLock::new(),
                fresh: true.into(),
                cache,
            }),
        })
    }
}

impl FileSystem for HostDir {
    /// A handle on the shared root descriptor. [`Errno::Noent`] if the host removed the
    /// directory.
    fn root(&self) -> Result<Arc<dyn Dir>> {
        if !self.inner.fresh.swap(false, Ordering::Relaxed) {
            let st = rfs::fstat(&self.inner.root.fd)?;
            if st.st_nlink == 0 {
                return Err(Errno::Noent);
            }
        }
        Ok(Arc::new(HostDirHandle::new(Arc::clone(&self.inner.root), Arc::clone(&self.inner))))
    }

    fn is_read_only(&self) -> bool {
        self.inner.read_only
    }
}
