//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: TCP sockets the embedder preopened
//! with [`crate::WasiCtxBuilder::preopen_socket`] and the connections accepted from them.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use rustix::event::PollFlags;

use crate::WasiCtx;
use crate::fdtable::{Descriptor, Kind};
use crate::p1::abi::memory::{GuestMemory, Iovecs};
use crate::p1::abi::types::{fdflags, riflags, rights, sdflags};
use crate::p1::blocking;
use crate::p1::fd::{call_iovecs, with_io_slices_from};
use crate::vfs::Errno;
use crate::wait::{Blocked, Plan, ready_now};

/// `sock_accept(fd, flags) -> fd`: accepts a connection; `NONBLOCK` makes the new descriptor
/// non-blocking. A non-blocking listener with no pending connection answers `EAGAIN`; a blocking
/// one waits (interruptibly) until a connection arrives.
/// Errors: `EBADF`; `ENOTSOCK`; `EINVAL` not a listener or flags other than `NONBLOCK`;
/// `ENOTCAPABLE`; `EFAULT`; the host's.
pub fn sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    opened: u32,
) -> Result<(), Errno> {
    blocking(ctx, |ctx| try_sock_accept(ctx, mem, fd, flags, opened, &mut 0))
}

/// [`sock_accept`] as one attempt: what it waits for when a blocking listener has no connection.
pub(crate) fn try_sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    opened: u32,
    _: &mut u64,
) -> Result<(), Blocked> {
    mem.check(opened, 4)?;
    let d = ctx.fds.get(fd)?;
    let listener = match &d.kind {
        Kind::Listener(l) => l,
        Kind::Stream(_) => return Err(Errno::Inval.into()),
        _ => return Err(Errno::Notsock.into()),
    };
    d.require(rights::SOCK_ACCEPT)?;
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !fdflags::NONBLOCK != 0 {
        return Err(Errno::Inval.into());
    }
    // The listener's own blocking mode is its embedder's: a connection is accepted only once
    // one is there, and the guest's mode decides between waiting and EAGAIN.
    if !ready_now(&**listener, PollFlags::IN) {
        if d.flags & fdflags::NONBLOCK != 0 {
            return Err(Errno::Again.into());
        }
        return Err(Blocked::Wait(Plan::fd(listener.clone(), PollFlags::IN)));
    }
    let (stream, _) = listener.accept().map_err(Errno::from)?;
    // Every accepted socket is non-blocking on the host; a blocking guest descriptor waits in
    // hammertime (interruptibly, or as a future in async linking).
    stream.set_nonblocking(true).map_err(Errno::from)?;
    let new = Descriptor::new(Kind::Stream(Arc::new(stream)), rights::SOCKET & !rights::SOCK_ACCEPT, 0, flags);
    let new_fd = ctx.fds.insert(new)?;
    mem.write_u32(opened, new_fd).map_err(Blocked::from)
}

