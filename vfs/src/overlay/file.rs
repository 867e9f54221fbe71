//! File handles of an [`Overlay`](super::Overlay): reads from the layer that holds the file,
//! a copy-up before the first change of a lower file.

use std::any::Any;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::{DirNode, Shared, UPPER_INO};
use crate::{Advice, Errno, File, FileType, Result, SetTime, Stat};

/// The layer a file is served from.
#[derive(Clone)]
pub(crate) enum Layer {
    /// The lower copy, read-only (not copied up yet).
    Lower(Arc<dyn File>),
    /// The upper copy.
    Upper(Arc<dyn File>),
}

/// What every handle on one file shares: the layer serving it, which a copy-up changes.
pub(crate) struct FileNode {
    layer: RwLock<Layer>,
    /// For a lower file: the directory and name its copy-up goes to.
    origin: Option<(Arc<DirNode>, String)>,
    /// Set when the name of a lower file was removed while it was open: it can no longer be
    /// copied up.
    detached: AtomicBool,
}

impl FileNode {
    pub(super) fn upper(file: Arc<dyn File>) -> Arc<FileNode> {
        Arc::new(FileNode { layer: RwLock::new(Layer::Upper(file)), origin: None, detached: AtomicBool::new(false) })
    }

    pub(super) fn lower(dir: Arc<DirNode>, name: &str, file: Arc<dyn File>) -> Arc<FileNode> {
        Arc::new(FileNode {
            layer: RwLock::new(Layer::Lower(file)),
            origin: Some((dir, name.to_string())),
            detached: AtomicBool::new(false),
        })
    }

    fn layer(&self) -> Layer {
        self.layer.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(super) fn set_layer(&self, layer: Layer) {
        *self.layer.write().unwrap_or_else(PoisonError::into_inner) = layer;
    }

    pub(super) fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }

    /// The file serving reads.
    fn current(&self) -> Arc<dyn File> {
        match self.layer() {
            Layer::Lower(file) | Layer::Upper(file) => file,
        }
    }
}

/// An open file of an overlay.
pub(crate) struct OverlayFile {
    shared: Arc<Shared>,
    node: Arc<FileNode>,
    /// The inode number reported: the lower copy's where there is one (fixed at open, so that it
    /// survives a copy-up), else the upper one's with bit 63 set.
    lower_ino: Option<u64>,
}

impl OverlayFile {
    pub(super) fn new(shared: &Arc<Shared>, node: Arc<FileNode>, lower_ino: Option<u64>) -> OverlayFile {
        OverlayFile { shared: shared.clone(), node, lower_ino }
    }

    /// The upper copy, made first if the file is still served from the lower layer.
    ///
    /// Errors: those of the copy-up; [`Errno::Rofs`] for a lower file whose name was removed
    /// while it was open (there is no name left to copy it to).
    fn writable(&self) -> Result<Arc<dyn File>> {
        if let Layer::Upper(file) = self.node.layer() {
            return Ok(file);
        }
        let Some((dir, name)) = &self.node.origin else { return Err(Errno::Rofs) };
        let _held = self.shared.write();
        if let Layer::Upper(file) = self.node.layer() {
            return Ok(file);
        }
        if self.node.detached.load(Ordering::Acquire) {
            return Err(Errno::Rofs);
        }
        dir.live()?;
        let lower = dir.lower.stat_at(name)?;
        self.shared.copy_up(dir, name, &lower)?;
        if let Layer::Upper(file) = self.node.layer() {
            return Ok(file);
        }
        // Not reached through the table of lower files: open the copy for this handle.
        let up = dir.upper.get().ok_or(Errno::Io)?;
        match up.open_at(name, crate::OpenOptions::new().read(true).write(true))? {
            crate::Node::File(file) => {
                self.node.set_layer(Layer::Upper(file.clone()));
                Ok(file)
            }
            crate::Node::Dir(_) => Err(Errno::Isdir),
        }
    }
}

impl File for OverlayFile {
    fn stat(&self) -> Result<Stat> {
        let st = self.node.current().stat()?;
        Ok(self.shared.restat(st, self.lower_ino.unwrap_or(st.ino | UPPER_INO)))
    }

    fn filetype(&self) -> Result<FileType> {
        self.node.current().filetype()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.node.current().read_at(buf, offset)
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
        self.node.current().sync()
    }

    fn datasync(&self) -> Result<()> {
        self.node.current().datasync()
    }

    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.writable()?.allocate(offset, len)
    }

    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        self.node.current().advise(offset, len, advice)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
