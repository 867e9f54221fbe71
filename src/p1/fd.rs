//! The `fd_*` calls: operations on open descriptors.
//!
//! Errno conventions (POSIX's): a descriptor that is not open is `EBADF`; reading a descriptor
//! not opened for reading, or writing one not opened for writing, is `EBADF`; an operation
//! whose right the guest dropped (`fd_fdstat_set_rights`; see [`crate::rights`]) is
//! `ENOTCAPABLE`; seeking a stream is `ESPIPE`;
//! file I/O on a directory is `EISDIR` (`EBADF` for operations Linux refuses on directories
//! that way).

use std::io::{IoSlice, Read, Write};
use std::sync::Arc;

use rustix::event::PollFlags;

use crate::WasiCtx;
use crate::backend::{self, WriteSync, sync_after_write, write_all_vectored};
use crate::fdtable::{Descriptor, Kind};
use crate::p1::abi::memory::{GuestMemory, Iovecs};
use crate::p1::abi::types::{advice, fdflags, fstflags, preopentype, rights, size, whence};
use crate::p1::blocking;
use crate::vfs::Errno;
use crate::vfs::{Advice, DirEntry, FileType, SetTime, Stat};
use crate::wait::{Blocked, HostStdin, Plan, ready_now};

/// Writes a `filestat` at `ptr`.
pub(crate) fn write_filestat(mem: &mut GuestMemory<'_>, ptr: u32, st: &Stat) -> Result<(), Errno> {
    let mut b = [0u8; size::FILESTAT as usize];
    b[0..8].copy_from_slice(&st.dev.to_le_bytes());
    b[8..16].copy_from_slice(&st.ino.to_le_bytes());
    b[16] = st.filetype.raw();
    b[24..32].copy_from_slice(&st.nlink.to_le_bytes());
    b[32..40].copy_from_slice(&st.size.to_le_bytes());
    b[40..48].copy_from_slice(&st.atim.to_le_bytes());
    b[48..56].copy_from_slice(&st.mtim.to_le_bytes());
    b[56..64].copy_from_slice(&st.ctim.to_le_bytes());
    mem.write_bytes(ptr, &b)
}

/// Decodes the times of a `*_filestat_set_times` call.
/// Errors: `EINVAL` unknown flags, or a time given both explicitly and as "now".
pub(crate) fn set_times_args(atim: u64, mtim: u64, flags: u32) -> Result<(SetTime, SetTime), Errno> {
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !fstflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    let pick = |at: u16, now: u16, t: u64| match (flags & at != 0, flags & now != 0) {
        (true, true) => Err(Errno::Inval),
        (true, false) => Ok(SetTime::At(t)),
        (false, true) => Ok(SetTime::Now),
        (false, false) => Ok(SetTime::Omit),
    };
    Ok((pick(fstflags::ATIM, fstflags::ATIM_NOW, atim)?, pick(fstflags::MTIM, fstflags::MTIM_NOW, mtim)?))
}

/// A stream's attributes: everything zero but its type.
fn stream_stat(d: &Descriptor) -> Stat {
    Stat::new(d.filetype(), 0)
}

/// `fd_advise(fd, offset, len, advice)`. Advice on a directory is taken and does nothing, as
/// `posix_fadvise(2)` on a Linux directory returns 0 (no right is needed for it).
/// Errors: `EBADF`; `EINVAL` unknown advice, or a length past `i64::MAX` (as `posix_fadvise`,
/// for which it is negative); `ESPIPE` a stream; `ENOTCAPABLE` a file whose `fd_advise` right
/// was dropped.
pub fn fd_advise(ctx: &mut WasiCtx, fd: u32, offset: u64, len: u64, adv: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let adv = match u8::try_from(adv).map_err(|_| Errno::Inval)? {
        advice::NORMAL => Advice::Normal,
        advice::SEQUENTIAL => Advice::Sequential,
        advice::RANDOM => Advice::Random,
        advice::WILLNEED => Advice::WillNeed,
        advice::DONTNEED => Advice::DontNeed,
        advice::NOREUSE => Advice::NoReuse,
        _ => return Err(Errno::Inval),
    };
    let file = match &d.kind {
        Kind::File { file, .. } => {
            d.require(rights::FD_ADVISE)?;
            Some(file)
        }
        Kind::Dir { .. } => None,
        _ => return Err(Errno::Spipe),
    };
    backend::signed(len)?;
    file.map_or(Ok(()), |file| file.advise(offset, len, adv))
}

