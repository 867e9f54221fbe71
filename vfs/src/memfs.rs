//! An in-memory filesystem: [`MemFs`].
//!
//! A complete, writable tree kept in memory: directories, regular files, symbolic links and hard
//! links, with POSIX timestamps, stable inode numbers, an optional byte quota, and cheap handles
//! that many Wasmtime instances on many threads may share.
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
//! let Node::Dir(etc) = root.open_at("etc", OpenOptions { directory: true, ..Default::default() })?
//! else {
//!     return Err("etc is not a directory".into());
//! };
//! let Node::File(motd) = etc.open_at("motd", OpenOptions { read: true, ..Default::default() })?
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
//!   fixed clock gets fixed file times), else [`SystemClock`] (before any mount). A write, truncation or growth sets the file's
//!   `mtim` and `ctim`; adding or removing an entry sets the directory's `mtim` and `ctim`;
//!   link, unlink and rename set the `ctim` of the inode concerned; `set_times` sets `ctim`
//!   (unless both times are [`SetTime::Omit`]). Reads and listings leave `atim` alone (as a
//!   `noatime` mount does): it changes only through `set_times`.
//! - **Inode numbers** count up from 1 (the root) and are never reused while the filesystem
//!   lives; **`dev`** is fixed per instance and distinct between instances.
//! - **Sizes**: a write past the end grows the file with a zero-filled gap; no file grows past
//!   [`MAX_FILE_SIZE`] (or the smaller [`MemFsBuilder::max_file_size`]): a write reaching it is
//!   cut short there, and one starting at or past it fails with [`Errno::Fbig`]. With a quota
//!   ([`MemFsBuilder::quota`]), the bytes of all files and symbolic-link targets count against
//!   it; a write that does not fit is cut short, and one with no room at all fails with
//!   [`Errno::Nospc`] — bytes are never silently dropped. Directory entries cost nothing.
//! - **Listings**: each directory numbers its entries in insertion order; a cookie is such a
//!   number, so listings resume correctly while entries are added or removed. An entry renamed
//!   within its directory keeps its number (a listing in progress meets it once, under the name
//!   it has then, so renaming every entry while listing terminates); one moved in from another
//!   directory is a new insertion. Continuing a listing costs `O(log n + entries returned)`.
//!
//! # Locking
//! Each instance has one *tree* lock (`RwLock<()>`), each directory one *entries* lock
//! (`RwLock` over its entry table), each regular file one *data* lock (`RwLock<Vec<u8>>`), and
//! each inode one *metadata* mutex (link count and times); a directory also has a *parent*
//! mutex (a weak pointer used only to refuse moving a directory into itself). The order is:
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
//! 3. data locks — never held together with an entries lock or with another data lock;
//! 4. metadata and parent mutexes — leaves: nothing is acquired while one is held.
//!
//! No lock is held while a [`Dir::read_dir`] sink runs (entries are handed out in small batches
//! copied under the lock), so a sink may call back into the filesystem.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    Advice, Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat, SystemClock,
    WallClock,
};

/// The largest size a [`MemFs`] file can reach: 4 GiB (`1 << 32` bytes).
///
/// A write that would cross it is cut short at it; one that starts at or past it, and a
/// [`File::set_size`] or [`File::allocate`] beyond it, fail with [`Errno::Fbig`]. The bytes of a
/// file are really allocated (a sparse gap is stored as zeros), so an embedder that lets
/// untrusted guests write should also set a quota ([`MemFsBuilder::quota`]).
pub const MAX_FILE_SIZE: u64 = 1 << 32;

/// The longest entry name, in bytes (POSIX `NAME_MAX`); longer names answer
/// [`Errno::Nametoolong`].
pub const NAME_MAX: usize = 255;

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

/// Checks one name component: the contract promises one, but a bad name must not corrupt the
/// tree.
fn check_name(name: &str) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(Errno::Nametoolong);
    }
    if name.is_empty() {
        return Err(Errno::Noent);
    }
    if name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Errno::Inval);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Inodes
// ---------------------------------------------------------------------------------------------

/// State shared by every inode of one instance.
struct Shared {
    dev: u64,
    /// The clock given to the builder, if any.
    clock: Option<Arc<dyn WallClock>>,
    /// Otherwise the clock of the first context the filesystem was mounted in.
    mounted_clock: std::sync::OnceLock<Arc<dyn WallClock>>,
    next_ino: AtomicU64,
    quota: Option<u64>,
    /// Bytes of file data and symbolic-link targets held by live inodes.
    used: AtomicU64,
    max_file_size: u64,
    /// The tree lock (see the module docs).
    tree: RwLock<()>,
}

impl Shared {
    fn now(&self) -> u64 {
        match (&self.clock, self.mounted_clock.get()) {
            (Some(clock), _) | (None, Some(clock)) => clock.now(),
            (None, None) => SystemClock.now(),
        }
    }

    fn alloc_ino(&self) -> Result<u64> {
        self.next_ino.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1)).map_err(|_| Errno::Nospc)
    }

    fn limit(&self) -> u64 {
        self.quota.unwrap_or(u64::MAX)
    }

    /// Takes up to `want` bytes of quota; returns how many were granted.
    fn reserve_up_to(&self, want: u64) -> u64 {
        let limit = self.limit();
        let mut granted = 0;
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            granted = want.min(limit.saturating_sub(used));
            Some(used.saturating_add(granted))
        });
        granted
    }

    /// Takes exactly `want` bytes of quota, or fails with [`Errno::Nospc`].
    fn reserve_exact(&self, want: u64) -> Result<()> {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(want).filter(|&total| total <= limit)
            })
            .map(|_| ())
            .map_err(|_| Errno::Nospc)
    }

    fn release(&self, bytes: u64) {
        if bytes != 0 {
            let _ =
                self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| Some(used.saturating_sub(bytes)));
        }
    }
}

/// Link count and times of an inode (for a directory, `nlink` is computed instead).
struct Meta {
    nlink: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

/// What every inode has.
struct Common {
    ino: u64,
    fs: Arc<Shared>,
    meta: Mutex<Meta>,
}

impl Common {
    fn new(fs: &Arc<Shared>, nlink: u64) -> Result<Common> {
        let ino = fs.alloc_ino()?;
        Ok(Common::with_ino(fs, ino, nlink))
    }

    fn with_ino(fs: &Arc<Shared>, ino: u64, nlink: u64) -> Common {
        let now = fs.now();
        Common { ino, fs: Arc::clone(fs), meta: Mutex::new(Meta { nlink, atim: now, mtim: now, ctim: now }) }
    }

    /// Content changed: `mtim` and `ctim`.
    fn touch_modified(&self) {
        let now = self.fs.now();
        let mut meta = mlock(&self.meta);
        meta.mtim = now;
        meta.ctim = now;
    }

    /// Status changed: `ctim`.
    fn touch_changed(&self) {
        let now = self.fs.now();
        mlock(&self.meta).ctim = now;
    }

    /// One name fewer.
    fn drop_link(&self) {
        let now = self.fs.now();
        let mut meta = mlock(&self.meta);
        meta.nlink = meta.nlink.saturating_sub(1);
        meta.ctim = now;
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) {
        if atime == SetTime::Omit && mtime == SetTime::Omit {
            return;
        }
        let now = self.fs.now();
        let mut meta = mlock(&self.meta);
        match atime {
            SetTime::Omit => {}
            SetTime::Now => meta.atim = now,
            SetTime::At(t) => meta.atim = t,
        }
        match mtime {
            SetTime::Omit => {}
            SetTime::Now => meta.mtim = now,
            SetTime::At(t) => meta.mtim = t,
        }
        meta.ctim = now;
    }

    fn stat(&self, filetype: FileType, size: u64, dir_nlink: Option<u64>) -> Stat {
        let meta = mlock(&self.meta);
        Stat {
            dev: self.fs.dev,
            ino: self.ino,
            filetype,
            nlink: dir_nlink.unwrap_or(meta.nlink),
            size,
            atim: meta.atim,
            mtim: meta.mtim,
            ctim: meta.ctim,
        }
    }
}

/// A regular file.
struct FileInode {
    c: Common,
    data: RwLock<Vec<u8>>,
}

/// A directory.
struct DirInode {
    c: Common,
    state: RwLock<DirState>,
    /// The directory holding this one (dangling for the root); read only to refuse moving a
    /// directory into its own subtree, changed only with the tree lock exclusive.
    parent: Mutex<Weak<DirInode>>,
}

/// A symbolic link.
struct LinkInode {
    c: Common,
    target: String,
}

/// A reference to an inode of any type.
#[derive(Clone)]
enum Inode {
    File(Arc<FileInode>),
    Dir(Arc<DirInode>),
    Link(Arc<LinkInode>),
}

impl Inode {
    fn common(&self) -> &Common {
        match self {
            Inode::File(f) => &f.c,
            Inode::Dir(d) => &d.c,
            Inode::Link(l) => &l.c,
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self, Inode::Dir(_))
    }

    fn filetype(&self) -> FileType {
        match self {
            Inode::File(_) => FileType::RegularFile,
            Inode::Dir(_) => FileType::Directory,
            Inode::Link(_) => FileType::SymbolicLink,
        }
    }

