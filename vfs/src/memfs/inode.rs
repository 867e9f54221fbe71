//! Inodes and the state they share: the quota and inode counters, metadata, directory tables.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak};

use super::data::FileData;
use super::{check_name, len64, mlock, rlock, wlock};
use crate::{Errno, FileType, Result, SetTime, Stat, SystemClock, WallClock};

/// State shared by every inode of one instance.
pub(super) struct Shared {
    pub(super) dev: u64,
    /// The clock given to the builder, if any.
    pub(super) clock: Option<Arc<dyn WallClock>>,
    /// Otherwise the clock of the first context the filesystem was mounted in.
    pub(super) mounted_clock: OnceLock<Arc<dyn WallClock>>,
    pub(super) next_ino: AtomicU64,
    pub(super) quota: Option<u64>,
    /// What the quota counts (see the module docs): file data, link targets, entry names.
    pub(super) used: AtomicU64,
    pub(super) max_inodes: Option<u64>,
    /// Live inodes, plus one per hard link beyond an inode's first name.
    pub(super) inodes: AtomicU64,
    pub(super) max_file_size: u64,
    /// The tree lock (see the module docs).
    pub(super) tree: RwLock<()>,
    /// Set by [`super::MemFs::snapshot`]: every change answers [`Errno::Rofs`] from then on.
    pub(super) frozen: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The current time from the embedder's clock. Never called with a lock of this instance
    /// held: the clock may call back into the filesystem.
    pub(super) fn now(&self) -> u64 {
        match (&self.clock, self.mounted_clock.get()) {
            (Some(clock), _) | (None, Some(clock)) => clock.now(),
            (None, None) => SystemClock.now(),
        }
    }

    /// [`Errno::Rofs`] once the filesystem is frozen.
    pub(super) fn writable(&self) -> Result<()> {
        if self.frozen.load(Ordering::Acquire) { Err(Errno::Rofs) } else { Ok(()) }
    }

    pub(super) fn alloc_ino(&self) -> Result<u64> {
        self.next_ino.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1)).map_err(|_| Errno::Nospc)
    }

    /// Takes up to `want` bytes of quota; returns how many were granted.
    pub(super) fn reserve_up_to(&self, want: u64) -> u64 {
        let limit = self.quota.unwrap_or(u64::MAX);
        let mut granted = 0;
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            granted = want.min(limit.saturating_sub(used));
            Some(used.saturating_add(granted))
        });
        granted
    }

    /// Takes exactly `want` bytes of quota, or fails with [`Errno::Nospc`].
    pub(super) fn reserve_exact(&self, want: u64) -> Result<()> {
        take(&self.used, want, self.quota)
    }

    pub(super) fn release(&self, bytes: u64) {
        give_back(&self.used, bytes);
    }

    /// Takes `count` inode units, or fails with [`Errno::Nospc`].
    pub(super) fn take_inodes(&self, count: u64) -> Result<()> {
        take(&self.inodes, count, self.max_inodes)
    }

    pub(super) fn release_inodes(&self, count: u64) {
        give_back(&self.inodes, count);
    }
}

/// Adds `want` to `counter` unless that passes `limit`.
fn take(counter: &AtomicU64, want: u64, limit: Option<u64>) -> Result<()> {
    if want == 0 {
        return Ok(());
    }
    let limit = limit.unwrap_or(u64::MAX);
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(want).filter(|&total| total <= limit)
        })
        .map(|_| ())
        .map_err(|_| Errno::Nospc)
}

fn give_back(counter: &AtomicU64, count: u64) {
    if count != 0 {
        let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| Some(used.saturating_sub(count)));
    }
}

/// Quota bytes and inode units taken for a change that may still fail: given back when dropped,
/// unless [`Charge::commit`]ted.
pub(super) struct Charge<'a> {
    fs: &'a Shared,
    bytes: u64,
    inodes: u64,
}