/// `fd_allocate(fd, offset, len)`.
/// Errors: `EBADF`; `EINVAL` zero length; `ESPIPE` a stream; `EBADF` a directory or a file not
/// open for writing (as `fallocate(2)`); `ENOTCAPABLE` a dropped right; `ENOTSUP` the filesystem
/// cannot.
pub fn fd_allocate(ctx: &mut WasiCtx, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    match &d.kind {
        Kind::File { file, .. } => {
            d.require(rights::FD_ALLOCATE)?;
            if !d.writable() {
                return Err(Errno::Badf);
            }
            if len == 0 {
                return Err(Errno::Inval);
            }
            offset.checked_add(len).ok_or(Errno::Fbig)?;
            file.allocate(offset, len)
        }
        Kind::Dir { .. } => Err(Errno::Badf),
        _ => Err(Errno::Spipe),
    }
}

/// `fd_close(fd)`. Closing stdout or stderr flushes its writer; as with `close(2)`, the
/// descriptor is closed even when that fails, and the failure is the call's errno.
/// Errors: `EBADF`; the writer's flush error (`EIO`, `ENOSPC`…).
pub fn fd_close(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    let d = ctx.fds.remove(fd)?;
    if let Kind::Writer { out, .. } = d.kind {
        ctx.stdio.writer(out).flush().map_err(Errno::from)?;
    }
    Ok(())
}

fn sync(ctx: &mut WasiCtx, fd: u32, right: u64, data_only: bool) -> Result<(), Errno> {
    let d = ctx.fds.get_mut(fd)?;
    d.require(right)?;
    match &mut d.kind {
        Kind::File { file, .. } => {
            if data_only {
                file.datasync()
            } else {
                file.sync()
            }
        }
        Kind::Dir { dir, .. } => dir.sync(),
        Kind::Writer { out, .. } => ctx.stdio.writer(*out).flush().map_err(Errno::from),
        _ => Err(Errno::Inval),
    }
}

/// `fd_datasync(fd)`. Errors: `EBADF`; `ENOTCAPABLE`; `EINVAL` a descriptor that cannot be
/// synchronised (stdin, a socket).
pub fn fd_datasync(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, rights::FD_DATASYNC, true)
}

/// `fd_sync(fd)`. Errors: as `fd_datasync`.
pub fn fd_sync(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, rights::FD_SYNC, false)
}

/// `fd_fdstat_get(fd) -> fdstat`. Errors: `EBADF`; `EFAULT`.
pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, stat: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let mut b = [0u8; size::FDSTAT as usize];
    b[0] = d.filetype().raw();
    b[2..4].copy_from_slice(&d.flags.to_le_bytes());
    b[8..16].copy_from_slice(&d.base.to_le_bytes());
    b[16..24].copy_from_slice(&d.inheriting.to_le_bytes());
    mem.write_bytes(stat, &b)
}

/// `fd_fdstat_set_flags(fd, flags)`: only `APPEND` and `NONBLOCK` can change, as with Linux's
/// `fcntl(F_SETFL)`.
/// Errors: `EBADF`; `EINVAL` unknown flags; `ENOTCAPABLE`; `ENOTSUP` a request to change
/// `DSYNC`, `RSYNC` or `SYNC`.
pub fn fd_fdstat_set_flags(ctx: &mut WasiCtx, fd: u32, flags: u32) -> Result<(), Errno> {
    let d = ctx.fds.get_mut(fd)?;
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !fdflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    d.require(rights::FD_FDSTAT_SET_FLAGS)?;
    let fixed = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;
    if (flags ^ d.flags) & fixed != 0 {
        return Err(Errno::Notsup);
    }
    // A socket's host descriptor keeps its mode (accepted ones are non-blocking on the host):
    // hammertime waits, or answers EAGAIN, as the guest's flag says.
    d.flags = flags;
    Ok(())
}

