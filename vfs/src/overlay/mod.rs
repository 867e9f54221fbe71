//! A copy-on-write union of two filesystems: [`Overlay`].
//!
//! An overlay serves an *upper* filesystem (writable, typically a [`MemFs`](crate::MemFs)) over
//! a *lower* one (typically a read-only tree: a host directory, an [`Archive`](crate::archive::Archive), a
//! prepared `MemFs`). Reads fall through to the lower layer; every change goes to the upper
//! one. The lower layer is never written: the overlay reaches it only through a
//! [`RestrictedDir::read_only`] view, so no mutating method of the lower filesystem is called
//! whatever the guest does.
//!
//! # Example
//! ```
//! use hammertime_vfs::{FileSystem, MemFs, Node, OpenOptions, Overlay, ReadOnly};
//!
//! let lower = MemFs::from_entries([("etc/motd", "hello"), ("lib/std.py", "print")])?;
//! let overlay = Overlay::new(MemFs::new(), ReadOnly::new(lower.clone()))?;
//!
//! let root = overlay.root()?;
//! let Node::Dir(etc) = root.open_at("etc", OpenOptions::new().directory(true))? else {
//!     unreachable!()
//! };
//! let Node::File(motd) = etc.open_at("motd", OpenOptions::new().write(true))? else {
//!     unreachable!()
//! };
//! motd.write_at(b"HELLO, guest", 0)?; // the first write copies the file up
//! root.unlink_at("lib").unwrap_err(); // a directory: EISDIR, as unlink(2) says
//! etc.unlink_at("motd")?; // hides the lower entry (a whiteout)
//!
//! assert_eq!(lower.read_file("etc/motd")?, b"hello"); // the lower layer is unchanged
//! assert!(root.stat_at("lib")?.filetype == hammertime_vfs::FileType::Directory);
//! assert!(etc.stat_at("motd").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics (those of Linux overlayfs without `redirect_dir` and `index`)
//! - **Lookups**: a name present in the upper directory is served from there; otherwise from
//!   the lower directory unless it is *hidden* (removed through the overlay: a whiteout). A
//!   directory present in both layers is *merged*: its entries are the union, upper first. A
//!   directory created where a lower entry was removed is *opaque*: nothing of the lower layer
//!   shows through it. An upper entry of another type than the lower one of the same name (made
//!   by changing the upper filesystem directly) hides the lower one.
//! - **Copy-up**: the first change to a lower entry copies it to the upper layer, creating its
//!   parent directories there (with the lower times): a file on an open for writing or
//!   truncating, [`File::write_at`](crate::File::write_at) and the other writes, [`File::set_size`](crate::File::set_size), [`File::set_times`](crate::File::set_times),
//!   [`Dir::set_times_at`], [`Dir::link_at`] and [`Dir::rename_at`]; a symbolic link on
//!   `set_times_at`, `link_at` and `rename_at`; a directory when an entry is created in it or
//!   its times are set. Copying a file copies its bytes (64 KiB at a time) and its access and
//!   modification times; the work is bounded by the lower file's size, and an upper layer that
//!   runs out of room answers [`Errno::Nospc`] with nothing left behind. A copy-up breaks a lower
//!   hard link (each name is copied on its own), as overlayfs without `index` does. Entries of
//!   other types (devices, sockets of a host directory) cannot be copied: [`Errno::Notsup`].
//! - **Handles see the copy**: a file opened for reading before another handle copied it up
//!   reads the upper copy from then on. A lower file removed while open stays readable through
//!   its handles; a change through one copies it to an unnamed upper file (made under a
//!   temporary name `.hammertime-orphan-N`, unlinked at once, as overlayfs uses an `O_TMPFILE`),
//!   so it stays writable as a removed `MemFs` file does.
//! - **Removal** of a lower entry hides its name (its directory becomes merged, created in the
//!   upper layer if needed, as overlayfs's whiteouts need). `rmdir` of a merged or lower directory needs it
//!   empty as the guest sees it (hidden lower entries do not count).
//! - **Rename** of a lower file or link copies it up and hides the old name; of a lower or merged
//!   directory it answers [`Errno::Xdev`], as overlayfs does, so that `mv` copies the tree.
//!   Renames of upper-only directories are exact.
//! - **Link counts**: a merged directory reports 1, as overlayfs does (`find` then does not rely
//!   on it); every other entry the count of the layer that serves it.
//! - **Inode numbers**: `dev` is the overlay's own; an entry with a lower copy reports the lower
//!   inode number — before and after copy-up, so `stat` is stable for a given path — and an
//!   upper-only entry reports the upper one with bit 63 set, so the two layers never collide
//!   (lower inode numbers are assumed below 2⁶³). An open file keeps the number it had when it
//!   was opened.
//! - **Listings**: a merged directory lists its lower entries first (those not hidden, with the
//!   type of their upper copy where there is one), then the upper entries that have no visible
//!   lower one, with cookies of its own: a lower cookie `c` stays `c`, an upper cookie `c` is
//!   `2⁶³ + c`. Each name is listed in one phase, chosen by whether its lower entry is visible,
//!   which only removal changes: no entry is listed twice, none unchanged is skipped, a removed
//!   one is not listed again. (Lower layers whose cookies reach 2⁶³, such as another overlay,
//!   answer [`Errno::Overflow`]; upper cookies from 2⁶³ − 3 on, ext4's end-of-directory marker
//!   among them, are kept at 2⁶³ − 3, so that preview1's cookie offset of 2 cannot overflow.)
//! - **State**: which names are hidden is kept by the overlay in memory, per merged directory
//!   (bounded by the number of lower entries). Changing the upper filesystem directly while the
//!   overlay is in use is seen; changing the lower one is not supported.
//!
//! # Locking
//! One lock per overlay: operations that change names or copy take it exclusively (so a
//! copy-up, its rename and its whiteout are one step to every observer), lookups take it
//! shared; reads and writes of open files and listings do not take it. It is never held while
//! a [`Dir::read_dir`] sink runs. It is held while the layers work, so the upper layer's clock
//! (read by a `MemFs` when it stamps a change) must not call back into the same overlay.

