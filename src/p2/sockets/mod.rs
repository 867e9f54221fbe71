//! `wasi:sockets`: `network` and `instance-network` (`network.rs`), `tcp` and
//! `tcp-create-socket` (`tcp.rs`), `udp` and `udp-create-socket` (`udp.rs`), `ip-name-lookup`
//! (`ip_name_lookup.rs`).
//!
//! Real host sockets, governed by the context's [`NetworkPolicy`](crate::net::NetworkPolicy)
//! (default: no network, every creation and lookup answers `access-denied`). Every socket is a
//! non-blocking host socket; nothing here blocks except through `wasi:io/poll` (and the
//! `blocking-*` stream methods, which wait the way a pollable does).
//!
//! - The policy is checked at `start-bind` (`tcp-bind`, `udp-bind`), `start-connect`
//!   (`tcp-connect`), `udp-socket.stream` with a remote address and each datagram sent to an
//!   address (`udp-send`): a refused address answers `access-denied`. Creating a socket is
//!   refused unless the policy grants its protocol some use (or a listener was preopened, for
//!   TCP). An implicit bind (connecting an unbound socket) needs no bind grant.
//! - A listener preopened with [`WasiCtxBuilder::preopen_socket`](crate::WasiCtxBuilder::preopen_socket)
//!   (the one preview1's `sock_accept` serves) is adopted by a TCP socket that binds to exactly
//!   its local address: the socket becomes that listener (sharing it with preview1), its
//!   `start-listen` succeeds without changing the listener, and `accept` takes its connections.
//!   This needs no grant of the policy. Options set on the socket before the bind are not
//!   carried over to the listener; options set after it change the shared listener.
//! - One context holds at most [`MAX_SOCKETS`](crate::net) (4096) sockets; more answer
//!   `new-socket-limit`.
//! - A TCP output stream accepts up to [`TCP_WRITE_BUFFER`] bytes beyond what the kernel took:
//!   `write` hands the bytes to the kernel at once and keeps what did not fit; the stream's
//!   later calls, and every wait of the context (`poll`, `block`, the `blocking-*` methods),
//!   send it on — so a guest that writes and then waits to read cannot starve its own
//!   request. A stream dropped while holding bytes keeps sending them during the context's
//!   later waits (at most 64 such streams per context; beyond, and when the context is
//!   dropped, what the kernel does not take at once is lost, as the WIT warns: flush with
//!   `blocking-flush` before dropping to be sure).

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;

use crate::WasiCtx;
use crate::p2::bindings::wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
pub(crate) use crate::sockets::same_addr;
use crate::sockets::{Slot, SockErr};
pub(crate) use crate::sockets::{lock, sock_errno};
use crate::vfs::Errno;
pub(crate) use crate::wait::Readiness;

mod ip_name_lookup;
mod network;
mod tcp;
mod udp;

pub use crate::sockets::{TCP_WRITE_BUFFER, TcpWriter};
pub use ip_name_lookup::ResolveAddressStream;
pub use network::Network;
pub use tcp::{TcpReader, TcpSocket};
pub use udp::{IncomingDatagramStream, OutgoingDatagramStream, UdpSocket};

/// The error of a sockets function: an `error-code`, or a trap.
#[derive(Debug)]
pub enum SocketError {
    /// The error code the guest sees.
    Code(ErrorCode),
    /// The guest misused the interface; the instance traps.
    Trap(wasmtime::Error),
}

impl From<ErrorCode> for SocketError {
    fn from(e: ErrorCode) -> Self {
        SocketError::Code(e)
    }
}

impl From<wasmtime::component::ResourceTableError> for SocketError {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        SocketError::Trap(e.into())
    }
}

impl From<HostErrno> for SocketError {
    fn from(e: HostErrno) -> Self {
        SocketError::Code(host_code(e))
    }
}

type SocketResult<T> = Result<T, SocketError>;

fn err<T>(code: ErrorCode) -> SocketResult<T> {
    Err(SocketError::Code(code))
}

/// The `error-code` of a core socket error.
pub(crate) fn code(e: SockErr) -> ErrorCode {
    match e {
        SockErr::AccessDenied => ErrorCode::AccessDenied,
        SockErr::NotSupported => ErrorCode::NotSupported,
        SockErr::InvalidArgument => ErrorCode::InvalidArgument,
        SockErr::OutOfMemory => ErrorCode::OutOfMemory,
        SockErr::Timeout => ErrorCode::Timeout,
        SockErr::ConcurrencyConflict => ErrorCode::ConcurrencyConflict,
        SockErr::WouldBlock => ErrorCode::WouldBlock,
        SockErr::InvalidState => ErrorCode::InvalidState,
        SockErr::NewSocketLimit => ErrorCode::NewSocketLimit,
        SockErr::AddressNotBindable => ErrorCode::AddressNotBindable,
        SockErr::AddressInUse => ErrorCode::AddressInUse,
        SockErr::RemoteUnreachable => ErrorCode::RemoteUnreachable,
        SockErr::ConnectionRefused => ErrorCode::ConnectionRefused,
        SockErr::ConnectionReset | SockErr::ConnectionBroken => ErrorCode::ConnectionReset,
        SockErr::ConnectionAborted => ErrorCode::ConnectionAborted,
        SockErr::DatagramTooLarge => ErrorCode::DatagramTooLarge,
        SockErr::Other(_) => ErrorCode::Unknown,
    }
}

