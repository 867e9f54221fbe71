//! `wasi:sockets/types.tcp-socket@0.3.0`.
//!
//! - `bind`, `connect`, `listen` check the socket's state first (`invalid-state`), then the
//!   address (`invalid-argument`: another family, an IPv4-mapped IPv6 address, multicast or
//!   broadcast; for `connect` also the unspecified address or port 0), then the policy
//!   (`access-denied`), before any system call. Binds use `SO_REUSEADDR`, so a port whose last
//!   connection is in `TIME_WAIT` can be bound again. A preopened listener is adopted by binding
//!   to its exact address, as in WASI 0.2.
//! - `connect` is async: the non-blocking connect, then a wait for the socket to be writable.
//!   A failed connect leaves the socket closed with its error.
//! - `listen` binds an unbound socket to the unspecified address first. Its stream yields each
//!   accepted connection as a new `tcp-socket` (connected, its streams not taken); the listening
//!   socket stays open as long as the `tcp-socket` or the stream lives.
//! - `send` and `receive` work once each on a connected socket (later calls, and calls in
//!   another state, give a closed stream and `invalid-state`). A receive reads straight into the
//!   guest's buffer and waits for at least one byte; the end of the connection ends the stream.
//!   A send writes straight from the guest's buffer as the kernel takes it; when the guest drops
//!   its writer, the connection is shut down for sending (after every byte was handed to the
//!   kernel). Dropping the receive stream shuts the connection down for receiving; its future is
//!   then `ok`.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{RecvFlags, SendFlags, Shutdown, SocketFlags, sockopt};
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Access, Accessor, Destination, FutureReader, Resource, Source, StreamConsumer, StreamProducer, StreamReader,
    StreamResult,
};

use super::super::HasWasi;
use super::super::bindings::wasi::sockets::types::{self, ErrorCode, IpAddressFamily, IpSocketAddress};
use super::super::outcome::{Outcome, outcome};
use super::super::waiting::Waiting;
use super::{SocketError, SocketResult, code, from_std, is_v6, local_address, ready, to_std};
use crate::WasiCtx;
use crate::net::SocketUse;
use crate::sockets::{
    MAX_SOCKETS, Slot, SockErr, adopt_listener, buffer_size, check_local, check_remote, connect_error, hop_limit,
    keepalive, new_socket, preopened_listeners, set_buffer_size, set_hop_limit,
};
use crate::wait::Plan;

/// The backlog of `listen` unless `set-listen-backlog-size` says otherwise.
const DEFAULT_BACKLOG: i32 = 128;

/// The most bytes one read of a receive stream asks the kernel for when the reader is the host.
const HOST_READ: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Made, not bound (or bound by the kernel only: see `TcpSocket::bound`).
    Unbound,
    Bound,
    Listening,
    Connecting,
    Connected,
    /// A connect failed: later calls answer its error.
    Closed(SockErr),
}

/// A `wasi:sockets/types.tcp-socket` (WASI 0.3): a non-blocking host TCP socket and its state.
#[derive(Debug)]
pub struct TcpSocket {
    fd: Arc<OwnedFd>,
    v6: bool,
    state: State,
    backlog: i32,
    /// The socket is a preopened listener (shared with preview1): `listen` leaves it alone.
    adopted: bool,
    send_taken: bool,
    receive_taken: bool,
    _slot: Slot,
}

impl TcpSocket {
    fn new(fd: OwnedFd, v6: bool, state: State, slot: Slot) -> Self {
        TcpSocket {
            fd: Arc::new(fd),
            v6,
            state,
            backlog: DEFAULT_BACKLOG,
            adopted: false,
            send_taken: false,
            receive_taken: false,
            _slot: slot,
        }
    }

    /// Bound explicitly, or by the kernel (a connect binds implicitly): a local address other
    /// than the unspecified one with port 0.
    fn bound(&self) -> bool {
        match self.state {
            State::Unbound => local_address(&self.fd).is_ok_and(|a| a.port() != 0),
            _ => true,
        }
    }

    /// The socket's descriptor for an option: `invalid-state` while connecting, a failed
    /// connect's error once closed.
    fn fd_for_option(&self) -> Result<&OwnedFd, SockErr> {
        match self.state {
            State::Connecting => Err(SockErr::InvalidState),
            State::Closed(e) => Err(e),
            _ => Ok(&self.fd),
        }
    }
}