mod dir;
mod file;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use self::dir::OverlayDir;
use self::file::FileNode;
use crate::perms::RestrictedDir;
use crate::resolve::open_dir;
use crate::{Dir, Errno, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// Bit 63 of an inode number: set on upper-only entries.
const UPPER_INO: u64 = 1 << 63;

/// Cookies of a merged directory's upper phase start here.
const UPPER_PHASE: u64 = 1 << 63;

/// The largest cookie a merged listing hands out (preview1 adds 2 to every cookie).
const MAX_COOKIE: u64 = u64::MAX - 2;

/// The link count of a merged directory, as overlayfs reports it (the real count would need a
/// listing of both layers).
const MERGED_DIR_NLINK: u64 = 1;

/// Bytes copied per step of a file copy-up.
const COPY_CHUNK: usize = 64 * 1024;

/// How many entries of a merged directory one hold of the lock lists.
const LIST_BATCH: usize = 128;

/// Source of the `dev` numbers of overlays (the high bits spell "OVL").
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x4f56_4c00_0000_0001);

fn mlock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A copy-on-write union of an upper and a lower filesystem (see the [module docs](self)).
///
/// A cheap handle: clones serve the same union. The layers stay reachable with
/// [`Overlay::upper`] and [`Overlay::lower`], e.g. to keep what a run changed.
///
/// ```
/// use hammertime_vfs::{FileSystem, MemFs, Overlay};
///
/// let lower = MemFs::from_entries([("data/input.txt", "1 2 3")])?;
/// let overlay = Overlay::new(MemFs::new(), lower.clone())?;
/// overlay.root()?.mkdir_at("out")?;
/// assert_eq!(overlay.upper().read_dir("")?, ["out"]); // the change is in the upper layer
/// assert_eq!(lower.read_dir("")?, ["data"]); // and not in the lower one
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Overlay<U, L> {
    upper: U,
    lower: L,
    shared: Arc<Shared>,
}