/// `fd_fdstat_set_rights(fd, base, inheriting)`: rights can only be dropped, and a dropped
/// right is refused from then on (see [`crate::rights`]).
/// Errors: `EBADF`; `ENOTCAPABLE` a right not shown.
pub fn fd_fdstat_set_rights(ctx: &mut WasiCtx, fd: u32, base: u64, inheriting: u64) -> Result<(), Errno> {
    ctx.fds.get_mut(fd)?.set_rights(base, inheriting)
}

/// `fd_filestat_get(fd) -> filestat`. Errors: `EBADF`; `ENOTCAPABLE`; `EFAULT`; the backend's.
pub fn fd_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, stat: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    d.require(rights::FD_FILESTAT_GET)?;
    mem.check(stat, size::FILESTAT)?;
    let st = match &d.kind {
        Kind::File { file, .. } => file.stat()?,
        Kind::Dir { dir, .. } => dir.stat()?,
        _ => stream_stat(d),
    };
    write_filestat(mem, stat, &st)
}

/// `fd_filestat_set_size(fd, size)`.
/// Errors: `EBADF`; `ENOTCAPABLE`; `EINVAL` a directory, a stream or a file not open for
/// writing (Linux `ftruncate`: only regular files open for writing); `EFBIG`; the backend's.
pub fn fd_filestat_set_size(ctx: &mut WasiCtx, fd: u32, size: u64) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let file = match &d.kind {
        Kind::File { file, .. } => file,
        _ => return Err(Errno::Inval),
    };
    d.require(rights::FD_FILESTAT_SET_SIZE)?;
    if !d.writable() {
        return Err(Errno::Inval);
    }
    backend::signed(size)?;
    file.set_size(size)
}

/// `fd_filestat_set_times(fd, atim, mtim, fst_flags)`.
/// Errors: `EBADF`; `EINVAL` bad flags; `ENOTCAPABLE`; the backend's.
pub fn fd_filestat_set_times(ctx: &mut WasiCtx, fd: u32, atim: u64, mtim: u64, fst_flags: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let (a, m) = set_times_args(atim, mtim, fst_flags)?;
    d.require(rights::FD_FILESTAT_SET_TIMES)?;
    match &d.kind {
        Kind::File { file, .. } => file.set_times(a, m),
        Kind::Dir { dir, .. } => dir.set_times(a, m),
        // Streams and sockets have no times here to set (and no right to set them but
        // sockets'): say so rather than pretend.
        _ => Err(Errno::Notsup),
    }
}

/// The iovecs of a read or write call, checked against the context's limits (`EINVAL` past
/// [`Limits::iovecs`](crate::Limits::iovecs), cut at [`Limits::io_bytes`](crate::Limits::io_bytes)).
pub(crate) fn call_iovecs(
    limits: &crate::Limits,
    mem: &GuestMemory<'_>,
    iovs: u32,
    count: u32,
) -> Result<Iovecs, Errno> {
    mem.iovecs(iovs, count, limits.iovecs, limits.io_bytes)
}

/// Reads into the iovecs from a positioned file, stopping at a short read.
fn read_file_iovs(
    file: &dyn crate::vfs::File,
    mem: &mut GuestMemory<'_>,
    list: &Iovecs,
    mut offset: u64,
) -> Result<u64, Errno> {
    let mut total = 0u64;
    let mut bufs = list.iter();
    while let Some((buf, len)) = bufs.next(mem) {
        let dst = mem.slice_mut(buf, len)?;
        let n = match backend::read_at(file, dst, offset) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n as u64;
        offset = offset.saturating_add(n as u64);
        if n < len as usize {
            break;
        }
    }
    Ok(total)
}

