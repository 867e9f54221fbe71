//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: TCP sockets the embedder preopened
//! with [`crate::WasiCtxBuilder::preopen_socket`] and the connections accepted from them.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;

use crate::WasiCtx;
use crate::fdtable::{Descriptor, Kind};
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::{fdflags, riflags, rights, sdflags};
use crate::p1::fd::{call_iovecs, with_io_slices};
use crate::vfs::Errno;
use crate::wait::unwind;

/// `sock_accept(fd, flags) -> fd`: accepts a connection; `NONBLOCK` makes the new descriptor
/// non-blocking. A non-blocking listener with no pending connection answers `EAGAIN`.
/// Errors: `EBADF`; `ENOTSOCK`; `EINVAL` not a listener or flags other than `NONBLOCK`;
/// `ENOTCAPABLE`; `EFAULT`; the host's.
pub fn sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    opened: u32,
) -> Result<(), Errno> {
    mem.check(opened, 4)?;
    let d = ctx.fds.get(fd)?;
    let listener = match &d.kind {
        Kind::Listener(l) => l,
        Kind::Stream(_) => return Err(Errno::Inval),
        _ => return Err(Errno::Notsock),
    };
    d.require(rights::SOCK_ACCEPT)?;
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !fdflags::NONBLOCK != 0 {
        return Err(Errno::Inval);
    }
    // A blocking listener waits here, interruptibly, rather than in accept(2) (when anybody can
    // interrupt: else accept(2) blocks as it would anyway).
    if ctx.interrupt.shared()
        && rustix::fs::fcntl_getfl(listener).is_ok_and(|f| !f.contains(rustix::fs::OFlags::NONBLOCK))
    {
        ctx.interrupt.wait_readable(listener.as_fd()).map_err(|i| unwind(&mut ctx.pending_interrupt, i))?;
    }
    let (stream, _) = listener.accept().map_err(Errno::from)?;
    stream.set_nonblocking(flags & fdflags::NONBLOCK != 0).map_err(Errno::from)?;
    let new = Descriptor::new(Kind::Stream(stream), rights::SOCKET & !rights::SOCK_ACCEPT, 0, flags);
    let new_fd = ctx.fds.insert(new)?;
    mem.write_u32(opened, new_fd)
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
    mem.check(ro_datalen, 4)?;
    mem.check(ro_flags, 2)?;
    let d = ctx.fds.get_mut(fd)?;
    let stream = match &mut d.kind {
        Kind::Stream(s) => s,
        Kind::Listener(_) => return Err(Errno::Notconn),
        _ => return Err(Errno::Notsock),
    };
    if d.dropped & rights::FD_READ != 0 {
        return Err(Errno::Notcapable);
    }
    let flags = u16::try_from(ri_flags).map_err(|_| Errno::Inval)?;
    if flags & !(riflags::RECV_PEEK | riflags::RECV_WAITALL) != 0 {
        return Err(Errno::Inval);
    }
    let list = call_iovecs(&ctx.limits, mem, ri_data, ri_data_len)?;
    if d.flags & fdflags::NONBLOCK == 0 && !list.is_empty() {
        ctx.interrupt.wait_readable(stream.as_fd()).map_err(|i| unwind(&mut ctx.pending_interrupt, i))?;
    }
    let total = if flags & riflags::RECV_PEEK != 0 {
        // One peek into a bounded buffer, then spread over the buffers as readv would.
        let want = list.total().min(PEEK_MAX) as usize;
        let buf = crate::p2::io::scratch(&mut ctx.scratch, want);
        let n = if want == 0 { 0 } else { stream.peek(buf).map_err(Errno::from)? };
        let mut rest = buf.get(..n).unwrap_or_default();
        let mut bufs = list.iter();
        while let Some((ptr, len)) = bufs.next(mem) {
            let take = rest.len().min(len as usize);
            let (now, later) = rest.split_at(take);
            mem.write_bytes(ptr, now)?;
            rest = later;
        }
        n as u64
    } else {
        let mut total = 0u64;
        let mut bufs = list.iter();
        while let Some((buf, len)) = bufs.next(mem) {
            let dst = mem.slice_mut(buf, len)?;
            let n = if flags & riflags::RECV_WAITALL != 0 {
                let mut got = 0;
                while got < dst.len() {
                    match stream.read(&mut dst[got..]) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if got == 0 && total == 0 => return Err(Errno::from(e)),
                        Err(_) => break,
                    }
                }
                got
            } else {
                match stream.read(dst) {
                    Ok(n) => n,
                    Err(e) if total == 0 => return Err(Errno::from(e)),
                    Err(_) => break,
                }
            };
            total += n as u64;
            // One read per call unless the guest asked to wait for everything: a socket returns
            // what has arrived.
            if n < len as usize || flags & riflags::RECV_WAITALL == 0 {
                break;
            }
        }
        total
    };
    mem.write_u32(ro_datalen, u32::try_from(total).unwrap_or(u32::MAX))?;
    mem.write_u16(ro_flags, 0)
}

/// The most bytes one `sock_recv` with `RECV_PEEK` copies.
const PEEK_MAX: u64 = 64 << 10;

/// `sock_send(fd, si_data, si_flags) -> so_datalen`.
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
    mem.check(so_datalen, 4)?;
    let d = ctx.fds.get_mut(fd)?;
    let stream = match &mut d.kind {
        Kind::Stream(s) => s,
        Kind::Listener(_) => return Err(Errno::Notconn),
        _ => return Err(Errno::Notsock),
    };
    if d.dropped & rights::FD_WRITE != 0 {
        return Err(Errno::Notcapable);
    }
    if si_flags != 0 {
        return Err(Errno::Inval);
    }
    let list = call_iovecs(&ctx.limits, mem, si_data, si_data_len)?;
    let n = with_io_slices(mem, &list, |bufs| {
        loop {
            match stream.write_vectored(bufs) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        }
    })?;
    let total = match n {
        Ok(n) => n as u64,
        Err(e) => return Err(Errno::from(e)),
    };
    mem.write_u32(so_datalen, u32::try_from(total).unwrap_or(u32::MAX))
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