impl<U: FileSystem, L: FileSystem> Overlay<U, L> {
    /// The union of `upper` (which receives every change) over `lower` (never written).
    ///
    /// Errors: whatever either layer answers when its root is opened.
    pub fn new(upper: U, lower: L) -> Result<Overlay<U, L>> {
        let upper_root = upper.root()?;
        let lower_root = RestrictedDir::read_only_view(lower.root()?);
        let root = DirNode::new(None, "", lower_root, OnceLock::from(upper_root))?;
        let shared = Arc::new(Shared {
            dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
            lock: RwLock::new(()),
            root,
            uppers: Mutex::new(HashMap::new()),
            orphans: AtomicU64::new(0),
        });
        Ok(Overlay { upper, lower, shared })
    }

    /// The upper layer: what the overlay changed.
    pub fn upper(&self) -> &U {
        &self.upper
    }

    /// The lower layer, as given.
    pub fn lower(&self) -> &L {
        &self.lower
    }
}

impl<U: FileSystem, L: FileSystem> FileSystem for Overlay<U, L> {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Arc::new(OverlayDir::merged(&self.shared, self.shared.root.clone())))
    }

    /// Forwarded to the upper layer, which stamps the times of changes.
    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        self.upper.mounted_with_clock(clock);
    }
}

impl<U, L> std::fmt::Debug for Overlay<U, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay").field("dev", &self.shared.dev).finish_non_exhaustive()
    }
}

/// What every handle of one overlay shares.
pub(crate) struct Shared {
    dev: u64,
    /// Exclusive for changes of names and copy-ups, shared for lookups.
    lock: RwLock<()>,
    root: Arc<DirNode>,
    /// Upper-only directories by upper `(dev, ino)`, with their parents: what a rename needs to
    /// tell whether one directory is inside another.
    uppers: Mutex<HashMap<(u64, u64), Arc<UpperNode>>>,
    /// Numbers the temporary names of unnamed copies (see `OverlayFile::copy_up_orphan`).
    orphans: AtomicU64,
}

/// The files of one directory opened while only their lower copy existed, by name, so that a
/// copy-up reaches every handle on them.
#[derive(Default)]
struct Files {
    by_name: HashMap<String, Weak<FileNode>>,
    /// Dead entries are dropped when the table reaches this size.
    prune_at: usize,
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// `st` as the overlay reports it: its device, and the inode number `ino`.
    fn restat(&self, mut st: Stat, ino: u64) -> Stat {
        st.dev = self.dev;
        st.ino = ino;
        st
    }

    /// The merged directory `name` of `parent`, whose lower entry is a visible directory (`lower`,
    /// if the caller opened it already).
    fn child_node(&self, parent: &Arc<DirNode>, name: &str, lower: Option<Arc<dyn Dir>>) -> Result<Arc<DirNode>> {
        if let Some(node) = mlock(&parent.children).get(name) {
            return Ok(node.clone());
        }
        let lower = match lower {
            Some(dir) => dir,
            None => open_dir(&parent.lower, name)?,
        };
        let upper = OnceLock::new();
        if let Some(up) = parent.upper.get() {
            match open_dir(up, name) {
                Ok(dir) => {
                    let _ = upper.set(dir);
                }
                Err(Errno::Noent | Errno::Notdir) => {}
                Err(e) => return Err(e),
            }
        }
        let node = DirNode::new(Some(parent), name, lower, upper)?;
        Ok(mlock(&parent.children).entry(name.to_string()).or_insert(node).clone())
    }

