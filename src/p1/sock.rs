//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`: TCP sockets the embedder preopened
//! with [`crate::WasiCtxBuilder::preopen_socket`] and the connections accepted from them.

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::WasiCtx;
use crate::fdtable::{Descriptor, Kind};
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::{fdflags, riflags, rights, sdflags};
use crate::vfs::Errno;

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
    let (stream, _) = listener.accept().map_err(Errno::from)?;
    stream.set_nonblocking(flags & fdflags::NONBLOCK != 0).map_err(Errno::from)?;
    let new =
        Descriptor { kind: Kind::Stream(stream), base: rights::SOCKET & !rights::SOCK_ACCEPT, inheriting: 0, flags };
    let new_fd = ctx.fds.insert(new)?;
    mem.write_u32(opened, new_fd)
}

/// `sock_recv(fd, ri_data, ri_flags) -> (ro_datalen, ro_flags)`. `RECV_PEEK` leaves the data
/// queued; `RECV_WAITALL` waits until every buffer is full or the peer closes.
/// Errors: `EBADF`; `ENOTSOCK`; `ENOTCONN` a listener; `EINVAL` unknown flags; `ENOTCAPABLE`;
/// `EAGAIN` non-blocking and nothing queued; `EFAULT`.
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
    mem.check_iovecs(ri_data, ri_data_len)?;
    let d = ctx.fds.get_mut(fd)?;
    let stream = match &mut d.kind {
        Kind::Stream(s) => s,
        Kind::Listener(_) => return Err(Errno::Notconn),
        _ => return Err(Errno::Notsock),
    };
    if d.base & rights::FD_READ == 0 {
        return Err(Errno::Notcapable);
    }
    let flags = u16::try_from(ri_flags).map_err(|_| Errno::Inval)?;
    if flags & !(riflags::RECV_PEEK | riflags::RECV_WAITALL) != 0 {
        return Err(Errno::Inval);
    }
    let mut total = 0u64;
    for i in 0..ri_data_len {
        let (buf, len) = mem.iovec(ri_data, i)?;
        if len == 0 {
            continue;
        }
        let dst = mem.slice_mut(buf, len)?;
        let n = if flags & riflags::RECV_PEEK != 0 {
            stream.peek(dst).map_err(Errno::from)?
        } else if flags & riflags::RECV_WAITALL != 0 {
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
    mem.write_u32(ro_datalen, u32::try_from(total).unwrap_or(u32::MAX))?;
    mem.write_u16(ro_flags, 0)
}

/// `sock_send(fd, si_data, si_flags) -> so_datalen`.
/// Errors: `EBADF`; `ENOTSOCK`; `ENOTCONN` a listener; `EINVAL` non-zero flags;
/// `ENOTCAPABLE`; `EPIPE` the peer closed; `EAGAIN`; `EFAULT`.
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
    mem.check_iovecs(si_data, si_data_len)?;
    let d = ctx.fds.get_mut(fd)?;
    let stream = match &mut d.kind {
        Kind::Stream(s) => s,
        Kind::Listener(_) => return Err(Errno::Notconn),
        _ => return Err(Errno::Notsock),
    };
    if d.base & rights::FD_WRITE == 0 {
        return Err(Errno::Notcapable);
    }
    if si_flags != 0 {
        return Err(Errno::Inval);
    }
    let mut total = 0u64;
    for i in 0..si_data_len {
        let (buf, len) = mem.iovec(si_data, i)?;
        let src = mem.slice(buf, len)?;
        if src.is_empty() {
            continue;
        }
        match stream.write(src) {
            Ok(n) => {
                total += n as u64;
                if n < src.len() {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(Errno::from(e)),
            Err(_) => break,
        }
    }
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
