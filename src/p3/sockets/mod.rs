//! `wasi:sockets@0.3.0`: `types` (TCP in `tcp.rs`, UDP in `udp.rs`) and `ip-name-lookup`, real
//! host sockets under the context's [`NetworkPolicy`](crate::net::NetworkPolicy), the same as
//! WASI 0.2's (`p2::sockets` documents the policy, the preopened listeners and the limits; the
//! socket state and checks they share are the core's, `src/sockets/`).
//!
//! Every socket is a non-blocking host socket: what waits (a connect, an accept, a receive, a
//! send the kernel has no room for, a lookup) is a future — the guest's other tasks run
//! meanwhile — and ends at once, trapping, when the context is interrupted. Nothing is kept on
//! the host between a guest's buffers and the kernel: a TCP stream reads into and writes from
//! the guest's buffer directly; a UDP datagram is at most 65,535 bytes.

use std::net::SocketAddr;

use wasmtime::component::{Accessor, ResourceTableError};

use super::HasWasi;
use super::bindings::wasi::sockets::ip_name_lookup;
use super::bindings::wasi::sockets::types::{
    self, ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use crate::WasiCtx;
use crate::sockets::SockErr;
use crate::sockets::lookup::LookupErr;

mod tcp;
mod udp;

pub use tcp::TcpSocket;
pub use udp::UdpSocket;

/// The error of a sockets function: an `error-code`, or a trap.
#[derive(Debug)]
pub enum SocketError {
    /// The error code the guest sees.
    Code(ErrorCode),
    /// The guest misused the interface; the instance traps.
    Trap(wasmtime::Error),
}

impl From<SockErr> for SocketError {
    fn from(e: SockErr) -> Self {
        SocketError::Code(code(e))
    }
}

impl From<rustix::io::Errno> for SocketError {
    fn from(e: rustix::io::Errno) -> Self {
        SockErr::of_host(e).into()
    }
}

impl From<ResourceTableError> for SocketError {
    fn from(e: ResourceTableError) -> Self {
        SocketError::Trap(e.into())
    }
}

impl From<crate::wait::Interrupted> for SocketError {
    fn from(e: crate::wait::Interrupted) -> Self {
        SocketError::Trap(e.into())
    }
}

type SocketResult<T> = Result<T, SocketError>;

/// The `error-code` of a core socket error. WASI 0.3 has no `would-block`, `concurrency-conflict`
/// or `new-socket-limit`: those are `other`, as any error with no name.
pub(crate) fn code(e: SockErr) -> ErrorCode {
    match e {
        SockErr::AccessDenied => ErrorCode::AccessDenied,
        SockErr::NotSupported => ErrorCode::NotSupported,
        SockErr::InvalidArgument => ErrorCode::InvalidArgument,
        SockErr::OutOfMemory => ErrorCode::OutOfMemory,
        SockErr::Timeout => ErrorCode::Timeout,
        SockErr::InvalidState => ErrorCode::InvalidState,
        SockErr::NewSocketLimit => ErrorCode::Other(Some("new-socket-limit".into())),
        SockErr::AddressNotBindable => ErrorCode::AddressNotBindable,
        SockErr::AddressInUse => ErrorCode::AddressInUse,
        SockErr::RemoteUnreachable => ErrorCode::RemoteUnreachable,
        SockErr::ConnectionRefused => ErrorCode::ConnectionRefused,
        SockErr::ConnectionBroken => ErrorCode::ConnectionBroken,
        SockErr::ConnectionReset => ErrorCode::ConnectionReset,
        SockErr::ConnectionAborted => ErrorCode::ConnectionAborted,
        SockErr::DatagramTooLarge => ErrorCode::DatagramTooLarge,
        SockErr::ConcurrencyConflict | SockErr::WouldBlock | SockErr::Other(_) => ErrorCode::Other(None),
    }
}

crate::sockets::ip_address_conversions!(IpAddress, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress);

fn is_v6(f: IpAddressFamily) -> bool {
    matches!(f, IpAddressFamily::Ipv6)
}

impl types::Host for WasiCtx {
    fn convert_error_code(&mut self, err: SocketError) -> wasmtime::Result<ErrorCode> {
        match err {
            SocketError::Code(c) => Ok(c),
            SocketError::Trap(e) => Err(e),
        }
    }
}

/// The `error-code` of a lookup error.
fn lookup_code(e: LookupErr) -> ip_name_lookup::ErrorCode {
    use ip_name_lookup::ErrorCode as C;
    match e {
        LookupErr::AccessDenied => C::AccessDenied,
        LookupErr::InvalidArgument => C::InvalidArgument,
        LookupErr::NameUnresolvable => C::NameUnresolvable,
        LookupErr::TemporaryResolverFailure => C::TemporaryResolverFailure,
        LookupErr::PermanentResolverFailure => C::PermanentResolverFailure,
        LookupErr::OutOfMemory => C::Other(Some("out-of-memory".into())),
    }
}

impl ip_name_lookup::Host for WasiCtx {}

impl<T: Send + 'static> ip_name_lookup::HostWithStore<T> for HasWasi {
    /// The lookup of `crate::sockets::lookup` (an IP literal is its own answer; a name needs
    /// the policy's name lookup), awaited.
    async fn resolve_addresses(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<Vec<IpAddress>, ip_name_lookup::ErrorCode>> {
        let (started, interrupt) = accessor.with(|mut access| {
            let ctx: &mut WasiCtx = access.get();
            (crate::sockets::lookup::resolve(&ctx.net, name), ctx.interrupt.clone())
        });
        let lookup = match started {
            Ok(l) => l,
            Err(e) => return Ok(Err(lookup_code(e))),
        };
        let answer = until_interrupted(&interrupt, lookup.wait()).await?;
        Ok(answer.map(|addrs| addrs.into_iter().map(ip_to_wit).collect()).map_err(lookup_code))
    }
}

/// `future`'s output, or `Interrupted` as soon as `interrupt` is interrupted.
async fn until_interrupted<F: std::future::Future>(
    interrupt: &crate::InterruptHandle,
    future: F,
) -> Result<F::Output, crate::wait::Interrupted> {
    let mut future = std::pin::pin!(future);
    let mut interrupted = std::pin::pin!(interrupt.interrupted());
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(i) = interrupted.as_mut().poll(cx) {
            return std::task::Poll::Ready(Err(i));
        }
        future.as_mut().poll(cx).map(Ok)
    })
    .await
}

/// Waits for `flags` on `fd` (a socket), interruptibly: the core's wait, on the reactor of
/// `p3::run` or tokio's.
async fn ready(
    interrupt: &crate::InterruptHandle,
    fd: &std::sync::Arc<std::os::fd::OwnedFd>,
    flags: rustix::event::PollFlags,
) -> Result<(), crate::wait::Interrupted> {
    let plan = crate::wait::Plan::fd(fd.clone(), flags);
    crate::wait::wait(interrupt, plan).await.map(|_| ())
}

/// The local address of a socket (`getsockname`).
fn local_address(fd: &std::os::fd::OwnedFd) -> Result<SocketAddr, SockErr> {
    crate::sockets::host_addr(rustix::net::getsockname(fd)?)
}
