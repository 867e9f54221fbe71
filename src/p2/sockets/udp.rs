//! `wasi:sockets/udp` and `wasi:sockets/udp-create-socket`.
//!
//! A UDP socket is `unbound` → (`start-bind`) `bind-in-progress` → (`finish-bind`) `bound`;
//! `stream` (on a bound socket only, as the WIT asks) gives a pair of datagram streams, bound
//! to a remote address or not. Calling `stream` again makes the earlier pair stale: their
//! methods answer `invalid-state`.
//!
//! - `receive` takes at most [`MAX_RECEIVE`] datagrams per call (each up to 64 KiB).
//! - `check-send` grants [`MAX_SEND`] datagrams when the socket is writable, 0 otherwise.
//! - The policy's `udp-send` grant is checked by `stream` for its remote address and by `send`
//!   for each datagram's address.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{RecvFlags, SendFlags, SocketType};
use wasmtime::component::Resource;

use super::{
    SocketPollable, SocketResult, buffer_size, check_local, check_remote, err, from_std, hop_limit, host_addr,
    host_code, new_socket, same_addr, set_buffer_size, set_hop_limit, to_std,
};
use crate::WasiCtx;
use crate::net::{NetworkPolicy, SocketUse};
use crate::p2::bindings::wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress};
use crate::p2::bindings::wasi::sockets::udp::{IncomingDatagram, OutgoingDatagram};
use crate::p2::bindings::wasi::sockets::{udp, udp_create_socket};
use crate::p2::io::Pollable;
use crate::p2::sockets::network::Network;
use crate::sockets::Slot;

/// The most datagrams one `receive` returns.
pub const MAX_RECEIVE: u64 = 16;

/// The datagrams `check-send` grants when the socket is writable.
pub const MAX_SEND: u64 = 16;

/// Room for the largest UDP payload.
const DATAGRAM_MAX: usize = 65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unbound,
    BindStarted,
    Bound,
    /// Bound and associated with a remote address (`stream(some(..))`).
    Connected,
}

/// A `wasi:sockets/udp.udp-socket`: a non-blocking host UDP socket and its WASI state.
#[derive(Debug)]
pub struct UdpSocket {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    state: State,
    /// The generation of the streams last returned by `stream`.
    generation: Arc<AtomicU64>,
    _slot: Slot,
}

/// A `wasi:sockets/udp.incoming-datagram-stream`.
#[derive(Debug)]
pub struct IncomingDatagramStream {
    fd: Arc<OwnedFd>,
    remote: Option<SocketAddr>,
    generation: u64,
    current: Arc<AtomicU64>,
}

/// A `wasi:sockets/udp.outgoing-datagram-stream`.
#[derive(Debug)]
pub struct OutgoingDatagramStream {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    remote: Option<SocketAddr>,
    generation: u64,
    current: Arc<AtomicU64>,
    /// What the last `check-send` granted and `send` has not used.
    permit: u64,
}

fn stale(generation: u64, current: &AtomicU64) -> SocketResult<()> {
    if generation == current.load(Ordering::Acquire) { Ok(()) } else { err(ErrorCode::InvalidState) }
}

/// The error code of a failed send or receive: a reset is the remote being unreachable.
fn datagram_code(e: HostErrno) -> ErrorCode {
    match e {
        HostErrno::CONNRESET | HostErrno::NETRESET | HostErrno::PIPE => ErrorCode::RemoteUnreachable,
        HostErrno::DESTADDRREQ | HostErrno::ISCONN | HostErrno::AFNOSUPPORT => ErrorCode::InvalidArgument,
        e => host_code(e),
    }
}

impl WasiCtx {
    fn udp(&mut self, s: &Resource<UdpSocket>) -> SocketResult<&mut UdpSocket> {
        Ok(self.table.get_mut(s)?)
    }
}

impl udp_create_socket::Host for WasiCtx {
    /// Answers `access-denied` unless the policy grants UDP some use.
    fn create_udp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<UdpSocket>> {
        if !self.net.policy.allows_protocol(false) {
            return err(ErrorCode::AccessDenied);
        }
        let (fd, slot) = new_socket(self, family, SocketType::DGRAM)?;
        let sock = UdpSocket {
            fd: Arc::new(fd),
            family,
            state: State::Unbound,
            generation: Arc::new(AtomicU64::new(0)),
            _slot: slot,
        };
        Ok(self.table.push(sock)?)
    }
}

impl udp::Host for WasiCtx {}