impl<'a> Charge<'a> {
    /// Takes `bytes` of quota and `inodes` inode units, or nothing and [`Errno::Nospc`].
    pub(super) fn take(fs: &'a Shared, bytes: u64, inodes: u64) -> Result<Charge<'a>> {
        fs.reserve_exact(bytes)?;
        if let Err(err) = fs.take_inodes(inodes) {
            fs.release(bytes);
            return Err(err);
        }
        Ok(Charge { fs, bytes, inodes })
    }

    /// The change happened: what was taken now belongs to it.
    pub(super) fn commit(mut self) {
        self.bytes = 0;
        self.inodes = 0;
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.fs.release(self.bytes);
        self.fs.release_inodes(self.inodes);
    }
}

/// Link count and times of an inode (for a directory, `nlink` is computed instead).
pub(super) struct Meta {
    pub(super) nlink: u64,
    atim: u64,
    mtim: u64,
    pub(super) ctim: u64,
}

/// What every inode has.
pub(super) struct Common {
    pub(super) ino: u64,
    pub(super) fs: Arc<Shared>,
    pub(super) meta: Mutex<Meta>,
}

impl Common {
    /// `now` is read by the caller before it took any lock.
    pub(super) fn new(fs: &Arc<Shared>, ino: u64, nlink: u64, now: u64) -> Common {
        Common { ino, fs: Arc::clone(fs), meta: Mutex::new(Meta { nlink, atim: now, mtim: now, ctim: now }) }
    }

    /// Content changed at `now`: `mtim` and `ctim`.
    pub(super) fn touch_modified(&self, now: u64) {
        let mut meta = mlock(&self.meta);
        meta.mtim = now;
        meta.ctim = now;
    }

    /// Status changed at `now`: `ctim`.
    pub(super) fn touch_changed(&self, now: u64) {
        mlock(&self.meta).ctim = now;
    }

    /// One name fewer (at `now`). A name beyond the first held an inode unit: it is given back.
    pub(super) fn drop_link(&self, now: u64) {
        let mut meta = mlock(&self.meta);
        if meta.nlink > 1 {
            self.fs.release_inodes(1);
        }
        meta.nlink = meta.nlink.saturating_sub(1);
        meta.ctim = now;
    }

