//! The directory handles a [`super::HostDir`] keeps between calls: [`DirCache`].
//!
//! A guest built with wasi-libc names every file by its path from the preopen, so the same
//! parent directories are looked up again and again (`stat("src/lib/a.c")`,
//! `stat("src/lib/b.c")`…). The cache keeps the descriptors of the last [`CAPACITY`]
//! directories opened by a multi-component path from the root, keyed by that path, so that the
//! next call under one of them is one system call on the kept descriptor.
//!
//! A kept descriptor is only a shortcut for a path the guest could walk again: on each use it is
//! checked against the host (`fstatat` of its path from the root, without following a last
//! link: the same device and inode, or the entry is dropped and the path opened afresh), so a
//! directory the host renamed, removed or replaced is never reached at its old path. An instance
//! built [`exclusive`](super::HostDirBuilder::exclusive) skips that check: it relies on its own
//! changes alone, and every rename or removal of a directory made through it empties the cache.
//! Either way the cache holds at most [`CAPACITY`] host descriptors per instance.

use std::sync::{Arc, Mutex};

use super::dir::DirFd;
use super::sys::lock;

/// The most directory descriptors one instance keeps.
pub(super) const CAPACITY: usize = 16;

/// A kept directory: its path from the root, its descriptor, and its identity then.
struct Entry {
    path: Box<str>,
    fd: Arc<DirFd>,
    dev: u64,
    ino: u64,
}

/// The kept directories, most recently used first, and a generation that every invalidation
/// advances (so that a lookup racing with a rename cannot put back what the rename made stale).
#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    generation: u64,
}

/// Directory descriptors kept by path from the root (see the [module docs](self)).
#[derive(Default)]
pub(super) struct DirCache {
    state: Mutex<State>,
}

/// A kept directory handed out by [`DirCache::get`].
pub(super) struct Hit {
    pub(super) fd: Arc<DirFd>,
    pub(super) dev: u64,
    pub(super) ino: u64,
}

impl DirCache {
    /// The kept directory at `path`, if any (now the most recently used), and the generation to
    /// give [`DirCache::insert`] if the caller opens it afresh.
    pub(super) fn get(&self, path: &str) -> (Option<Hit>, u64) {
        let mut state = lock(&self.state);
        let generation = state.generation;
        let Some(at) = state.entries.iter().position(|e| &*e.path == path) else {
            return (None, generation);
        };
        let entry = state.entries.remove(at);
        let hit = Hit { fd: Arc::clone(&entry.fd), dev: entry.dev, ino: entry.ino };
        state.entries.insert(0, entry);
        (Some(hit), generation)
    }

    /// Keeps `fd` as the directory at `path`, unless the cache was invalidated since
    /// `generation` was read; drops the least recently used entry past [`CAPACITY`].
    pub(super) fn insert(&self, path: &str, fd: Arc<DirFd>, (dev, ino): (u64, u64), generation: u64) {
        let mut state = lock(&self.state);
        if state.generation != generation {
            return;
        }
        state.entries.retain(|e| &*e.path != path);
        state.entries.insert(0, Entry { path: path.into(), fd, dev, ino });
        state.entries.truncate(CAPACITY);
    }

    /// Forgets the entry at `path` if it is still `fd` (found stale on use).
    pub(super) fn remove(&self, path: &str, fd: &Arc<DirFd>) {
        lock(&self.state).entries.retain(|e| !(&*e.path == path && Arc::ptr_eq(&e.fd, fd)));
    }

    /// Forgets every entry (a directory was renamed or removed).
    pub(super) fn clear(&self) {
        let mut state = lock(&self.state);
        state.entries.clear();
        state.generation = state.generation.wrapping_add(1);
    }

    /// How many descriptors are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        lock(&self.state).entries.len()
    }
}
