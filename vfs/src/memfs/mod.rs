//! An in-memory filesystem: [`MemFs`].
//!
//! A complete, writable tree kept in memory: directories, regular files (sparse), symbolic
//! links and hard links, with POSIX timestamps, stable inode numbers, optional byte and inode
//! limits, and cheap handles that many Wasmtime instances on many threads may share.
//!
//! # Example
//! ```
//! use hammertime_vfs::{FileSystem, MemFs, Node, OpenOptions};
//!
//! let fs = MemFs::new();
//! fs.write_file("etc/motd", "hello, guest\n")?;
//!
//! // What a guest reaches, through the `FileSystem` trait:
//! let root = fs.root()?;
//! let Node::Dir(etc) = root.open_at("etc", OpenOptions::new().directory(true))?
//! else {
//!     return Err("etc is not a directory".into());
//! };
//! let Node::File(motd) = etc.open_at("motd", OpenOptions::new().read(true))?
//! else {
//!     return Err("motd is a directory".into());
//! };
//! let mut buf = [0u8; 64];
//! let n = motd.read_at(&mut buf, 0)?;
//! assert_eq!(&buf[..n], b"hello, guest\n");
//! assert_eq!(motd.stat()?.size, 13);
//!
//! // And back on the host side:
//! assert_eq!(fs.read_dir("etc")?, vec!["motd".to_string()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//! - **Handles reference inodes, not paths.** A directory handle keeps working after the
//!   directory is renamed; once it is removed, lookups through the handle answer
//!   [`Errno::Noent`] and new entries are refused with [`Errno::Noent`]. A file that is unlinked
//!   while open stays readable and writable through its handles (its `nlink` is then 0) and
//!   its bytes are freed (and given back to the quota) when the last handle goes.
//! - **Link counts**: a directory has `2 +` its number of subdirectories (0 once removed); a
//!   file or symbolic link has its number of names.
//! - **Timestamps** come from a [`WallClock`]: the one given to [`MemFsBuilder::clock`], else
//!   the wall clock of the first context the filesystem is mounted in (so a context with a
//!   fixed clock gets fixed file times), else [`SystemClock`](crate::SystemClock) (before any mount). A write,
//!   truncation or growth sets the file's `mtim` and `ctim`; adding or removing an entry sets
//!   the directory's `mtim` and `ctim`; link, unlink and rename set the `ctim` of the inode
//!   concerned; `set_times` sets `ctim` (unless both times are [`SetTime::Omit`]). Reads and
//!   listings leave `atim` alone (as a `noatime` mount does): it changes only through
//!   `set_times`.
//! - **Inode numbers** count up from 1 (the root) and are never reused while the filesystem
//!   lives; **`dev`** is fixed per instance and distinct between instances.
//! - **Sizes and holes**: files are sparse (see [Storage](#storage)). A write past the end,
//!   [`File::set_size`](crate::File::set_size) and [`File::allocate`](crate::File::allocate) leave a hole that reads as zeros and costs no
//!   memory; `stat().size` is the logical size. No file grows past
//!   [`MAX_FILE_SIZE`] (or the smaller [`MemFsBuilder::max_file_size`]): a write reaching it
//!   is cut short there, and one starting at or past it fails with [`Errno::Fbig`].
//! - **The byte quota** ([`MemFsBuilder::quota`], unit: bytes) counts what is really
//!   allocated, as tmpfs counts blocks, with [`MemFs::used_bytes`] reporting it:
//!   - file data, chunk by chunk: a chunk costs the bytes from its start to the end of the
//!     last byte written or allocated in it (a write into a hole costs that prefix of its
//!     chunk, at most 64 KiB more than the bytes written; a hole of whole chunks costs
//!     nothing);
//!   - [`File::allocate`](crate::File::allocate) (`posix_fallocate`): the range is charged the same way, up front,
//!     without using memory (so a reservation is bounded by the quota and, without one, costs
//!     about 50 bytes of bookkeeping per 64 KiB); writing into it later takes no more quota;
//!   - the target of every symbolic link;
//!   - the name of every directory entry (each hard link costs its own name).
//!
//!   A write that does not fit is cut short, and one with no room at all fails with
//!   [`Errno::Nospc`] — bytes are never silently dropped; creating, linking or renaming to a
//!   longer name without room for the name fails with [`Errno::Nospc`]. Truncation gives back
//!   the chunks past the new end. The quota does not count the fixed bookkeeping of an inode
//!   or an entry (some 100 bytes each), which the inode limit bounds.
//! - **The inode limit** ([`MemFsBuilder::max_inodes`], [`MemFs::used_inodes`]) counts files,
//!   directories and symbolic links while they exist (the root included; a file unlinked but
//!   still open until its last handle goes) and, as tmpfs does, one more per hard link beyond
//!   an inode's first name (each name pins memory). Past it, creating an entry or a hard link
//!   fails with [`Errno::Nospc`].
//! - **Listings**: each directory numbers its entries in insertion order; a cookie is such a
//!   number, so listings resume correctly while entries are added or removed. An entry renamed
//!   within its directory keeps its number (a listing in progress meets it once, under the name
//!   it has then, so renaming every entry while listing terminates); one moved in from another
//!   directory is a new insertion. Continuing a listing costs `O(log n + entries returned)`.
//!
//! # Storage
//! A file's data is a map (`BTreeMap`) from chunk index to chunk, each chunk covering 64 KiB of
//! the file and storing its bytes from the chunk's start to the end of the last byte written
//! in it; a missing chunk, or the unstored rest of one, reads as zeros. Fixed chunks rather
//! than extents: finding the chunks of a range is one `O(log n)` lookup and nothing is ever
//! split, merged or moved, so a read or write costs `O(bytes touched + log chunks)` (a write
//! into a hole adds at most 64 KiB of zeros, an allocation or truncation `O(chunks)` of
//! bookkeeping), while the bookkeeping stays under 0.1 % of the data and a 64 KiB or larger
//! sequential call touches one or two chunks. A file written from its start is stored densely:
//! its last chunk grows by doubling, so small appends stay amortised `O(1)`.
//!
//! # Locking
//! Each instance has one *tree* lock (`RwLock<()>`), each directory one *entries* lock
//! (`RwLock` over its entry table), each regular file one *data* lock (`RwLock` over its
//! chunks), and each inode one *metadata* mutex (link count and times); a directory also has
//! a *parent* mutex (a weak pointer used only to refuse moving a directory into itself). The
//! order is:
//!
//! 1. the tree lock — shared by every operation that reads or changes entries, exclusive only
//!    for a rename between two different directories;
//! 2. entries locks — with the tree lock shared, a thread holds at most one directory and then
//!    one of its children (rmdir, rename over an empty directory): parent before child, and the
//!    parent/child relation cannot change meanwhile (only a cross-directory rename changes it,
//!    and that needs the tree lock exclusive). With the tree lock exclusive no other thread
//!    holds an entries lock, so the rename locks the source directory, the destination
//!    directory and a replaced directory in that order without risk; ancestry is checked
//!    beforehand through the parent mutexes, so the same lock is never taken twice;
//! 3. data locks — never held together with an entries lock or with another data lock; a
//!    whole write, vectored or not, happens under it, so appends never interleave;
//! 4. metadata and parent mutexes — leaves: nothing is acquired while one is held.
//!
//! No embedder code runs under any of these locks: an operation reads the [`WallClock`] before
//! it takes its first lock, and no lock is held while a [`Dir::read_dir`] sink runs (entries
//! are handed out in small batches copied under the lock), so a clock or a sink may call back
//! into the filesystem.

