//! `wasi:sockets/types.udp-socket@0.3.0`.
//!
//! - `bind` checks the state (`invalid-state` once bound), the address (`invalid-argument`:
//!   another family, an IPv4-mapped IPv6 address) and the policy (`access-denied`) before the
//!   system call; UDP sockets never get `SO_REUSEADDR`, so a bound port is `address-in-use`.
//! - `connect` checks the address (`invalid-argument` for the unspecified address and port 0
//!   too) and the policy (`UdpSend`); the kernel binds an unbound socket to the route's source
//!   address. A connected socket may connect again; `disconnect` of an unconnected one is
//!   `invalid-state`.
//! - `send` checks, before anything reaches the network: a datagram of more than 65,535 bytes is
//!   `datagram-too-large`; an address must be valid, allowed, and (on a connected socket) the
//!   connected one (`invalid-argument`); no address on an unconnected socket is
//!   `invalid-argument`. It waits while the kernel has no room.
//! - `receive` of an unbound socket is `invalid-state`; otherwise it waits for a datagram (at
//!   most 65,535 bytes) and answers it with its sender.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{RecvFlags, SendFlags};
use wasmtime::component::{Accessor, Resource};

use super::super::HasWasi;
use super::super::bindings::wasi::sockets::types::{self, IpAddressFamily, IpSocketAddress};
use super::{SocketResult, from_std, is_v6, local_address, ready, to_std};
use crate::WasiCtx;
use crate::net::SocketUse;
use crate::sockets::{
    Slot, SockErr, buffer_size, check_family, check_remote, host_addr, new_socket, same_addr, set_buffer_size,
    set_hop_limit,
};

/// The largest datagram a UDP socket sends or receives.
const MAX_DATAGRAM: usize = 65535;

/// A `wasi:sockets/types.udp-socket` (WASI 0.3): a non-blocking host UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    fd: Arc<OwnedFd>,
    v6: bool,
    /// The address `connect` gave, until `disconnect`.
    remote: Option<SocketAddr>,
    /// `disconnect` may leave a kernel-bound socket with no local address: it stays bound.
    was_bound: bool,
    _slot: Slot,
}

impl UdpSocket {
    /// Bound explicitly, or by the kernel (a connect or a send binds implicitly).
    fn bound(&self) -> bool {
        self.was_bound || local_address(&self.fd).is_ok_and(|a| a.port() != 0)
    }
}

impl WasiCtx {
    fn udp3(&mut self, s: &Resource<UdpSocket>) -> SocketResult<&mut UdpSocket> {
        Ok(self.table.get_mut(s)?)
    }
}

impl types::HostUdpSocket for WasiCtx {
    /// `access-denied` unless the policy grants UDP some use.
    fn create(&mut self, family: IpAddressFamily) -> SocketResult<Resource<UdpSocket>> {
        if !self.net.policy.allows_protocol(false) {
            return Err(SockErr::AccessDenied.into());
        }
        let v6 = is_v6(family);
        let (fd, slot) = new_socket(&self.net, v6, false)?;
        Ok(self.table.push(UdpSocket { fd: Arc::new(fd), v6, remote: None, was_bound: false, _slot: slot })?)
    }

    fn bind(&mut self, s: Resource<UdpSocket>, local: IpSocketAddress) -> SocketResult<()> {
        let addr = to_std(local);
        let allowed = self.net.policy.allows(addr, SocketUse::UdpBind);
        let sock = self.udp3(&s)?;
        if sock.bound() {
            return Err(SockErr::InvalidState.into());
        }
        check_family(sock.v6, addr)?;
        if !allowed {
            return Err(SockErr::AccessDenied.into());
        }
        rustix::net::bind(&*sock.fd, &addr).map_err(|e| match e {
            HostErrno::AFNOSUPPORT => SockErr::InvalidArgument,
            e => SockErr::of_host(e),
        })?;
        sock.was_bound = true;
        Ok(())
    }

    fn connect(&mut self, s: Resource<UdpSocket>, remote: IpSocketAddress) -> SocketResult<()> {
        let addr = to_std(remote);
        let allowed = self.net.policy.allows(addr, SocketUse::UdpSend);
        let sock = self.udp3(&s)?;
        check_remote(sock.v6, addr)?;
        if !allowed {
            return Err(SockErr::AccessDenied.into());
        }
        let connect = |fd: &OwnedFd| {
            rustix::net::connect(fd, &addr).map_err(|e| match e {
                HostErrno::AFNOSUPPORT => SockErr::InvalidArgument,
                e => SockErr::of_host(e),
            })
        };
        let result = match connect(&sock.fd) {
            // Linux refuses some reconnects: disconnect first, then connect.
            Err(SockErr::InvalidArgument) if sock.remote.is_some() => {
                let _ = rustix::net::connect_unspec(&*sock.fd);
                connect(&sock.fd)
            }
            other => other,
        };
        sock.remote = match rustix::net::getpeername(&*sock.fd) {
            Ok(Some(a)) => host_addr(a).ok(),
            _ => None,
        };
        Ok(result?)
    }