    /// The upper directory of `node`, created (with its missing ancestors, each with the times
    /// of its lower copy) if it has none yet. Called with the lock held exclusively.
    fn ensure_upper(&self, node: &Arc<DirNode>) -> Result<Arc<dyn Dir>> {
        if let Some(up) = node.upper.get() {
            return Ok(up.clone());
        }
        // The chain of ancestors without an upper directory, nearest first; the root has one.
        let mut chain = vec![node.clone()];
        while let Some(parent) = chain.last().and_then(|n| n.parent()) {
            if parent.upper.get().is_some() {
                break;
            }
            chain.push(parent);
        }
        for n in chain.iter().rev() {
            let parent = n.parent().ok_or(Errno::Noent)?;
            let parent_up = parent.upper.get().ok_or(Errno::Io)?;
            match parent_up.mkdir_at(&n.name) {
                Ok(()) | Err(Errno::Exist) => {}
                Err(e) => return Err(e),
            }
            let up = open_dir(parent_up, &n.name)?;
            let st = n.lower.stat()?;
            up.set_times(SetTime::At(st.atim), SetTime::At(st.mtim))?;
            let _ = n.upper.set(up);
        }
        node.upper.get().cloned().ok_or(Errno::Io)
    }

    /// Copies the lower entry `name` of `node` (whose attributes are `lower`) to the upper
    /// layer. Called with the lock held exclusively.
    fn copy_up(&self, node: &Arc<DirNode>, name: &str, lower: &Stat) -> Result<()> {
        match lower.filetype {
            FileType::Directory => self.ensure_upper(&self.child_node(node, name, None)?).map(drop),
            FileType::SymbolicLink => {
                let up = self.ensure_upper(node)?;
                let target = node.lower.readlink_at(name)?;
                up.symlink_at(&target, name)?;
                let times = up.set_times_at(name, SetTime::At(lower.atim), SetTime::At(lower.mtim));
                undo_on_error(times, &*up, name)
            }
            FileType::RegularFile => {
                let up = self.ensure_upper(node)?;
                let Node::File(src) = node.lower.open_at(name, OpenOptions::new().read(true))? else {
                    return Err(Errno::Isdir);
                };
                let dst = copy_file(&*up, name, &*src, lower)?;
                // Handles opened on the lower copy now read and write the upper one.
                if let Some(file) = mlock(&node.files).by_name.remove(name).and_then(|w| w.upgrade()) {
                    file.set_upper(dst);
                }
                Ok(())
            }
            _ => Err(Errno::Notsup),
        }
    }

    /// Hides the lower entry `name` of `node`, if there is one (its merged directory and the
    /// handles opened on its lower copy are detached). Called with the lock held exclusively.
    fn hide(&self, node: &Arc<DirNode>, name: &str) -> Result<()> {
        match node.lower.stat_at(name) {
            Ok(_) => {}
            Err(Errno::Noent) => return Ok(()),
            Err(e) => return Err(e),
        }
        // As overlayfs stores its whiteouts there: the directory is merged from now on.
        self.ensure_upper(node)?;
        mlock(&node.hidden).insert(name.to_string());
        node.any_hidden.store(true, Ordering::Release);
        if let Some(child) = mlock(&node.children).remove(name) {
            child.removed.store(true, Ordering::Release);
        }
        if let Some(file) = mlock(&node.files).by_name.remove(name).and_then(|w| w.upgrade()) {
            file.detach();
        }
        Ok(())
    }
}

/// Removes the half-made upper copy `name` when `result` is an error.
fn undo_on_error(result: Result<()>, up: &dyn Dir, name: &str) -> Result<()> {
    if result.is_err() {
        let _ = up.unlink_at(name);
    }
    result
}