/// Runs `f` with the iovecs' buffers as [`IoSlice`]s (inline for a few, so a small write does
/// not allocate).
pub(crate) fn with_io_slices<R>(
    mem: &GuestMemory<'_>,
    list: &Iovecs,
    f: impl FnOnce(&[IoSlice<'_>]) -> R,
) -> Result<R, Errno> {
    with_io_slices_from(mem, list, 0, f)
}

/// As [`with_io_slices`], without the first `skip` bytes of the iovecs (those an earlier
/// attempt of the call wrote).
pub(crate) fn with_io_slices_from<R>(
    mem: &GuestMemory<'_>,
    list: &Iovecs,
    mut skip: u64,
    f: impl FnOnce(&[IoSlice<'_>]) -> R,
) -> Result<R, Errno> {
    let mut bufs = list.iter();
    let mut next = |mem: &GuestMemory<'_>| -> Option<(u32, u32)> {
        loop {
            let (buf, len) = bufs.next(mem)?;
            match skip.checked_sub(u64::from(len)) {
                Some(left) if len > 0 => skip = left,
                _ => {
                    // `skip < len` here.
                    let (buf, len) = (buf + skip as u32, len - skip as u32);
                    skip = 0;
                    return Some((buf, len));
                }
            }
        }
    };
    let mut inline = [IoSlice::new(&[]); 4];
    let mut n = 0;
    while n < inline.len() {
        let Some((buf, len)) = next(mem) else { return Ok(f(&inline[..n])) };
        inline[n] = IoSlice::new(mem.slice(buf, len)?);
        n += 1;
    }
    let mut slices = inline.to_vec();
    while let Some((buf, len)) = next(mem) {
        slices.push(IoSlice::new(mem.slice(buf, len)?));
    }
    Ok(f(&slices))
}

/// Writes the iovecs to a file at `offset` (or appended) in one backend call, so that another
/// writer's bytes never land between two of them. Returns the bytes written and the offset
/// after them.
fn write_file_iovs(
    file: &dyn crate::vfs::File,
    mem: &GuestMemory<'_>,
    list: &Iovecs,
    offset: u64,
    append: bool,
) -> Result<(u64, u64), Errno> {
    if list.is_empty() {
        return Ok((0, offset));
    }
    if append {
        Ok(with_io_slices(mem, list, |bufs| backend::append_vectored(file, bufs, list.total()))??)
    } else {
        offset.checked_add(list.total()).ok_or(Errno::Fbig)?;
        let n = with_io_slices(mem, list, |bufs| backend::write_vectored_at(file, bufs, offset, list.total()))??;
        Ok((n, offset + n))
    }
}

/// What a write through a descriptor with these `fdflags` must reach before it returns.
fn sync_of(flags: u16) -> WriteSync {
    if flags & fdflags::SYNC != 0 {
        WriteSync::All
    } else if flags & fdflags::DSYNC != 0 {
        WriteSync::Data
    } else {
        WriteSync::No
    }
}

/// Writes the iovecs, after their first `skip` bytes (those an earlier attempt of the call
/// wrote), to a stream, several of them in one `write_vectored` call (a host descriptor's
/// `writev(2)`), then flushes it. A failure after some bytes were accepted reports those bytes
/// (a short write); a failure before any is the errno.
fn write_stream_iovs(stream: &mut dyn Write, mem: &GuestMemory<'_>, list: &Iovecs, skip: u64) -> Result<u64, Errno> {
    let (total, failure) = if skip > 0 {
        with_io_slices_from(mem, list, skip, |bufs| write_all_vectored(stream, &mut bufs.to_vec()))?
    } else {
        let mut bufs = list.iter();
        let first = match bufs.next(mem) {
            Some((buf, len)) => mem.slice(buf, len)?,
            None => &[],
        };
        match bufs.next(mem) {
            // One buffer, the common case: plain `write`s, nothing to gather.
            None => backend::write_all_counted(first, |src| stream.write(src)),
            Some((buf, len)) => {
                let mut slices = vec![IoSlice::new(first), IoSlice::new(mem.slice(buf, len)?)];
                while let Some((buf, len)) = bufs.next(mem) {
                    slices.push(IoSlice::new(mem.slice(buf, len)?));
                }
                write_all_vectored(stream, &mut slices)
            }
        }
    };
    let flushed = stream.flush();
    match (failure, flushed) {
        (Some(e), _) if total == 0 => Err(e),
        (None, Err(e)) if total == 0 => Err(Errno::from(e)),
        _ => Ok(total),
    }
}

/// Reads into the first iovec from a stream with one `read` call, as `readv` on a pipe returns
/// what is available rather than waiting to fill every buffer.
fn read_stream_iovs(stream: &mut dyn Read, mem: &mut GuestMemory<'_>, list: &Iovecs) -> Result<u64, Errno> {
    let Some((buf, len)) = list.iter().next(mem) else { return Ok(0) };
    Ok(backend::read_some(stream, mem.slice_mut(buf, len)?)? as u64)
}

fn store_count(mem: &mut GuestMemory<'_>, ptr: u32, n: u64) -> Result<(), Errno> {
    // Counts are bounded by `Limits::io_bytes` (at most `MAX_RW_COUNT`), so they fit.
    mem.write_u32(ptr, u32::try_from(n).unwrap_or(u32::MAX))
}

/// `fd_read(fd, iovs) -> nread`.
/// Errors: `EBADF` not open, or not open for reading; `EISDIR` a directory; `ENOTCONN` a
/// listening socket; `EINVAL` more iovecs than [`Limits::iovecs`](crate::Limits::iovecs);
/// `EFAULT`; the stream's or backend's. At most [`Limits::io_bytes`](crate::Limits::io_bytes)
/// are read. A read of the host's own stdin, or of a blocking socket, waits interruptibly.
pub fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let mut done = 0;
    blocking(ctx, |ctx| try_fd_read(ctx, mem, fd, iovs, iovs_len, nread, &mut done))
}

/// [`fd_read`] as one attempt: what it waits for when the host's stdin or a blocking socket has
/// nothing to read yet.
pub(crate) fn try_fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
    done: &mut u64,
) -> Result<(), Blocked> {
    mem.check(nread, 4)?;
    let d = ctx.fds.get_mut(fd)?;
    d.require(rights::FD_READ)?;
    if !d.readable() {
        return Err(if matches!(d.kind, Kind::Dir { .. }) { Errno::Isdir } else { Errno::Badf }.into());
    }
    let list = call_iovecs(&ctx.limits, mem, iovs, iovs_len)?;
    let n = match &mut d.kind {
        Kind::File { file, pos, .. } => {
            let n = read_file_iovs(file.as_ref(), mem, &list, *pos)?;
            *pos = pos.saturating_add(n);
            n
        }
        Kind::Reader { .. } => {
            if !list.is_empty()
                && let Some(stdin) = ctx.stdio.host_stdin()
                && !ready_now(&stdin, PollFlags::IN)
            {
                return Err(Blocked::Wait(Plan::fd(Arc::new(HostStdin), PollFlags::IN)));
            }
            match read_stream_iovs(ctx.stdio.stdin.as_mut(), mem, &list) {
                // An async stdin with nothing yet: wait for its reader.
                Err(Errno::Again) if let Some(reader) = ctx.stdio.stdin_wait() => {
                    return Err(Blocked::Wait(Plan::ready(reader)));
                }
                r => r?,
            }
        }
        Kind::Stream(s) => {
            let (s, blocking) = (s.clone(), d.flags & fdflags::NONBLOCK == 0);
            crate::p1::sock::recv_into(&s, blocking, mem, &list, (false, false), done)?;
            *done
        }
        Kind::Dir { .. } => return Err(Errno::Isdir.into()),
        Kind::Listener(_) => return Err(Errno::Notconn.into()),
        Kind::Writer { .. } => return Err(Errno::Badf.into()),
    };
    store_count(mem, nread, n).map_err(Blocked::from)
}

/// `fd_write(fd, iovs) -> nwritten`. With `APPEND` a file is written at its end. The iovecs of
/// one call reach a file in one backend write, so concurrent writers never interleave inside it.
/// Errors: `EBADF` not open, or not open for writing; `EISDIR` a directory; `ENOTCONN` a
/// listening socket; `EINVAL` more iovecs than [`Limits::iovecs`](crate::Limits::iovecs);
/// `EFAULT`; `ENOSPC` a full sink or quota (after the bytes that fit, the count of those); the
/// stream's or backend's. At most [`Limits::io_bytes`](crate::Limits::io_bytes) are written.
pub fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let mut done = 0;
    blocking(ctx, |ctx| try_fd_write(ctx, mem, fd, iovs, iovs_len, nwritten, &mut done))
}