/// Reads from `stream` into the buffers of `list` after the first `done` bytes (those an
/// earlier attempt of the same call read), counting in `done`. One read, or with `waitall`
/// until the buffers are full or the peer closes; with `peek`, what is queued (up to 64 KiB),
/// left queued. A blocking socket with nothing (more) yet answers what it waits for; a
/// non-blocking one `EAGAIN` (or what was read).
pub(crate) fn recv_into(
    stream: &Arc<TcpStream>,
    blocking: bool,
    mem: &mut GuestMemory<'_>,
    list: &Iovecs,
    (waitall, peek): (bool, bool),
    done: &mut u64,
) -> Result<(), Blocked> {
    let would_block = |done: u64| {
        if blocking && !list.is_empty() {
            Err(Blocked::Wait(Plan::fd(stream.clone(), PollFlags::IN)))
        } else if done == 0 {
            Err(Blocked::Errno(Errno::Again))
        } else {
            Ok(())
        }
    };
    let mut sock: &TcpStream = stream;
    if peek {
        // One peek into a bounded buffer, then spread over the buffers as readv would.
        let want = list.total().min(PEEK_MAX) as usize;
        let mut buf = vec![0u8; want];
        let n = match sock.peek(&mut buf) {
            _ if want == 0 => 0,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return would_block(0),
            Err(e) => return Err(Errno::from(e).into()),
        };
        let mut rest = buf.get(..n).unwrap_or_default();
        let mut bufs = list.iter();
        while let Some((ptr, len)) = bufs.next(mem) {
            let take = rest.len().min(len as usize);
            let (now, later) = rest.split_at(take);
            mem.write_bytes(ptr, now)?;
            rest = later;
        }
        *done = n as u64;
        return Ok(());
    }
    let mut skip = *done;
    let mut bufs = list.iter();
    while let Some((buf, len)) = bufs.next(mem) {
        let (buf, len) = match skip.checked_sub(u64::from(len)) {
            Some(left) => {
                skip = left;
                continue;
            }
            // `skip < len` here.
            None => (buf + skip as u32, (len - skip as u32) as usize),
        };
        skip = 0;
        let dst = mem.slice_mut(buf, len as u32)?;
        let mut filled = 0;
        while filled < len {
            match sock.read(&mut dst[filled..]) {
                // The peer's end: what was read.
                Ok(0) => break,
                Ok(n) => filled += n.min(len - filled),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    *done += filled as u64;
                    return if waitall || *done == 0 { would_block(*done) } else { Ok(()) };
                }
                Err(_) if *done + (filled as u64) > 0 => break,
                Err(e) => return Err(Errno::from(e).into()),
            }
            // One read per call unless the guest asked to wait for everything: a socket returns
            // what has arrived.
            if !waitall {
                break;
            }
        }
        *done += filled as u64;
        if filled < len || !waitall {
            return Ok(());
        }
    }
    Ok(())
}

/// Writes the buffers of `list` after the first `done` bytes to `stream`, counting in `done`:
/// a blocking socket writes them all, waiting while the connection takes nothing; a
/// non-blocking one what it takes now (`EAGAIN` when nothing).
pub(crate) fn send_from(
    stream: &Arc<TcpStream>,
    blocking: bool,
    mem: &GuestMemory<'_>,
    list: &Iovecs,
    done: &mut u64,
) -> Result<(), Blocked> {
    let mut sock: &TcpStream = stream;
    while *done < list.total() {
        let skip = *done;
        let written = with_io_slices_from(mem, list, skip, |bufs| {
            loop {
                match sock.write_vectored(bufs) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            }
        })?;
        match written {
            Ok(n) => *done += (n as u64).min(list.total() - skip),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return match (blocking, *done) {
                    (true, _) => Err(Blocked::Wait(Plan::fd(stream.clone(), PollFlags::OUT))),
                    (false, 0) => Err(Errno::Again.into()),
                    (false, _) => Ok(()),
                };
            }
            Err(_) if *done > 0 => return Ok(()),
            Err(e) => return Err(Errno::from(e).into()),
        }
        if !blocking {
            return Ok(());
        }
    }
    Ok(())
}

/// `sock_recv(fd, ri_data, ri_flags) -> (ro_datalen, ro_flags)`. `RECV_PEEK` copies what is
/// queued (up to 64 KiB, spread over the buffers in order) and leaves it queued; `RECV_WAITALL`
/// waits until every buffer is full or the peer closes (with `RECV_PEEK`, it returns what is
/// queued). A blocking socket waits interruptibly.
/// Errors: `EBADF`; `ENOTSOCK`; `ENOTCONN` a listener; `EINVAL` unknown flags, or more iovecs
/// than [`Limits::iovecs`](crate::Limits::iovecs); `ENOTCAPABLE`; `EAGAIN` non-blocking and
/// nothing queued; `EFAULT`.
#[allow(clippy::too_many_arguments)]
pub fn sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    let mut done = 0;
    blocking(ctx, |ctx| try_sock_recv(ctx, mem, fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags, &mut done))
}