impl WasiCtx {
    fn tcp3(&mut self, s: &Resource<TcpSocket>) -> SocketResult<&mut TcpSocket> {
        Ok(self.table.get_mut(s)?)
    }
}

/// Binds `sock` to `addr` (checked already): `SO_REUSEADDR` first; a wrong family is
/// `invalid-argument`.
fn bind_fd(fd: &OwnedFd, addr: SocketAddr) -> Result<(), SockErr> {
    // An error here only loses the reuse, not the bind.
    let _ = sockopt::set_socket_reuseaddr(fd, true);
    rustix::net::bind(fd, &addr).map_err(|e| match e {
        HostErrno::AFNOSUPPORT => SockErr::InvalidArgument,
        e => SockErr::of_host(e),
    })
}

fn unspecified(v6: bool) -> SocketAddr {
    if v6 { "[::]:0".parse().unwrap_or(SocketAddr::from(([0; 16], 0))) } else { SocketAddr::from(([0, 0, 0, 0], 0)) }
}

impl types::HostTcpSocket for WasiCtx {
    /// `access-denied` unless the policy grants TCP some use or a listener of this family was
    /// preopened.
    fn create(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let v6 = is_v6(family);
        let preopened = preopened_listeners(&self.fds).any(|(_, a)| a.is_ipv6() == v6);
        if !self.net.policy.allows_protocol(true) && !preopened {
            return Err(SockErr::AccessDenied.into());
        }
        let (fd, slot) = new_socket(&self.net, v6, true)?;
        Ok(self.table.push(TcpSocket::new(fd, v6, State::Unbound, slot))?)
    }

    fn bind(&mut self, s: Resource<TcpSocket>, local: IpSocketAddress) -> SocketResult<()> {
        let addr = to_std(local);
        let sock = self.table.get(&s)?;
        if sock.state != State::Unbound || sock.bound() {
            return Err(SockErr::InvalidState.into());
        }
        check_local(sock.v6, addr)?;
        if let Some(fd) = adopt_listener(&self.fds, addr)? {
            let sock = self.tcp3(&s)?;
            sock.fd = Arc::new(fd);
            sock.adopted = true;
            sock.state = State::Bound;
            return Ok(());
        }
        if !self.net.policy.allows(addr, SocketUse::TcpBind) {
            return Err(SockErr::AccessDenied.into());
        }
        let sock = self.tcp3(&s)?;
        bind_fd(&sock.fd, addr)?;
        sock.state = State::Bound;
        Ok(())
    }

    fn get_local_address(&mut self, s: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.tcp3(&s)?;
        match sock.state {
            State::Closed(e) => return Err(e.into()),
            State::Connecting => return Err(SockErr::InvalidState.into()),
            _ if !sock.bound() => return Err(SockErr::InvalidState.into()),
            _ => {}
        }
        Ok(from_std(local_address(&sock.fd)?))
    }

    fn get_remote_address(&mut self, s: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.tcp3(&s)?;
        match sock.state {
            State::Closed(e) => Err(e.into()),
            State::Connected => match rustix::net::getpeername(&*sock.fd) {
                Ok(Some(a)) => Ok(from_std(crate::sockets::host_addr(a)?)),
                Ok(None) | Err(HostErrno::NOTCONN) => Err(SockErr::InvalidState.into()),
                Err(e) => Err(e.into()),
            },
            _ => Err(SockErr::InvalidState.into()),
        }
    }

