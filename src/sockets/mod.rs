//! Socket state that every ABI shares: the counts that bound what a guest holds (sockets, name
//! lookups), and the TCP output streams with what they hold beyond what the kernel took, which
//! every wait of the context sends on. The WIT glue of each ABI (`p2::sockets`) translates to
//! and from it.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{SendFlags, Shutdown};

use crate::net::NetworkPolicy;
use crate::vfs::Errno;
use crate::wait::Readiness;

pub(crate) mod lookup;

/// The most sockets (TCP and UDP, accepted ones included) one context holds at once.
pub(crate) const MAX_SOCKETS: usize = 4096;

/// The most name lookups of one context that run at once on their own threads; more run on the
/// calling thread.
pub(crate) const MAX_BACKGROUND_LOOKUPS: usize = 4;

/// A context's network state: the policy and the counts that bound what a guest holds.
#[derive(Debug, Default)]
pub(crate) struct NetCtx {
    pub policy: NetworkPolicy,
    /// Allocated when first used (a context that makes no socket allocates nothing): the
    /// sockets and name lookups the guest holds, and its TCP output streams.
    sockets: OnceLock<Arc<AtomicUsize>>,
    lookups: OnceLock<Arc<AtomicUsize>>,
    /// The errno of the stream error a socket stream just answered, until
    /// `convert-stream-error` turns it into an error resource (which then maps to a socket
    /// error code).
    pub socket_errno: Option<Errno>,
    writers: OnceLock<SharedWriters>,
}

impl NetCtx {
    pub fn new(policy: NetworkPolicy) -> Self {
        NetCtx { policy, ..NetCtx::default() }
    }

    /// The count of sockets the guest holds.
    pub fn sockets(&self) -> &Arc<AtomicUsize> {
        self.sockets.get_or_init(Arc::default)
    }

    /// The count of name lookups under way.
    pub fn lookups(&self) -> &Arc<AtomicUsize> {
        self.lookups.get_or_init(Arc::default)
    }

    /// The TCP output streams, whose bytes every wait sends on.
    pub fn writers(&self) -> &SharedWriters {
        self.writers.get_or_init(Arc::default)
    }

    /// The TCP output streams if the guest ever had one.
    pub fn writers_if_any(&self) -> Option<&SharedWriters> {
        self.writers.get()
    }
}

/// One unit of a bounded count, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes one unit of `count` unless `max` are taken.
    pub fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).ok()?;
        Some(Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The WASI errno of a host socket error (`EHOSTDOWN` and `ENONET`, which preview1 lacks, are
/// `hostunreach`).
pub(crate) fn sock_errno(e: HostErrno) -> Errno {
    match e {
        HostErrno::HOSTDOWN | HostErrno::NONET => Errno::Hostunreach,
        e => Errno::from_host(e),
    }
}

/// Locks `m`, also when a panic elsewhere poisoned it (the state stays consistent: every
/// critical section is panic-free).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `to_std`, `ip_to_wit` and `from_std`: an ABI's generated `ip-socket-address` as a host
/// `SocketAddr`, and host addresses as its `ip-address` and `ip-socket-address` (both WITs
/// describe them alike).
macro_rules! ip_address_conversions {
    ($IpAddress:ident, $IpSocketAddress:ident, $Ipv4SocketAddress:ident, $Ipv6SocketAddress:ident) => {
        /// The host address of a WIT socket address.
        pub(crate) fn to_std(a: $IpSocketAddress) -> std::net::SocketAddr {
            use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
            match a {
                $IpSocketAddress::Ipv4(a) => {
                    let (b0, b1, b2, b3) = a.address;
                    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(b0, b1, b2, b3), a.port))
                }
                $IpSocketAddress::Ipv6(a) => {
                    let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
                    let ip = Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
                    SocketAddr::V6(SocketAddrV6::new(ip, a.port, a.flow_info, a.scope_id))
                }
            }
        }

        /// The WIT address of a host IP address.
        pub(crate) fn ip_to_wit(ip: std::net::IpAddr) -> $IpAddress {
            match ip {
                std::net::IpAddr::V4(v4) => {
                    let [a, b, c, d] = v4.octets();
                    $IpAddress::Ipv4((a, b, c, d))
                }
                std::net::IpAddr::V6(v6) => {
                    let [a, b, c, d, e, f, g, h] = v6.segments();
                    $IpAddress::Ipv6((a, b, c, d, e, f, g, h))
                }
            }
        }

        /// The WIT socket address of a host socket address.
        pub(crate) fn from_std(a: std::net::SocketAddr) -> $IpSocketAddress {
            match (a, ip_to_wit(a.ip())) {
                (std::net::SocketAddr::V4(a), $IpAddress::Ipv4(address)) => {
                    $IpSocketAddress::Ipv4($Ipv4SocketAddress { port: a.port(), address })
                }
                (std::net::SocketAddr::V6(a6), $IpAddress::Ipv6(address)) => {
                    $IpSocketAddress::Ipv6($Ipv6SocketAddress {
                        port: a6.port(),
                        flow_info: a6.flowinfo(),
                        address,
                        scope_id: a6.scope_id(),
                    })
                }
                // ip_to_wit keeps the family of the address.
                _ => $IpSocketAddress::Ipv4($Ipv4SocketAddress { port: a.port(), address: (0, 0, 0, 0) }),
            }
        }
    };
}
pub(crate) use ip_address_conversions;