    fn same(&self, other: &Inode) -> bool {
        match (self, other) {
            (Inode::File(a), Inode::File(b)) => Arc::ptr_eq(a, b),
            (Inode::Dir(a), Inode::Dir(b)) => Arc::ptr_eq(a, b),
            (Inode::Link(a), Inode::Link(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn stat(&self) -> Stat {
        match self {
            Inode::File(f) => f.stat(),
            Inode::Dir(d) => d.stat(),
            Inode::Link(l) => l.c.stat(FileType::SymbolicLink, len64(l.target.len()), None),
        }
    }
}

impl FileInode {
    fn stat(&self) -> Stat {
        let size = len64(rlock(&self.data).len());
        self.c.stat(FileType::RegularFile, size, None)
    }

    /// Writes `buf` at `offset` into `data` (whose lock the caller holds).
    fn write_locked(&self, data: &mut Vec<u8>, buf: &[u8], offset: u64) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let fs = &self.c.fs;
        let max = fs.max_file_size;
        if offset >= max {
            return Err(Errno::Fbig);
        }
        // Cut short at the maximum file size (POSIX: write what fits).
        let want_end = offset.saturating_add(len64(buf.len())).min(max);
        if usize::try_from(want_end).is_err() {
            return Err(Errno::Fbig);
        }
        let old = len64(data.len());
        let end = if want_end > old {
            let granted = fs.reserve_up_to(want_end - old);
            let new_len = old.saturating_add(granted);
            if new_len <= offset {
                fs.release(granted);
                return Err(Errno::Nospc);
            }
            if let Err(err) = grow(data, new_len) {
                fs.release(granted);
                return Err(err);
            }
            new_len
        } else {
            want_end
        };
        let (Ok(start), Ok(stop)) = (usize::try_from(offset), usize::try_from(end)) else {
            return Err(Errno::Fbig);
        };
        let count = stop.saturating_sub(start);
        let (Some(dst), Some(src)) = (data.get_mut(start..stop), buf.get(..count)) else {
            return Err(Errno::Io);
        };
        dst.copy_from_slice(src);
        self.c.touch_modified();
        Ok(count)
    }

    /// Sets the size of `data` (whose lock the caller holds), taking or giving back quota.
    fn resize_locked(&self, data: &mut Vec<u8>, size: u64) -> Result<()> {
        let fs = &self.c.fs;
        if size > fs.max_file_size {
            return Err(Errno::Fbig);
        }
        let new = usize::try_from(size).map_err(|_| Errno::Fbig)?;
        let old = data.len();
        if new > old {
            let extra = len64(new - old);
            fs.reserve_exact(extra)?;
            if let Err(err) = grow(data, size) {
                fs.release(extra);
                return Err(err);
            }
        } else if new < old {
            data.truncate(new);
            fs.release(len64(old - new));
            shrink(data);
        }
        Ok(())
    }
}

/// Zero-extends `data` to `new_len` bytes, failing instead of aborting when memory runs out.
fn grow(data: &mut Vec<u8>, new_len: u64) -> Result<()> {
    let new_len = usize::try_from(new_len).map_err(|_| Errno::Fbig)?;
    let extra = new_len.saturating_sub(data.len());
    data.try_reserve(extra).map_err(|_| Errno::Nospc)?;
    data.resize(new_len, 0);
    Ok(())
}

/// Gives memory back after a large truncation (without a reallocation that could abort).
fn shrink(data: &mut Vec<u8>) {
    if data.is_empty() {
        *data = Vec::new();
    } else if data.capacity() > data.len().saturating_mul(2).max(4096) {
        let mut smaller = Vec::new();
        if smaller.try_reserve_exact(data.len()).is_ok() {
            smaller.extend_from_slice(data);
            *data = smaller;
        }
    }
}

impl Drop for FileInode {
    fn drop(&mut self) {
        let len = self.data.get_mut().unwrap_or_else(PoisonError::into_inner).len();
        self.c.fs.release(len64(len));
    }
}

impl Drop for LinkInode {
    fn drop(&mut self) {
        self.c.fs.release(len64(self.target.len()));
    }
}

impl DirInode {
    fn new(fs: &Arc<Shared>, ino: u64, parent: Weak<DirInode>) -> DirInode {
        DirInode {
            c: Common::with_ino(fs, ino, 2),
            state: RwLock::new(DirState::default()),
            parent: Mutex::new(parent),
        }
    }

    fn stat(&self) -> Stat {
        let nlink = {
            let st = rlock(&self.state);
            if st.removed { 0 } else { st.subdirs.saturating_add(2) }
        };
        self.c.stat(FileType::Directory, 0, Some(nlink))
    }
}

/// Whether `ancestor` is `node` or one of its ancestors (walks the parent mutexes only).
fn is_ancestor_or_self(ancestor: &Arc<DirInode>, node: &Arc<DirInode>) -> bool {
    let mut current = Arc::clone(node);
    loop {
        if Arc::ptr_eq(&current, ancestor) {
            return true;
        }
        let parent = mlock(&current.parent).upgrade();
        match parent {
            Some(parent) => current = parent,
            None => return false,
        }
    }
}

/// One directory entry. The name is shared with the directory's name index.
struct Entry {
    name: Arc<str>,
    node: Inode,
}

/// The entry table of a directory.
#[derive(Default)]
struct DirState {
    /// Entries by insertion number (the listing cookies).
    entries: BTreeMap<u64, Entry>,
    /// Insertion number by name.
    names: HashMap<Arc<str>, u64>,
    next_seq: u64,
    /// How many entries are directories.
    subdirs: u64,
    /// The directory was removed: no lookups, no new entries.
    removed: bool,
}

impl DirState {
    fn get(&self, name: &str) -> Option<&Inode> {
        let seq = self.names.get(name)?;
        self.entries.get(seq).map(|entry| &entry.node)
    }

    /// Takes the next insertion number (separate from [`DirState::insert_at`] so that every
    /// fallible step of an operation comes before its first change).
    fn alloc_seq(&mut self) -> Result<u64> {
        let seq = self.next_seq;
        self.next_seq = seq.checked_add(1).ok_or(Errno::Nospc)?;
        Ok(seq)
    }

    fn insert_at(&mut self, seq: u64, name: &str, node: Inode) {
        if node.is_dir() {
            self.subdirs = self.subdirs.saturating_add(1);
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&name), seq);
        self.entries.insert(seq, Entry { name, node });
    }

    fn remove(&mut self, name: &str) -> Option<Inode> {
        let seq = self.names.remove(name)?;
        let entry = self.entries.remove(&seq)?;
        if entry.node.is_dir() {
            self.subdirs = self.subdirs.saturating_sub(1);
        }
        Some(entry.node)
    }

    /// Renames the entry `name` (`new_name` is free) in place: it keeps its insertion number,
    /// so a listing in progress never meets it twice.
    fn rename(&mut self, name: &str, new_name: &str) {
        if let Some(seq) = self.names.remove(name) {
            let new_name: Arc<str> = Arc::from(new_name);
            if let Some(entry) = self.entries.get_mut(&seq) {
                entry.name = Arc::clone(&new_name);
            }
            self.names.insert(new_name, seq);
        }
    }
}

impl Drop for DirState {
    /// Frees a whole subtree iteratively: a deep tree must not overflow the stack.
    fn drop(&mut self) {
        self.names.clear();
        let mut stack: Vec<Inode> = std::mem::take(&mut self.entries).into_values().map(|e| e.node).collect();
        while let Some(node) = stack.pop() {
            if let Inode::Dir(dir) = node
                && let Some(mut dir) = Arc::into_inner(dir)
            {
                let state = dir.state.get_mut().unwrap_or_else(PoisonError::into_inner);
                stack.extend(std::mem::take(&mut state.entries).into_values().map(|e| e.node));
            }
        }
    }
}

/// Looks `name` up in `dir` (tree lock shared, entries lock shared, both released).
fn lookup_in(dir: &DirInode, name: &str) -> Result<Inode> {
    check_name(name)?;
    let _tree = rlock(&dir.c.fs.tree);
    let st = rlock(&dir.state);
    if st.removed {
        return Err(Errno::Noent);
    }
    st.get(name).cloned().ok_or(Errno::Noent)
}

/// Checks that `src` may replace `tgt` (same parent lock held by the caller) and, when both are
/// directories, marks the empty target removed. The only change is that last step.
fn check_replace(src: &Inode, tgt: &Inode) -> Result<()> {
    match (src, tgt) {
        (Inode::Dir(_), Inode::Dir(t)) => {
            let mut ts = wlock(&t.state);
            if !ts.entries.is_empty() {
                return Err(Errno::Notempty);
            }
            ts.removed = true;
            Ok(())
        }
        (Inode::Dir(_), _) => Err(Errno::Notdir),
        (_, Inode::Dir(_)) => Err(Errno::Isdir),
        _ => Ok(()),
    }
}

/// Bookkeeping after `tgt` lost its name to a rename.
fn replaced(tgt: Option<Inode>) {
    match tgt {
        Some(Inode::Dir(d)) => d.c.touch_changed(),
        Some(other) => other.common().drop_link(),
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

/// An open [`MemFs`] directory.
struct MemDir {
    dir: Arc<DirInode>,
}

/// An open [`MemFs`] regular file.
struct MemFile {
    file: Arc<FileInode>,
}

impl MemDir {
    fn fs(&self) -> &Arc<Shared> {
        &self.dir.c.fs
    }

    /// `new_dir` as a directory of this instance, else [`Errno::Xdev`].
    fn same_instance<'a>(&self, new_dir: &'a dyn Dir) -> Result<&'a MemDir> {
        match new_dir.as_any().downcast_ref::<MemDir>() {
            Some(other) if Arc::ptr_eq(self.fs(), other.fs()) => Ok(other),
            _ => Err(Errno::Xdev),
        }
    }

    fn rename_within(&self, name: &str, new_name: &str) -> Result<()> {
        let _tree = rlock(&self.fs().tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        let src = st.get(name).cloned().ok_or(Errno::Noent)?;
        if name == new_name {
            return Ok(());
        }
        let tgt = st.get(new_name).cloned();
        if let Some(tgt) = &tgt
            && tgt.same(&src)
        {
            return Ok(());
        }
        if let Some(tgt) = &tgt {
            check_replace(&src, tgt)?;
            st.remove(new_name);
        }
        st.rename(name, new_name);
        self.dir.c.touch_modified();
        drop(st);
        src.common().touch_changed();
        replaced(tgt);
        Ok(())
    }

    fn rename_across(&self, name: &str, dst: &MemDir, new_name: &str) -> Result<()> {
        // Exclusive: no other thread holds any entries lock, and no parent pointer can change.
        let _tree = wlock(&self.fs().tree);
        let mut a = wlock(&self.dir.state);
        let mut b = wlock(&dst.dir.state);
        if a.removed || b.removed {
            return Err(Errno::Noent);
        }
        let src = a.get(name).cloned().ok_or(Errno::Noent)?;
        let tgt = b.get(new_name).cloned();
        if let Some(tgt) = &tgt
            && tgt.same(&src)
        {
            return Ok(());
        }
        if let Inode::Dir(moved) = &src
            && is_ancestor_or_self(moved, &dst.dir)
        {
            return Err(Errno::Inval);
        }
        // A target that holds the source (directly or not) is not empty; checking this first
        // also keeps the target's lock from being one this thread already holds.
        if let Some(Inode::Dir(t)) = &tgt
            && is_ancestor_or_self(t, &self.dir)
        {
            return Err(Errno::Notempty);
        }
        let seq = b.alloc_seq()?;
        if let Some(tgt) = &tgt {
            check_replace(&src, tgt)?;
            b.remove(new_name);
        }
        a.remove(name);
        b.insert_at(seq, new_name, src.clone());
        if let Inode::Dir(moved) = &src {
            *mlock(&moved.parent) = Arc::downgrade(&dst.dir);
        }
        self.dir.c.touch_modified();
        dst.dir.c.touch_modified();
        drop(b);
        drop(a);
        src.common().touch_changed();
        replaced(tgt);
        Ok(())
    }
}

impl Dir for MemDir {
    fn stat(&self) -> Result<Stat> {
        Ok(self.dir.stat())
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        Ok(lookup_in(&self.dir, name)?.stat())
    }

    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        check_name(name)?;
        let node = if options.create {
            let fs = self.fs();
            let _tree = rlock(&fs.tree);
            let mut st = wlock(&self.dir.state);
            if st.removed {
                return Err(Errno::Noent);
            }
            match st.get(name) {
                Some(_) if options.exclusive => return Err(Errno::Exist),
                Some(node) => node.clone(),
                None => {
                    if options.directory {
                        // O_CREAT | O_DIRECTORY cannot create a directory (Linux: EINVAL).
                        return Err(Errno::Inval);
                    }
                    let seq = st.alloc_seq()?;
                    let file = Arc::new(FileInode { c: Common::new(fs, 1)?, data: RwLock::new(Vec::new()) });
                    st.insert_at(seq, name, Inode::File(Arc::clone(&file)));
                    self.dir.c.touch_modified();
                    return Ok(Node::File(Arc::new(MemFile { file })));
                }
            }
        } else {
            lookup_in(&self.dir, name)?
        };
        // No lock is held from here on.
        match node {
            Inode::Link(_) => Err(Errno::Loop),
            Inode::Dir(dir) => {
                if options.create || options.write || options.truncate {
                    Err(Errno::Isdir)
                } else {
                    Ok(Node::Dir(Arc::new(MemDir { dir })))
                }
            }
            Inode::File(file) => {
                if options.directory {
                    return Err(Errno::Notdir);
                }
                if options.truncate {
                    let mut data = wlock(&file.data);
                    file.resize_locked(&mut data, 0)?;
                    drop(data);
                    file.c.touch_modified();
                }
                Ok(Node::File(Arc::new(MemFile { file })))
            }
        }
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        let mut next = cookie;
        let mut batch_len = FIRST_BATCH;
        loop {
            let batch: Vec<DirEntry> = {
                let _tree = rlock(&self.fs().tree);
                let st = rlock(&self.dir.state);
                st.entries
                    .range(next..)
                    .take(batch_len)
                    .map(|(&seq, entry)| DirEntry {
                        next: seq.saturating_add(1),
                        ino: entry.node.common().ino,
                        filetype: entry.node.filetype(),
                        name: entry.name.to_string(),
                    })
                    .collect()
            };
            let full = batch.len() == batch_len;
            for entry in batch {
                next = entry.next;
                if !sink(entry) {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
            batch_len = batch_len.saturating_mul(2).min(MAX_BATCH);
        }
    }

    fn mkdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let fs = self.fs();
        let _tree = rlock(&fs.tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        if st.get(name).is_some() {
            return Err(Errno::Exist);
        }
        let seq = st.alloc_seq()?;
        let ino = fs.alloc_ino()?;
        let child = Arc::new(DirInode::new(fs, ino, Arc::downgrade(&self.dir)));
        st.insert_at(seq, name, Inode::Dir(child));
        self.dir.c.touch_modified();
        Ok(())
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let _tree = rlock(&self.fs().tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        let Some(Inode::Dir(child)) = st.get(name).cloned() else {
            return Err(if st.get(name).is_some() { Errno::Notdir } else { Errno::Noent });
        };
        {
            // Parent before child.
            let mut cs = wlock(&child.state);
            if !cs.entries.is_empty() {
                return Err(Errno::Notempty);
            }
            cs.removed = true;
        }
        st.remove(name);
        self.dir.c.touch_modified();
        drop(st);
        child.c.touch_changed();
        Ok(())
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let _tree = rlock(&self.fs().tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        match st.get(name) {
            None => return Err(Errno::Noent),
            Some(Inode::Dir(_)) => return Err(Errno::Isdir),
            Some(_) => {}
        }
        let node = st.remove(name).ok_or(Errno::Noent)?;
        node.common().drop_link();
        self.dir.c.touch_modified();
        Ok(())
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        check_name(name)?;
        if target.is_empty() {
            return Err(Errno::Noent);
        }
        if target.len() > SYMLINK_MAX {
            return Err(Errno::Nametoolong);
        }
        if target.contains('\0') {
            return Err(Errno::Inval);
        }
        let fs = self.fs();
        let _tree = rlock(&fs.tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        if st.get(name).is_some() {
            return Err(Errno::Exist);
        }
        let seq = st.alloc_seq()?;
        let bytes = len64(target.len());
        fs.reserve_exact(bytes)?;
        let c = match Common::new(fs, 1) {
            Ok(c) => c,
            Err(err) => {
                fs.release(bytes);
                return Err(err);
            }
        };
        let link = Arc::new(LinkInode { c, target: target.to_owned() });
        st.insert_at(seq, name, Inode::Link(link));
        self.dir.c.touch_modified();
        Ok(())
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        match lookup_in(&self.dir, name)? {
            Inode::Link(link) => Ok(link.target.clone()),
            _ => Err(Errno::Inval),
        }
    }

    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        let dst = self.same_instance(new_dir)?;
        if Arc::ptr_eq(&self.dir, &dst.dir) {
            self.rename_within(name, new_name)
        } else {
            self.rename_across(name, dst, new_name)
        }
    }

    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        let dst = self.same_instance(new_dir)?;
        let fs = self.fs();
        let _tree = rlock(&fs.tree);
        // One entries lock at a time: the source is looked up, released, then the destination
        // is locked; a concurrent unlink is caught by the link count check below.
        let src = {
            let st = rlock(&self.dir.state);
            if st.removed {
                return Err(Errno::Noent);
            }
            st.get(name).cloned().ok_or(Errno::Noent)?
        };
        let mut st = wlock(&dst.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        if st.get(new_name).is_some() {
            return Err(Errno::Exist);
        }
        if src.is_dir() {
            return Err(Errno::Perm);
        }
        let seq = st.alloc_seq()?;
        {
            let now = fs.now();
            let mut meta = mlock(&src.common().meta);
            if meta.nlink == 0 {
                return Err(Errno::Noent);
            }
            meta.nlink = meta.nlink.checked_add(1).ok_or(Errno::Mlink)?;
            meta.ctim = now;
        }
        st.insert_at(seq, new_name, src);
        dst.dir.c.touch_modified();
        Ok(())
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        lookup_in(&self.dir, name)?.common().set_times(atime, mtime);
        Ok(())
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.dir.c.set_times(atime, mtime);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for MemFile {
    fn stat(&self) -> Result<Stat> {
        Ok(self.file.stat())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let data = rlock(&self.file.data);
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(available) = data.get(start..) else {
            return Ok(0);
        };
        let count = available.len().min(buf.len());
        let (Some(dst), Some(src)) = (buf.get_mut(..count), available.get(..count)) else {
            return Ok(0);
        };
        dst.copy_from_slice(src);
        Ok(count)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        let mut data = wlock(&self.file.data);
        self.file.write_locked(&mut data, buf, offset)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let mut data = wlock(&self.file.data);
        let offset = len64(data.len());
        let written = self.file.write_locked(&mut data, buf, offset)?;
        Ok((written, len64(data.len())))
    }

    fn set_size(&self, size: u64) -> Result<()> {
        let mut data = wlock(&self.file.data);
        self.file.resize_locked(&mut data, size)?;
        drop(data);
        self.file.c.touch_modified();
        Ok(())
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.file.c.set_times(atime, mtime);
        Ok(())
    }

    /// Grows the file to `offset + len` if it is shorter (POSIX `posix_fallocate`); `len` 0
    /// answers [`Errno::Inval`], an end past the maximum size [`Errno::Fbig`], no room
    /// [`Errno::Nospc`].
    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Err(Errno::Inval);
        }
        let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
        if end > self.file.c.fs.max_file_size {
            return Err(Errno::Fbig);
        }
        let mut data = wlock(&self.file.data);
        if end > len64(data.len()) {
            self.file.resize_locked(&mut data, end)?;
            drop(data);
            self.file.c.touch_modified();
        }
        Ok(())
    }

    fn advise(&self, _offset: u64, _len: u64, _advice: Advice) -> Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
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

/// Configures a [`MemFs`]: clock, quota, maximum file size. Made by [`MemFs::builder`].
#[derive(Clone)]
pub struct MemFsBuilder {
    clock: Option<Arc<dyn WallClock>>,
    quota: Option<u64>,
    max_file_size: u64,
}

impl MemFsBuilder {
    /// Stamps file times with `clock`, whatever context the filesystem is mounted in.
    pub fn clock(mut self, clock: Arc<dyn WallClock>) -> MemFsBuilder {
        self.clock = Some(clock);
        self
    }

    /// Limits the bytes of all files and symbolic-link targets to `bytes`; writes beyond it are
    /// cut short or fail with [`Errno::Nospc`].
    pub fn quota(mut self, bytes: u64) -> MemFsBuilder {
        self.quota = Some(bytes);
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
            mounted_clock: std::sync::OnceLock::new(),
            next_ino: AtomicU64::new(2),
            quota: self.quota,
            used: AtomicU64::new(0),
            max_file_size: self.max_file_size,
            tree: RwLock::new(()),
        });
        MemFs { root: Arc::new(DirInode::new(&shared, 1, Weak::new())) }
    }
}

impl Default for MemFsBuilder {
    fn default() -> MemFsBuilder {
        MemFsBuilder { clock: None, quota: None, max_file_size: MAX_FILE_SIZE }
    }
}

impl fmt::Debug for MemFsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFsBuilder")
            .field("quota", &self.quota)
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
    /// An empty filesystem with the system clock and no quota.
    pub fn new() -> MemFs {
        MemFsBuilder::default().build()
    }

    /// A builder to set the clock, a quota or a smaller maximum file size.
    pub fn builder() -> MemFsBuilder {
        MemFsBuilder::default()
    }

    /// An empty filesystem whose times come from `clock`.
    pub fn with_clock(clock: Arc<dyn WallClock>) -> MemFs {
        MemFs::builder().clock(clock).build()
    }

    /// An empty filesystem holding at most `bytes` bytes of file data and link targets.
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

    /// The contents of the regular file `path`.
    ///
    /// Errors: [`io::ErrorKind::NotFound`]; [`io::ErrorKind::IsADirectory`]; an
    /// [`Errno::Loop`] error for a symbolic link; [`io::ErrorKind::NotADirectory`] a parent
    /// is a file.
    pub fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        match self.lookup_path(path)? {
            Inode::File(file) => Ok(rlock(&file.data).clone()),
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

    /// The bytes of file data and symbolic-link targets held now (what the quota counts,
    /// including files that are unlinked but still open).
    pub fn used_bytes(&self) -> u64 {
        self.root.c.fs.used.load(Ordering::Acquire)
    }

    /// The device number of this instance (the `dev` of every [`Stat`] it reports).
    pub fn dev(&self) -> u64 {
        self.root.c.fs.dev
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
    let mut data = wlock(&file.file.data);
    let mut written = 0usize;
    while let Some(rest) = contents.get(written..).filter(|rest| !rest.is_empty()) {
        let count = file.file.write_locked(&mut data, rest, len64(written)).map_err(io_error)?;
        if count == 0 {
            return Err(io_error(Errno::Nospc));
        }
        written = written.saturating_add(count);
    }
    drop(data);
    Ok(Arc::clone(&file.file))
}

impl FileSystem for MemFs {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Arc::new(MemDir { dir: Arc::clone(&self.root) }))
    }

    /// Takes the clock of the first context it is mounted in, unless the builder gave one.
    fn mounted_with_clock(&self, clock: &Arc<dyn WallClock>) {
        let _ = self.root.c.fs.mounted_clock.set(Arc::clone(clock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::atomic::AtomicU64;

    const READ: OpenOptions =
        OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };
    const RW: OpenOptions = OpenOptions { write: true, ..READ };
    const CREATE: OpenOptions = OpenOptions { create: true, ..RW };
    const EXCL: OpenOptions = OpenOptions { exclusive: true, ..CREATE };
    const DIR: OpenOptions = OpenOptions { directory: true, ..READ };

    struct TestClock(AtomicU64);

    impl TestClock {
        fn set(&self, t: u64) {
            self.0.store(t, Ordering::SeqCst);
        }
    }

    impl WallClock for TestClock {
        fn now(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn file(node: Node) -> Arc<dyn File> {
        match node {
            Node::File(f) => f,
            Node::Dir(_) => panic!("expected a file"),
        }
    }

    fn dir(node: Node) -> Arc<dyn Dir> {
        match node {
            Node::Dir(d) => d,
            Node::File(_) => panic!("expected a directory"),
        }
    }

    fn new_file(d: &dyn Dir, name: &str, contents: &[u8]) -> Arc<dyn File> {
        let f = file(d.open_at(name, EXCL).unwrap());
        assert_eq!(f.write_at(contents, 0), Ok(contents.len()));
        f
    }

    fn open_dir(d: &dyn Dir, name: &str) -> Arc<dyn Dir> {
        dir(d.open_at(name, DIR).unwrap())
    }

    fn read_all(f: &dyn File) -> Vec<u8> {
        let size = usize::try_from(f.stat().unwrap().size).unwrap();
        let mut buf = vec![0xAA; size + 8];
        let n = f.read_at(&mut buf, 0).unwrap();
        assert_eq!(n, size);
        buf.truncate(n);
        buf
    }

    fn open_err(d: &dyn Dir, name: &str, o: OpenOptions) -> Errno {
        d.open_at(name, o).map(|_| ()).unwrap_err()
    }

    /// Every entry of `d`, listed from cookie 0.
    fn list(d: &dyn Dir) -> Vec<DirEntry> {
        let mut out = Vec::new();
        d.read_dir(0, &mut |e| {
            out.push(e);
            true
        })
        .unwrap();
        out
    }

    fn names(d: &dyn Dir) -> Vec<String> {
        let mut v: Vec<String> = list(d).into_iter().map(|e| e.name).collect();
        v.sort();
        v
    }

    fn assert_send_sync<T: Send + Sync>() {}

    /// A directory of another backend, for `Xdev`.
    struct Foreign;

    impl Dir for Foreign {
        fn stat(&self) -> Result<Stat> {
            Err(Errno::Notsup)
        }
        fn stat_at(&self, _: &str) -> Result<Stat> {
            Err(Errno::Notsup)
        }
        fn open_at(&self, _: &str, _: OpenOptions) -> Result<Node> {
            Err(Errno::Notsup)
        }
        fn read_dir(&self, _: u64, _: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn mkdir_at(&self, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn rmdir_at(&self, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn unlink_at(&self, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn symlink_at(&self, _: &str, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn readlink_at(&self, _: &str) -> Result<String> {
            Err(Errno::Notsup)
        }
        fn rename_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn link_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
            Err(Errno::Notsup)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[test]
    fn types_are_send_sync() {
        assert_send_sync::<MemFs>();
        assert_send_sync::<MemFsBuilder>();
        assert_send_sync::<MemDir>();
        assert_send_sync::<MemFile>();
    }

    #[test]
    fn create_write_read_and_stat() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        let f = new_file(&*root, "hello", b"hello world");
        let mut buf = [0u8; 5];
        assert_eq!(f.read_at(&mut buf, 6), Ok(5));
        assert_eq!(&buf, b"world");
        assert_eq!(f.read_at(&mut buf, 11), Ok(0));
        assert_eq!(f.read_at(&mut buf, u64::MAX), Ok(0));
        assert_eq!(f.read_at(&mut buf, 9), Ok(2));
        assert_eq!(&buf[..2], b"ld");
        let st = f.stat().unwrap();
        assert_eq!(st.dev, fs.dev());
        assert_eq!(st.ino, 2);
        assert_eq!(st.filetype, FileType::RegularFile);
        assert_eq!(st.nlink, 1);
        assert_eq!(st.size, 11);
        assert_eq!(root.stat_at("hello").unwrap(), st);
        let rs = root.stat().unwrap();
        assert_eq!((rs.ino, rs.filetype, rs.nlink, rs.dev), (1, FileType::Directory, 2, fs.dev()));
        assert_eq!(f.write_at(b"", 100), Ok(0));
        assert_eq!(f.stat().unwrap().size, 11);
        assert_eq!(f.append(b"!"), Ok((1, 12)));
        assert_eq!(read_all(&*f), b"hello world!");
        assert_eq!(f.advise(0, u64::MAX, Advice::Sequential), Ok(()));
        assert_eq!(f.sync(), Ok(()));
        assert_eq!(f.datasync(), Ok(()));
        assert_eq!(root.sync(), Ok(()));
        assert!(!fs.is_read_only());
        assert_eq!(fs.used_bytes(), 12);
    }

    #[test]
    fn open_at_flags_and_errors() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        new_file(&*root, "f", b"data");
        root.mkdir_at("d").unwrap();
        root.symlink_at("f", "lnk").unwrap();
        root.symlink_at("nowhere", "dangling").unwrap();

        assert_eq!(open_err(&*root, "missing", READ), Errno::Noent);
        assert_eq!(open_err(&*root, "missing", DIR), Errno::Noent);
        assert_eq!(open_err(&*root, "f", EXCL), Errno::Exist);
        assert_eq!(open_err(&*root, "d", EXCL), Errno::Exist);
        assert_eq!(open_err(&*root, "lnk", EXCL), Errno::Exist);
        assert_eq!(open_err(&*root, "dangling", EXCL), Errno::Exist);
        assert_eq!(open_err(&*root, "lnk", READ), Errno::Loop);
        assert_eq!(open_err(&*root, "lnk", DIR), Errno::Loop);
        assert_eq!(open_err(&*root, "lnk", CREATE), Errno::Loop);
        assert_eq!(open_err(&*root, "dangling", CREATE), Errno::Loop);
        assert_eq!(open_err(&*root, "f", DIR), Errno::Notdir);
        assert_eq!(open_err(&*root, "f", OpenOptions { create: true, ..DIR }), Errno::Notdir);
        assert_eq!(open_err(&*root, "new", OpenOptions { create: true, ..DIR }), Errno::Inval);
        assert_eq!(open_err(&*root, "d", RW), Errno::Isdir);
        assert_eq!(open_err(&*root, "d", OpenOptions { truncate: true, ..READ }), Errno::Isdir);
        assert_eq!(open_err(&*root, "d", OpenOptions { create: true, ..READ }), Errno::Isdir);
        assert_eq!(open_err(&*root, &"x".repeat(256), READ), Errno::Nametoolong);
        assert_eq!(open_err(&*root, &"x".repeat(256), CREATE), Errno::Nametoolong);
        assert_eq!(open_err(&*root, "a/b", READ), Errno::Inval);
        assert_eq!(open_err(&*root, "..", READ), Errno::Inval);
        assert_eq!(open_err(&*root, "", READ), Errno::Noent);
        assert!(!fs.exists("new"));

        // A 255-byte name is fine.
        let long = "y".repeat(255);
        new_file(&*root, &long, b"");
        assert_eq!(root.stat_at(&long).unwrap().size, 0);

        // Directories open as Node::Dir, plain and with `directory`.
        assert!(matches!(root.open_at("d", READ).unwrap(), Node::Dir(_)));
        assert!(matches!(root.open_at("d", DIR).unwrap(), Node::Dir(_)));

        // create without exclusive opens the existing file; truncate empties it.
        let f = file(root.open_at("f", CREATE).unwrap());
        assert_eq!(read_all(&*f), b"data");
        let g = file(root.open_at("f", OpenOptions { truncate: true, ..RW }).unwrap());
        assert_eq!(g.stat().unwrap().size, 0);
        assert_eq!(f.stat().unwrap().size, 0);
        assert_eq!(fs.used_bytes(), 8, "the two link targets");
    }

    #[test]
    fn entry_operation_errors() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        new_file(&*root, "f", b"x");
        root.mkdir_at("d").unwrap();
        root.symlink_at("d", "to_d").unwrap();
        root.symlink_at("gone", "dangling").unwrap();
        new_file(&*open_dir(&*root, "d"), "inner", b"");
        let long = "n".repeat(256);

        assert_eq!(root.stat_at("missing"), Err(Errno::Noent));
        assert_eq!(root.stat_at(&long), Err(Errno::Nametoolong));
        let ls = root.stat_at("to_d").unwrap();
        assert_eq!((ls.filetype, ls.size, ls.nlink), (FileType::SymbolicLink, 1, 1));

        for name in ["f", "d", "to_d", "dangling"] {
            assert_eq!(root.mkdir_at(name), Err(Errno::Exist), "{name}");
            assert_eq!(root.symlink_at("t", name), Err(Errno::Exist), "{name}");
        }
        assert_eq!(root.mkdir_at(&long), Err(Errno::Nametoolong));
        assert_eq!(root.symlink_at("t", &long), Err(Errno::Nametoolong));
        assert_eq!(root.symlink_at("", "empty"), Err(Errno::Noent));
        assert_eq!(root.symlink_at(&"t".repeat(SYMLINK_MAX + 1), "big"), Err(Errno::Nametoolong));

        assert_eq!(root.rmdir_at("missing"), Err(Errno::Noent));
        assert_eq!(root.rmdir_at("f"), Err(Errno::Notdir));
        assert_eq!(root.rmdir_at("to_d"), Err(Errno::Notdir));
        assert_eq!(root.rmdir_at("d"), Err(Errno::Notempty));
        assert_eq!(root.rmdir_at(&long), Err(Errno::Nametoolong));

        assert_eq!(root.unlink_at("missing"), Err(Errno::Noent));
        assert_eq!(root.unlink_at("d"), Err(Errno::Isdir));
        assert_eq!(root.unlink_at(&long), Err(Errno::Nametoolong));

        assert_eq!(root.readlink_at("to_d").as_deref(), Ok("d"));
        assert_eq!(root.readlink_at("dangling").as_deref(), Ok("gone"));
        assert_eq!(root.readlink_at("missing"), Err(Errno::Noent));
        assert_eq!(root.readlink_at("f"), Err(Errno::Inval));
        assert_eq!(root.readlink_at("d"), Err(Errno::Inval));

        assert_eq!(root.set_times_at("missing", SetTime::Now, SetTime::Now), Err(Errno::Noent));

        // Unlinking a link removes the link, not its target.
        root.unlink_at("to_d").unwrap();
        assert_eq!(root.stat_at("d").unwrap().filetype, FileType::Directory);
        root.unlink_at("dangling").unwrap();
        open_dir(&*root, "d").unlink_at("inner").unwrap();
        root.rmdir_at("d").unwrap();
        root.unlink_at("f").unwrap();
        assert!(list(&*root).is_empty());
        assert_eq!(root.stat().unwrap().nlink, 2);
    }

    #[test]
    fn nlink_counts_with_dirs_and_hard_links() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        root.mkdir_at("a").unwrap();
        root.mkdir_at("b").unwrap();
        assert_eq!(root.stat().unwrap().nlink, 4);
        let a = open_dir(&*root, "a");
        a.mkdir_at("sub").unwrap();
        assert_eq!(a.stat().unwrap().nlink, 3);
        assert_eq!(root.stat_at("a").unwrap().nlink, 3);
        new_file(&*a, "file", b"");
        assert_eq!(a.stat().unwrap().nlink, 3);

        let f = file(a.open_at("file", READ).unwrap());
        let b = open_dir(&*root, "b");
        a.link_at("file", &*b, "one").unwrap();
        a.link_at("file", &*a, "two").unwrap();
        assert_eq!(f.stat().unwrap().nlink, 3);
        assert_eq!(b.stat_at("one").unwrap().ino, f.stat().unwrap().ino);
        assert_eq!(b.stat().unwrap().nlink, 2);

        assert_eq!(a.link_at("sub", &*b, "x"), Err(Errno::Perm));
        assert_eq!(a.link_at("file", &*b, "one"), Err(Errno::Exist));
        assert_eq!(a.link_at("missing", &*b, "y"), Err(Errno::Noent));
        assert_eq!(a.link_at("file", &*b, &"z".repeat(256)), Err(Errno::Nametoolong));
        assert_eq!(a.link_at("file", &Foreign, "y"), Err(Errno::Xdev));
        let other = MemFs::new();
        assert_eq!(a.link_at("file", &*other.root().unwrap(), "y"), Err(Errno::Xdev));

        // A hard link to a symbolic link links the link.
        a.symlink_at("file", "sl").unwrap();
        a.link_at("sl", &*b, "sl2").unwrap();
        assert_eq!(b.readlink_at("sl2").as_deref(), Ok("file"));
        assert_eq!(a.stat_at("sl").unwrap().nlink, 2);
        assert_eq!(b.stat_at("sl2").unwrap().filetype, FileType::SymbolicLink);

        a.unlink_at("file").unwrap();
        assert_eq!(f.stat().unwrap().nlink, 2);
        b.unlink_at("one").unwrap();
        a.unlink_at("two").unwrap();
        assert_eq!(f.stat().unwrap().nlink, 0);

        a.rmdir_at("sub").unwrap();
        assert_eq!(a.stat().unwrap().nlink, 2);
        // Moving a directory moves its contribution to the parent's count.
        root.rename_at("b", &*a, "b").unwrap();
        assert_eq!(root.stat().unwrap().nlink, 3);
        assert_eq!(a.stat().unwrap().nlink, 3);
    }

    #[test]
    fn unlinked_open_file_stays_usable() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        let f = new_file(&*root, "tmp", b"abc");
        let ino = f.stat().unwrap().ino;
        root.unlink_at("tmp").unwrap();
        assert_eq!(root.stat_at("tmp"), Err(Errno::Noent));
        assert_eq!(f.stat().unwrap().nlink, 0);
        assert_eq!(f.write_at(b"def", 3), Ok(3));
        assert_eq!(read_all(&*f), b"abcdef");
        assert_eq!(fs.used_bytes(), 6);
        // Linking a file with no name left is refused.
        // (Its inode number is never reused.)
        let g = new_file(&*root, "tmp", b"");
        assert!(g.stat().unwrap().ino > ino);
        drop(f);
        assert_eq!(fs.used_bytes(), 0);
    }

    #[test]
    fn removed_directory_handle() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        root.mkdir_at("d").unwrap();
        let d = open_dir(&*root, "d");
        root.rmdir_at("d").unwrap();
        assert_eq!(d.stat().unwrap().nlink, 0);
        assert_eq!(d.stat_at("x"), Err(Errno::Noent));
        assert_eq!(open_err(&*d, "x", READ), Errno::Noent);
        assert_eq!(open_err(&*d, "x", CREATE), Errno::Noent);
        assert_eq!(d.mkdir_at("x"), Err(Errno::Noent));
        assert_eq!(d.symlink_at("t", "x"), Err(Errno::Noent));
        assert_eq!(d.rmdir_at("x"), Err(Errno::Noent));
        assert_eq!(d.unlink_at("x"), Err(Errno::Noent));
        assert_eq!(d.readlink_at("x"), Err(Errno::Noent));
        assert!(list(&*d).is_empty());
        new_file(&*root, "f", b"");
        assert_eq!(root.link_at("f", &*d, "x"), Err(Errno::Noent));
        assert_eq!(root.rename_at("f", &*d, "x"), Err(Errno::Noent));
        assert_eq!(d.set_times(SetTime::At(5), SetTime::At(6)), Ok(()));
        assert_eq!(d.stat().unwrap().mtim, 6);
        assert_eq!(root.stat().unwrap().nlink, 2);
    }

    #[test]
    fn directory_handle_survives_rename() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        root.mkdir_at("a").unwrap();
        root.mkdir_at("p").unwrap();
        let a = open_dir(&*root, "a");
        root.rename_at("a", &*open_dir(&*root, "p"), "b").unwrap();
        new_file(&*a, "x", b"moved");
        assert_eq!(fs.read_file("p/b/x").unwrap(), b"moved");
        assert!(!fs.exists("a"));
    }

    #[test]
    fn rename_edge_cases() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for d in ["a", "a/b", "a/b/c", "empty", "full", "full/x"] {
            fs.create_dir_all(d).unwrap();
        }
        fs.write_file("f", "file f").unwrap();
        fs.write_file("g", "file g").unwrap();
        fs.write_file("a/b/file", "deep").unwrap();
        let a = open_dir(&*root, "a");
        let b = open_dir(&*a, "b");
        let c = open_dir(&*b, "c");

        // Into itself or its own subdirectory.
        assert_eq!(root.rename_at("a", &*a, "a2"), Err(Errno::Inval));
        assert_eq!(root.rename_at("a", &*c, "a2"), Err(Errno::Inval));
        assert_eq!(a.rename_at("b", &*c, "b2"), Err(Errno::Inval));
        // Onto a directory that holds the source.
        fs.create_dir_all("a/b/c/d").unwrap();
        assert_eq!(c.rename_at("d", &*root, "a"), Err(Errno::Notempty));
        assert_eq!(c.rename_at("d", &*a, "b"), Err(Errno::Notempty));
        assert_eq!(b.rename_at("file", &*root, "a"), Err(Errno::Notempty));
        // Type mismatches and non-empty targets.
        assert_eq!(root.rename_at("a", &*root, "full"), Err(Errno::Notempty));
        assert_eq!(root.rename_at("empty", &*root, "f"), Err(Errno::Notdir));
        assert_eq!(root.rename_at("f", &*root, "empty"), Err(Errno::Isdir));
        assert_eq!(root.rename_at("empty", &*b, "file"), Err(Errno::Notdir));
        assert_eq!(b.rename_at("file", &*root, "empty"), Err(Errno::Isdir));
        assert_eq!(root.rename_at("missing", &*root, "x"), Err(Errno::Noent));
        assert_eq!(root.rename_at("missing", &*a, "x"), Err(Errno::Noent));
        assert_eq!(root.rename_at("f", &*root, &"n".repeat(256)), Err(Errno::Nametoolong));
        // Another backend or another instance.
        assert_eq!(root.rename_at("f", &Foreign, "x"), Err(Errno::Xdev));
        let other = MemFs::new();
        assert_eq!(root.rename_at("f", &*other.root().unwrap(), "x"), Err(Errno::Xdev));
        // Nothing above changed anything.
        assert_eq!(names(&*root), ["a", "empty", "f", "full", "g"]);
        assert_eq!(names(&*b), ["c", "file"]);

        // Onto itself: same name, or another name of the same inode.
        root.rename_at("f", &*root, "f").unwrap();
        root.link_at("f", &*a, "f_link").unwrap();
        root.rename_at("f", &*a, "f_link").unwrap();
        a.rename_at("f_link", &*root, "f").unwrap();
        root.rename_at("a", &*root, "a").unwrap();
        assert_eq!(root.stat_at("f").unwrap().nlink, 2);
        assert_eq!(a.stat_at("f_link").unwrap().ino, root.stat_at("f").unwrap().ino);
        assert_eq!(names(&*root), ["a", "empty", "f", "full", "g"]);

        // File over file: the old target loses its name but stays open.
        let g = file(root.open_at("g", READ).unwrap());
        root.rename_at("f", &*root, "g").unwrap();
        assert_eq!(g.stat().unwrap().nlink, 0);
        assert_eq!(read_all(&*g), b"file g");
        assert_eq!(fs.read_file("g").unwrap(), b"file f");
        assert_eq!(root.stat_at("g").unwrap().nlink, 2);
        drop(g);
        assert_eq!(fs.used_bytes(), 6 + 4);

        // Directory over an empty directory, within and across directories.
        let empty = open_dir(&*root, "empty");
        root.mkdir_at("e2").unwrap();
        root.rename_at("e2", &*root, "empty").unwrap();
        assert_eq!(empty.stat().unwrap().nlink, 0);
        assert_eq!(empty.mkdir_at("x"), Err(Errno::Noent));
        assert_eq!(root.stat().unwrap().nlink, 5);
        c.rmdir_at("d").unwrap();
        root.rename_at("empty", &*c, "d").unwrap();
        assert_eq!(root.stat().unwrap().nlink, 4);
        assert_eq!(c.stat().unwrap().nlink, 3);
        fs.create_dir_all("moved").unwrap();
        c.rename_at("d", &*root, "moved").unwrap();
        assert_eq!(c.stat().unwrap().nlink, 2);
        assert_eq!(names(&*root), ["a", "full", "g", "moved"]);

        // A file across directories, over an existing file.
        fs.write_file("full/x/victim", "v").unwrap();
        b.rename_at("file", &*open_dir(&*open_dir(&*root, "full"), "x"), "victim").unwrap();
        assert_eq!(fs.read_file("full/x/victim").unwrap(), b"deep");
        assert_eq!(names(&*b), ["c"]);
        // Symbolic links are renamed, not followed.
        root.symlink_at("g", "sl").unwrap();
        root.rename_at("sl", &*c, "sl").unwrap();
        assert_eq!(c.readlink_at("sl").as_deref(), Ok("g"));
        // A moved directory can be moved back up (its parent pointer follows it).
        root.rename_at("a", &*open_dir(&*root, "moved"), "a").unwrap();
        assert_eq!(root.rename_at("moved", &*c, "m"), Err(Errno::Inval));
        c.rename_at("sl", &*root, "sl").unwrap();
        fs.remove("moved/a/b/c").unwrap();
        assert_eq!(fs.read_dir("moved/a/b").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn sparse_writes_and_size_limits() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        let f = new_file(&*root, "sparse", b"ab");
        assert_eq!(f.write_at(b"xy", 10), Ok(2));
        assert_eq!(read_all(&*f), b"ab\0\0\0\0\0\0\0\0xy");
        f.set_size(20).unwrap();
        assert_eq!(read_all(&*f), b"ab\0\0\0\0\0\0\0\0xy\0\0\0\0\0\0\0\0");
        f.set_size(3).unwrap();
        assert_eq!(read_all(&*f), b"ab\0");
        f.set_size(5).unwrap();
        assert_eq!(read_all(&*f), b"ab\0\0\0");
        assert_eq!(fs.used_bytes(), 5);

        assert_eq!(f.write_at(b"x", 1 << 40), Err(Errno::Fbig));
        assert_eq!(f.write_at(b"x", MAX_FILE_SIZE), Err(Errno::Fbig));
        assert_eq!(f.write_at(b"x", u64::MAX), Err(Errno::Fbig));
        assert_eq!(f.set_size(1 << 40), Err(Errno::Fbig));
        assert_eq!(f.set_size(u64::MAX), Err(Errno::Fbig));
        assert_eq!(f.allocate(u64::MAX, 2), Err(Errno::Fbig));
        assert_eq!(f.allocate(MAX_FILE_SIZE, 1), Err(Errno::Fbig));
        assert_eq!(f.stat().unwrap().size, 5);

        // A smaller maximum: a write crossing it is cut short there.
        let small = MemFs::builder().max_file_size(8).build();
        let root = small.root().unwrap();
        let f = file(root.open_at("f", CREATE).unwrap());
        assert_eq!(f.write_at(b"0123456789", 0), Ok(8));
        assert_eq!(f.write_at(b"z", 8), Err(Errno::Fbig));
        assert_eq!(f.append(b"z"), Err(Errno::Fbig));
        assert_eq!(f.write_at(b"AB", 6), Ok(2));
        assert_eq!(read_all(&*f), b"012345AB");
        assert_eq!(f.set_size(9), Err(Errno::Fbig));
        assert_eq!(MemFs::builder().max_file_size(u64::MAX).max_file_size, MAX_FILE_SIZE);
    }

    #[test]
    fn allocate_grows_within_quota() {
        let fs = MemFs::with_quota(100);
        let root = fs.root().unwrap();
        let f = new_file(&*root, "f", b"abc");
        assert_eq!(f.allocate(0, 0), Err(Errno::Inval));
        f.allocate(0, 2).unwrap();
        assert_eq!(f.stat().unwrap().size, 3);
        f.allocate(10, 40).unwrap();
        assert_eq!(f.stat().unwrap().size, 50);
        assert_eq!(read_all(&*f)[..4], *b"abc\0");
        assert_eq!(f.allocate(50, 51), Err(Errno::Nospc));
        assert_eq!(f.stat().unwrap().size, 50);
        f.allocate(99, 1).unwrap();
        assert_eq!(fs.used_bytes(), 100);
        assert_eq!(f.set_size(101), Err(Errno::Nospc));
    }

    #[test]
    fn quota_partial_writes_and_accounting() {
        let fs = MemFs::with_quota(10);
        assert_eq!(fs.quota(), Some(10));
        let root = fs.root().unwrap();
        let f = file(root.open_at("f", CREATE).unwrap());
        assert_eq!(f.write_at(b"0123456", 0), Ok(7));
        // Only 3 bytes of room: a partial write, then none at all.
        assert_eq!(f.write_at(b"abcdef", 5), Ok(5));
        assert_eq!(read_all(&*f), b"01234abcde");
        assert_eq!(fs.used_bytes(), 10);
        assert_eq!(f.write_at(b"x", 10), Err(Errno::Nospc));
        assert_eq!(f.append(b"x"), Err(Errno::Nospc));
        // Overwriting inside the file needs no room.
        assert_eq!(f.write_at(b"ZZ", 0), Ok(2));
        // A gap that would eat all the room is refused without change.
        f.set_size(4).unwrap();
        assert_eq!(fs.used_bytes(), 4);
        assert_eq!(f.write_at(b"q", 10), Err(Errno::Nospc));
        assert_eq!(f.stat().unwrap().size, 4);
        assert_eq!(fs.used_bytes(), 4);
        assert_eq!(f.write_at(b"qrs", 8), Ok(2));
        assert_eq!(read_all(&*f), b"ZZ23\0\0\0\0qr");
        // Links count their target; freeing gives room back.
        f.set_size(7).unwrap();
        assert_eq!(root.symlink_at("abcd", "l"), Err(Errno::Nospc));
        assert_eq!(root.stat_at("l"), Err(Errno::Noent));
        root.symlink_at("abc", "l").unwrap();
        assert_eq!(fs.used_bytes(), 10);
        assert_eq!(f.append(b"x"), Err(Errno::Nospc));
        root.unlink_at("l").unwrap();
        assert_eq!(f.append(b"xyzw"), Ok((3, 10)));
        root.unlink_at("f").unwrap();
        assert_eq!(fs.used_bytes(), 10, "still open");
        drop(f);
        assert_eq!(fs.used_bytes(), 0);
        // Host helpers report a full filesystem as StorageFull.
        let err = fs.write_file("big", [0u8; 11]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs.read_file("big").unwrap().len(), 10);
        // Zero quota: nothing fits.
        let none = MemFs::with_quota(0);
        let g = file(none.root().unwrap().open_at("g", CREATE).unwrap());
        assert_eq!(g.write_at(b"a", 0), Err(Errno::Nospc));
        assert_eq!(g.stat().unwrap().size, 0);
    }

    #[test]
    fn readdir_cookies_survive_changes() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for i in 0..6 {
            new_file(&*root, &format!("e{i}"), b"");
        }
        let mut seen = Vec::new();
        let mut cookie = 0;
        root.read_dir(0, &mut |e| {
            cookie = e.next;
            seen.push(e.name);
            seen.len() < 2
        })
        .unwrap();
        assert_eq!(seen, ["e0", "e1"]);
        // Mid-listing: remove a seen and an unseen entry, add new ones.
        root.unlink_at("e0").unwrap();
        root.unlink_at("e3").unwrap();
        new_file(&*root, "n1", b"");
        root.mkdir_at("n2").unwrap();
        root.read_dir(cookie, &mut |e| {
            seen.push(e.name);
            true
        })
        .unwrap();
        assert_eq!(seen, ["e0", "e1", "e2", "e4", "e5", "n1", "n2"]);

        let all = list(&*root);
        let got: Vec<(&str, u64, FileType)> = all.iter().map(|e| (e.name.as_str(), e.next, e.filetype)).collect();
        assert_eq!(
            got,
            [
                ("e1", 2, FileType::RegularFile),
                ("e2", 3, FileType::RegularFile),
                ("e4", 5, FileType::RegularFile),
                ("e5", 6, FileType::RegularFile),
                ("n1", 7, FileType::RegularFile),
                ("n2", 8, FileType::Directory),
            ]
        );
        assert_eq!(all[5].ino, root.stat_at("n2").unwrap().ino);
        // A cookie of a removed entry still resumes right after it.
        root.unlink_at("e4").unwrap();
        let mut rest = Vec::new();
        root.read_dir(5, &mut |e| {
            rest.push(e.name);
            true
        })
        .unwrap();
        assert_eq!(rest, ["e5", "n1", "n2"]);
        // Past the end: nothing.
        let mut none = 0;
        root.read_dir(u64::MAX, &mut |_| {
            none += 1;
            true
        })
        .unwrap();
        assert_eq!(none, 0);
        // A sink may call back into the filesystem.
        root.read_dir(0, &mut |e| {
            root.stat_at(&e.name).unwrap();
            new_file(&*root, &format!("cb_{}", e.name), b"");
            !e.name.starts_with("cb_")
        })
        .unwrap();
        assert_eq!(list(&*root).len(), 10);
    }

    #[test]
    fn readdir_with_renames_mid_listing() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for name in ["a", "b", "c"] {
            new_file(&*root, name, name.as_bytes());
        }
        root.mkdir_at("other").unwrap();
        new_file(&*open_dir(&*root, "other"), "o", b"");
        // Renaming every entry while listing meets each entry once (no endless renaming).
        let mut seen = Vec::new();
        root.read_dir(0, &mut |e| {
            if e.filetype == FileType::RegularFile {
                root.rename_at(&e.name, &*root, &format!("{}.bak", e.name)).unwrap();
            }
            seen.push((e.name, e.next));
            true
        })
        .unwrap();
        assert_eq!(seen, [("a".into(), 1), ("b".into(), 2), ("c".into(), 3), ("other".to_string(), 4)]);
        // The renamed entries kept their cookies; a rename over an existing name keeps the
        // source's cookie and drops the target's.
        root.rename_at("c.bak", &*root, "a.bak").unwrap();
        let got: Vec<(String, u64)> = list(&*root).into_iter().map(|e| (e.name, e.next)).collect();
        assert_eq!(got, [("b.bak".into(), 2), ("a.bak".into(), 3), ("other".to_string(), 4)]);
        assert_eq!(fs.read_file("a.bak").unwrap(), b"c");
        // An entry moved in from another directory is a new insertion, listed after the rest.
        open_dir(&*root, "other").rename_at("o", &*root, "a").unwrap();
        let got: Vec<(String, u64)> = list(&*root).into_iter().map(|e| (e.name, e.next)).collect();
        assert_eq!(got.last(), Some(&("a".to_string(), 5)));
    }

    #[test]
    fn readdir_ten_thousand_entries_three_at_a_time() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for i in 0..10_000 {
            new_file(&*root, &format!("file{i:05}"), b"");
        }
        let mut seen: Vec<String> = Vec::new();
        let mut cookie = 0;
        let mut calls = 0;
        loop {
            let mut got = 0;
            root.read_dir(cookie, &mut |e| {
                cookie = e.next;
                seen.push(e.name);
                got += 1;
                got < 3
            })
            .unwrap();
            calls += 1;
            if got == 0 {
                break;
            }
        }
        assert_eq!(calls, 3335);
        assert_eq!(seen.len(), 10_000);
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), 10_000);
        assert_eq!(seen.first().map(String::as_str), Some("file00000"));
        assert_eq!(seen.last().map(String::as_str), Some("file09999"));
    }

    #[test]
    fn timestamps_follow_posix() {
        let clock = Arc::new(TestClock(AtomicU64::new(100)));
        let fs = MemFs::with_clock(clock.clone());
        let root = fs.root().unwrap();
        let times = |s: Stat| (s.atim, s.mtim, s.ctim);
        assert_eq!(times(root.stat().unwrap()), (100, 100, 100));

        clock.set(200);
        let f = file(root.open_at("f", CREATE).unwrap());
        assert_eq!(times(f.stat().unwrap()), (200, 200, 200));
        assert_eq!(times(root.stat().unwrap()), (100, 200, 200));

        clock.set(300);
        f.write_at(b"data", 0).unwrap();
        assert_eq!(times(f.stat().unwrap()), (200, 300, 300));
        clock.set(350);
        f.write_at(b"", 0).unwrap();
        assert_eq!(times(f.stat().unwrap()), (200, 300, 300));

        clock.set(400);
        let mut buf = [0u8; 4];
        f.read_at(&mut buf, 0).unwrap();
        list(&*root);
        assert_eq!(times(f.stat().unwrap()), (200, 300, 300));
        assert_eq!(times(root.stat().unwrap()), (100, 200, 200));

        clock.set(500);
        root.link_at("f", &*root, "g").unwrap();
        assert_eq!(times(f.stat().unwrap()), (200, 300, 500));
        assert_eq!(times(root.stat().unwrap()), (100, 500, 500));

        clock.set(600);
        f.set_times(SetTime::At(7), SetTime::Omit).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 300, 600));
        clock.set(650);
        f.set_times(SetTime::Omit, SetTime::Omit).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 300, 600));