mod data;
mod dir;
mod file;
mod inode;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use self::dir::MemDir;
use self::file::MemFile;
use self::inode::{DirInode, FileInode, Inode, Shared, lookup_in};
use crate::resolve::check_name;
use crate::{Dir, Errno, FileSystem, Node, OpenOptions, Result, SetTime, Stat, WallClock};

/// The largest size a [`MemFs`] file can reach: 4 GiB (`1 << 32` bytes).
///
/// A write that would cross it is cut short at it; one that starts at or past it, and a
/// [`File::set_size`](crate::File::set_size) or [`File::allocate`](crate::File::allocate) beyond it, fail with [`Errno::Fbig`]. Files are
/// sparse: a hole costs neither memory nor quota, but what is written does, so an embedder that
/// lets untrusted guests write should also set a quota ([`MemFsBuilder::quota`]).
pub const MAX_FILE_SIZE: u64 = 1 << 32;

/// The longest entry name, in bytes (POSIX `NAME_MAX`); longer names answer
/// [`Errno::Nametoolong`].
pub const NAME_MAX: usize = crate::resolve::MAX_NAME_LEN;

/// The longest symbolic-link target, in bytes (POSIX `PATH_MAX`); longer targets answer
/// [`Errno::Nametoolong`].
pub const SYMLINK_MAX: usize = 4096;