    fn get_is_listening(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&s)?.state == State::Listening)
    }

    fn get_address_family(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(if self.table.get(&s)?.v6 { IpAddressFamily::Ipv6 } else { IpAddressFamily::Ipv4 })
    }

    /// 0 is `invalid-argument`; more than `i32::MAX` is `i32::MAX` (the kernel clamps further).
    /// Before `listen`, kept for it; while listening, `listen` again (Linux changes the backlog
    /// of a listening socket).
    fn set_listen_backlog_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        if value == 0 {
            return Err(SockErr::InvalidArgument.into());
        }
        let sock = self.tcp3(&s)?;
        let backlog = value.min(i32::MAX as u64) as i32;
        match sock.state {
            State::Closed(e) => return Err(e.into()),
            State::Connecting | State::Connected => return Err(SockErr::InvalidState.into()),
            State::Listening if !sock.adopted => {
                rustix::net::listen(&*sock.fd, backlog).map_err(|_| SockErr::NotSupported)?;
            }
            _ => {}
        }
        sock.backlog = backlog;
        Ok(())
    }

    fn get_keep_alive_enabled(&mut self, s: Resource<TcpSocket>) -> SocketResult<bool> {
        Ok(keepalive::enabled(self.tcp3(&s)?.fd_for_option()?)?)
    }

    fn set_keep_alive_enabled(&mut self, s: Resource<TcpSocket>, value: bool) -> SocketResult<()> {
        Ok(keepalive::set_enabled(self.tcp3(&s)?.fd_for_option()?, value)?)
    }

    fn get_keep_alive_idle_time(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(keepalive::idle_time(self.tcp3(&s)?.fd_for_option()?)?)
    }

    fn set_keep_alive_idle_time(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(keepalive::set_idle_time(self.tcp3(&s)?.fd_for_option()?, value)?)
    }

    fn get_keep_alive_interval(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(keepalive::interval(self.tcp3(&s)?.fd_for_option()?)?)
    }

    fn set_keep_alive_interval(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(keepalive::set_interval(self.tcp3(&s)?.fd_for_option()?, value)?)
    }

    fn get_keep_alive_count(&mut self, s: Resource<TcpSocket>) -> SocketResult<u32> {
        Ok(keepalive::count(self.tcp3(&s)?.fd_for_option()?)?)
    }

    fn set_keep_alive_count(&mut self, s: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        Ok(keepalive::set_count(self.tcp3(&s)?.fd_for_option()?, value)?)
    }

    fn get_hop_limit(&mut self, s: Resource<TcpSocket>) -> SocketResult<u8> {
        let sock = self.tcp3(&s)?;
        Ok(hop_limit(sock.fd_for_option()?, sock.v6)?)
    }

    fn set_hop_limit(&mut self, s: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        let sock = self.tcp3(&s)?;
        Ok(set_hop_limit(sock.fd_for_option()?, sock.v6, value)?)
    }

    fn get_receive_buffer_size(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(buffer_size(self.tcp3(&s)?.fd_for_option()?, true)?)
    }

    fn set_receive_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(set_buffer_size(self.tcp3(&s)?.fd_for_option()?, true, value)?)
    }

    fn get_send_buffer_size(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(buffer_size(self.tcp3(&s)?.fd_for_option()?, false)?)
    }

    fn set_send_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(set_buffer_size(self.tcp3(&s)?.fd_for_option()?, false, value)?)
    }

    fn drop(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

/// The producer of a `listen` stream: each item a connection accepted, as a new `tcp-socket`.
struct Accepts<T: 'static> {
    get: fn(&mut T) -> &mut WasiCtx,
    fd: Arc<OwnedFd>,
    v6: bool,
    /// A preopened listener keeps the blocking mode its embedder gave it: accept only what is
    /// there.
    adopted: bool,
    waiting: Waiting,
}

impl<T: 'static> StreamProducer<T> for Accepts<T> {
    type Item = Resource<TcpSocket>;
    type Buffer = Option<Resource<TcpSocket>>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, T>,
        mut destination: Destination<'a, Resource<TcpSocket>, Option<Resource<TcpSocket>>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        if destination.remaining(&mut store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let ctx = (this.get)(store.data_mut());
        let interrupt = ctx.interrupt.clone();
        loop {
            if this.adopted && !crate::wait::ready_now(&*this.fd, PollFlags::IN) {
                let fd = this.fd.clone();
                return this.waiting.then_retry(cx, &interrupt, || Plan::fd(fd, PollFlags::IN), finish);
            }
            let Some(slot) = Slot::take(ctx.net.sockets(), MAX_SOCKETS) else {
                // No socket may be added: the stream ends (the guest can drop others and listen
                // again).
                return Poll::Ready(Ok(StreamResult::Dropped));
            };
            match rustix::net::accept_with(&*this.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
                Ok(fd) => {
                    let sock = TcpSocket::new(fd, this.v6, State::Connected, slot);
                    let sock = ctx.table.push(sock)?;
                    destination.set_buffer(Some(sock));
                    return Poll::Ready(Ok(StreamResult::Completed));
                }
                Err(HostErrno::AGAIN | HostErrno::INTR) => {
                    let fd = this.fd.clone();
                    return this.waiting.then_retry(cx, &interrupt, || Plan::fd(fd, PollFlags::IN), finish);
                }
                // A connection that failed before it was accepted: take the next one.
                Err(
                    HostErrno::CONNABORTED
                    | HostErrno::CONNRESET
                    | HostErrno::PROTO
                    | HostErrno::NETRESET
                    | HostErrno::HOSTUNREACH
                    | HostErrno::NETUNREACH
                    | HostErrno::NETDOWN,
                ) => continue,
                // Out of descriptors, or the socket gone: the stream ends.
                Err(_) => return Poll::Ready(Ok(StreamResult::Dropped)),
            }
        }
    }
}

