//! Open directories: [`MemDir`], the entry operations.
//!
//! Every operation that changes something reads the clock first, then takes its locks (see
//! the locking rules in the module docs of [`super`]).

use std::any::Any;
use std::sync::{Arc, RwLock};

use super::data::FileData;
use super::file::MemFile;
use super::inode::{
    Charge, Common, DirInode, FileInode, Inode, LinkInode, Shared, check_replace, is_ancestor_or_self, lookup_in,
    replaced,
};
use super::{FIRST_BATCH, MAX_BATCH, SYMLINK_MAX, check_name, len64, mlock, rlock, wlock};
use crate::fs::check_open_existing;
use crate::{Dir, DirEntry, Errno, Node, OpenOptions, Result, SetTime, Stat};

/// An open [`super::MemFs`] directory.
pub(super) struct MemDir {
    pub(super) dir: Arc<DirInode>,
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

    /// Creates the regular file `name` (the entries lock is held by the caller, `now` read
    /// before it).
    fn create_file(&self, st: &mut super::inode::DirState, name: &str, now: u64) -> Result<Arc<FileInode>> {
        let fs = self.fs();
        let seq = st.alloc_seq()?;
        let charge = Charge::take(fs, len64(name.len()), 1)?;
        let ino = fs.alloc_ino()?;
        let file = Arc::new(FileInode { c: Common::new(fs, ino, 1, now), data: RwLock::new(FileData::default()) });
        charge.commit();
        st.insert_at(seq, name, Inode::File(Arc::clone(&file)));
        self.dir.c.touch_modified(now);
        Ok(file)
    }

    fn rename_within(&self, name: &str, new_name: &str, now: u64) -> Result<()> {
        let fs = self.fs();
        let _tree = rlock(&fs.tree);
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
        // The name bytes: `name` goes; `new_name` is new unless it replaces a target's.
        let added = if tgt.is_some() { 0 } else { len64(new_name.len()) };
        let removed = len64(name.len());
        let charge = Charge::take(fs, added.saturating_sub(removed), 0)?;
        if let Some(tgt) = &tgt {
            check_replace(&src, tgt)?;
            st.remove(new_name);
        }
        charge.commit();
        st.rename(name, new_name);
        fs.release(removed.saturating_sub(added));
        self.dir.c.touch_modified(now);
        drop(st);
        src.common().touch_changed(now);
        replaced(tgt, now);
        Ok(())
    }