impl udp::HostUdpSocket for WasiCtx {
    fn start_bind(
        &mut self,
        s: Resource<UdpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let addr = to_std(local);
        let allowed = self.net.policy.allows(addr, SocketUse::UdpBind);
        let sock = self.udp(&s)?;
        match sock.state {
            State::Unbound => {}
            State::BindStarted => return err(ErrorCode::ConcurrencyConflict),
            State::Bound | State::Connected => return err(ErrorCode::InvalidState),
        }
        check_local(sock.family, addr)?;
        if !allowed {
            return err(ErrorCode::AccessDenied);
        }
        rustix::net::bind(&*sock.fd, &addr).map_err(|e| match e {
            HostErrno::AFNOSUPPORT => ErrorCode::InvalidArgument,
            e => host_code(e),
        })?;
        sock.state = State::BindStarted;
        Ok(())
    }

    fn finish_bind(&mut self, s: Resource<UdpSocket>) -> SocketResult<()> {
        let sock = self.udp(&s)?;
        if sock.state != State::BindStarted {
            return err(ErrorCode::NotInProgress);
        }
        sock.state = State::Bound;
        Ok(())
    }

    fn stream(
        &mut self,
        s: Resource<UdpSocket>,
        remote: Option<IpSocketAddress>,
    ) -> SocketResult<(Resource<IncomingDatagramStream>, Resource<OutgoingDatagramStream>)> {
        let remote = remote.map(to_std);
        let allowed = remote.is_none_or(|r| self.net.policy.allows(r, SocketUse::UdpSend));
        let sock = self.udp(&s)?;
        if !matches!(sock.state, State::Bound | State::Connected) {
            return err(ErrorCode::InvalidState);
        }
        if let Some(r) = remote {
            check_remote(sock.family, r)?;
            if !allowed {
                return err(ErrorCode::AccessDenied);
            }
        }
        if sock.state == State::Connected {
            rustix::net::connect_unspec(&*sock.fd).map_err(datagram_code)?;
            sock.state = State::Bound;
        }
        if let Some(r) = remote {
            rustix::net::connect(&*sock.fd, &r).map_err(|e| match e {
                HostErrno::ADDRNOTAVAIL => ErrorCode::InvalidArgument,
                e => datagram_code(e),
            })?;
            sock.state = State::Connected;
        }
        let generation = sock.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let incoming =
            IncomingDatagramStream { fd: sock.fd.clone(), remote, generation, current: sock.generation.clone() };
        let outgoing = OutgoingDatagramStream {
            fd: sock.fd.clone(),
            family: sock.family,
            remote,
            generation,
            current: sock.generation.clone(),
            permit: 0,
        };
        let incoming = self.table.push_child(incoming, &s)?;
        let outgoing = self.table.push_child(outgoing, &s)?;
        Ok((incoming, outgoing))
    }

    fn local_address(&mut self, s: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.udp(&s)?;
        if !matches!(sock.state, State::Bound | State::Connected) {
            return err(ErrorCode::InvalidState);
        }
        Ok(from_std(host_addr(rustix::net::getsockname(&*sock.fd)?)?))
    }

    fn remote_address(&mut self, s: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.udp(&s)?;
        if sock.state != State::Connected {
            return err(ErrorCode::InvalidState);
        }
        match rustix::net::getpeername(&*sock.fd) {
            Ok(Some(a)) => Ok(from_std(host_addr(a)?)),
            Ok(None) | Err(HostErrno::NOTCONN) => err(ErrorCode::InvalidState),
            Err(e) => Err(e.into()),
        }
    }