/// Creates the file `name` in `up` (which must not have it) with the first `st.size` bytes of
/// `src` and its access and modification times; removes it again if that fails.
fn copy_file(up: &dyn Dir, name: &str, src: &dyn crate::File, st: &Stat) -> Result<Arc<dyn crate::File>> {
    let create = OpenOptions::new().read(true).write(true).create(true).exclusive(true);
    let Node::File(dst) = up.open_at(name, create)? else {
        return Err(Errno::Isdir);
    };
    let copied =
        copy_data(src, &*dst, st.size).and_then(|()| dst.set_times(SetTime::At(st.atim), SetTime::At(st.mtim)));
    undo_on_error(copied, up, name)?;
    Ok(dst)
}

/// Copies the first `size` bytes of `src` to `dst` (no more: a lower file does not change).
fn copy_data(src: &dyn crate::File, dst: &dyn crate::File, size: u64) -> Result<()> {
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let want = usize::try_from(size - offset).unwrap_or(usize::MAX).min(COPY_CHUNK);
        // A layer claiming more than it was asked (or given) counts as having filled the room.
        let n = src.read_at(&mut buf[..want], offset)?.min(want);
        if n == 0 {
            break;
        }
        let mut done = 0;
        while done < n {
            let wrote = dst.write_at(&buf[done..n], offset + done as u64)?;
            if wrote == 0 {
                return Err(Errno::Nospc);
            }
            done += wrote.min(n - done);
        }
        offset += n as u64;
    }
    Ok(())
}

/// A directory whose lower copy exists (a merged directory, or a lower one not copied up yet).
pub(crate) struct DirNode {
    /// Weak: a parent holds its children (in `children`), not the other way round.
    parent: Option<Weak<DirNode>>,
    name: String,
    /// The lower directory, read-only.
    lower: Arc<dyn Dir>,
    lower_ino: u64,
    /// The upper directory, once there is one.
    upper: OnceLock<Arc<dyn Dir>>,
    /// Names whose lower entry was removed through the overlay (only names the lower directory
    /// has).
    hidden: Mutex<HashSet<String>>,
    /// Whether `hidden` has any name (so that lookups skip its lock while it has none).
    any_hidden: AtomicBool,
    /// The directories of `lower` met so far (merged directories never move: renaming one is
    /// EXDEV), kept while they exist: they hold the hidden names.
    children: Mutex<HashMap<String, Arc<DirNode>>>,
    /// Files opened on their lower copy.
    files: Mutex<Files>,
    /// Set when the directory was removed (hidden in its parent).
    removed: AtomicBool,
}

impl DirNode {
    /// The node of the lower directory `lower`, entry `name` of `parent` (none for the root),
    /// with its upper copy if there is one.
    fn new(
        parent: Option<&Arc<DirNode>>,
        name: &str,
        lower: Arc<dyn Dir>,
        upper: OnceLock<Arc<dyn Dir>>,
    ) -> Result<Arc<DirNode>> {
        Ok(Arc::new(DirNode {
            parent: parent.map(Arc::downgrade),
            name: name.to_string(),
            lower_ino: lower.stat()?.ino,
            lower,
            upper,
            hidden: Mutex::new(HashSet::new()),
            any_hidden: AtomicBool::new(false),
            children: Mutex::new(HashMap::new()),
            files: Mutex::new(Files::default()),
            removed: AtomicBool::new(false),
        }))
    }

    /// The directory this one is in (`None` for the root, or once both were removed).
    fn parent(&self) -> Option<Arc<DirNode>> {
        self.parent.as_ref().and_then(Weak::upgrade)
    }

    fn is_hidden(&self, name: &str) -> bool {
        self.any_hidden.load(Ordering::Acquire) && mlock(&self.hidden).contains(name)
    }

    /// The node shared by every handle opened on the lower copy of the file `name`.
    fn lower_file(&self, name: &str, open: impl FnOnce() -> Result<Arc<FileNode>>) -> Result<Arc<FileNode>> {
        let mut files = mlock(&self.files);
        if let Some(file) = files.by_name.get(name).and_then(Weak::upgrade) {
            return Ok(file);
        }
        if files.by_name.len() >= files.prune_at {
            files.by_name.retain(|_, w| w.strong_count() > 0);
            files.prune_at = (files.by_name.len() * 2).max(16);
        }
        let file = open()?;
        files.by_name.insert(name.to_string(), Arc::downgrade(&file));
        Ok(file)
    }

