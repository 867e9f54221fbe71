//! Directory handles of an [`Overlay`](super::Overlay): lookups over both layers, copy-up of
//! what changes, whiteouts, merged listings.

use std::any::Any;
use std::sync::{Arc, RwLockWriteGuard};

use super::file::{FileNode, OverlayFile};
use super::{
    DirNode, Found, LIST_BATCH, MAX_COOKIE, Parent, Shared, UPPER_INO, UPPER_PHASE, UpperNode, mlock, optional,
};
use crate::fs::check_open_existing;
use crate::{Dir, DirEntry, Errno, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// An open directory of an overlay.
pub(crate) struct OverlayDir {
    shared: Arc<Shared>,
    kind: Kind,
}

enum Kind {
    /// A directory with a lower copy (merged once it also has an upper one).
    Merged(Arc<DirNode>),
    /// A directory of the upper layer only (new, or opaque: made where a lower entry was
    /// removed); everything below it is upper-only too.
    Upper(Arc<UpperNode>),
}

impl OverlayDir {
    pub(super) fn merged(shared: &Arc<Shared>, node: Arc<DirNode>) -> OverlayDir {
        OverlayDir { shared: shared.clone(), kind: Kind::Merged(node) }
    }

    fn upper_only(shared: &Arc<Shared>, node: Arc<UpperNode>) -> OverlayDir {
        OverlayDir { shared: shared.clone(), kind: Kind::Upper(node) }
    }

    /// This directory as the parent of its entries.
    fn as_parent(&self) -> Parent {
        match &self.kind {
            Kind::Merged(node) => Parent::Merged(node.clone()),
            Kind::Upper(node) => Parent::Upper(node.clone()),
        }
    }

    /// Whether this directory is `other` or inside it.
    fn is_within(&self, other: &OverlayDir) -> bool {
        // Merged directories end at the root; a walk through more upper-only directories than
        // are known would repeat one (a parent recorded before the upper layer was changed
        // behind the overlay's back).
        let mut upper_steps = mlock(&self.shared.uppers).len() + 1;
        let mut at = self.as_parent();
        loop {
            let same = match (&at, &other.kind) {
                (Parent::Merged(a), Kind::Merged(b)) => Arc::ptr_eq(a, b),
                (Parent::Upper(a), Kind::Upper(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            if same {
                return true;
            }
            at = match &at {
                Parent::Merged(node) => match node.parent() {
                    Some(parent) => Parent::Merged(parent),
                    None => return false,
                },
                Parent::Upper(node) => {
                    upper_steps = match upper_steps.checked_sub(1) {
                        Some(n) => n,
                        None => return false,
                    };
                    mlock(&node.parent).clone()
                }
            };
        }
    }

    /// The directory `name`, served as `found` says.
    fn entry_dir(&self, name: &str, found: Found) -> Result<OverlayDir> {
        if found.lower().is_some() {
            return self.child(name);
        }
        let up = self.upper().ok_or(Errno::Noent)?;
        self.upper_child(crate::resolve::open_dir(&up, name)?)
    }

    /// The upper-only directory `dir`, an entry of this one.
    fn upper_child(&self, dir: Arc<dyn Dir>) -> Result<OverlayDir> {
        let node = self.shared.upper_node(dir, self.as_parent())?;
        Ok(OverlayDir::upper_only(&self.shared, node))
    }

    fn node(&self) -> Option<&Arc<DirNode>> {
        match &self.kind {
            Kind::Merged(node) => Some(node),
            Kind::Upper(_) => None,
        }
    }

    /// [`Errno::Noent`] once a merged directory was removed (an upper-only one answers for
    /// itself).
    fn live(&self) -> Result<()> {
        self.node().map_or(Ok(()), |node| node.live())
    }

    /// The upper directory, if there is one yet.
    fn upper(&self) -> Option<Arc<dyn Dir>> {
        match &self.kind {
            Kind::Merged(node) => node.upper.get().cloned(),
            Kind::Upper(node) => Some(node.dir.clone()),
        }
    }

    /// The upper directory, created if needed. With the lock held exclusively.
    fn ensure_upper(&self) -> Result<Arc<dyn Dir>> {
        match &self.kind {
            Kind::Merged(node) => self.shared.ensure_upper(node),
            Kind::Upper(node) => Ok(node.dir.clone()),
        }
    }

    /// How `name` is served now.
    fn find(&self, name: &str) -> Result<Found> {
        let upper = match self.upper() {
            Some(up) => optional(up.stat_at(name))?,
            None => None,
        };
        let lower = match self.node() {
            Some(node) if !node.is_hidden(name) => optional(node.lower.stat_at(name))?,
            _ => None,
        };
        Ok(match (upper, lower) {
            (None, None) => Found::None,
            (Some(upper), None) => Found::Upper(upper),
            (None, Some(lower)) => Found::Lower(lower),
            (Some(upper), Some(lower)) if upper.filetype == lower.filetype => Found::Both { upper, lower },
            (Some(upper), Some(_)) => Found::Upper(upper),
        })
    }

    /// Hides the lower entry `name`, if any. With the lock held exclusively.
    fn hide(&self, name: &str) -> Result<()> {
        self.node().map_or(Ok(()), |node| self.shared.hide(node, name))
    }

    /// Copies the visible lower entry `name` up. With the lock held exclusively.
    fn copy_up(&self, name: &str, lower: &Stat) -> Result<()> {
        let node = self.node().ok_or(Errno::Io)?;
        self.shared.copy_up(node, name, lower)
    }

    /// The merged directory `name` (its lower entry is a visible directory).
    fn child(&self, name: &str) -> Result<OverlayDir> {
        let node = self.node().ok_or(Errno::Io)?;
        Ok(OverlayDir::merged(&self.shared, self.shared.child_node(node, name, None)?))
    }

    /// Wraps what the upper layer opened for a name with no visible lower copy (`lower_ino`:
    /// the inode number of the lower copy, if it has one).
    fn wrap_upper(&self, node: Node, lower_ino: Option<u64>) -> Result<Node> {
        Ok(match node {
            Node::Dir(dir) => Node::Dir(Arc::new(self.upper_child(dir)?)),
            Node::File(file) => Node::File(Arc::new(OverlayFile::new(&self.shared, FileNode::upper(file), lower_ino))),
        })
    }

    /// Whether the directory lists no entry. With the lock held.
    fn is_empty(&self) -> Result<bool> {
        let mut empty = true;
        self.list(0, &mut |_| {
            empty = false;
            false
        })?;
        Ok(empty)
    }

    /// `other` as a directory of this same overlay, or [`Errno::Xdev`].
    fn same_overlay<'a>(&self, other: &'a dyn Dir) -> Result<&'a OverlayDir> {
        match other.as_any().downcast_ref::<OverlayDir>() {
            Some(dir) if Arc::ptr_eq(&dir.shared, &self.shared) => Ok(dir),
            _ => Err(Errno::Xdev),
        }
    }

    /// The start of a rename or link of `name` to `new_dir`: `new_dir` as a directory of this
    /// overlay (else [`Errno::Xdev`]), the lock held exclusively, both directories live, and how
    /// `name` is served and its type (else [`Errno::Noent`]).
    fn between<'a>(
        &'a self,
        name: &str,
        new_dir: &'a dyn Dir,
    ) -> Result<(&'a OverlayDir, RwLockWriteGuard<'a, ()>, Found, FileType)> {
        let dest = self.same_overlay(new_dir)?;
        let held = self.shared.write();
        self.live()?;
        dest.live()?;
        let src = self.find(name)?;
        let src_type = src.filetype().ok_or(Errno::Noent)?;
        Ok((dest, held, src, src_type))
    }

    fn same_dir(&self, other: &OverlayDir) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Merged(a), Kind::Merged(b)) => Arc::ptr_eq(a, b),
            (Kind::Upper(a), Kind::Upper(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Lists the directory from `cookie`, with the lock held if it is merged.
    fn list(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        match &self.kind {
            Kind::Merged(node) => self.list_merged(node, cookie, sink),
            Kind::Upper(node) => node.dir.read_dir(cookie, &mut |mut e| {
                e.ino |= UPPER_INO;
                sink(e)
            }),
        }
    }

    /// Lists a merged directory: its visible lower entries, then its upper-only ones.
    fn list_merged(&self, node: &DirNode, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if node.live().is_err() {
            return Ok(());
        }
        let upper = node.upper.get().cloned();
        if cookie < UPPER_PHASE {
            let mut stopped = false;
            let mut failed = None;
            node.lower.read_dir(cookie, &mut |e| {
                if node.is_hidden(&e.name) {
                    return true;
                }
                if e.next >= UPPER_PHASE {
                    failed = Some(Errno::Overflow);
                    return false;
                }
                let copy = match upper.as_ref().map(|up| optional(up.stat_at(&e.name))).transpose() {
                    Ok(copy) => copy.flatten(),
                    Err(err) => {
                        failed = Some(err);
                        return false;
                    }
                };
                let (filetype, ino) = match copy {
                    Some(up) if up.filetype != e.filetype => (up.filetype, up.ino | UPPER_INO),
                    _ => (e.filetype, e.ino & !UPPER_INO),
                };
                let go = sink(DirEntry::new(e.name, filetype, ino, e.next));
                stopped = !go;
                go
            })?;
            if let Some(err) = failed {
                return Err(err);
            }
            if stopped {
                return Ok(());
            }
        }
        let Some(upper) = upper else { return Ok(()) };
        let mut failed = None;
        upper.read_dir(cookie.saturating_sub(UPPER_PHASE), &mut |e| {
            let shadowed = if node.is_hidden(&e.name) {
                Ok(false)
            } else {
                optional(node.lower.stat_at(&e.name)).map(|l| l.is_some())
            };
            match shadowed {
                Ok(true) => return true, // listed with the lower entries
                Ok(false) => {}
                Err(err) => {
                    failed = Some(err);
                    return false;
                }
            }
            let next = UPPER_PHASE + e.next.min(MAX_COOKIE - UPPER_PHASE);
            sink(DirEntry::new(e.name, e.filetype, e.ino | UPPER_INO, next))
        })?;
        failed.map_or(Ok(()), Err)
    }
}

impl Dir for OverlayDir {
    fn stat(&self) -> Result<Stat> {
        match &self.kind {
            Kind::Merged(node) => {
                let st = match node.upper.get() {
                    Some(up) => Stat { nlink: super::MERGED_DIR_NLINK, ..up.stat()? },
                    None => node.lower.stat()?,
                };
                Ok(self.shared.restat(st, node.lower_ino & !UPPER_INO))
            }
            Kind::Upper(node) => {
                let st = node.dir.stat()?;
                Ok(self.shared.restat(st, st.ino | UPPER_INO))
            }
        }
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        let _held = self.shared.read();
        self.live()?;
        self.find(name)?.stat(&self.shared)
    }

    /// Opens `name`; a lower file opened with `write` or `truncate` is copied up first.
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        let changes = options.create || options.write || options.truncate;
        // The overlay lock, exclusive for a change, shared for a lookup.
        let (_exclusive, _shared);
        if changes {
            _exclusive = self.shared.write();
        } else {
            _shared = self.shared.read();
        }
        self.live()?;
        if let Some(node) = self.node().filter(|n| !changes && n.upper.get().is_none() && !n.is_hidden(name)) {
            // A lookup in a directory not copied up: the lower layer answers, in one step.
            return match node.lower.open_at(name, options)? {
                Node::Dir(dir) => Ok(Node::Dir(Arc::new(OverlayDir::merged(
                    &self.shared,
                    self.shared.child_node(node, name, Some(dir))?,
                )))),
                Node::File(opened) => {
                    let file = node.lower_file(name, || Ok(FileNode::lower(node.clone(), name, opened)))?;
                    Ok(Node::File(Arc::new(OverlayFile::new(&self.shared, file, None))))
                }
            };
        }
        let found = self.find(name)?;
        let (node, lower) = match (self.node(), found.lower()) {
            (Some(node), Some(lower)) => (node, lower),
            _ => {
                // No visible lower copy: the upper layer decides (creating `name` if asked).
                if matches!(found, Found::None) && !options.create {
                    return Err(Errno::Noent);
                }
                let up = if options.create { self.ensure_upper()? } else { self.upper().ok_or(Errno::Noent)? };
                return self.wrap_upper(up.open_at(name, options)?, None);
            }
        };
        let filetype = found.filetype().unwrap_or_default();
        check_open_existing(filetype, options)?;
        let plain = OpenOptions { create: false, exclusive: false, ..options };
        let ino = Some(lower.ino & !UPPER_INO);
        match (filetype, found) {
            (FileType::Directory, _) => Ok(Node::Dir(Arc::new(self.child(name)?))),
            (_, Found::Both { .. }) => {
                let up = self.upper().ok_or(Errno::Io)?;
                self.wrap_upper(up.open_at(name, plain)?, ino)
            }
            (FileType::RegularFile, _) if options.write || options.truncate => {
                // Copy up (the data only if it is kept), then open the copy.
                let copied = if options.truncate { Stat { size: 0, ..lower } } else { lower };
                self.copy_up(name, &copied)?;
                let up = self.upper().ok_or(Errno::Io)?;
                self.wrap_upper(up.open_at(name, plain)?, ino)
            }
            _ => {
                let file = node.lower_file(name, || match node.lower.open_at(name, plain)? {
                    Node::File(file) => Ok(FileNode::lower(node.clone(), name, file)),
                    Node::Dir(_) => Err(Errno::Isdir),
                })?;
                Ok(Node::File(Arc::new(OverlayFile::new(&self.shared, file, ino))))
            }
        }
    }

    /// A merged directory is listed a batch at a time with the lock held (so an entry copied up
    /// and removed meanwhile is never seen in both layers), and `sink` runs without it.
    fn read_dir(&self, mut cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if let Kind::Upper(_) = self.kind {
            return self.list(cookie, sink);
        }
        loop {
            let mut batch = Vec::with_capacity(LIST_BATCH);
            let listed = {
                let _held = self.shared.read();
                self.list(cookie, &mut |e| {
                    batch.push(e);
                    batch.len() < LIST_BATCH
                })
            };
            let full = batch.len() == LIST_BATCH;
            for e in batch {
                cookie = e.next;
                if !sink(e) {
                    return Ok(());
                }
            }
            if listed.is_err() || !full {
                return listed;
            }
        }
    }

    fn mkdir_at(&self, name: &str) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        if !matches!(self.find(name)?, Found::None) {
            return Err(Errno::Exist);
        }
        self.ensure_upper()?.mkdir_at(name)
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        let found = self.find(name)?;
        match found {
            Found::None => Err(Errno::Noent),
            Found::Upper(st) => {
                self.upper().ok_or(Errno::Io)?.rmdir_at(name)?;
                self.shared.forget_upper(&st);
                Ok(())
            }
            Found::Lower(st) | Found::Both { upper: st, .. } => {
                if st.filetype != FileType::Directory {
                    return Err(Errno::Notdir);
                }
                if !self.child(name)?.is_empty()? {
                    return Err(Errno::Notempty);
                }
                if let Found::Both { .. } = found {
                    self.upper().ok_or(Errno::Io)?.rmdir_at(name)?;
                }
                self.hide(name)
            }
        }
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        let found = self.find(name)?;
        match found {
            Found::None => Err(Errno::Noent),
            Found::Upper(_) => self.upper().ok_or(Errno::Io)?.unlink_at(name),
            Found::Lower(st) | Found::Both { upper: st, .. } => {
                if st.filetype == FileType::Directory {
                    return Err(Errno::Isdir);
                }
                if let Found::Both { .. } = found {
                    self.upper().ok_or(Errno::Io)?.unlink_at(name)?;
                }
                self.hide(name)
            }
        }
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        if !matches!(self.find(name)?, Found::None) {
            return Err(Errno::Exist);
        }
        self.ensure_upper()?.symlink_at(target, name)
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        let _held = self.shared.read();
        self.live()?;
        match self.find(name)? {
            Found::None => Err(Errno::Noent),
            Found::Upper(_) | Found::Both { .. } => self.upper().ok_or(Errno::Io)?.readlink_at(name),
            Found::Lower(_) => self.node().ok_or(Errno::Io)?.lower.readlink_at(name),
        }
    }

    /// Renames through the upper layer; a lower file or link is copied up first and its old name
    /// hidden, a directory with a lower copy answers [`Errno::Xdev`].
    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        let (dest, _held, src, src_type) = self.between(name, new_dir)?;
        let is_dir = src_type == FileType::Directory;
        let dst = dest.find(new_name)?;
        let dst_is_dir = dst.filetype() == Some(FileType::Directory);
        // Linux's order: a directory into itself, then onto its own ancestor, then the types.
        if is_dir && dest.is_within(&self.entry_dir(name, src)?) {
            return Err(Errno::Inval);
        }
        if dst_is_dir && self.is_within(&dest.entry_dir(new_name, dst)?) {
            return Err(Errno::Notempty);
        }
        if dst.filetype().is_some() {
            match (is_dir, dst_is_dir) {
                (true, false) => return Err(Errno::Notdir),
                (false, true) => return Err(Errno::Isdir),
                _ => {}
            }
            if self.same_dir(dest) && name == new_name {
                return Ok(());
            }
        }
        if is_dir && src.lower().is_some() {
            return Err(Errno::Xdev);
        }
        // A directory with a lower copy must look empty; the upper layer checks the rest.
        if dst_is_dir && dst.lower().is_some() && !dest.child(new_name)?.is_empty()? {
            return Err(Errno::Notempty);
        }
        if let Found::Lower(lower) = src {
            self.copy_up(name, &lower)?;
        }
        let up_src = self.ensure_upper()?;
        let up_dst = dest.ensure_upper()?;
        up_src.rename_at(name, &*up_dst, new_name)?;
        if let (Found::Upper(st), true) = (dst, dst_is_dir) {
            self.shared.forget_upper(&st);
        }
        if let (Found::Upper(st), true) = (src, is_dir) {
            self.shared.moved_upper(&st, dest.as_parent());
        }
        if src.lower().is_some() {
            self.hide(name)?;
        }
        dest.hide(new_name)
    }

    /// Links through the upper layer, copying a lower source up first.
    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        let (dest, _held, src, src_type) = self.between(name, new_dir)?;
        if !matches!(dest.find(new_name)?, Found::None) {
            return Err(Errno::Exist);
        }
        if src_type == FileType::Directory {
            return Err(Errno::Perm);
        }
        if let Found::Lower(lower) = src {
            self.copy_up(name, &lower)?;
        }
        let up_src = self.ensure_upper()?;
        up_src.link_at(name, &*dest.ensure_upper()?, new_name)?;
        dest.hide(new_name)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        match self.find(name)? {
            Found::None => return Err(Errno::Noent),
            Found::Lower(lower) => self.copy_up(name, &lower)?,
            Found::Upper(_) | Found::Both { .. } => {}
        }
        self.upper().ok_or(Errno::Io)?.set_times_at(name, atime, mtime)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        let _held = self.shared.write();
        self.live()?;
        self.ensure_upper()?.set_times(atime, mtime)
    }

    fn sync(&self) -> Result<()> {
        self.upper().map_or(Ok(()), |up| up.sync())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