/// [`fd_write`] as one attempt: what it waits for when a blocking socket takes nothing (more).
pub(crate) fn try_fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
    done: &mut u64,
) -> Result<(), Blocked> {
    mem.check(nwritten, 4)?;
    let d = ctx.fds.get_mut(fd)?;
    d.require(rights::FD_WRITE)?;
    if !d.writable() {
        return Err(if matches!(d.kind, Kind::Dir { .. }) { Errno::Isdir } else { Errno::Badf }.into());
    }
    let list = call_iovecs(&ctx.limits, mem, iovs, iovs_len)?;
    let append = d.flags & fdflags::APPEND != 0;
    let n = match &mut d.kind {
        Kind::File { file, pos, .. } => {
            let (n, end) = write_file_iovs(file.as_ref(), mem, &list, *pos, append)?;
            *pos = end;
            sync_after_write(file.as_ref(), sync_of(d.flags))?;
            n
        }
        Kind::Writer { out, .. } => {
            let out = *out;
            // (An empty write still flushes the writer, and reports what the flush says.)
            if *done < list.total() || list.is_empty() {
                match write_stream_iovs(ctx.stdio.writer(out), mem, &list, *done) {
                    Err(Errno::Again) if ctx.stdio.output_wait(out).is_some() => {}
                    r => *done += r?,
                }
            }
            // An async output that has not taken every byte yet: wait for its writer, then
            // write the rest.
            if let Some(writer) = ctx.stdio.output_wait(out) {
                return Err(Blocked::Wait(Plan::ready(writer)));
            }
            ctx.stdio.output_result(out)?;
            *done
        }
        Kind::Stream(s) => {
            let (s, blocking) = (s.clone(), d.flags & fdflags::NONBLOCK == 0);
            crate::p1::sock::send_from(&s, blocking, mem, &list, done)?;
            *done
        }
        Kind::Dir { .. } => return Err(Errno::Isdir.into()),
        Kind::Listener(_) => return Err(Errno::Notconn.into()),
        Kind::Reader { .. } => return Err(Errno::Badf.into()),
    };
    store_count(mem, nwritten, n).map_err(Blocked::from)
}