    fn rename_across(&self, name: &str, dst: &MemDir, new_name: &str, now: u64) -> Result<()> {
        let fs = self.fs();
        // Exclusive: no other thread holds any entries lock, and no parent pointer can change.
        let _tree = wlock(&fs.tree);
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
        // The name bytes: `name` goes; `new_name` is new unless it replaces a target's.
        let added = if tgt.is_some() { 0 } else { len64(new_name.len()) };
        let removed = len64(name.len());
        let charge = Charge::take(fs, added.saturating_sub(removed), 0)?;
        if let Some(tgt) = &tgt {
            check_replace(&src, tgt)?;
            b.remove(new_name);
        }
        charge.commit();
        a.remove(name);
        b.insert_at(seq, new_name, src.clone());
        fs.release(removed.saturating_sub(added));
        if let Inode::Dir(moved) = &src {
            *mlock(&moved.parent) = Arc::downgrade(&dst.dir);
        }
        self.dir.c.touch_modified(now);
        dst.dir.c.touch_modified(now);
        drop(b);
        drop(a);
        src.common().touch_changed(now);
        replaced(tgt, now);
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
        if options.create && options.directory {
            // O_CREAT | O_DIRECTORY creates no directory (Linux 6.4 and later: EINVAL, whether
            // the name exists or not).
            return Err(Errno::Inval);
        }
        if options.create || options.write || options.truncate {
            self.fs().writable()?;
        }
        check_name(name)?;
        let now = if options.create || options.truncate { self.fs().now() } else { 0 };
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
                    let file = self.create_file(&mut st, name, now)?;
                    return Ok(Node::File(Arc::new(MemFile { file })));
                }
            }
        } else {
            lookup_in(&self.dir, name)?
        };
        // No lock is held from here on.
        check_open_existing(node.filetype(), OpenOptions { exclusive: false, ..options })?;
        match node {
            Inode::Link(_) => Err(Errno::Loop),
            Inode::Dir(dir) => Ok(Node::Dir(Arc::new(MemDir { dir }))),
            Inode::File(file) => {
                if options.truncate {
                    let mut data = wlock(&file.data);
                    data.set_size(&file.c.fs, 0)?;
                    drop(data);
                    file.c.touch_modified(now);
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
        self.fs().writable()?;
        check_name(name)?;
        let fs = self.fs();
        let now = fs.now();
        let _tree = rlock(&fs.tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        if st.get(name).is_some() {
            return Err(Errno::Exist);
        }
        let seq = st.alloc_seq()?;
        let charge = Charge::take(fs, len64(name.len()), 1)?;
        let ino = fs.alloc_ino()?;
        let child = Arc::new(DirInode::new(fs, ino, Arc::downgrade(&self.dir), now));
        charge.commit();
        st.insert_at(seq, name, Inode::Dir(child));
        self.dir.c.touch_modified(now);
        Ok(())
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        self.fs().writable()?;
        check_name(name)?;
        let fs = self.fs();
        let now = fs.now();
        let _tree = rlock(&fs.tree);
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
        fs.release(len64(name.len()));
        self.dir.c.touch_modified(now);
        drop(st);
        child.c.touch_changed(now);
        Ok(())
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        self.fs().writable()?;
        check_name(name)?;
        let fs = self.fs();
        let now = fs.now();
        let _tree = rlock(&fs.tree);
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
        fs.release(len64(name.len()));
        node.common().drop_link(now);
        self.dir.c.touch_modified(now);
        Ok(())
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        self.fs().writable()?;
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
        let now = fs.now();
        let _tree = rlock(&fs.tree);
        let mut st = wlock(&self.dir.state);
        if st.removed {
            return Err(Errno::Noent);
        }
        if st.get(name).is_some() {
            return Err(Errno::Exist);
        }
        let seq = st.alloc_seq()?;
        let charge = Charge::take(fs, len64(target.len()).saturating_add(len64(name.len())), 1)?;
        let ino = fs.alloc_ino()?;
        let link = Arc::new(LinkInode { c: Common::new(fs, ino, 1, now), target: target.to_owned() });
        charge.commit();
        st.insert_at(seq, name, Inode::Link(link));
        self.dir.c.touch_modified(now);
        Ok(())
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        match lookup_in(&self.dir, name)? {
            Inode::Link(link) => Ok(link.target.clone()),
            _ => Err(Errno::Inval),
        }
    }

    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        self.fs().writable()?;
        check_name(name)?;
        check_name(new_name)?;
        let dst = self.same_instance(new_dir)?;
        let now = self.fs().now();
        if Arc::ptr_eq(&self.dir, &dst.dir) {
            self.rename_within(name, new_name, now)
        } else {
            self.rename_across(name, dst, new_name, now)
        }
    }

    /// A hard link costs its name's bytes and, as on tmpfs, one inode unit (each name pins
    /// memory), given back when the name goes.
    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        self.fs().writable()?;
        check_name(name)?;
        check_name(new_name)?;
        let dst = self.same_instance(new_dir)?;
        let fs = self.fs();
        let now = fs.now();
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
        let charge = Charge::take(fs, len64(new_name.len()), 1)?;
        {
            let mut meta = mlock(&src.common().meta);
            if meta.nlink == 0 {
                return Err(Errno::Noent);
            }
            meta.nlink = meta.nlink.checked_add(1).ok_or(Errno::Mlink)?;
            meta.ctim = now;
        }
        charge.commit();
        st.insert_at(seq, new_name, src);
        dst.dir.c.touch_modified(now);
        Ok(())
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        // Looked up first (as `utimensat(2)` does before it asks for write access), and no
        // lock is held when `set_times` reads the clock.
        let node = lookup_in(&self.dir, name)?;
        self.fs().writable()?;
        node.common().set_times(atime, mtime);
        Ok(())
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.fs().writable()?;
        self.dir.c.set_times(atime, mtime);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