/// Source of the `dev` numbers that tell instances apart (the high bits spell "MEM").
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x4d45_4d00_0000_0001);

/// How many entries [`Dir::read_dir`] copies under the lock at first; doubled per batch.
const FIRST_BATCH: usize = 16;

/// The largest batch [`Dir::read_dir`] copies under the lock.
const MAX_BATCH: usize = 1024;

fn rlock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn wlock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn mlock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A length as `u64` (lossless on every supported target).
fn len64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// The public handle
// ---------------------------------------------------------------------------------------------

/// An in-memory filesystem (see the [module docs](self)).
///
/// A cheap handle: clones share the same tree (renames and hard links between clones work;
/// between different instances they answer [`Errno::Xdev`]). Serve it to guests through
/// [`FileSystem`], fill and inspect it from the host with the path helpers
/// ([`MemFs::write_file`], [`MemFs::read_file`], …), whose paths are `/`-separated, relative to
/// the root (a leading `/` is allowed), never follow symbolic links, and refuse `..`.
#[derive(Clone)]
pub struct MemFs {
    root: Arc<DirInode>,
}

/// Configures a [`MemFs`]: clock, byte quota, inode limit, maximum file size. Made by
/// [`MemFs::builder`].
///
/// By default there is no limit but [`MAX_FILE_SIZE`]: a guest may fill host memory. For
/// untrusted guests set both limits, sized to what one guest may use: for example
/// `quota(64 << 20)` (64 MiB) and `max_inodes(10_000)`. The quota bounds the memory of file
/// data, names and link targets; the inode limit bounds the fixed bookkeeping per file,
/// directory, link and hard link, which the quota does not count.
///
/// ```
/// use hammertime_vfs::MemFs;
///
/// let fs = MemFs::builder().quota(64 << 20).max_inodes(10_000).build();
/// fs.write_file("tmp/scratch", "x")?;
/// assert_eq!(fs.used_inodes(), 3); // the root, `tmp` and `scratch`
/// assert_eq!(fs.used_bytes(), 1 + 3 + 7); // the data and the two names
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct MemFsBuilder {
    clock: Option<Arc<dyn WallClock>>,
    quota: Option<u64>,
    max_inodes: Option<u64>,
    max_file_size: u64,
}

impl MemFsBuilder {
    /// Stamps file times with `clock`, whatever context the filesystem is mounted in.
    pub fn clock(mut self, clock: Arc<dyn WallClock>) -> MemFsBuilder {
        self.clock = Some(clock);
        self
    }

    /// Limits to `bytes` what the quota counts: file data as allocated (holes are free),
    /// symbolic-link targets and entry names (see the [module docs](self)). Writes beyond it
    /// are cut short or fail with [`Errno::Nospc`]; so do new entries. Default: no limit.
    pub fn quota(mut self, bytes: u64) -> MemFsBuilder {
        self.quota = Some(bytes);
        self
    }

    /// Limits the inodes to `count`: files, directories and symbolic links together (the root
    /// included), counted while they exist (an unlinked file until its last handle goes), plus
    /// one per hard link beyond an inode's first name, as tmpfs counts `nr_inodes`. Past it,
    /// creating an entry or a hard link fails with [`Errno::Nospc`]. Default: no limit.
    pub fn max_inodes(mut self, count: u64) -> MemFsBuilder {
        self.max_inodes = Some(count);
        self
    }