/// The file of a positioned read or write (`fd_pread`, `fd_pwrite`) at `offset`: `EISDIR` a
/// directory; `ESPIPE` anything else not a file; `EBADF` without `access` (`FD_READ` or
/// `FD_WRITE`); `ENOTCAPABLE` either, or `FD_SEEK`, dropped; `EINVAL` an offset past `i64::MAX`. Returns the
/// file and the descriptor's flags. The end of the bytes is checked once the iovecs are read
/// ([`crate::backend::range`]).
fn positioned_file(ctx: &WasiCtx, fd: u32, access: u64, offset: u64) -> Result<(&dyn crate::vfs::File, u16), Errno> {
    let d = ctx.fds.get(fd)?;
    let file = match &d.kind {
        Kind::File { file, .. } => file.as_ref(),
        Kind::Dir { .. } => return Err(Errno::Isdir),
        _ => return Err(Errno::Spipe),
    };
    d.require(access | rights::FD_SEEK)?;
    if d.base & access == 0 {
        return Err(Errno::Badf);
    }
    backend::signed(offset)?;
    Ok((file, d.flags))
}

/// `fd_pread(fd, iovs, offset) -> nread`: reads at `offset` without moving the position.
/// Errors: as `fd_read`; `ESPIPE` a stream; `ENOTCAPABLE` the `fd_seek` right dropped.
pub fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> Result<(), Errno> {
    mem.check(nread, 4)?;
    let (file, _) = positioned_file(ctx, fd, rights::FD_READ, offset)?;
    let list = call_iovecs(&ctx.limits, mem, iovs, iovs_len)?;
    backend::range(offset, list.total())?;
    let n = read_file_iovs(file, mem, &list, offset)?;
    store_count(mem, nread, n)
}

