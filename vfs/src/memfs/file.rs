//! Open regular files: [`MemFile`].

use std::any::Any;
use std::io::IoSlice;
use std::sync::Arc;

use super::inode::FileInode;
use super::{rlock, wlock};
use crate::{Advice, Errno, File, Result, SetTime, Stat};

/// An open [`super::MemFs`] regular file.
pub(super) struct MemFile {
    pub(super) file: Arc<FileInode>,
}

impl MemFile {
    /// Writes the buffers at `offset`, or at the end with `offset` `None`, under the data lock;
    /// returns the bytes written and the size after. The clock is read before the lock.
    fn write(&self, bufs: &[IoSlice<'_>], offset: Option<u64>) -> Result<(usize, u64)> {
        let file = &self.file;
        file.c.fs.writable()?;
        if bufs.iter().all(|buf| buf.is_empty()) {
            // Nothing to write: no time changes (and no clock call).
            return Ok((0, rlock(&file.data).size()));
        }
        let now = file.c.fs.now();
        let mut data = wlock(&file.data);
        let offset = offset.unwrap_or(data.size());
        let written = data.write(&file.c.fs, bufs, offset)?;
        let size = data.size();
        file.c.touch_modified(now);
        Ok((written, size))
    }
}

impl File for MemFile {
    fn stat(&self) -> Result<Stat> {
        Ok(self.file.stat())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        Ok(rlock(&self.file.data).read(buf, offset))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write(&[IoSlice::new(buf)], Some(offset)).map(|(written, _)| written)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.write(&[IoSlice::new(buf)], None)
    }

    /// One write of all the buffers under the file's data lock, copied straight from them.
    fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        self.write(bufs, Some(offset)).map(|(written, _)| written)
    }

    /// One append of all the buffers under the file's data lock, copied straight from them:
    /// concurrent appends never interleave inside one call.
    fn append_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        self.write(bufs, None)
    }

    /// Truncates (freeing the chunks past the end) or extends with a hole (no quota taken).
    fn set_size(&self, size: u64) -> Result<()> {
        self.file.c.fs.writable()?;
        let now = self.file.c.fs.now();
        let mut data = wlock(&self.file.data);
        data.set_size(&self.file.c.fs, size)?;
        self.file.c.touch_modified(now);
        Ok(())
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.file.c.fs.writable()?;
        self.file.c.set_times(atime, mtime);
        Ok(())
    }

    /// Reserves quota for `offset..offset + len` (POSIX `posix_fallocate`; a hole or tail
    /// there then costs its quota up front, though no memory is used until it is written) and
    /// grows the file to `offset + len` if it is shorter. `len` 0 answers [`Errno::Inval`], an
    /// end past the maximum size [`Errno::Fbig`], a reservation over quota [`Errno::Nospc`]
    /// (nothing reserved).
    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.file.c.fs.writable()?;
        if len == 0 {
            return Err(Errno::Inval);
        }
        let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
        if end > self.file.c.fs.max_file_size {
            return Err(Errno::Fbig);
        }
        let now = self.file.c.fs.now();
        let mut data = wlock(&self.file.data);
        if data.allocate(&self.file.c.fs, offset, end)? {
            self.file.c.touch_modified(now);
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