    /// Lowers the maximum file size (at most [`MAX_FILE_SIZE`]; larger values are clamped).
    pub fn max_file_size(mut self, bytes: u64) -> MemFsBuilder {
        self.max_file_size = bytes.min(MAX_FILE_SIZE);
        self
    }

    /// Makes the (empty) filesystem.
    pub fn build(self) -> MemFs {
        let shared = Arc::new(Shared {
            dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
            clock: self.clock,
            mounted_clock: OnceLock::new(),
            next_ino: AtomicU64::new(2),
            quota: self.quota,
            used: AtomicU64::new(0),
            max_inodes: self.max_inodes,
            // The root.
            inodes: AtomicU64::new(1),
            max_file_size: self.max_file_size,
            tree: RwLock::new(()),
            frozen: std::sync::atomic::AtomicBool::new(false),
        });
        let now = shared.now();
        MemFs { root: Arc::new(DirInode::new(&shared, 1, Weak::new(), now)) }
    }
}

impl Default for MemFsBuilder {
    fn default() -> MemFsBuilder {
        MemFsBuilder { clock: None, quota: None, max_inodes: None, max_file_size: MAX_FILE_SIZE }
    }
}

impl fmt::Debug for MemFsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFsBuilder")
            .field("quota", &self.quota)
            .field("max_inodes", &self.max_inodes)
            .field("max_file_size", &self.max_file_size)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFs")
            .field("dev", &self.dev())
            .field("used_bytes", &self.used_bytes())
            .field("quota", &self.quota())
            .field("used_inodes", &self.used_inodes())
            .field("max_inodes", &self.max_inodes())
            .finish_non_exhaustive()
    }
}

impl Default for MemFs {
    fn default() -> MemFs {
        MemFs::new()
    }
}

/// The error a host helper reports for `errno` (the [`Errno`] is the payload, for
/// `downcast_ref`).
fn io_error(errno: Errno) -> io::Error {
    use io::ErrorKind as K;
    let kind = match errno {
        Errno::Noent => K::NotFound,
        Errno::Exist => K::AlreadyExists,
        Errno::Notdir => K::NotADirectory,
        Errno::Isdir => K::IsADirectory,
        Errno::Notempty => K::DirectoryNotEmpty,
        Errno::Nospc => K::StorageFull,
        Errno::Fbig => K::FileTooLarge,
        Errno::Inval => K::InvalidInput,
        Errno::Nametoolong => K::InvalidFilename,
        Errno::Busy => K::ResourceBusy,
        Errno::Perm | Errno::Acces => K::PermissionDenied,
        Errno::Rofs => K::ReadOnlyFilesystem,
        _ => K::Other,
    };
    io::Error::new(kind, errno)
}

/// The components of a host-helper path (empty and `.` components skipped, `..` refused).
fn components(path: &str) -> io::Result<Vec<&str>> {
    let mut out = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "`..` is not allowed in a MemFs path"));
            }
            name => {
                check_name(name).map_err(io_error)?;
                out.push(name);
            }
        }
    }
    Ok(out)
}

/// Nanoseconds since the epoch (0 before it).
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// A host time as a [`SetTime`] (`Omit` when the host has none).
fn host_time(time: io::Result<SystemTime>) -> SetTime {
    time.map(|t| SetTime::At(nanos(t))).unwrap_or(SetTime::Omit)
}

impl MemFs {
    /// An empty filesystem with the system clock and no limits.
    pub fn new() -> MemFs {
        MemFsBuilder::default().build()
    }

    /// A builder to set the clock, a quota, an inode limit or a smaller maximum file size.
    pub fn builder() -> MemFsBuilder {
        MemFsBuilder::default()
    }

    /// An empty filesystem whose times come from `clock`.
    pub fn with_clock(clock: Arc<dyn WallClock>) -> MemFs {
        MemFs::builder().clock(clock).build()
    }

    /// An empty filesystem whose quota is `bytes` (file data, link targets and names: see
    /// [`MemFsBuilder::quota`]).
    pub fn with_quota(bytes: u64) -> MemFs {
        MemFs::builder().quota(bytes).build()
    }