    fn disconnect(&mut self, s: Resource<UdpSocket>) -> SocketResult<()> {
        let sock = self.udp3(&s)?;
        if sock.remote.is_none() {
            return Err(SockErr::InvalidState.into());
        }
        sock.was_bound = true;
        rustix::net::connect_unspec(&*sock.fd)?;
        sock.remote = None;
        Ok(())
    }

    fn get_local_address(&mut self, s: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.udp3(&s)?;
        if !sock.bound() {
            return Err(SockErr::InvalidState.into());
        }
        Ok(from_std(local_address(&sock.fd)?))
    }

    fn get_remote_address(&mut self, s: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        match self.udp3(&s)?.remote {
            Some(a) => Ok(from_std(a)),
            None => Err(SockErr::InvalidState.into()),
        }
    }

    fn get_address_family(&mut self, s: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(if self.table.get(&s)?.v6 { IpAddressFamily::Ipv6 } else { IpAddressFamily::Ipv4 })
    }

    fn get_unicast_hop_limit(&mut self, s: Resource<UdpSocket>) -> SocketResult<u8> {
        let sock = self.udp3(&s)?;
        Ok(crate::sockets::hop_limit(&sock.fd, sock.v6)?)
    }

    fn set_unicast_hop_limit(&mut self, s: Resource<UdpSocket>, value: u8) -> SocketResult<()> {
        let sock = self.udp3(&s)?;
        Ok(set_hop_limit(&sock.fd, sock.v6, value)?)
    }

    fn get_receive_buffer_size(&mut self, s: Resource<UdpSocket>) -> SocketResult<u64> {
        Ok(buffer_size(&self.udp3(&s)?.fd, true)?)
    }

    fn set_receive_buffer_size(&mut self, s: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        Ok(set_buffer_size(&self.udp3(&s)?.fd, true, value)?)
    }

    fn get_send_buffer_size(&mut self, s: Resource<UdpSocket>) -> SocketResult<u64> {
        Ok(buffer_size(&self.udp3(&s)?.fd, false)?)
    }

    fn set_send_buffer_size(&mut self, s: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        Ok(set_buffer_size(&self.udp3(&s)?.fd, false, value)?)
    }

    fn drop(&mut self, s: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl<T: Send + 'static> types::HostUdpSocketWithStore<T> for HasWasi {
    async fn send(
        accessor: &Accessor<T, Self>,
        s: Resource<UdpSocket>,
        data: Vec<u8>,
        remote: Option<IpSocketAddress>,
    ) -> SocketResult<()> {
        let to = remote.map(to_std);
        let (fd, to, interrupt) = accessor.with(|mut access| -> SocketResult<_> {
            let ctx: &mut WasiCtx = access.get();
            let allowed = to.is_none_or(|to| ctx.net.policy.allows(to, SocketUse::UdpSend));
            let interrupt = ctx.interrupt.clone();
            let sock = ctx.udp3(&s)?;
            if data.len() > MAX_DATAGRAM {
                return Err(SockErr::DatagramTooLarge.into());
            }
            let to = match (to, sock.remote) {
                (Some(to), connected) => {
                    check_remote(sock.v6, to)?;
                    if connected.is_some_and(|c| !same_addr(c, to)) {
                        return Err(SockErr::InvalidArgument.into());
                    }
                    if !allowed {
                        return Err(SockErr::AccessDenied.into());
                    }
                    // To the connected address: a plain send.
                    if connected.is_some() { None } else { Some(to) }
                }
                (None, Some(_)) => None,
                (None, None) => return Err(SockErr::InvalidArgument.into()),
            };
            Ok((sock.fd.clone(), to, interrupt))
        })?;
        loop {
            let sent = match to {
                Some(to) => rustix::net::sendto(&*fd, &data, SendFlags::DONTWAIT | SendFlags::NOSIGNAL, &to),
                None => rustix::net::send(&*fd, &data, SendFlags::DONTWAIT | SendFlags::NOSIGNAL),
            };
            match sent {
                Ok(_) => return Ok(()),
                Err(HostErrno::AGAIN | HostErrno::INTR) => ready(&interrupt, &fd, PollFlags::OUT).await?,
                Err(HostErrno::DESTADDRREQ) => return Err(SockErr::InvalidState.into()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn receive(accessor: &Accessor<T, Self>, s: Resource<UdpSocket>) -> SocketResult<(Vec<u8>, IpSocketAddress)> {
        let (fd, interrupt) = accessor.with(|mut access| -> SocketResult<_> {
            let ctx: &mut WasiCtx = access.get();
            let interrupt = ctx.interrupt.clone();
            let sock = ctx.udp3(&s)?;
            if !sock.bound() {
                return Err(SockErr::InvalidState.into());
            }
            Ok((sock.fd.clone(), interrupt))
        })?;
        let mut buf = vec![0; MAX_DATAGRAM];
        loop {
            match rustix::net::recvfrom(&*fd, &mut buf, RecvFlags::DONTWAIT) {
                Ok((n, _, from)) => {
                    let Some(from) = from.and_then(|a| host_addr(a).ok()) else { continue };
                    buf.truncate(n.min(MAX_DATAGRAM));
                    return Ok((buf, from_std(from)));
                }
                Err(HostErrno::AGAIN | HostErrno::INTR) => ready(&interrupt, &fd, PollFlags::IN).await?,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