/// `fd_pwrite(fd, iovs, offset) -> nwritten`: writes at `offset` without moving the position.
/// As on Linux, a descriptor with `APPEND` writes at the end whatever the offset.
/// Errors: as `fd_write`; `ESPIPE` a stream; `ENOTCAPABLE` the `fd_seek` right dropped.
pub fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    mem.check(nwritten, 4)?;
    let (file, flags) = positioned_file(ctx, fd, rights::FD_WRITE, offset)?;
    let list = call_iovecs(&ctx.limits, mem, iovs, iovs_len)?;
    backend::range(offset, list.total())?;
    let append = flags & fdflags::APPEND != 0;
    let (n, _) = write_file_iovs(file, mem, &list, offset, append)?;
    sync_after_write(file, sync_of(flags))?;
    store_count(mem, nwritten, n)
}

/// `fd_prestat_get(fd) -> prestat`: the kind and name length of a preopened directory.
/// Errors: `EBADF` not open, or not a preopen; `EFAULT`.
pub fn fd_prestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, prestat: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let Kind::Dir { preopen: Some(name), .. } = &d.kind else {
        return Err(Errno::Badf);
    };
    let len = u32::try_from(name.len()).map_err(|_| Errno::Overflow)?;
    let mut b = [0u8; size::PRESTAT as usize];
    b[0] = preopentype::DIR;
    b[4..8].copy_from_slice(&len.to_le_bytes());
    mem.write_bytes(prestat, &b)
}

/// `fd_prestat_dir_name(fd, path, path_len)`: the guest path of a preopen (not NUL-terminated).
/// Errors: `EBADF`; `ENAMETOOLONG` the buffer is shorter than the name; `EFAULT`.
pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let Kind::Dir { preopen: Some(name), .. } = &d.kind else {
        return Err(Errno::Badf);
    };
    if (path_len as usize) < name.len() {
        return Err(Errno::Nametoolong);
    }
    mem.write_bytes(path, name.as_bytes())
}

