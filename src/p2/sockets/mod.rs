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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;

use crate::WasiCtx;
use crate::p2::bindings::wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use crate::sockets::{MAX_SOCKETS, Slot};
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

/// The `error-code` of a socket error, as the WIT documents each POSIX equivalent.
pub(crate) fn code_of(e: Errno) -> ErrorCode {
    match e {
        Errno::Acces | Errno::Perm | Errno::Notcapable => ErrorCode::AccessDenied,
        Errno::Notsup | Errno::Afnosupport | Errno::Protonosupport | Errno::Nosys => ErrorCode::NotSupported,
        Errno::Inval | Errno::Destaddrreq | Errno::Fault => ErrorCode::InvalidArgument,
        Errno::Nomem | Errno::Nobufs => ErrorCode::OutOfMemory,
        Errno::Timedout => ErrorCode::Timeout,
        Errno::Already => ErrorCode::ConcurrencyConflict,
        Errno::Again | Errno::Inprogress => ErrorCode::WouldBlock,
        Errno::Isconn | Errno::Notconn => ErrorCode::InvalidState,
        Errno::Mfile | Errno::Nfile => ErrorCode::NewSocketLimit,
        Errno::Addrnotavail => ErrorCode::AddressNotBindable,
        Errno::Addrinuse => ErrorCode::AddressInUse,
        Errno::Hostunreach | Errno::Netunreach | Errno::Netdown => ErrorCode::RemoteUnreachable,
        Errno::Connrefused => ErrorCode::ConnectionRefused,
        Errno::Connreset | Errno::Netreset | Errno::Pipe => ErrorCode::ConnectionReset,
        Errno::Connaborted => ErrorCode::ConnectionAborted,
        Errno::Msgsize => ErrorCode::DatagramTooLarge,
        _ => ErrorCode::Unknown,
    }
}

/// The `error-code` of a host socket error.
pub(crate) fn host_code(e: HostErrno) -> ErrorCode {
    code_of(sock_errno(e))
}

fn ipv4(a: (u8, u8, u8, u8)) -> Ipv4Addr {
    Ipv4Addr::new(a.0, a.1, a.2, a.3)
}

fn ipv6(a: (u16, u16, u16, u16, u16, u16, u16, u16)) -> Ipv6Addr {
    Ipv6Addr::new(a.0, a.1, a.2, a.3, a.4, a.5, a.6, a.7)
}

/// The host address of a WIT socket address.
pub(crate) fn to_std(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => SocketAddr::V4(SocketAddrV4::new(ipv4(a.address), a.port)),
        IpSocketAddress::Ipv6(a) => SocketAddr::V6(SocketAddrV6::new(ipv6(a.address), a.port, a.flow_info, a.scope_id)),
    }
}

/// The WIT address of a host IP address.
pub(crate) fn ip_to_wit(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

/// The WIT socket address of a host socket address.
pub(crate) fn from_std(a: SocketAddr) -> IpSocketAddress {
    match (a, ip_to_wit(a.ip())) {
        (SocketAddr::V4(a), IpAddress::Ipv4(address)) => {
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address })
        }
        (SocketAddr::V6(a6), IpAddress::Ipv6(address)) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port: a6.port(),
            flow_info: a6.flowinfo(),
            address,
            scope_id: a6.scope_id(),
        }),
        // ip_to_wit keeps the family of the address.
        _ => IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address: (0, 0, 0, 0) }),
    }
}

/// Whether two socket addresses are the same address (flow information aside).
pub(crate) fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    match (a, b) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => a == b,
        (SocketAddr::V6(a), SocketAddr::V6(b)) => {
            a.ip() == b.ip() && a.port() == b.port() && a.scope_id() == b.scope_id()
        }
        _ => false,
    }
}

fn is_v6(f: IpAddressFamily) -> bool {
    matches!(f, IpAddressFamily::Ipv6)
}

/// The host socket address of a `getsockname`/`getpeername`/`recvfrom` answer.
fn host_addr(a: rustix::net::SocketAddrAny) -> Result<SocketAddr, ErrorCode> {
    SocketAddr::try_from(a).map_err(|_| ErrorCode::Unknown)
}