/// The producer of a `receive` stream.
struct Receiver {
    fd: Arc<OwnedFd>,
    interrupt: crate::InterruptHandle,
    result: Outcome<ErrorCode>,
    waiting: Waiting,
}

impl Drop for Receiver {
    /// The guest dropped its reader (or the connection ended): no more receiving.
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.fd, Shutdown::Read);
    }
}

impl<T: 'static> StreamProducer<T> for Receiver {
    type Item = u8;
    type Buffer = Option<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, T>,
        destination: Destination<'a, u8, Option<u8>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let want = destination.remaining(&mut store).unwrap_or(HOST_READ);
        if want == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut direct = destination.as_direct(store, want);
        let buf = direct.remaining();
        let n = buf.len().min(want);
        match rustix::net::recv(&*this.fd, &mut buf[..n], RecvFlags::DONTWAIT) {
            Ok((0, _)) => Poll::Ready(Ok(StreamResult::Dropped)),
            Ok((got, _)) => {
                direct.mark_written(got.min(n));
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Err(HostErrno::AGAIN | HostErrno::INTR) => {
                let fd = this.fd.clone();
                this.waiting.then_retry(cx, &this.interrupt, || Plan::fd(fd, PollFlags::IN), finish)
            }
            Err(e) => {
                this.result.send(Err(code(SockErr::of_host(e))));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
        }
    }
}

/// The consumer of a `send` stream.
struct Sender {
    fd: Arc<OwnedFd>,
    interrupt: crate::InterruptHandle,
    result: Outcome<ErrorCode>,
    waiting: Waiting,
}

impl Drop for Sender {
    /// The guest dropped its writer: every byte was handed to the kernel; the FIN follows them.
    fn drop(&mut self) {
        let _ = rustix::net::shutdown(&*self.fd, Shutdown::Write);
    }
}

impl<T: 'static> StreamConsumer<T> for Sender {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<T>,
        source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        if source.remaining(&mut store) == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut direct = source.as_direct(store);
        let bytes = direct.remaining();
        let len = bytes.len();
        match rustix::net::send(&*this.fd, bytes, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
            Ok(n) => {
                direct.mark_read(n.min(len));
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Err(HostErrno::AGAIN | HostErrno::INTR) => {
                let fd = this.fd.clone();
                this.waiting.then_retry(cx, &this.interrupt, || Plan::fd(fd, PollFlags::OUT), finish)
            }
            Err(e) => {
                this.result.send(Err(code(SockErr::of_host(e))));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
        }
    }
}

/// A result future that is `err(code)`.
fn failed_future<T: Send + 'static>(
    host: &mut Access<'_, T, HasWasi>,
    e: SockErr,
) -> wasmtime::Result<FutureReader<Result<(), ErrorCode>>> {
    let (result, settled) = outcome();
    result.send(Err(code(e)));
    drop(result);
    FutureReader::new(&mut *host, settled)
}