/// Why a socket operation failed, in the terms the socket WITs share (each ABI names it: WASI
/// 0.2's `error-code` has every one, 0.3's fewer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockErr {
    AccessDenied,
    NotSupported,
    InvalidArgument,
    OutOfMemory,
    Timeout,
    ConcurrencyConflict,
    WouldBlock,
    InvalidState,
    NewSocketLimit,
    AddressNotBindable,
    AddressInUse,
    RemoteUnreachable,
    ConnectionRefused,
    /// `EPIPE`: the connection can take no more bytes.
    ConnectionBroken,
    ConnectionReset,
    ConnectionAborted,
    DatagramTooLarge,
    /// Anything else, with the POSIX error.
    Other(Errno),
}

impl SockErr {
    /// A POSIX error as the socket WITs document each equivalent.
    pub fn of(e: Errno) -> SockErr {
        match e {
            Errno::Acces | Errno::Perm | Errno::Notcapable => SockErr::AccessDenied,
            Errno::Notsup | Errno::Afnosupport | Errno::Protonosupport | Errno::Nosys => SockErr::NotSupported,
            Errno::Inval | Errno::Destaddrreq | Errno::Fault => SockErr::InvalidArgument,
            Errno::Nomem | Errno::Nobufs => SockErr::OutOfMemory,
            Errno::Timedout => SockErr::Timeout,
            Errno::Already => SockErr::ConcurrencyConflict,
            Errno::Again | Errno::Inprogress => SockErr::WouldBlock,
            Errno::Isconn | Errno::Notconn => SockErr::InvalidState,
            Errno::Mfile | Errno::Nfile => SockErr::NewSocketLimit,
            Errno::Addrnotavail => SockErr::AddressNotBindable,
            Errno::Addrinuse => SockErr::AddressInUse,
            Errno::Hostunreach | Errno::Netunreach | Errno::Netdown => SockErr::RemoteUnreachable,
            Errno::Connrefused => SockErr::ConnectionRefused,
            Errno::Pipe => SockErr::ConnectionBroken,
            Errno::Connreset | Errno::Netreset => SockErr::ConnectionReset,
            Errno::Connaborted => SockErr::ConnectionAborted,
            Errno::Msgsize => SockErr::DatagramTooLarge,
            e => SockErr::Other(e),
        }
    }

    /// A host socket error.
    pub fn of_host(e: HostErrno) -> SockErr {
        SockErr::of(sock_errno(e))
    }
}

impl From<HostErrno> for SockErr {
    fn from(e: HostErrno) -> Self {
        SockErr::of_host(e)
    }
}