/// Checks an address to bind to: of the socket's family, not IPv4-mapped, unicast (or the
/// unspecified address).
pub(crate) fn check_local(family: IpAddressFamily, addr: SocketAddr) -> Result<(), ErrorCode> {
    check_family(family, addr)?;
    let unicast = match addr.ip() {
        IpAddr::V4(ip) => !ip.is_multicast() && !ip.is_broadcast(),
        IpAddr::V6(ip) => !ip.is_multicast(),
    };
    if unicast { Ok(()) } else { Err(ErrorCode::InvalidArgument) }
}

/// Checks an address to connect or send to: of the socket's family, not IPv4-mapped, not the
/// unspecified address, not port 0.
pub(crate) fn check_remote(family: IpAddressFamily, addr: SocketAddr) -> Result<(), ErrorCode> {
    check_family(family, addr)?;
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

fn check_family(family: IpAddressFamily, addr: SocketAddr) -> Result<(), ErrorCode> {
    match addr {
        SocketAddr::V4(_) if !is_v6(family) => Ok(()),
        SocketAddr::V6(a) if is_v6(family) && a.ip().to_ipv4_mapped().is_none() => Ok(()),
        _ => Err(ErrorCode::InvalidArgument),
    }
}

/// A new non-blocking host socket of `family` (IPv6 sockets are IPv6-only) and its slot in
/// the context's count of sockets.
fn new_socket(
    ctx: &WasiCtx,
    family: IpAddressFamily,
    kind: rustix::net::SocketType,
) -> Result<(OwnedFd, Slot), ErrorCode> {
    use rustix::net::{AddressFamily, SocketFlags, ipproto};
    let slot = Slot::take(ctx.net.sockets(), MAX_SOCKETS).ok_or(ErrorCode::NewSocketLimit)?;
    let (af, proto) = match (is_v6(family), kind == rustix::net::SocketType::STREAM) {
        (false, true) => (AddressFamily::INET, ipproto::TCP),
        (true, true) => (AddressFamily::INET6, ipproto::TCP),
        (false, false) => (AddressFamily::INET, ipproto::UDP),
        (true, false) => (AddressFamily::INET6, ipproto::UDP),
    };
    let fd =
        rustix::net::socket_with(af, kind, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, Some(proto)).map_err(|e| {
            match e {
                HostErrno::AFNOSUPPORT | HostErrno::PROTONOSUPPORT => ErrorCode::NotSupported,
                e => host_code(e),
            }
        })?;
    if is_v6(family) {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true).map_err(host_code)?;
    }
    Ok((fd, slot))
}

/// `IP_TTL` or `IPV6_UNICAST_HOPS`.
fn hop_limit(fd: &OwnedFd, family: IpAddressFamily) -> SocketResult<u8> {
    use rustix::net::sockopt;
    Ok(if is_v6(family) { sockopt::ipv6_unicast_hops(fd)? } else { sockopt::ip_ttl(fd)?.min(255) as u8 })
}

fn set_hop_limit(fd: &OwnedFd, family: IpAddressFamily, value: u8) -> SocketResult<()> {
    use rustix::net::sockopt;
    if value == 0 {
        return err(ErrorCode::InvalidArgument);
    }
    if is_v6(family) {
        sockopt::set_ipv6_unicast_hops(fd, Some(value))?
    } else {
        sockopt::set_ip_ttl(fd, value.into())?
    }
    Ok(())
}

/// `SO_RCVBUF` (`receive`) or `SO_SNDBUF`.
fn buffer_size(fd: &OwnedFd, receive: bool) -> SocketResult<u64> {
    use rustix::net::sockopt;
    let n = if receive { sockopt::socket_recv_buffer_size(fd)? } else { sockopt::socket_send_buffer_size(fd)? };
    Ok(n as u64)
}

fn set_buffer_size(fd: &OwnedFd, receive: bool, value: u64) -> SocketResult<()> {
    use rustix::net::sockopt;
    if value == 0 {
        return err(ErrorCode::InvalidArgument);
    }
    // The kernel clamps to its maximum; an int is all setsockopt takes.
    let value = value.min(i32::MAX as u64) as usize;
    if receive {
        sockopt::set_socket_recv_buffer_size(fd, value)?
    } else {
        sockopt::set_socket_send_buffer_size(fd, value)?
    }
    Ok(())
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
    Lookup(Arc<ip_name_lookup::Lookup>),
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
