//! [`HostFile`]: an open host file and its positioned I/O.

use std::any::Any;
use std::io::IoSlice;
use std::num::NonZeroU64;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs as rfs;
use rustix::io::Errno as HostErrno;

use super::sys::{self, IOV_MAX, lock};
use crate::fs::join;
use crate::{Advice, Errno, File, FileType, Result, SetTime, Stat};

/// The largest file offset or size the host accepts (`off_t` is signed).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// An open host file (regular file, FIFO, device…), kept open for the life of the handle.
pub(super) struct HostFile {
    pub(super) fd: OwnedFd,
    read_only: bool,
    /// The file's type, from the `fstat` made when it was opened.
    filetype: FileType,
    /// The kernel refused `RWF_APPEND` once: use the serialized fallback from now on.
    pub(super) no_rwf_append: AtomicBool,
    /// Serializes fallback appends through this handle.
    append_lock: Mutex<()>,
}

impl HostFile {
    pub(super) fn new(fd: OwnedFd, read_only: bool, filetype: FileType) -> HostFile {
        HostFile { fd, read_only, filetype, no_rwf_append: AtomicBool::new(false), append_lock: Mutex::new(()) }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only { Err(Errno::Rofs) } else { Ok(()) }
    }

    fn size(&self) -> Result<u64> {
        Ok(sys::to_stat(&rfs::fstat(&self.fd)?).size)
    }

    /// Appends `bufs` (at most [`IOV_MAX`]) with one system call: `pwritev2(RWF_APPEND)`, a
    /// plain `writev` where the file is not seekable (a FIFO, a character device), or the
    /// serialized fallback on kernels without `RWF_APPEND`.
    fn append_slices(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        #[cfg(all(target_os = "linux", not(target_env = "ohos")))]
        if !self.no_rwf_append.load(Ordering::Relaxed) {
            // The offset is ignored with RWF_APPEND (and the file position is left alone).
            match rustix::io::pwritev2(&self.fd, bufs, 0, rustix::io::ReadWriteFlags::APPEND) {
                Ok(written) => return Ok((written, self.size()?)),
                // Not seekable (FIFO, character device): a plain write is an append.
                Err(HostErrno::SPIPE) => return Ok((rustix::io::writev(&self.fd, bufs)?, self.size()?)),
                // Kernel older than 4.16 (unknown flag) or 4.6 (no pwritev2).
                Err(HostErrno::NOTSUP | HostErrno::NOSYS) => self.no_rwf_append.store(true, Ordering::Relaxed),
                Err(err) => return Err(err.into()),
            }
        }
        self.append_fallback(bufs)
    }

    /// `O_APPEND` semantics without `RWF_APPEND`: serialized with this handle's appends.
    fn append_fallback(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        let _guard = lock(&self.append_lock);
        let end = self.size()?;
        let written = match rustix::io::pwritev(&self.fd, bufs, end) {
            Err(HostErrno::SPIPE) => rustix::io::writev(&self.fd, bufs)?,
            other => other?,
        };
        Ok((written, self.size()?))
    }
}

/// [`Errno::Fbig`] if `len` bytes at `offset` would end past [`MAX_OFFSET`].
fn ends_by_the_largest_offset(offset: u64, len: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= MAX_OFFSET => Ok(()),
        _ => Err(Errno::Fbig),
    }
}

impl File for HostFile {
    fn stat(&self) -> Result<Stat> {
        Ok(sys::to_stat(&rfs::fstat(&self.fd)?))
    }

    fn filetype(&self) -> Result<FileType> {
        Ok(self.filetype)
    }

    /// One `pread`, cut where it would pass the largest offset (the kernel refuses such a read
    /// with `EINVAL`; past the end of any file there is nothing to read).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let Some(room) = MAX_OFFSET.checked_sub(offset) else { return Ok(0) };
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        Ok(rustix::io::pread(&self.fd, &mut buf[..len], offset)?)
    }

    /// One `pwrite`; [`Errno::Fbig`] where it would pass the largest offset (where the kernel
    /// would say `EINVAL`), as for any file grown beyond its maximum size.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.check_writable()?;
        ends_by_the_largest_offset(offset, buf.len() as u64)?;
        Ok(rustix::io::pwrite(&self.fd, buf, offset)?)
    }

    /// One `pwritev` of the buffers (joined first if there are more than 1,024). Should the
    /// kernel write less without an error (out of room part-way, or a write over 2 GiB), the
    /// rest is written after it; the first error after a partial write ends it with the count.
    /// [`Errno::Fbig`] where the buffers would pass the largest offset, as [`File::write_at`].
    fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        self.check_writable()?;
        let total = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        ends_by_the_largest_offset(offset, total as u64)?;
        if bufs.len() > IOV_MAX {
            return self.write_at(&join(bufs), offset);
        }
        let mut written = rustix::io::pwritev(&self.fd, bufs, offset)?;
        if written == 0 || written >= total {
            return Ok(written);
        }
        let mut rest: Vec<IoSlice<'_>> = bufs.to_vec();
        let mut rest = &mut rest[..];
        IoSlice::advance_slices(&mut rest, written);
        while !rest.is_empty() {
            // Within the largest offset: `written` is less than `total`.
            match rustix::io::pwritev(&self.fd, rest, offset.saturating_add(written as u64)) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    written += n;
                    IoSlice::advance_slices(&mut rest, n);
                }
            }
        }
        Ok(written)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.check_writable()?;
        self.append_slices(&[IoSlice::new(buf)])
    }

    /// One `pwritev2(RWF_APPEND)` of the buffers, as [`File::append`] (joined first if there
    /// are more than 1,024). A short write is returned as it is: writing the rest in a second
    /// append could let another appender's record land in between.
    fn append_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        self.check_writable()?;
        if bufs.len() > IOV_MAX {
            return self.append_slices(&[IoSlice::new(&join(bufs))]);
        }
        self.append_slices(bufs)
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.check_writable()?;
        if size > MAX_OFFSET {
            return Err(Errno::Fbig);
        }
        Ok(rfs::ftruncate(&self.fd, size)?)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.check_writable()?;
        Ok(rfs::futimens(&self.fd, &sys::timestamps(atime, mtime))?)
    }

    fn sync(&self) -> Result<()> {
        Ok(rfs::fsync(&self.fd)?)
    }

    fn datasync(&self) -> Result<()> {
        Ok(rfs::fdatasync(&self.fd)?)
    }

    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.check_writable()?;
        ends_by_the_largest_offset(offset, len)?;
        Ok(rfs::fallocate(&self.fd, rfs::FallocateFlags::empty(), offset, len)?)
    }

    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        let advice = match advice {
            Advice::Normal => rfs::Advice::Normal,
            Advice::Sequential => rfs::Advice::Sequential,
            Advice::Random => rfs::Advice::Random,
            Advice::WillNeed => rfs::Advice::WillNeed,
            Advice::DontNeed => rfs::Advice::DontNeed,
            Advice::NoReuse => rfs::Advice::NoReuse,
        };
        Ok(rfs::fadvise(&self.fd, offset, NonZeroU64::new(len), advice)?)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