impl From<SockErr> for SocketError {
    fn from(e: SockErr) -> Self {
        SocketError::Code(code(e))
    }
}

/// The `error-code` of a socket error, as the WIT documents each POSIX equivalent.
pub(crate) fn code_of(e: Errno) -> ErrorCode {
    code(SockErr::of(e))
}

/// The `error-code` of a host socket error.
pub(crate) fn host_code(e: HostErrno) -> ErrorCode {
    code_of(sock_errno(e))
}

crate::sockets::ip_address_conversions!(IpAddress, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress);

fn is_v6(f: IpAddressFamily) -> bool {
    matches!(f, IpAddressFamily::Ipv6)
}

/// The host socket address of a `getsockname`/`getpeername`/`recvfrom` answer.
fn host_addr(a: rustix::net::SocketAddrAny) -> Result<SocketAddr, ErrorCode> {
    crate::sockets::host_addr(a).map_err(code)
}

/// Checks an address to bind to ([`crate::sockets::check_local`]).
pub(crate) fn check_local(family: IpAddressFamily, addr: SocketAddr) -> Result<(), ErrorCode> {
    crate::sockets::check_local(is_v6(family), addr).map_err(code)
}

/// Checks an address to connect or send to ([`crate::sockets::check_remote`]).
pub(crate) fn check_remote(family: IpAddressFamily, addr: SocketAddr) -> Result<(), ErrorCode> {
    crate::sockets::check_remote(is_v6(family), addr).map_err(code)
}

/// A new non-blocking host socket of `family` and its slot ([`crate::sockets::new_socket`]).
fn new_socket(
    ctx: &WasiCtx,
    family: IpAddressFamily,
    kind: rustix::net::SocketType,
) -> Result<(OwnedFd, Slot), ErrorCode> {
    crate::sockets::new_socket(&ctx.net, is_v6(family), kind == rustix::net::SocketType::STREAM).map_err(code)
}

fn hop_limit(fd: &OwnedFd, family: IpAddressFamily) -> SocketResult<u8> {
    Ok(crate::sockets::hop_limit(fd, is_v6(family))?)
}

fn set_hop_limit(fd: &OwnedFd, family: IpAddressFamily, value: u8) -> SocketResult<()> {
    Ok(crate::sockets::set_hop_limit(fd, is_v6(family), value)?)
}

fn buffer_size(fd: &OwnedFd, receive: bool) -> SocketResult<u64> {
    Ok(crate::sockets::buffer_size(fd, receive)?)
}

fn set_buffer_size(fd: &OwnedFd, receive: bool, value: u64) -> SocketResult<()> {
    Ok(crate::sockets::set_buffer_size(fd, receive, value)?)
}

/// The pollable of a socket, a socket stream or a name lookup (a [`Pollable::Socket`]).
///
/// [`Pollable::Socket`]: crate::p2::io::Pollable::Socket
#[derive(Clone, Debug)]
pub struct SocketPollable(PollKind);

#[derive(Clone, Debug)]
enum PollKind {
    /// Ready when `fd` is readable (`read`) or writable.
    Fd { fd: Arc<OwnedFd>, read: bool },
    /// Ready when the TCP output stream can take bytes again.
    TcpWrite(Arc<crate::sockets::TcpOut>),
    /// Ready when the TCP socket's operation in progress can finish.
    Tcp(Arc<Mutex<tcp::TcpWait>>),
    /// Ready when the name lookup has its answer.
    Lookup(Arc<crate::sockets::lookup::Lookup>),
}

impl SocketPollable {
    /// Ready when the TCP output stream takes bytes again (or failed).
    pub(crate) fn tcp_write(writer: &TcpWriter) -> Self {
        SocketPollable(PollKind::TcpWrite(writer.out().clone()))
    }

    fn fd(fd: &Arc<OwnedFd>, read: bool) -> Self {
        SocketPollable(PollKind::Fd { fd: fd.clone(), read })
    }

    /// What the pollable waits for at this moment.
    pub(crate) fn readiness(&self) -> Readiness {
        match &self.0 {
            PollKind::Fd { fd, read } => Readiness::Fd(fd.clone(), if *read { PollFlags::IN } else { PollFlags::OUT }),
            PollKind::TcpWrite(out) => out.readiness(),
            PollKind::Tcp(wait) => lock(wait).readiness(),
            PollKind::Lookup(l) => {
                if l.done() {
                    Readiness::Ready
                } else {
                    Readiness::Later
                }
            }
        }
    }

    /// Whether the pollable is ready now.
    pub(crate) fn ready_now(&self) -> bool {
        match self.readiness() {
            Readiness::Ready => true,
            Readiness::Fd(fd, flags) => crate::wait::ready_now(&fd, flags),
            Readiness::Later => false,
        }
    }
}