    fn address_family(&mut self, s: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self.table.get(&s)?.family)
    }

    fn unicast_hop_limit(&mut self, s: Resource<UdpSocket>) -> SocketResult<u8> {
        let sock = self.udp(&s)?;
        hop_limit(&sock.fd, sock.family)
    }

    fn set_unicast_hop_limit(&mut self, s: Resource<UdpSocket>, value: u8) -> SocketResult<()> {
        let sock = self.udp(&s)?;
        set_hop_limit(&sock.fd, sock.family, value)
    }

    fn receive_buffer_size(&mut self, s: Resource<UdpSocket>) -> SocketResult<u64> {
        buffer_size(&self.udp(&s)?.fd, true)
    }

    fn set_receive_buffer_size(&mut self, s: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        set_buffer_size(&self.udp(&s)?.fd, true, value)
    }

    fn send_buffer_size(&mut self, s: Resource<UdpSocket>) -> SocketResult<u64> {
        buffer_size(&self.udp(&s)?.fd, false)
    }

    fn set_send_buffer_size(&mut self, s: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        set_buffer_size(&self.udp(&s)?.fd, false, value)
    }

    /// Always ready: a UDP socket has no operation that completes later.
    fn subscribe(&mut self, s: Resource<UdpSocket>) -> wasmtime::Result<Resource<Pollable>> {
        self.table.get(&s)?;
        Ok(self.table.push_child(Pollable::Ready, &s)?)
    }

    fn drop(&mut self, s: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl udp::HostIncomingDatagramStream for WasiCtx {
    fn receive(&mut self, s: Resource<IncomingDatagramStream>, max: u64) -> SocketResult<Vec<IncomingDatagram>> {
        let stream = self.table.get(&s)?;
        stale(stream.generation, &stream.current)?;
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let mut buf = vec![0; DATAGRAM_MAX];
        for _ in 0..max.min(MAX_RECEIVE) {
            match rustix::net::recvfrom(&*stream.fd, &mut buf[..], RecvFlags::DONTWAIT) {
                Ok((n, _, from)) => {
                    let Some(from) = from.and_then(|a| host_addr(a).ok()) else { continue };
                    // A connected socket only receives from its peer; the check is the WIT's
                    // guarantee, not a filter the kernel needs.
                    if stream.remote.is_some_and(|r| !same_addr(r, from)) {
                        continue;
                    }
                    let data = buf.get(..n).unwrap_or(&buf[..]).to_vec();
                    out.push(IncomingDatagram { data, remote_address: from_std(from) });
                }
                Err(HostErrno::AGAIN | HostErrno::INTR) => break,
                Err(e) if out.is_empty() => return err(datagram_code(e)),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    fn subscribe(&mut self, s: Resource<IncomingDatagramStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = SocketPollable::fd(&self.table.get(&s)?.fd, true);
        Ok(self.table.push_child(Pollable::Socket(p), &s)?)
    }

    fn drop(&mut self, s: Resource<IncomingDatagramStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

/// Sends one datagram; `Ok(false)`: the socket takes nothing now.
fn send_one(stream: &OutgoingDatagramStream, policy: &NetworkPolicy, dg: &OutgoingDatagram) -> SocketResult<bool> {
    let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
    let sent = match (stream.remote, dg.remote_address.map(to_std)) {
        (Some(r), to) => {
            if to.is_some_and(|to| !same_addr(to, r)) {
                return err(ErrorCode::InvalidArgument);
            }
            rustix::net::send(&*stream.fd, &dg.data, flags)
        }
        (None, None) => return err(ErrorCode::InvalidArgument),
        (None, Some(to)) => {
            check_remote(stream.family, to)?;
            if !policy.allows(to, SocketUse::UdpSend) {
                return err(ErrorCode::AccessDenied);
            }
            rustix::net::sendto(&*stream.fd, &dg.data, flags, &to)
        }
    };
    match sent {
        Ok(_) => Ok(true),
        Err(HostErrno::AGAIN | HostErrno::INTR) => Ok(false),
        Err(e) => err(datagram_code(e)),
    }
}

impl udp::HostOutgoingDatagramStream for WasiCtx {
    fn check_send(&mut self, s: Resource<OutgoingDatagramStream>) -> SocketResult<u64> {
        let stream = self.table.get_mut(&s)?;
        stale(stream.generation, &stream.current)?;
        stream.permit = if crate::wait::ready_now(&stream.fd, PollFlags::OUT) { MAX_SEND } else { 0 };
        Ok(stream.permit)
    }

    fn send(&mut self, s: Resource<OutgoingDatagramStream>, datagrams: Vec<OutgoingDatagram>) -> SocketResult<u64> {
        let stream = self.table.get_mut(&s)?;
        stale(stream.generation, &stream.current)?;
        if datagrams.len() as u64 > stream.permit {
            return Err(super::SocketError::Trap(wasmtime::Error::msg(
                "send of more datagrams than check-send permitted",
            )));
        }
        stream.permit -= datagrams.len() as u64;
        let mut sent = 0;
        for dg in &datagrams {
            match send_one(stream, &self.net.policy, dg) {
                Ok(true) => sent += 1,
                Ok(false) => break,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    fn subscribe(&mut self, s: Resource<OutgoingDatagramStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = SocketPollable::fd(&self.table.get(&s)?.fd, false);
        Ok(self.table.push_child(Pollable::Socket(p), &s)?)
    }

    fn drop(&mut self, s: Resource<OutgoingDatagramStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}