    /// A filesystem holding `entries`, each a path and the file's contents (parent directories
    /// are created): `MemFs::from_entries([("etc/motd", &b"hi"[..])])`, or `&str`, `Vec<u8>`…
    /// contents.
    ///
    /// Errors: as [`MemFs::write_file`] (a path that crosses a file, `..`, a name too long).
    pub fn from_entries<I, P, C>(entries: I) -> io::Result<MemFs>
    where
        I: IntoIterator<Item = (P, C)>,
        P: AsRef<str>,
        C: AsRef<[u8]>,
    {
        let fs = MemFs::new();
        for (path, contents) in entries {
            fs.write_file(path.as_ref(), contents)?;
        }
        Ok(fs)
    }

    /// A filesystem holding a copy of the host directory `host`: see
    /// [`MemFs::copy_from_host_dir`].
    pub fn from_host_dir(host: impl AsRef<Path>) -> io::Result<MemFs> {
        let fs = MemFs::new();
        fs.copy_from_host_dir(host, "")?;
        Ok(fs)
    }

    /// Copies the host directory `host` (recursively: regular files, directories, and symbolic
    /// links with their targets verbatim) into the directory `path` of this filesystem,
    /// creating it if needed and merging with what is there. Access and modification times of
    /// files and links are kept. Other kinds of host files (FIFOs, sockets, devices) are
    /// skipped. The host is only read.
    ///
    /// Errors: the host's errors; [`io::ErrorKind::InvalidData`] for a name or link target
    /// that is not UTF-8; as [`MemFs::write_file`] (quota, size, an existing entry of another
    /// type).
    pub fn copy_from_host_dir(&self, host: impl AsRef<Path>, path: &str) -> io::Result<()> {
        let host = host.as_ref();
        if !std::fs::metadata(host)?.is_dir() {
            return Err(io_error(Errno::Notdir));
        }
        let top = self.make_dirs(&components(path)?)?;
        let mut pending: Vec<(PathBuf, Arc<DirInode>)> = vec![(host.to_path_buf(), top)];
        let mut dir_times: Vec<(Arc<DirInode>, SetTime, SetTime)> = Vec::new();
        let invalid =
            |what: &Path| io::Error::new(io::ErrorKind::InvalidData, format!("{} is not UTF-8", what.display()));
        while let Some((host_dir, dir)) = pending.pop() {
            let handle = MemDir { dir };
            for entry in std::fs::read_dir(&host_dir)? {
                let entry = entry?;
                let host_path = entry.path();
                let name = entry.file_name().into_string().map_err(|_| invalid(&host_path))?;
                let meta = entry.metadata()?; // does not follow a symbolic link
                let (atime, mtime) = (host_time(meta.accessed()), host_time(meta.modified()));
                let file_type = meta.file_type();
                if file_type.is_symlink() {
                    let target = std::fs::read_link(&host_path)?;
                    let target = target.to_str().ok_or_else(|| invalid(&host_path))?;
                    handle.symlink_at(target, &name).map_err(io_error)?;
                    handle.set_times_at(&name, atime, mtime).map_err(io_error)?;
                } else if file_type.is_dir() {
                    match handle.mkdir_at(&name) {
                        Ok(()) | Err(Errno::Exist) => {}
                        Err(err) => return Err(io_error(err)),
                    }
                    let Inode::Dir(child) = lookup_in(&handle.dir, &name).map_err(io_error)? else {
                        return Err(io_error(Errno::Exist));
                    };
                    dir_times.push((Arc::clone(&child), atime, mtime));
                    pending.push((host_path, child));
                } else if file_type.is_file() {
                    let contents = std::fs::read(&host_path)?;
                    let file = write_new(&handle, &name, &contents)?;
                    file.c.set_times(atime, mtime);
                }
            }
        }
        // Directory times last: filling a directory changes its times.
        for (dir, atime, mtime) in dir_times {
            dir.c.set_times(atime, mtime);
        }
        Ok(())
    }