    fn live(&self) -> Result<()> {
        if self.removed.load(Ordering::Acquire) { Err(Errno::Noent) } else { Ok(()) }
    }
}

/// A directory of the upper layer only (see [`Shared::uppers`]).
pub(crate) struct UpperNode {
    dir: Arc<dyn Dir>,
    parent: Mutex<Parent>,
}

/// The directory an overlay directory is in.
#[derive(Clone)]
enum Parent {
    Merged(Arc<DirNode>),
    Upper(Arc<UpperNode>),
}

impl Shared {
    /// The node of the upper-only directory `dir`, just found in `parent`.
    fn upper_node(&self, dir: Arc<dyn Dir>, parent: Parent) -> Result<Arc<UpperNode>> {
        let st = dir.stat()?;
        let id = (st.dev, st.ino);
        let mut uppers = mlock(&self.uppers);
        if let Some(node) = uppers.get(&id) {
            // Where it was just found is where it is now.
            *mlock(&node.parent) = parent;
            return Ok(node.clone());
        }
        let node = Arc::new(UpperNode { dir, parent: Mutex::new(parent) });
        uppers.insert(id, node.clone());
        Ok(node)
    }

    /// Forgets the upper-only directory whose upper attributes are `st` (it was removed or
    /// replaced).
    fn forget_upper(&self, st: &Stat) {
        mlock(&self.uppers).remove(&(st.dev, st.ino));
    }

    /// Records that the upper-only directory whose upper attributes are `st` moved to `parent`.
    fn moved_upper(&self, st: &Stat, parent: Parent) {
        if let Some(node) = mlock(&self.uppers).get(&(st.dev, st.ino)) {
            *mlock(&node.parent) = parent;
        }
    }
}

/// How one name of a directory is served.
#[derive(Clone, Copy, Debug)]
enum Found {
    /// Not at all.
    None,
    /// From the upper layer only.
    Upper(Stat),
    /// From the lower layer only.
    Lower(Stat),
    /// From the upper layer, which holds a copy of the lower entry (a copied-up file or link,
    /// a merged directory).
    Both { upper: Stat, lower: Stat },
}

impl Found {
    /// The entry's attributes as the overlay reports them, or [`Errno::Noent`].
    fn stat(self, shared: &Shared) -> Result<Stat> {
        match self {
            Found::None => Err(Errno::Noent),
            Found::Upper(st) => Ok(shared.restat(st, st.ino | UPPER_INO)),
            Found::Lower(st) => Ok(shared.restat(st, st.ino & !UPPER_INO)),
            Found::Both { upper, lower } => {
                let mut st = shared.restat(upper, lower.ino & !UPPER_INO);
                if st.filetype == FileType::Directory {
                    st.nlink = MERGED_DIR_NLINK;
                }
                Ok(st)
            }
        }
    }

    fn filetype(self) -> Option<FileType> {
        match self {
            Found::None => None,
            Found::Upper(st) | Found::Lower(st) | Found::Both { upper: st, .. } => Some(st.filetype),
        }
    }

    /// The lower entry, where it is visible.
    fn lower(self) -> Option<Stat> {
        match self {
            Found::Lower(st) | Found::Both { lower: st, .. } => Some(st),
            Found::None | Found::Upper(_) => None,
        }
    }
}

/// `Ok(None)` for [`Errno::Noent`].
fn optional(result: Result<Stat>) -> Result<Option<Stat>> {
    match result {
        Ok(st) => Ok(Some(st)),
        Err(Errno::Noent) => Ok(None),
        Err(e) => Err(e),
    }
}
