//! File handles of an [`Overlay`](super::Overlay): reads from the layer that holds the file,
//! a copy-up before the first change of a lower file.

use std::any::Any;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::{DirNode, Shared, UPPER_INO, copy_file};
use crate::{Advice, Errno, File, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// What every handle on one file shares: the lower copy it was opened on, if any, and the
/// upper copy once there is one (set once: a copy-up).
pub(crate) struct FileNode {
    lower: Option<Arc<dyn File>>,
    upper: OnceLock<Arc<dyn File>>,
    /// For a lower file: the directory and name its copy-up goes to.
    origin: Option<(Arc<DirNode>, String)>,
    /// Set when the name of a lower file was removed while it was open: a copy-up then makes an
    /// unnamed copy.
    detached: AtomicBool,
}

impl FileNode {
    pub(super) fn upper(file: Arc<dyn File>) -> Arc<FileNode> {
        Arc::new(FileNode { lower: None, upper: OnceLock::from(file), origin: None, detached: AtomicBool::new(false) })
    }

    pub(super) fn lower(dir: Arc<DirNode>, name: &str, file: Arc<dyn File>) -> Arc<FileNode> {
        Arc::new(FileNode {
            lower: Some(file),
            upper: OnceLock::new(),
            origin: Some((dir, name.to_string())),
            detached: AtomicBool::new(false),
        })
    }

    /// Serves the file from its upper copy `file` from now on.
    pub(super) fn set_upper(&self, file: Arc<dyn File>) {
        let _ = self.upper.set(file);
    }

    pub(super) fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }

    /// The file serving reads: the upper copy if there is one, else the lower one.
    fn current(&self) -> Result<&Arc<dyn File>> {
        self.upper.get().or(self.lower.as_ref()).ok_or(Errno::Io)
    }
}

/// An open file of an overlay.
pub(crate) struct OverlayFile {
    shared: Arc<Shared>,
    node: Arc<FileNode>,
    /// The inode number reported, where it was known at open: the lower copy's (so that it
    /// survives a copy-up). Else that of the lower file the handle was opened on, if any, else
    /// the upper one's with bit 63 set.
    lower_ino: Option<u64>,
}

impl OverlayFile {
    pub(super) fn new(shared: &Arc<Shared>, node: Arc<FileNode>, lower_ino: Option<u64>) -> OverlayFile {
        OverlayFile { shared: shared.clone(), node, lower_ino }
    }

    /// The upper copy, made first if the file is still served from the lower layer.
    ///
    /// Errors: those of the copy-up.
    fn writable(&self) -> Result<&Arc<dyn File>> {
        if let Some(file) = self.node.upper.get() {
            return Ok(file);
        }
        let Some((dir, name)) = &self.node.origin else { return Err(Errno::Rofs) };
        let _held = self.shared.write();
        if let Some(file) = self.node.upper.get() {
            return Ok(file);
        }
        if self.node.detached.load(Ordering::Acquire) {
            return self.copy_up_orphan(dir);
        }
        dir.live()?;
        let lower = dir.lower.stat_at(name)?;
        self.shared.copy_up(dir, name, &lower)?;
        if self.node.upper.get().is_none() {
            // Not reached through the table of lower files: open the copy for this handle.
            let up = dir.upper.get().ok_or(Errno::Io)?;
            match up.open_at(name, OpenOptions::new().read(true).write(true))? {
                Node::File(file) => self.node.set_upper(file),
                Node::Dir(_) => return Err(Errno::Isdir),
            }
        }
        self.node.upper.get().ok_or(Errno::Io)
    }

    /// Copies a lower file whose name was removed while this handle was open to an unnamed upper
    /// file (created under a temporary name in the upper copy of `dir`, then unlinked), as
    /// overlayfs copies an unlinked file to a `O_TMPFILE`: the handle then reads and writes the
    /// copy, as a handle on a removed `MemFs` file would. With the lock held exclusively.
    fn copy_up_orphan(&self, dir: &Arc<DirNode>) -> Result<&Arc<dyn File>> {
        let lower = self.node.lower.as_ref().ok_or(Errno::Io)?;
        let st = lower.stat()?;
        let up = self.shared.ensure_upper(dir)?;
        for _ in 0..16 {
            let name = format!(".hammertime-orphan-{}", self.shared.orphans.fetch_add(1, Ordering::Relaxed));
            let dst = match copy_file(&*up, &name, &**lower, &st) {
                Ok(file) => file,
                Err(Errno::Exist) => continue,
                Err(e) => return Err(e),
            };
            up.unlink_at(&name)?;
            self.node.set_upper(dst);
            return self.node.upper.get().ok_or(Errno::Io);
        }
        Err(Errno::Exist)
    }
}

impl File for OverlayFile {
    fn stat(&self) -> Result<Stat> {
        let mut st = self.node.current()?.stat()?;
        if self.node.upper.get().is_none() && self.node.detached.load(Ordering::Acquire) {
            // Its name is gone: no link is left (the lower copy still has its own).
            st.nlink = 0;
        }
        let ino = match (self.lower_ino, &self.node.lower) {
            (Some(ino), _) => ino,
            (None, Some(_)) if self.node.upper.get().is_none() => st.ino & !UPPER_INO,
            (None, Some(lower)) => lower.stat()?.ino & !UPPER_INO,
            (None, None) => st.ino | UPPER_INO,
        };
        Ok(self.shared.restat(st, ino))
    }

    fn filetype(&self) -> Result<FileType> {
        self.node.current()?.filetype()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.node.current()?.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.writable()?.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.writable()?.append(buf)
    }

    fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        self.writable()?.write_vectored_at(bufs, offset)
    }

    fn append_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        self.writable()?.append_vectored(bufs)
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.writable()?.set_size(size)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.writable()?.set_times(atime, mtime)
    }

    fn sync(&self) -> Result<()> {
        self.node.current()?.sync()
    }

    fn datasync(&self) -> Result<()> {
        self.node.current()?.datasync()
    }

    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.writable()?.allocate(offset, len)
    }

    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        self.node.current()?.advise(offset, len, advice)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