/// `fd_readdir(fd, buf, buf_len, cookie) -> bufused`: `.` (cookie 0), `..` (cookie 1), then the
/// backend's entries. The last entry is cut at the end of a full buffer, as the spec says;
/// `bufused == buf_len` tells the guest to call again from the last whole entry's cookie.
/// Errors: `EBADF`; `ENOTDIR` not a directory; `ENOTCAPABLE` the `fd_readdir` right dropped; `EINVAL`
/// a bad cookie; `EFAULT`.
pub fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    mem.check(bufused, 4)?;
    mem.check(buf, buf_len)?;
    let d = ctx.fds.get(fd)?;
    let Kind::Dir { dir, .. } = &d.kind else {
        return Err(Errno::Notdir);
    };
    d.require(rights::FD_READDIR)?;

    let mut used = 0u32;
    let mut emit = |mem: &mut GuestMemory<'_>, next: u64, ino: u64, filetype: FileType, name: &str| -> bool {
        let mut header = [0u8; size::DIRENT as usize];
        header[0..8].copy_from_slice(&next.to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = filetype.raw();
        for part in [&header[..], name.as_bytes()] {
            let room = (buf_len - used) as usize;
            let n = part.len().min(room);
            // `buf + used` may be 4 GiB (a buffer ending at the end of a 4 GiB memory) only
            // when nothing is left to write.
            let Some(at) = buf.checked_add(used) else { return false };
            if mem.write_bytes(at, &part[..n]).is_err() {
                return false;
            }
            used += n as u32;
            if n < part.len() {
                return false;
            }
        }
        used < buf_len
    };

    if cookie == 0 || cookie == 1 {
        let st = dir.stat()?;
        if cookie == 0 && !emit(mem, 1, st.ino, FileType::Directory, ".") {
            return mem.write_u32(bufused, used);
        }
        if !emit(mem, 2, st.ino, FileType::Directory, "..") {
            return mem.write_u32(bufused, used);
        }
    }
    let start = cookie.saturating_sub(2);
    dir.read_dir(start, &mut |e: DirEntry| emit(mem, e.next.saturating_add(2), e.ino, e.filetype, &e.name))?;
    mem.write_u32(bufused, used)
}

/// `fd_renumber(fd, to)`: moves `fd` to `to`, closing what `to` was.
/// Errors: `EBADF` either is not open.
pub fn fd_renumber(ctx: &mut WasiCtx, fd: u32, to: u32) -> Result<(), Errno> {
    ctx.fds.renumber(fd, to)
}

/// `fd_seek(fd, offset, whence) -> newoffset`. The offset is signed.
/// Errors: `EBADF`; `EINVAL` bad whence or a negative result; `ESPIPE` a stream; `EBADF` a
/// directory; `ENOTCAPABLE` the `fd_seek` right dropped (for a zero `CUR` seek, both it and
/// `fd_tell`).
pub fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    whence_: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    mem.check(newoffset, 8)?;
    let d = ctx.fds.get_mut(fd)?;
    let offset = offset as i64;
    let whence_ = u8::try_from(whence_).map_err(|_| Errno::Inval)?;
    let needed = if offset == 0 && whence_ == whence::CUR { rights::FD_TELL } else { rights::FD_SEEK };
    let dropped = d.dropped;
    let Kind::File { file, pos, .. } = &mut d.kind else {
        return Err(match d.kind {
            Kind::Dir { .. } => Errno::Badf,
            _ => Errno::Spipe,
        });
    };
    if dropped & needed != 0 && dropped & rights::FD_SEEK != 0 {
        return Err(Errno::Notcapable);
    }
    let origin: i64 = match whence_ {
        whence::SET => 0,
        whence::CUR => i64::try_from(*pos).map_err(|_| Errno::Overflow)?,
        whence::END => i64::try_from(file.stat()?.size).map_err(|_| Errno::Overflow)?,
        _ => return Err(Errno::Inval),
    };
    let new = origin.checked_add(offset).ok_or(Errno::Inval)?;
    let new = u64::try_from(new).map_err(|_| Errno::Inval)?;
    *pos = new;
    mem.write_u64(newoffset, new)
}

/// `fd_tell(fd) -> offset`.
/// Errors: `EBADF`; `ESPIPE` a stream; `EBADF` a directory; `ENOTCAPABLE` the `fd_tell` right dropped.
pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, fd: u32, offset: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    match &d.kind {
        Kind::File { pos, .. } => {
            d.require(rights::FD_TELL)?;
            mem.write_u64(offset, *pos)
        }
        Kind::Dir { .. } => Err(Errno::Badf),
        _ => Err(Errno::Spipe),
    }
}