        clock.set(700);
        root.set_times_at("g", SetTime::Omit, SetTime::Now).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 700, 700));

        clock.set(800);
        root.mkdir_at("sub").unwrap();
        let sub = open_dir(&*root, "sub");
        assert_eq!(times(sub.stat().unwrap()), (800, 800, 800));
        assert_eq!(times(root.stat().unwrap()), (100, 800, 800));

        clock.set(900);
        root.rename_at("f", &*sub, "h").unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 700, 900));
        assert_eq!(times(root.stat().unwrap()), (100, 900, 900));
        assert_eq!(times(sub.stat().unwrap()), (800, 900, 900));

        clock.set(1000);
        root.unlink_at("g").unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 700, 1000));
        assert_eq!(times(root.stat().unwrap()), (100, 1000, 1000));
        assert_eq!(times(sub.stat().unwrap()), (800, 900, 900));

        clock.set(1100);
        f.set_size(1).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 1100, 1100));
        clock.set(1200);
        f.append(b"x").unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 1200, 1200));
        clock.set(1300);
        file(sub.open_at("h", OpenOptions { truncate: true, ..RW }).unwrap());
        assert_eq!(times(f.stat().unwrap()), (7, 1300, 1300));
        clock.set(1400);
        f.allocate(0, 9).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 1400, 1400));
        clock.set(1450);
        f.allocate(0, 1).unwrap();
        assert_eq!(times(f.stat().unwrap()), (7, 1400, 1400), "no growth, no change");

        clock.set(1500);
        sub.set_times(SetTime::Now, SetTime::At(3)).unwrap();
        assert_eq!(times(sub.stat().unwrap()), (1500, 3, 1500));
        clock.set(1600);
        root.symlink_at("t", "l").unwrap();
        assert_eq!(times(root.stat_at("l").unwrap()), (1600, 1600, 1600));
        root.set_times_at("l", SetTime::At(1), SetTime::At(2)).unwrap();
        assert_eq!(times(root.stat_at("l").unwrap()), (1, 2, 1600));
        clock.set(1700);
        sub.unlink_at("h").unwrap();
        root.rmdir_at("sub").unwrap();
        assert_eq!(times(root.stat().unwrap()), (100, 1700, 1700));
    }

    #[test]
    fn dev_and_inode_numbers() {
        let a = MemFs::new();
        let b = MemFs::new();
        assert_ne!(a.dev(), b.dev());
        assert_eq!(a.clone().dev(), a.dev());
        let root = a.root().unwrap();
        assert_eq!(root.stat().unwrap().dev, a.dev());
        root.mkdir_at("d").unwrap();
        new_file(&*root, "f", b"");
        root.symlink_at("f", "l").unwrap();
        assert_eq!(root.stat_at("d").unwrap().ino, 2);
        assert_eq!(root.stat_at("f").unwrap().ino, 3);
        assert_eq!(root.stat_at("l").unwrap().ino, 4);
        root.unlink_at("f").unwrap();
        new_file(&*root, "f", b"");
        assert_eq!(root.stat_at("f").unwrap().ino, 5);
        root.rename_at("f", &*open_dir(&*root, "d"), "f").unwrap();
        assert_eq!(a.metadata("d/f").unwrap().ino, 5);
        // Clones share the tree.
        assert!(a.clone().exists("d/f"));
        assert!(!b.exists("d/f"));
    }

    #[test]
    fn append_is_atomic_across_threads() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        let f = file(root.open_at("log", CREATE).unwrap());
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let f = Arc::clone(&f);
                s.spawn(move || {
                    for _ in 0..500 {
                        let (n, _) = f.append(&[b'a' + t; 7]).unwrap();
                        assert_eq!(n, 7);
                    }
                });
            }
        });
        let data = read_all(&*f);
        assert_eq!(data.len(), 4 * 500 * 7);
        for chunk in data.chunks(7) {
            assert!(chunk.iter().all(|&b| b == chunk[0]), "interleaved append");
        }
    }

    #[test]
    fn concurrent_use_from_eight_threads() {
        const ROUNDS: usize = 300;
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for d in 0..4 {
            root.mkdir_at(&format!("d{d}")).unwrap();
        }
        file(root.open_at("log", CREATE).unwrap());
        std::thread::scope(|s| {
            for t in 0..8usize {
                let fs = fs.clone();
                s.spawn(move || {
                    let root = fs.root().unwrap();
                    let dirs: Vec<Arc<dyn Dir>> = (0..4).map(|d| open_dir(&*root, &format!("d{d}"))).collect();
                    let log = file(root.open_at("log", RW).unwrap());
                    let mine = format!("t{t}");
                    root.mkdir_at(&mine).unwrap();
                    for i in 0..ROUNDS {
                        let a = &dirs[(t + i) % 4];
                        let b = &dirs[(t + i + 1) % 4];
                        let body = format!("{t}:{i}");
                        let f = new_file(&**a, &format!("f{t}_{i}"), body.as_bytes());
                        a.rename_at(&format!("f{t}_{i}"), &**b, &format!("g{t}_{i}")).unwrap();
                        if i % 3 == 0 {
                            b.link_at(&format!("g{t}_{i}"), &**a, &format!("h{t}_{i}")).unwrap();
                        }
                        if i % 2 == 0 {
                            b.unlink_at(&format!("g{t}_{i}")).unwrap();
                        }
                        assert_eq!(read_all(&*f), body.as_bytes());
                        log.append(b"0123456789").unwrap();
                        // Move this thread's directory between the root and a shared one,
                        // while others list and create there.
                        let home = &dirs[t % 4];
                        if i % 2 == 0 {
                            root.rename_at(&mine, &**home, &mine).unwrap();
                            home.rename_at(&mine, &**home, &format!("{mine}x")).unwrap();
                            home.rename_at(&format!("{mine}x"), &**home, &mine).unwrap();
                        } else {
                            home.rename_at(&mine, &*root, &mine).unwrap();
                        }
                        // The same insertion is never listed twice: cookies only grow.
                        let mut last = 0;
                        a.read_dir(0, &mut |e| {
                            assert!(e.next > last, "listed twice");
                            last = e.next;
                            true
                        })
                        .unwrap();
                    }
                });
            }
        });

        let mut expected: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 4];
        let mut bytes = 0u64;
        for t in 0..8 {
            for i in 0..ROUNDS {
                let body = format!("{t}:{i}");
                let g = i % 2 != 0;
                let h = i % 3 == 0;
                if g {
                    expected[(t + i + 1) % 4].insert(format!("g{t}_{i}"));
                    assert_eq!(fs.read_file(&format!("d{}/g{t}_{i}", (t + i + 1) % 4)).unwrap(), body.as_bytes());
                    let nlink = fs.metadata(&format!("d{}/g{t}_{i}", (t + i + 1) % 4)).unwrap().nlink;
                    assert_eq!(nlink, if h { 2 } else { 1 });
                }
                if h {
                    expected[(t + i) % 4].insert(format!("h{t}_{i}"));
                    assert_eq!(fs.read_file(&format!("d{}/h{t}_{i}", (t + i) % 4)).unwrap(), body.as_bytes());
                    let nlink = fs.metadata(&format!("d{}/h{t}_{i}", (t + i) % 4)).unwrap().nlink;
                    assert_eq!(nlink, if g { 2 } else { 1 });
                }
                if g || h {
                    bytes += len64(body.len());
                }
            }
        }
        for (d, want) in expected.iter().enumerate() {
            let got: BTreeSet<String> = fs.read_dir(&format!("d{d}")).unwrap().into_iter().collect();
            assert_eq!(&got, want, "d{d}");
            assert_eq!(fs.metadata(&format!("d{d}")).unwrap().nlink, 2);
        }
        let mut top = fs.read_dir("").unwrap();
        top.sort();
        assert_eq!(top, ["d0", "d1", "d2", "d3", "log", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
        assert_eq!(root.stat().unwrap().nlink, 2 + 4 + 8);
        assert_eq!(fs.metadata("log").unwrap().size, 8 * ROUNDS as u64 * 10);
        assert_eq!(fs.used_bytes(), bytes + 8 * ROUNDS as u64 * 10);
    }

    #[test]
    fn host_helpers() {
        let fs = MemFs::new();
        fs.write_file("/a/b/c.txt", "abc").unwrap();
        fs.write_file("a//./b/d.bin", vec![1u8, 2, 3]).unwrap();
        fs.write_file("a/b/c.txt", b"replaced").unwrap();
        assert_eq!(fs.read_file("a/b/c.txt").unwrap(), b"replaced");
        assert_eq!(fs.read_file("/a/b/d.bin").unwrap(), [1, 2, 3]);
        fs.create_dir_all("a/b/e/f").unwrap();
        fs.create_dir_all("a/b/e").unwrap();
        fs.symlink("c.txt", "a/b/link").unwrap();
        fs.symlink("../elsewhere", "x/y/dangling").unwrap();
        assert_eq!(fs.read_dir("a/b").unwrap(), ["c.txt", "d.bin", "e", "link"]);
        assert_eq!(fs.read_dir("").unwrap(), ["a", "x"]);
        assert_eq!(fs.read_dir("/").unwrap(), ["a", "x"]);
        let st = fs.metadata("a/b/link").unwrap();
        assert_eq!((st.filetype, st.size), (FileType::SymbolicLink, 5));
        assert_eq!(fs.metadata("").unwrap().filetype, FileType::Directory);
        assert_eq!(fs.metadata("a/b/e").unwrap().nlink, 3);
        assert!(fs.exists("x/y/dangling"));
        assert!(fs.exists("/"));
        assert!(!fs.exists("a/nope"));

        let kind = |r: io::Result<()>| r.unwrap_err().kind();
        let errno = |e: io::Error| e.get_ref().and_then(|e| e.downcast_ref::<Errno>()).copied();
        // Symbolic links are never followed.
        assert_eq!(errno(fs.read_file("a/b/link").unwrap_err()), Some(Errno::Loop));
        assert_eq!(errno(fs.read_file("x/y/dangling/z").unwrap_err()), Some(Errno::Loop));
        fs.symlink("b", "a/lb").unwrap();
        assert_eq!(errno(fs.read_dir("a/lb").unwrap_err()), Some(Errno::Loop));
        assert_eq!(errno(fs.write_file("a/lb/new", "x").unwrap_err()), Some(Errno::Loop));
        assert_eq!(errno(fs.write_file("a/b/link", "x").unwrap_err()), Some(Errno::Loop));
        // `..` is refused.
        assert_eq!(kind(fs.write_file("a/../etc", "x")), io::ErrorKind::InvalidInput);
        assert_eq!(fs.read_file("a/b/../b/c.txt").unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert!(!fs.exists("a/.."));
        // Other errors.
        assert_eq!(fs.read_file("a/b/nope").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(fs.read_file("a/b").unwrap_err().kind(), io::ErrorKind::IsADirectory);
        assert_eq!(fs.read_file("a/b/c.txt/x").unwrap_err().kind(), io::ErrorKind::NotADirectory);
        assert_eq!(kind(fs.write_file("a/b", "x")), io::ErrorKind::IsADirectory);
        assert_eq!(kind(fs.write_file("", "x")), io::ErrorKind::IsADirectory);
        assert_eq!(kind(fs.write_file("a/b/c.txt/x", "x")), io::ErrorKind::NotADirectory);
        assert_eq!(kind(fs.create_dir_all("a/b/c.txt")), io::ErrorKind::NotADirectory);
        assert_eq!(kind(fs.symlink("t", "a/b/link")), io::ErrorKind::AlreadyExists);
        assert_eq!(kind(fs.write_file(&"n".repeat(256), "x")), io::ErrorKind::InvalidFilename);
        assert_eq!(kind(fs.remove("a/b")), io::ErrorKind::DirectoryNotEmpty);
        assert_eq!(kind(fs.remove("a/nope")), io::ErrorKind::NotFound);
        assert_eq!(kind(fs.remove("")), io::ErrorKind::ResourceBusy);
        // Removal of a file, a link (not its target) and an empty directory.
        fs.remove("a/b/link").unwrap();
        assert!(fs.exists("a/b/c.txt"));
        fs.remove("a/b/e/f").unwrap();
        fs.remove("/a/b/c.txt").unwrap();
        assert_eq!(fs.read_dir("a/b").unwrap(), ["d.bin", "e"]);
        assert_eq!(fs.used_bytes(), 3 + 1 + 12 + 5 - 5);
    }

    #[test]
    fn from_entries_accepts_any_bytes() {
        let fs = MemFs::from_entries([("etc/motd", &b"hi"[..]), ("/etc/issue", &b"there"[..])]).unwrap();
        assert_eq!(fs.read_file("etc/motd").unwrap(), b"hi");
        assert_eq!(fs.read_dir("etc").unwrap(), ["issue", "motd"]);
        static BLOB: &[u8] = include_bytes!("lib.rs");
        let fs = MemFs::from_entries([("src/lib.rs", BLOB)]).unwrap();
        assert_eq!(fs.read_file("src/lib.rs").unwrap(), BLOB);
        let fs = MemFs::from_entries(vec![(String::from("v"), vec![1u8, 2])]).unwrap();
        assert_eq!(fs.read_file("v").unwrap(), [1, 2]);
        let fs = MemFs::from_entries([("s", "text")]).unwrap();
        assert_eq!(fs.read_file("s").unwrap(), b"text");
        let err = MemFs::from_entries([("a", "x"), ("a/b", "y")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
        assert!(MemFs::from_entries([("../up", "x")]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn from_host_dir_copies_verbatim() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path();
        std::fs::create_dir_all(host.join("sub/deeper")).unwrap();
        std::fs::write(host.join("top.txt"), b"top").unwrap();
        std::fs::write(host.join("sub/deeper/leaf"), b"leaf bytes").unwrap();
        std::fs::create_dir(host.join("emptydir")).unwrap();
        std::os::unix::fs::symlink("sub/deeper/leaf", host.join("link")).unwrap();
        std::os::unix::fs::symlink("/does/not/exist", host.join("sub/dangling")).unwrap();
        let when = UNIX_EPOCH + std::time::Duration::new(1_000_000, 5);
        std::fs::File::options().write(true).open(host.join("top.txt")).unwrap().set_modified(when).unwrap();
        let before = std::fs::metadata(host.join("top.txt")).unwrap().modified().unwrap();

        let fs = MemFs::from_host_dir(host).unwrap();
        assert_eq!(fs.read_dir("").unwrap(), ["emptydir", "link", "sub", "top.txt"]);
        assert_eq!(fs.read_file("top.txt").unwrap(), b"top");
        assert_eq!(fs.read_file("sub/deeper/leaf").unwrap(), b"leaf bytes");
        assert_eq!(fs.read_dir("emptydir").unwrap(), Vec::<String>::new());
        let root = fs.root().unwrap();
        assert_eq!(root.readlink_at("link").as_deref(), Ok("sub/deeper/leaf"));
        let sub = open_dir(&*root, "sub");
        assert_eq!(sub.readlink_at("dangling").as_deref(), Ok("/does/not/exist"));
        assert_eq!(fs.metadata("top.txt").unwrap().mtim, 1_000_000_000_000_005);
        assert_eq!(fs.metadata("sub").unwrap().nlink, 3);
        assert_eq!(fs.used_bytes(), 3 + 10 + 15 + 15);
        // The host is untouched.
        assert_eq!(std::fs::read(host.join("top.txt")).unwrap(), b"top");
        assert_eq!(std::fs::metadata(host.join("top.txt")).unwrap().modified().unwrap(), before);
        let mut host_names: Vec<String> =
            std::fs::read_dir(host).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        host_names.sort();
        assert_eq!(host_names, ["emptydir", "link", "sub", "top.txt"]);

        // Into a subdirectory of an existing filesystem, with a quota that is too small.
        let small = MemFs::builder().quota(5).build();
        let err = small.copy_from_host_dir(host, "mnt/here").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(small.exists("mnt/here"));
        // Not a directory.
        assert!(MemFs::from_host_dir(host.join("top.txt")).is_err());
        assert!(MemFs::from_host_dir(host.join("missing")).is_err());
    }

    #[test]
    fn deep_tree_drops_without_recursion() {
        let fs = MemFs::new();
        let mut d = fs.root().unwrap();
        let mut middle = None;
        for depth in 0..100_000 {
            d.mkdir_at("d").unwrap();
            d = open_dir(&*d, "d");
            if depth == 50_000 {
                middle = Some(Arc::clone(&d));
            }
        }
        let bottom = new_file(&*d, "f", b"bottom");
        drop(d);
        assert_eq!(fs.used_bytes(), 6);
        // Dropping the filesystem frees the upper half; the open middle directory keeps the
        // lower half alive, and the open file outlives everything.
        drop(fs);
        assert_eq!(read_all(&*bottom), b"bottom");
        let middle = middle.unwrap();
        assert_eq!(middle.stat().unwrap().nlink, 3);
        drop(middle);
        assert_eq!(read_all(&*bottom), b"bottom");
    }

    #[test]
    fn bad_names_are_refused() {
        let fs = MemFs::new();
        let root = fs.root().unwrap();
        for name in [".", "..", "a/b", "nul\0"] {
            assert_eq!(root.mkdir_at(name), Err(Errno::Inval), "{name:?}");
            assert_eq!(open_err(&*root, name, CREATE), Errno::Inval, "{name:?}");
        }
        assert_eq!(root.symlink_at("a\0b", "l"), Err(Errno::Inval));
        assert!(list(&*root).is_empty());
    }
}