    /// `set_times` of POSIX. Reads the clock: the caller holds no lock of this instance.
    pub(super) fn set_times(&self, atime: SetTime, mtime: SetTime) {
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

    pub(super) fn stat(&self, filetype: FileType, size: u64, dir_nlink: Option<u64>) -> Stat {
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

    /// The inode units a file or link holds: one for itself, one per name beyond the first.
    fn units(&mut self) -> u64 {
        self.meta.get_mut().unwrap_or_else(PoisonError::into_inner).nlink.max(1)
    }
}

/// A regular file.
pub(super) struct FileInode {
    pub(super) c: Common,
    pub(super) data: RwLock<FileData>,
}

/// A directory.
pub(super) struct DirInode {
    pub(super) c: Common,
    pub(super) state: RwLock<DirState>,
    /// The directory holding this one (dangling for the root); read only to refuse moving a
    /// directory into its own subtree, changed only with the tree lock exclusive.
    pub(super) parent: Mutex<Weak<DirInode>>,
}

/// A symbolic link.
pub(super) struct LinkInode {
    pub(super) c: Common,
    pub(super) target: String,
}

/// A reference to an inode of any type.
#[derive(Clone)]
pub(super) enum Inode {
    File(Arc<FileInode>),
    Dir(Arc<DirInode>),
    Link(Arc<LinkInode>),
}

impl Inode {
    pub(super) fn common(&self) -> &Common {
        match self {
            Inode::File(f) => &f.c,
            Inode::Dir(d) => &d.c,
            Inode::Link(l) => &l.c,
        }
    }

    pub(super) fn is_dir(&self) -> bool {
        matches!(self, Inode::Dir(_))
    }

    pub(super) fn filetype(&self) -> FileType {
        match self {
            Inode::File(_) => FileType::RegularFile,
            Inode::Dir(_) => FileType::Directory,
            Inode::Link(_) => FileType::SymbolicLink,
        }
    }

    pub(super) fn same(&self, other: &Inode) -> bool {
        match (self, other) {
            (Inode::File(a), Inode::File(b)) => Arc::ptr_eq(a, b),
            (Inode::Dir(a), Inode::Dir(b)) => Arc::ptr_eq(a, b),
            (Inode::Link(a), Inode::Link(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub(super) fn stat(&self) -> Stat {
        match self {
            Inode::File(f) => f.stat(),
            Inode::Dir(d) => d.stat(),
            Inode::Link(l) => l.c.stat(FileType::SymbolicLink, len64(l.target.len()), None),
        }
    }
}

impl FileInode {
    pub(super) fn stat(&self) -> Stat {
        let size = rlock(&self.data).size();
        self.c.stat(FileType::RegularFile, size, None)
    }
}

impl Drop for FileInode {
    fn drop(&mut self) {
        let units = self.c.units();
        let accounted = self.data.get_mut().unwrap_or_else(PoisonError::into_inner).accounted();
        self.c.fs.release(accounted);
        self.c.fs.release_inodes(units);
    }
}

impl Drop for LinkInode {
    fn drop(&mut self) {
        let units = self.c.units();
        self.c.fs.release(len64(self.target.len()));
        self.c.fs.release_inodes(units);
    }
}

impl Drop for DirInode {
    fn drop(&mut self) {
        self.c.fs.release_inodes(1);
    }
}

impl DirInode {
    pub(super) fn new(fs: &Arc<Shared>, ino: u64, parent: Weak<DirInode>, now: u64) -> DirInode {
        DirInode {
            c: Common::new(fs, ino, 2, now),
            state: RwLock::new(DirState::default()),
            parent: Mutex::new(parent),
        }
    }

    pub(super) fn stat(&self) -> Stat {
        let nlink = {
            let st = rlock(&self.state);
            if st.removed { 0 } else { st.subdirs.saturating_add(2) }
        };
        self.c.stat(FileType::Directory, 0, Some(nlink))
    }
}

/// Whether `ancestor` is `node` or one of its ancestors (walks the parent mutexes only).
pub(super) fn is_ancestor_or_self(ancestor: &Arc<DirInode>, node: &Arc<DirInode>) -> bool {
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

/// One directory entry. The name is shared with the directory's name index; its bytes are
/// charged to the quota while the entry exists (by whoever inserts it; [`DirState`]'s drop
/// gives back those of the entries it still holds).
pub(super) struct Entry {
    pub(super) name: Arc<str>,
    pub(super) node: Inode,
}

/// The entry table of a directory.
#[derive(Default)]
pub(super) struct DirState {
    /// Entries by insertion number (the listing cookies).
    pub(super) entries: BTreeMap<u64, Entry>,
    /// Insertion number by name.
    names: HashMap<Arc<str>, u64>,
    next_seq: u64,
    /// How many entries are directories.
    pub(super) subdirs: u64,
    /// The directory was removed: no lookups, no new entries.
    pub(super) removed: bool,
}

impl DirState {
    pub(super) fn get(&self, name: &str) -> Option<&Inode> {
        let seq = self.names.get(name)?;
        self.entries.get(seq).map(|entry| &entry.node)
    }

    /// Takes the next insertion number (separate from [`DirState::insert_at`] so that every
    /// fallible step of an operation comes before its first change).
    pub(super) fn alloc_seq(&mut self) -> Result<u64> {
        let seq = self.next_seq;
        self.next_seq = seq.checked_add(1).ok_or(Errno::Nospc)?;
        Ok(seq)
    }

    /// Inserts an entry whose name bytes the caller has charged.
    pub(super) fn insert_at(&mut self, seq: u64, name: &str, node: Inode) {
        if node.is_dir() {
            self.subdirs = self.subdirs.saturating_add(1);
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&name), seq);
        self.entries.insert(seq, Entry { name, node });
    }

    /// Removes an entry; the caller gives its name bytes back.
    pub(super) fn remove(&mut self, name: &str) -> Option<Inode> {
        let seq = self.names.remove(name)?;
        let entry = self.entries.remove(&seq)?;
        if entry.node.is_dir() {
            self.subdirs = self.subdirs.saturating_sub(1);
        }
        Some(entry.node)
    }

    /// Renames the entry `name` (`new_name` is free) in place: it keeps its insertion number,
    /// so a listing in progress never meets it twice. The caller settles the name bytes.
    pub(super) fn rename(&mut self, name: &str, new_name: &str) {
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
    /// Frees a whole subtree iteratively (a deep tree must not overflow the stack), giving back
    /// the name bytes of every entry.
    fn drop(&mut self) {
        self.names.clear();
        let mut stack: Vec<Entry> = std::mem::take(&mut self.entries).into_values().collect();
        while let Some(entry) = stack.pop() {
            entry.node.common().fs.release(len64(entry.name.len()));
            if let Inode::Dir(dir) = entry.node
                && let Some(mut dir) = Arc::into_inner(dir)
            {
                let state = dir.state.get_mut().unwrap_or_else(PoisonError::into_inner);
                state.names.clear();
                stack.extend(std::mem::take(&mut state.entries).into_values());
            }
        }
    }
}

/// Looks `name` up in `dir` (tree lock shared, entries lock shared, both released).
pub(super) fn lookup_in(dir: &DirInode, name: &str) -> Result<Inode> {
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
pub(super) fn check_replace(src: &Inode, tgt: &Inode) -> Result<()> {
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

/// Bookkeeping after `tgt` lost its name to a rename at `now`.
pub(super) fn replaced(tgt: Option<Inode>, now: u64) {
    match tgt {
        Some(Inode::Dir(d)) => d.c.touch_changed(now),
        Some(other) => other.common().drop_link(now),
        None => {}
    }
}