/// The host socket address of a `getsockname`/`getpeername`/`recvfrom` answer.
pub(crate) fn host_addr(a: rustix::net::SocketAddrAny) -> Result<SocketAddr, SockErr> {
    SocketAddr::try_from(a).map_err(|_| SockErr::Other(Errno::Afnosupport))
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

/// Checks an address for a socket of the IPv6 family (`v6`) or IPv4: of that family, and not an
/// IPv4-mapped IPv6 address.
pub(crate) fn check_family(v6: bool, addr: SocketAddr) -> Result<(), SockErr> {
    match addr {
        SocketAddr::V4(_) if !v6 => Ok(()),
        SocketAddr::V6(a) if v6 && a.ip().to_ipv4_mapped().is_none() => Ok(()),
        _ => Err(SockErr::InvalidArgument),
    }
}

/// Checks an address to bind to: of the socket's family, not IPv4-mapped, unicast (or the
/// unspecified address).
pub(crate) fn check_local(v6: bool, addr: SocketAddr) -> Result<(), SockErr> {
    check_family(v6, addr)?;
    let unicast = match addr.ip() {
        IpAddr::V4(ip) => !ip.is_multicast() && !ip.is_broadcast(),
        IpAddr::V6(ip) => !ip.is_multicast(),
    };
    if unicast { Ok(()) } else { Err(SockErr::InvalidArgument) }
}

/// Checks an address to connect or send to: of the socket's family, not IPv4-mapped, not the
/// unspecified address, not port 0.
pub(crate) fn check_remote(v6: bool, addr: SocketAddr) -> Result<(), SockErr> {
    check_family(v6, addr)?;
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(SockErr::InvalidArgument);
    }
    Ok(())
}

/// A new non-blocking host socket, IPv6 (IPv6-only) or IPv4, TCP (`stream`) or UDP, and its slot
/// in the context's count of sockets (`MAX_SOCKETS`: then `NewSocketLimit`).
pub(crate) fn new_socket(net: &NetCtx, v6: bool, stream: bool) -> Result<(OwnedFd, Slot), SockErr> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, ipproto};
    let slot = Slot::take(net.sockets(), MAX_SOCKETS).ok_or(SockErr::NewSocketLimit)?;
    let af = if v6 { AddressFamily::INET6 } else { AddressFamily::INET };
    let (kind, proto) = if stream { (SocketType::STREAM, ipproto::TCP) } else { (SocketType::DGRAM, ipproto::UDP) };
    let fd =
        rustix::net::socket_with(af, kind, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, Some(proto)).map_err(|e| {
            match e {
                HostErrno::AFNOSUPPORT | HostErrno::PROTONOSUPPORT => SockErr::NotSupported,
                e => SockErr::of_host(e),
            }
        })?;
    if v6 {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true)?;
    }
    Ok((fd, slot))
}

/// `IP_TTL` or `IPV6_UNICAST_HOPS`.
pub(crate) fn hop_limit(fd: &OwnedFd, v6: bool) -> Result<u8, SockErr> {
    use rustix::net::sockopt;
    Ok(if v6 { sockopt::ipv6_unicast_hops(fd)? } else { sockopt::ip_ttl(fd)?.min(255) as u8 })
}

/// Sets `IP_TTL` or `IPV6_UNICAST_HOPS`; 0 is `InvalidArgument`.
pub(crate) fn set_hop_limit(fd: &OwnedFd, v6: bool, value: u8) -> Result<(), SockErr> {
    use rustix::net::sockopt;
    if value == 0 {
        return Err(SockErr::InvalidArgument);
    }
    if v6 {
        sockopt::set_ipv6_unicast_hops(fd, Some(value))?
    } else {
        sockopt::set_ip_ttl(fd, value.into())?
    }
    Ok(())
}

/// `SO_RCVBUF` (`receive`) or `SO_SNDBUF`, as it was set: Linux doubles the value it is given
/// (room for its bookkeeping) and reports the doubled one, so the size read back is halved.
pub(crate) fn buffer_size(fd: &OwnedFd, receive: bool) -> Result<u64, SockErr> {
    use rustix::net::sockopt;
    let n = if receive { sockopt::socket_recv_buffer_size(fd)? } else { sockopt::socket_send_buffer_size(fd)? };
    Ok((n as u64 / 2).max(1))
}