    /// Writes `contents` to the file `path`, creating it (and missing parent directories) or
    /// replacing its contents.
    ///
    /// Errors: [`io::ErrorKind::NotADirectory`] a parent is a file; [`io::ErrorKind::IsADirectory`]
    /// `path` is a directory (or the root); an [`Errno::Loop`] error if `path` or a parent is a
    /// symbolic link; [`io::ErrorKind::StorageFull`] over quota; [`io::ErrorKind::FileTooLarge`];
    /// [`io::ErrorKind::InvalidInput`] a `..` component.
    pub fn write_file(&self, path: &str, contents: impl AsRef<[u8]>) -> io::Result<()> {
        let components = components(path)?;
        let Some((name, parents)) = components.split_last() else {
            return Err(io_error(Errno::Isdir));
        };
        let parent = MemDir { dir: self.make_dirs(parents)? };
        write_new(&parent, name, contents.as_ref()).map(|_| ())
    }

    /// The contents of the regular file `path` (holes as zeros).
    ///
    /// Errors: [`io::ErrorKind::NotFound`]; [`io::ErrorKind::IsADirectory`]; an
    /// [`Errno::Loop`] error for a symbolic link; [`io::ErrorKind::NotADirectory`] a parent
    /// is a file; [`io::ErrorKind::OutOfMemory`] the contents do not fit in host memory (a
    /// large sparse file).
    pub fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        match self.lookup_path(path)? {
            Inode::File(file) => rlock(&file.data).to_vec().ok_or_else(|| io::ErrorKind::OutOfMemory.into()),
            Inode::Dir(_) => Err(io_error(Errno::Isdir)),
            Inode::Link(_) => Err(io_error(Errno::Loop)),
        }
    }

    /// Creates the directory `path` and its missing parents; existing directories are fine.
    ///
    /// Errors: [`io::ErrorKind::NotADirectory`] a component is a file; an [`Errno::Loop`] error
    /// for a symbolic link.
    pub fn create_dir_all(&self, path: &str) -> io::Result<()> {
        self.make_dirs(&components(path)?).map(|_| ())
    }

    /// Creates the symbolic link `path` pointing to `target` (stored verbatim), creating
    /// missing parent directories.
    ///
    /// Errors: [`io::ErrorKind::AlreadyExists`]; as [`MemFs::write_file`].
    pub fn symlink(&self, target: &str, path: &str) -> io::Result<()> {
        let components = components(path)?;
        let Some((name, parents)) = components.split_last() else {
            return Err(io_error(Errno::Exist));
        };
        let parent = MemDir { dir: self.make_dirs(parents)? };
        parent.symlink_at(target, name).map_err(io_error)
    }

    /// Removes the file, symbolic link or empty directory `path`.
    ///
    /// Errors: [`io::ErrorKind::NotFound`]; [`io::ErrorKind::DirectoryNotEmpty`];
    /// [`io::ErrorKind::ResourceBusy`] for the root.
    pub fn remove(&self, path: &str) -> io::Result<()> {
        let components = components(path)?;
        let Some((name, parents)) = components.split_last() else {
            return Err(io_error(Errno::Busy));
        };
        let parent = MemDir { dir: self.walk_dirs(parents)? };
        match lookup_in(&parent.dir, name).map_err(io_error)? {
            Inode::Dir(_) => parent.rmdir_at(name),
            _ => parent.unlink_at(name),
        }
        .map_err(io_error)
    }

    /// The names in the directory `path`, sorted.
    ///
    /// Errors: [`io::ErrorKind::NotFound`]; [`io::ErrorKind::NotADirectory`]; an
    /// [`Errno::Loop`] error for a symbolic link.
    pub fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let dir = self.walk_dirs(&components(path)?)?;
        let mut names: Vec<String> = {
            let _tree = rlock(&dir.c.fs.tree);
            let st = rlock(&dir.state);
            st.entries.values().map(|entry| entry.name.to_string()).collect()
        };
        names.sort_unstable();
        Ok(names)
    }

    /// The attributes of `path` (of a symbolic link itself, not its target).
    ///
    /// Errors: [`io::ErrorKind::NotFound`]; [`io::ErrorKind::NotADirectory`] a parent is a
    /// file; an [`Errno::Loop`] error for a parent that is a symbolic link.
    pub fn metadata(&self, path: &str) -> io::Result<Stat> {
        Ok(self.lookup_path(path)?.stat())
    }

    /// Whether `path` names an entry (a symbolic link counts, even a dangling one).
    pub fn exists(&self, path: &str) -> bool {
        self.lookup_path(path).is_ok()
    }

    /// The quota given to [`MemFsBuilder::quota`], if any.
    pub fn quota(&self) -> Option<u64> {
        self.root.c.fs.quota
    }

    /// The bytes the quota counts now, whether or not there is a quota: file data as
    /// allocated (holes cost nothing, [`File::allocate`](crate::File::allocate)d ranges count), symbolic-link targets
    /// and entry names, including files that are unlinked but still open (see the
    /// [module docs](self)).
    pub fn used_bytes(&self) -> u64 {
        self.root.c.fs.used.load(Ordering::Acquire)
    }

    /// The limit given to [`MemFsBuilder::max_inodes`], if any.
    pub fn max_inodes(&self) -> Option<u64> {
        self.root.c.fs.max_inodes
    }

    /// The inodes the limit counts now, whether or not there is one: files, directories and
    /// symbolic links that exist (the root included, and files unlinked but still open), plus
    /// one per hard link beyond an inode's first name.
    pub fn used_inodes(&self) -> u64 {
        self.root.c.fs.inodes.load(Ordering::Acquire)
    }

    /// The device number of this instance (the `dev` of every [`Stat`] it reports).
    pub fn dev(&self) -> u64 {
        self.root.c.fs.dev
    }

    /// A new, independent, writable filesystem with the contents this one has now, made in
    /// constant time: prepare a tree once, then hand each run its own snapshot.
    ///
    /// The snapshot is an [`Overlay`](crate::Overlay) of a new, empty `MemFs` — with this one's
    /// quota, inode limit and maximum file size, which then bound what the snapshot changes, and
    /// the clock given to its builder, if any (else that of the context it is mounted in) —
    /// over this filesystem, so nothing is copied until a snapshot changes something,
    /// and then only what is changed: the directories on the way, and a file's data when the
    /// file is first written (a quota counts that copy). Snapshots never see each other's
    /// changes.
    ///
    /// So that they never see a change of this filesystem either, the first snapshot **freezes
    /// it**: from then on every change through it, its clones or its handles answers
    /// [`Errno::Rofs`] (the path helpers fail with [`io::ErrorKind::ReadOnlyFilesystem`]), and
    /// it mounts read-only. Changes already under way on other threads may still complete;
    /// take the snapshots once the tree is ready.
    ///
    /// Errors: none in practice (a `MemFs` root always opens); typed as [`Overlay::new`](crate::Overlay::new).
    ///
    /// ```
    /// use hammertime_vfs::{FileSystem, MemFs};
    ///
    /// let base = MemFs::from_entries([("lib/std.py", "def f(): pass"), ("data/in.txt", "1 2 3")])?;
    /// let run_a = base.snapshot()?;
    /// let run_b = base.snapshot()?;
    /// run_a.root()?.unlink_at("lib").unwrap_err(); // a directory
    /// run_a.upper().write_file("data/out.txt", "6")?; // or through a guest
    ///
    /// assert_eq!(run_b.root()?.stat_at("lib")?.filetype, hammertime_vfs::FileType::Directory);
    /// assert!(run_b.root()?.stat_at("data").is_ok());
    /// assert!(base.write_file("x", "y").is_err()); // frozen
    /// assert!(base.is_frozen());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> Result<crate::Overlay<MemFs, MemFs>> {
        let fs = &self.root.c.fs;
        fs.frozen.store(true, Ordering::Release);
        let upper = MemFsBuilder {
            clock: fs.clock.clone(),
            quota: fs.quota,
            max_inodes: fs.max_inodes,
            max_file_size: fs.max_file_size,
        }
        .build();
        crate::Overlay::new(upper, self.clone())
    }

    /// Whether the filesystem is frozen (see [`MemFs::snapshot`]).
    pub fn is_frozen(&self) -> bool {
        self.root.c.fs.frozen.load(Ordering::Acquire)
    }

    /// The directory at `components`, every one of which must exist and be a directory.
    fn walk_dirs(&self, components: &[&str]) -> io::Result<Arc<DirInode>> {
        let mut dir = Arc::clone(&self.root);
        for name in components {
            dir = match lookup_in(&dir, name).map_err(io_error)? {
                Inode::Dir(child) => child,
                Inode::File(_) => return Err(io_error(Errno::Notdir)),
                Inode::Link(_) => return Err(io_error(Errno::Loop)),
            };
        }
        Ok(dir)
    }

    /// The directory at `components`, creating missing ones.
    fn make_dirs(&self, components: &[&str]) -> io::Result<Arc<DirInode>> {
        let mut dir = Arc::clone(&self.root);
        for name in components {
            let handle = MemDir { dir };
            match handle.mkdir_at(name) {
                Ok(()) | Err(Errno::Exist) => {}
                Err(err) => return Err(io_error(err)),
            }
            dir = match lookup_in(&handle.dir, name).map_err(io_error)? {
                Inode::Dir(child) => child,
                Inode::File(_) => return Err(io_error(Errno::Notdir)),
                Inode::Link(_) => return Err(io_error(Errno::Loop)),
            };
        }
        Ok(dir)
    }

    /// The inode at `path` (the root for an empty path), following no link.
    fn lookup_path(&self, path: &str) -> io::Result<Inode> {
        let components = components(path)?;
        let Some((name, parents)) = components.split_last() else {
            return Ok(Inode::Dir(Arc::clone(&self.root)));
        };
        let parent = self.walk_dirs(parents)?;
        lookup_in(&parent, name).map_err(io_error)
    }
}