/// [`sock_recv`] as one attempt, after `done` bytes earlier attempts of the call read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
    done: &mut u64,
) -> Result<(), Blocked> {
    mem.check(ro_datalen, 4)?;
    mem.check(ro_flags, 2)?;
    let (stream, blocking) = socket(ctx, fd, rights::FD_READ)?;
    let flags = u16::try_from(ri_flags).map_err(|_| Errno::Inval)?;
    if flags & !(riflags::RECV_PEEK | riflags::RECV_WAITALL) != 0 {
        return Err(Errno::Inval.into());
    }
    let list = call_iovecs(&ctx.limits, mem, ri_data, ri_data_len)?;
    let modes = (flags & riflags::RECV_WAITALL != 0, flags & riflags::RECV_PEEK != 0);
    recv_into(&stream, blocking, mem, &list, modes, done)?;
    mem.write_u32(ro_datalen, u32::try_from(*done).unwrap_or(u32::MAX))?;
    mem.write_u16(ro_flags, 0).map_err(Blocked::from)
}

/// The connected socket `fd` and whether it blocks, checking the `right` the call needs.
fn socket(ctx: &WasiCtx, fd: u32, right: u64) -> Result<(Arc<TcpStream>, bool), Errno> {
    let d = ctx.fds.get(fd)?;
    let stream = match &d.kind {
        Kind::Stream(s) => s.clone(),
        Kind::Listener(_) => return Err(Errno::Notconn),
        _ => return Err(Errno::Notsock),
    };
    d.require(right)?;
    Ok((stream, d.flags & fdflags::NONBLOCK == 0))
}

/// The most bytes one `sock_recv` with `RECV_PEEK` copies.
const PEEK_MAX: u64 = 64 << 10;

/// `sock_send(fd, si_data, si_flags) -> so_datalen`. A blocking socket writes every byte,
/// waiting (interruptibly) while the connection takes none; a non-blocking one what it takes.
/// Errors: `EBADF`; `ENOTSOCK`; `ENOTCONN` a listener; `EINVAL` non-zero flags, or more iovecs
/// than [`Limits::iovecs`](crate::Limits::iovecs); `ENOTCAPABLE`; `EPIPE` the peer closed;
/// `EAGAIN`; `EFAULT`.
pub fn sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    let mut done = 0;
    blocking(ctx, |ctx| try_sock_send(ctx, mem, fd, si_data, si_data_len, si_flags, so_datalen, &mut done))
}

/// [`sock_send`] as one attempt, after `done` bytes earlier attempts of the call wrote.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    si_flags: u32,
    so_datalen: u32,
    done: &mut u64,
) -> Result<(), Blocked> {
    mem.check(so_datalen, 4)?;
    let (stream, blocking) = socket(ctx, fd, rights::FD_WRITE)?;
    if si_flags != 0 {
        return Err(Errno::Inval.into());
    }
    let list = call_iovecs(&ctx.limits, mem, si_data, si_data_len)?;
    send_from(&stream, blocking, mem, &list, done)?;
    mem.write_u32(so_datalen, u32::try_from(*done).unwrap_or(u32::MAX)).map_err(Blocked::from)
}

/// `sock_shutdown(fd, how)`: shuts down reading (`RD`), writing (`WR`) or both.
/// Errors: `EBADF`; `ENOTSOCK`; `EINVAL` `how` is empty or has unknown bits; `ENOTCONN` a
/// listener or an unconnected socket; `ENOTCAPABLE`.
pub fn sock_shutdown(ctx: &mut WasiCtx, fd: u32, how: u32) -> Result<(), Errno> {
    let d = ctx.fds.get(fd)?;
    let stream = match &d.kind {
        Kind::Stream(s) => Some(s),
        Kind::Listener(_) => None,
        _ => return Err(Errno::Notsock),
    };
    let how = u8::try_from(how).map_err(|_| Errno::Inval)?;
    let mode = match how {
        sdflags::RD => Shutdown::Read,
        sdflags::WR => Shutdown::Write,
        x if x == sdflags::RD | sdflags::WR => Shutdown::Both,
        _ => return Err(Errno::Inval),
    };
    d.require(rights::SOCK_SHUTDOWN)?;
    match stream {
        Some(s) => s.shutdown(mode).map_err(Errno::from),
        None => Err(Errno::Notconn),
    }
}