/// Sets `SO_RCVBUF` or `SO_SNDBUF` (the kernel clamps to its range; `ENOBUFS`, a value past
/// what it allows, counts as done); 0 is `InvalidArgument`.
pub(crate) fn set_buffer_size(fd: &OwnedFd, receive: bool, value: u64) -> Result<(), SockErr> {
    use rustix::net::sockopt;
    if value == 0 {
        return Err(SockErr::InvalidArgument);
    }
    // An int is all setsockopt takes.
    let value = value.min(i32::MAX as u64) as usize;
    let set = if receive {
        sockopt::set_socket_recv_buffer_size(fd, value)
    } else {
        sockopt::set_socket_send_buffer_size(fd, value)
    };
    match set {
        Ok(()) | Err(HostErrno::NOBUFS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Linux's largest `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (seconds) and `TCP_KEEPCNT`.
const MAX_KEEPALIVE_SECS: u64 = 32767;
const MAX_KEEPALIVE_COUNT: u32 = 127;

/// A keep-alive time in nanoseconds as whole seconds for the kernel: rounded up, at most Linux's
/// maximum; 0 is `InvalidArgument`.
fn keepalive_secs(nanos: u64) -> Result<std::time::Duration, SockErr> {
    if nanos == 0 {
        return Err(SockErr::InvalidArgument);
    }
    Ok(std::time::Duration::from_secs(nanos.div_ceil(1_000_000_000).clamp(1, MAX_KEEPALIVE_SECS)))
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The TCP keep-alive options of a socket, in the WITs' units (nanoseconds).
pub(crate) mod keepalive {
    use super::*;
    use rustix::net::sockopt;

    pub(crate) fn enabled(fd: &OwnedFd) -> Result<bool, SockErr> {
        Ok(sockopt::socket_keepalive(fd)?)
    }

    pub(crate) fn set_enabled(fd: &OwnedFd, value: bool) -> Result<(), SockErr> {
        Ok(sockopt::set_socket_keepalive(fd, value)?)
    }

    pub(crate) fn idle_time(fd: &OwnedFd) -> Result<u64, SockErr> {
        Ok(nanos(sockopt::tcp_keepidle(fd)?))
    }

    pub(crate) fn set_idle_time(fd: &OwnedFd, value: u64) -> Result<(), SockErr> {
        Ok(sockopt::set_tcp_keepidle(fd, keepalive_secs(value)?)?)
    }

    pub(crate) fn interval(fd: &OwnedFd) -> Result<u64, SockErr> {
        Ok(nanos(sockopt::tcp_keepintvl(fd)?))
    }

    pub(crate) fn set_interval(fd: &OwnedFd, value: u64) -> Result<(), SockErr> {
        Ok(sockopt::set_tcp_keepintvl(fd, keepalive_secs(value)?)?)
    }

    pub(crate) fn count(fd: &OwnedFd) -> Result<u32, SockErr> {
        Ok(sockopt::tcp_keepcnt(fd)?)
    }

    /// 0 is `InvalidArgument`; more than Linux's 127 is 127.
    pub(crate) fn set_count(fd: &OwnedFd, value: u32) -> Result<(), SockErr> {
        if value == 0 {
            return Err(SockErr::InvalidArgument);
        }
        Ok(sockopt::set_tcp_keepcnt(fd, value.min(MAX_KEEPALIVE_COUNT))?)
    }
}

/// The preopened listeners of the context (`WasiCtxBuilder::preopen_socket`), with their local
/// addresses.
pub(crate) fn preopened_listeners(
    fds: &crate::fdtable::FdTable,
) -> impl Iterator<Item = (&std::net::TcpListener, SocketAddr)> {
    fds.fds().filter_map(|fd| match fds.get(fd).map(|d| &d.kind) {
        Ok(crate::fdtable::Kind::Listener(l)) => l.local_addr().ok().map(|a| (&**l, a)),
        _ => None,
    })
}

/// A new descriptor of the preopened listener bound to exactly `addr`, if there is one: a TCP
/// socket that binds to it becomes that listener.
pub(crate) fn adopt_listener(fds: &crate::fdtable::FdTable, addr: SocketAddr) -> Result<Option<OwnedFd>, SockErr> {
    match preopened_listeners(fds).find(|(_, a)| same_addr(*a, addr)) {
        Some((l, _)) => match l.try_clone() {
            Ok(l) => Ok(Some(OwnedFd::from(l))),
            Err(e) => Err(SockErr::of(Errno::from(e))),
        },
        None => Ok(None),
    }
}

/// The error of a failed `connect(2)`: no ephemeral port left for the implicit bind is
/// `AddressInUse`, a wrong family `InvalidArgument`.
pub(crate) fn connect_error(e: HostErrno) -> SockErr {
    match e {
        HostErrno::ADDRNOTAVAIL => SockErr::AddressInUse,
        HostErrno::AFNOSUPPORT => SockErr::InvalidArgument,
        e => SockErr::of_host(e),
    }
}

/// The most bytes a TCP output stream holds beyond what the kernel took: what `check-write`
/// grants when nothing is waiting.
pub const TCP_WRITE_BUFFER: u64 = 64 * 1024;

/// Why a TCP output stream refused an operation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OutputError {
    /// A send failed (told once; the stream is closed after).
    Failed(Errno),
    /// The stream is closed.
    Closed,
    /// More bytes than the stream said it would take.
    TooMany,
}

/// The writing half of a TCP connection (a WASI 0.2 `output-stream` of a socket). It holds up to
/// [`TCP_WRITE_BUFFER`] bytes beyond what the kernel took, and sends them on at its later calls
/// and at every wait of its context (see the [`p2::sockets`](crate::p2::sockets) documentation).
#[derive(Debug)]
pub struct TcpWriter {
    out: Arc<TcpOut>,
    writers: SharedWriters,
}

/// The most dropped TCP output streams of one context still sending what they hold.
const MAX_LINGERING: usize = 64;

/// The TCP output streams of a context, so that every wait sends what they hold: the live
/// ones, and the dropped ones that still hold bytes ("lingering", as a closed POSIX socket
/// does in the kernel).
#[derive(Debug, Default)]
pub(crate) struct TcpWriters {
    live: Vec<Weak<TcpOut>>,
    lingering: Vec<Arc<TcpOut>>,
}

/// A context's [`TcpWriters`].
pub(crate) type SharedWriters = Arc<Mutex<TcpWriters>>;

impl TcpWriters {
    fn register(&mut self, out: &Arc<TcpOut>) {
        self.live.retain(|w| w.strong_count() > 0);
        self.live.push(Arc::downgrade(out));
    }

    /// Hands the kernel what it takes now of every stream's bytes, lets go of the lingering
    /// streams that are done, and returns the sockets of the streams that still hold bytes
    /// (to wait until they are writable).
    pub(crate) fn drain_all(&mut self) -> Vec<Arc<OwnedFd>> {
        self.live.retain(|w| w.strong_count() > 0);
        self.lingering.retain(|o| {
            let mut st = lock(&o.state);
            st.drain(&o.fd);
            !st.pending.is_empty()
        });
        let mut waiting: Vec<Arc<OwnedFd>> = self.lingering.iter().map(|o| o.fd.clone()).collect();
        for o in self.live.iter().filter_map(Weak::upgrade) {
            let mut st = lock(&o.state);
            st.drain(&o.fd);
            if !st.pending.is_empty() {
                waiting.push(o.fd.clone());
            }
        }
        waiting
    }
}

impl Drop for TcpWriter {
    fn drop(&mut self) {
        let holding = {
            let mut st = lock(&self.out.state);
            st.drain(&self.out.fd);
            !st.pending.is_empty()
        };
        if holding {
            let mut writers = lock(&self.writers);
            if writers.lingering.len() < MAX_LINGERING {
                writers.lingering.push(self.out.clone());
            }
        }
    }
}

/// The state of a TCP output stream, shared with its pollables.
#[derive(Debug)]
pub(crate) struct TcpOut {
    fd: Arc<OwnedFd>,
    state: Mutex<OutState>,
}

#[derive(Debug, Default)]
struct OutState {
    /// Bytes written by the guest that the kernel has not taken yet (at most
    /// [`TCP_WRITE_BUFFER`]).
    pending: Vec<u8>,
    /// A flush waits for `pending` to drain: `check-write` grants nothing until then.
    flushing: bool,
    /// A send failed; the next operation reports it, and the stream is closed after.
    failed: Option<Errno>,
    /// No more writes (`shutdown(send)`, or a failure was reported).
    closed: bool,
    /// Shut the connection down for sending once `pending` is sent.
    shutdown_when_drained: bool,
}

impl OutState {
    /// Hands the kernel what it takes of `pending` now.
    fn drain(&mut self, fd: &OwnedFd) {
        // Each turn sends at least a byte or stops: at most `pending.len()` turns.
        while !self.pending.is_empty() {
            match rustix::net::send(fd, &self.pending, SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
                Ok(n) if n > 0 => {
                    self.pending.drain(..n.min(self.pending.len()));
                }
                Ok(_) | Err(HostErrno::AGAIN | HostErrno::INTR) => break,
                Err(e) => {
                    self.failed = Some(sock_errno(e));
                    self.pending.clear();
                }
            }
        }
        if self.pending.is_empty() {
            self.flushing = false;
            if std::mem::take(&mut self.shutdown_when_drained) {
                let _ = rustix::net::shutdown(fd, Shutdown::Write);
            }
        }
    }

    /// Reports a failure once (closing the stream), then `closed`.
    fn check_open(&mut self) -> Result<(), OutputError> {
        if let Some(e) = self.failed.take() {
            self.closed = true;
            return Err(OutputError::Failed(e));
        }
        if self.closed {
            return Err(OutputError::Closed);
        }
        Ok(())
    }

    fn permit(&self) -> u64 {
        if self.flushing && !self.pending.is_empty() {
            return 0;
        }
        TCP_WRITE_BUFFER.saturating_sub(self.pending.len() as u64)
    }
}

impl TcpOut {
    pub(crate) fn readiness(&self) -> Readiness {
        // Ready exactly when check-write grants something, or has an error to tell.
        let st = lock(&self.state);
        if st.permit() > 0 || st.failed.is_some() || (st.closed && st.pending.is_empty()) {
            Readiness::Ready
        } else {
            Readiness::Fd(self.fd.clone(), PollFlags::OUT)
        }
    }
}

impl TcpOut {
    /// `shutdown(send)`: no more writes; the connection is shut down for sending once every
    /// byte held is sent.
    pub(crate) fn shut_down_when_drained(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        st.shutdown_when_drained = true;
        st.drain(&self.fd);
    }
}

impl Drop for TcpOut {
    /// The stream is gone (and no longer lingering, or its context is gone): a last try.
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        st.drain(&self.fd);
        if !st.pending.is_empty() {
            tracing::debug!(bytes = st.pending.len(), "TCP output stream dropped before its bytes were sent");
        }
    }
}

impl TcpWriter {
    /// The output stream of connected socket `fd`, which joins `writers`; the weak reference
    /// lets the socket look at its state.
    pub(crate) fn new(fd: Arc<OwnedFd>, writers: &SharedWriters) -> (TcpWriter, Weak<TcpOut>) {
        let out = Arc::new(TcpOut { fd, state: Mutex::new(OutState::default()) });
        lock(writers).register(&out);
        let weak = Arc::downgrade(&out);
        (TcpWriter { out, writers: writers.clone() }, weak)
    }

    /// `check-write`: how many bytes `write` may take now.
    pub(crate) fn check_write(&self) -> Result<u64, OutputError> {
        let mut st = lock(&self.out.state);
        st.drain(&self.out.fd);
        st.check_open()?;
        Ok(st.permit())
    }

    /// `write`: hands `bytes` to the kernel, keeping what it did not take. More bytes than
    /// `check-write` grants are [`OutputError::TooMany`].
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let mut st = lock(&self.out.state);
        st.check_open()?;
        if bytes.len() as u64 > st.permit() {
            return Err(OutputError::TooMany);
        }
        st.pending.extend_from_slice(bytes);
        st.drain(&self.out.fd);
        st.check_open()
    }

    /// `flush`: sends what the kernel takes now; `check-write` grants nothing until the rest is
    /// sent. After `shutdown(send)`, flushing goes on until everything is sent, then answers
    /// `closed`.
    pub(crate) fn flush(&self) -> Result<(), OutputError> {
        let mut st = lock(&self.out.state);
        st.drain(&self.out.fd);
        if st.closed && st.failed.is_none() && !st.pending.is_empty() {
            st.flushing = true;
            return Ok(());
        }
        st.check_open()?;
        if !st.pending.is_empty() {
            st.flushing = true;
        }
        Ok(())
    }

    /// Whether every byte written was handed to the kernel.
    pub(crate) fn flushed(&self) -> bool {
        lock(&self.out.state).pending.is_empty()
    }

    /// The stream's state, which its pollables look at: ready when it takes bytes again (or
    /// failed).
    pub(crate) fn out(&self) -> &Arc<TcpOut> {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let count = Arc::new(AtomicUsize::new(0));
        let a = Slot::take(&count, 2).unwrap();
        let _b = Slot::take(&count, 2).unwrap();
        assert!(Slot::take(&count, 2).is_none());
        drop(a);
        assert!(Slot::take(&count, 2).is_some());
    }
}