/// Creates or truncates the file `name` in `dir` and writes all of `contents`.
fn write_new(dir: &MemDir, name: &str, contents: &[u8]) -> io::Result<Arc<FileInode>> {
    let options = OpenOptions { write: true, create: true, truncate: true, ..OpenOptions::default() };
    let Node::File(handle) = dir.open_at(name, options).map_err(io_error)? else {
        return Err(io_error(Errno::Isdir));
    };
    let Some(file) = handle.as_any().downcast_ref::<MemFile>() else {
        return Err(io_error(Errno::Io));
    };
    let inode = &file.file;
    if contents.is_empty() {
        return Ok(Arc::clone(inode));
    }
    let now = inode.c.fs.now();
    let mut data = wlock(&inode.data);
    let mut written = 0usize;
    let mut result = Ok(());
    while let Some(rest) = contents.get(written..).filter(|rest| !rest.is_empty()) {
        match data.write(&inode.c.fs, &[IoSlice::new(rest)], len64(written)) {
            Ok(count) if count > 0 => written = written.saturating_add(count),
            Ok(_) => result = Err(Errno::Nospc),
            Err(err) => result = Err(err),
        }
        if result.is_err() {
            break;
        }
    }
    drop(data);
    if written > 0 {
        inode.c.touch_modified(now);
    }
    result.map(|()| Arc::clone(inode)).map_err(io_error)
}

impl FileSystem for MemFs {
    /// The root; once the filesystem is frozen ([`MemFs::snapshot`]), served read-only (as a
    /// read-only mount answers: [`Errno::Rofs`] for every change).
    fn root(&self) -> Result<Arc<dyn Dir>> {
        let root = Arc::new(MemDir { dir: Arc::clone(&self.root) });
        if self.is_frozen() {
            return Ok(Arc::new(crate::perms::RestrictedDir::read_only(root)));
        }
        Ok(root)
    }

    fn is_read_only(&self) -> bool {
        self.is_frozen()
    }

    /// Takes the clock of the first context it is mounted in, unless the builder gave one.
    fn mounted_with_clock(&self, clock: &Arc<dyn WallClock>) {
        let _ = self.root.c.fs.mounted_clock.set(Arc::clone(clock));
    }
}