impl<T: Send + 'static> types::HostTcpSocketWithStore<T> for HasWasi {
    async fn connect(
        accessor: &Accessor<T, Self>,
        s: Resource<TcpSocket>,
        remote: IpSocketAddress,
    ) -> SocketResult<()> {
        let addr = to_std(remote);
        let (fd, interrupt) = accessor
            .with(|mut access| -> SocketResult<_> {
                let ctx: &mut WasiCtx = access.get();
                let allowed = ctx.net.policy.allows(addr, SocketUse::TcpConnect);
                let interrupt = ctx.interrupt.clone();
                let sock = ctx.tcp3(&s)?;
                if !matches!(sock.state, State::Unbound | State::Bound) || sock.adopted {
                    return Err(SockErr::InvalidState.into());
                }
                check_remote(sock.v6, addr)?;
                check_local(sock.v6, addr)?;
                if !allowed {
                    return Err(SockErr::AccessDenied.into());
                }
                match rustix::net::connect(&*sock.fd, &addr) {
                    Ok(()) => {
                        sock.state = State::Connected;
                        Ok(None)
                    }
                    Err(HostErrno::INPROGRESS | HostErrno::INTR) => {
                        sock.state = State::Connecting;
                        Ok(Some((sock.fd.clone(), interrupt)))
                    }
                    Err(e) => {
                        let e = connect_error(e);
                        sock.state = State::Closed(e);
                        Err(e.into())
                    }
                }
            })?
            .unzip();
        let (Some(fd), Some(interrupt)) = (fd, interrupt) else { return Ok(()) };
        ready(&interrupt, &fd, PollFlags::OUT).await?;
        let failure = match sockopt::socket_error(&*fd) {
            Ok(Ok(())) => None,
            Ok(Err(e)) | Err(e) => Some(connect_error(e)),
        };
        accessor.with(|mut access| {
            let ctx: &mut WasiCtx = access.get();
            let sock = ctx.tcp3(&s)?;
            match failure {
                None => {
                    sock.state = State::Connected;
                    Ok(())
                }
                Some(e) => {
                    sock.state = State::Closed(e);
                    Err(e.into())
                }
            }
        })
    }

    fn listen(
        mut host: Access<'_, T, Self>,
        s: Resource<TcpSocket>,
    ) -> SocketResult<StreamReader<Resource<TcpSocket>>> {
        let get = host.getter();
        let ctx: &mut WasiCtx = host.get();
        let policy = ctx.net.policy.clone();
        let sock = ctx.tcp3(&s)?;
        match sock.state {
            State::Unbound | State::Bound => {}
            State::Closed(e) => return Err(e.into()),
            _ => return Err(SockErr::InvalidState.into()),
        }
        if !sock.bound() {
            let any = unspecified(sock.v6);
            if !policy.allows(any, SocketUse::TcpBind) {
                return Err(SockErr::AccessDenied.into());
            }
            bind_fd(&sock.fd, any)?;
        }
        if !sock.adopted {
            rustix::net::listen(&*sock.fd, sock.backlog)?;
        }
        sock.state = State::Listening;
        let producer =
            Accepts { get, fd: sock.fd.clone(), v6: sock.v6, adopted: sock.adopted, waiting: Waiting::default() };
        StreamReader::new(&mut host, producer).map_err(SocketError::Trap)
    }

    fn send(
        mut host: Access<'_, T, Self>,
        s: Resource<TcpSocket>,
        mut data: StreamReader<u8>,
    ) -> wasmtime::Result<FutureReader<Result<(), ErrorCode>>> {
        let ctx: &mut WasiCtx = host.get();
        let interrupt = ctx.interrupt.clone();
        let sock = ctx.table.get_mut(&s)?;
        let ok = match sock.state {
            State::Connected if !sock.send_taken => Ok(sock.fd.clone()),
            State::Closed(e) => Err(e),
            _ => Err(SockErr::InvalidState),
        };
        match ok {
            Ok(fd) => {
                sock.send_taken = true;
                let (result, settled) = outcome();
                data.pipe(&mut host, Sender { fd, interrupt, result, waiting: Waiting::default() })?;
                FutureReader::new(&mut host, settled)
            }
            Err(e) => {
                data.close(&mut host)?;
                failed_future(&mut host, e)
            }
        }
    }

    fn receive(
        mut host: Access<'_, T, Self>,
        s: Resource<TcpSocket>,
    ) -> wasmtime::Result<(StreamReader<u8>, FutureReader<Result<(), ErrorCode>>)> {
        let ctx: &mut WasiCtx = host.get();
        let interrupt = ctx.interrupt.clone();
        let sock = ctx.table.get_mut(&s)?;
        let ok = match sock.state {
            State::Connected if !sock.receive_taken => Ok(sock.fd.clone()),
            State::Closed(e) => Err(e),
            _ => Err(SockErr::InvalidState),
        };
        match ok {
            Ok(fd) => {
                sock.receive_taken = true;
                let (result, settled) = outcome();
                let stream =
                    StreamReader::new(&mut host, Receiver { fd, interrupt, result, waiting: Waiting::default() })?;
                Ok((stream, FutureReader::new(&mut host, settled)?))
            }
            Err(e) => {
                let stream = StreamReader::new(&mut host, std::iter::empty::<u8>())?;
                Ok((stream, failed_future(&mut host, e)?))
            }
        }
    }
}
