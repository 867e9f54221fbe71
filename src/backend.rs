//! The rules every ABI applies around a backend (a [`vfs::FileSystem`](crate::vfs::FileSystem)'s
//! files, the embedder's readers and writers), written once: a backend may be the embedder's
//! own code, wrong or hostile, and the guest may pass anything.
//!
//! - **Counts.** A backend that claims more bytes than it was given or asked for counts as having
//!   taken or filled exactly that much, so that no caller slices past a buffer or moves an
//!   offset too far ([`read_at`], [`write_at`], [`append`], [`write_vectored_at`],
//!   [`append_vectored`], [`read_some`], [`write_all_counted`], [`write_all_vectored`]).
//! - **Interruptions and full sinks.** A reader or writer's `EINTR` is retried; a writer that
//!   takes nothing of a non-empty buffer is `ENOSPC`, after the bytes it did take.
//! - **Offsets**, before a backend sees them, as Linux's VFS checks them before any filesystem:
//!   a file offset there is a signed 64-bit `loff_t`, so an offset, length or size past
//!   `i64::MAX` is `EINVAL` ([`signed`], [`range`]): preview1's `fd_advise`,
//!   `fd_filestat_set_size`, `fd_pread`, `fd_pwrite`, `fd_seek`, WASI 0.2's `advise`,
//!   `set-size`, `read`, `write` and the start of `read-via-stream`/`write-via-stream`.
//! - **Sync after write**: a write through a descriptor opened with `O_SYNC` or `O_DSYNC`
//!   (preview1 `SYNC`/`DSYNC`, WASI 0.2 `file-integrity-sync`/`data-integrity-sync`) reaches
//!   storage before the call returns ([`WriteSync`], [`sync_after_write`]).

use std::io::{self, IoSlice, Read, Write};

use crate::vfs::{Errno, File};

#[cfg(test)]
mod tests;

/// `EINVAL` unless `value` is a valid `loff_t` (at most `i64::MAX`): the offset of
/// `pread(2)`/`pwrite(2)`, the length of `posix_fadvise(2)`, the size of `ftruncate(2)`.
pub(crate) fn signed(value: u64) -> Result<(), Errno> {
    match i64::try_from(value) {
        Ok(_) => Ok(()),
        Err(_) => Err(Errno::Inval),
    }
}

/// `EINVAL` unless `len` bytes at `offset` end at or before `i64::MAX`, as `rw_verify_area`
/// checks a positioned read or write (an empty one may start at `i64::MAX`).
pub(crate) fn range(offset: u64, len: u64) -> Result<(), Errno> {
    signed(offset.checked_add(len).ok_or(Errno::Inval)?)
}

/// `file.read_at`, at most `buf.len()` bytes counted.
pub(crate) fn read_at(file: &dyn File, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    Ok(file.read_at(buf, offset)?.min(buf.len()))
}

/// `file.write_at`, at most `buf.len()` bytes counted.
pub(crate) fn write_at(file: &dyn File, buf: &[u8], offset: u64) -> Result<usize, Errno> {
    Ok(file.write_at(buf, offset)?.min(buf.len()))
}

/// `file.append`, at most `buf.len()` bytes counted (and the end of file it reports).
pub(crate) fn append(file: &dyn File, buf: &[u8]) -> Result<(usize, u64), Errno> {
    let (n, end) = file.append(buf)?;
    Ok((n.min(buf.len()), end))
}

/// `file.write_vectored_at` of `bufs` (`total` bytes in all), at most `total` counted.
pub(crate) fn write_vectored_at(file: &dyn File, bufs: &[IoSlice<'_>], offset: u64, total: u64) -> Result<u64, Errno> {
    Ok((file.write_vectored_at(bufs, offset)? as u64).min(total))
}

/// `file.append_vectored` of `bufs` (`total` bytes in all), at most `total` counted.
pub(crate) fn append_vectored(file: &dyn File, bufs: &[IoSlice<'_>], total: u64) -> Result<(u64, u64), Errno> {
    let (n, end) = file.append_vectored(bufs)?;
    Ok(((n as u64).min(total), end))
}

/// One `read` of `r` into `buf`, retrying on `EINTR`, at most `buf.len()` bytes counted.
pub(crate) fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n.min(buf.len())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Errno::from(e)),
        }
    }
}

/// Writes all of `src` with `write`, retrying on `EINTR`; returns the bytes written and the
/// error that stopped it (`ENOSPC` for a writer that takes nothing).
pub(crate) fn write_all_counted(
    mut src: &[u8],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> (u64, Option<Errno>) {
    let mut total = 0u64;
    while !src.is_empty() {
        match write(src) {
            Ok(0) => return (total, Some(Errno::Nospc)),
            Ok(n) => {
                let n = n.min(src.len());
                total += n as u64;
                src = &src[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (total, Some(Errno::from(e))),
        }
    }
    (total, None)
}

/// As [`write_all_counted`], for several buffers through `write_vectored` (a host descriptor's
/// `writev(2)`).
pub(crate) fn write_all_vectored(stream: &mut dyn Write, mut slices: &mut [IoSlice<'_>]) -> (u64, Option<Errno>) {
    let mut left: usize = slices.iter().map(|s| s.len()).sum();
    let mut total = 0u64;
    while left > 0 {
        match stream.write_vectored(slices) {
            Ok(0) => return (total, Some(Errno::Nospc)),
            Ok(n) => {
                let n = n.min(left);
                left -= n;
                total += n as u64;
                IoSlice::advance_slices(&mut slices, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (total, Some(Errno::from(e))),
        }
    }
    (total, None)
}

/// What a write through a descriptor must reach before it returns: its `O_SYNC`/`O_DSYNC`
/// (the `sync` of a file's [`OutputStream`](crate::p2::io::OutputStream)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WriteSync {
    /// Nothing more (the page cache).
    #[default]
    No,
    /// The data (`O_DSYNC`: `fdatasync`).
    Data,
    /// The data and the metadata (`O_SYNC`: `fsync`).
    All,
}

/// After a write through a descriptor opened with `sync`. (`O_RSYNC` asks the same of reads,
/// which a backend serves from what it wrote: nothing to do.)
pub(crate) fn sync_after_write(file: &dyn File, sync: WriteSync) -> Result<(), Errno> {
    match sync {
        WriteSync::No => Ok(()),
        WriteSync::Data => file.datasync(),
        WriteSync::All => file.sync(),
    }
}
