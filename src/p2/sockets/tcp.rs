//! `wasi:sockets/tcp` and `wasi:sockets/tcp-create-socket`, and the TCP streams.
//!
//! The state machine of the WIT: `unbound` → (`start-bind`) `bind-in-progress` →
//! (`finish-bind`) `bound` → (`start-listen`) `listen-in-progress` → (`finish-listen`)
//! `listening`; `unbound` or `bound` → (`start-connect`) `connect-in-progress` →
//! (`finish-connect`) `connected`, or `closed` when the connection failed.
//!
//! - A `start-*` while another operation is in progress answers `concurrency-conflict`; one
//!   the state does not allow answers `invalid-state`; a `finish-*` with no such operation in
//!   progress answers `not-in-progress`. Bind and listen are done by their `start-*` call, so
//!   their `finish-*` never answers `would-block`; `finish-connect` does while the connection
//!   is being made (wait on `subscribe`).
//! - `bind` sets `SO_REUSEADDR` for a non-zero port, as the WIT asks.
//! - The keep-alive times are whole seconds: a value is rounded up to a second and clamped to
//!   Linux's maximum (32767 s); `keep-alive-count` is clamped to 127. A value of 0 answers
//!   `invalid-argument`.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{RecvFlags, Shutdown, SocketFlags, SocketType, sockopt};
use wasmtime::component::Resource;

use super::{
    PollKind, Readiness, SocketError, SocketPollable, SocketResult, buffer_size, check_local, check_remote, err,
    from_std, hop_limit, host_addr, host_code, lock, new_socket, set_buffer_size, set_hop_limit, sock_errno, to_std,
};
use crate::WasiCtx;
use crate::net::SocketUse;
use crate::p2::bindings::wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress};
use crate::p2::bindings::wasi::sockets::tcp::ShutdownType;
use crate::p2::bindings::wasi::sockets::{tcp, tcp_create_socket};
use crate::p2::io::{InputStream, OutputStream, Pollable, StreamError};
use crate::p2::sockets::network::Network;
use crate::sockets::{
    MAX_SOCKETS, SharedWriters, Slot, TcpOut, TcpWriter, adopt_listener, keepalive, preopened_listeners,
};

/// The most bytes one read of a TCP input stream returns.
const TCP_READ_MAX: u64 = 64 * 1024;

/// The backlog of `listen` unless `set-listen-backlog-size` says otherwise.
const DEFAULT_BACKLOG: i32 = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unbound,
    BindStarted,
    Bound,
    ListenStarted,
    Listening,
    Connecting,
    Connected,
    Closed,
}

/// A `wasi:sockets/tcp.tcp-socket`: a non-blocking host TCP socket and its WASI state.
#[derive(Debug)]
pub struct TcpSocket {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    state: State,
    /// What the socket's pollables wait for (follows `state`).
    wait: Arc<Mutex<TcpWait>>,
    backlog: i32,
    /// The socket is a preopened listener (shared with preview1): `listen` leaves it alone.
    adopted: bool,
    /// Set by `shutdown(receive)`: the input stream is closed.
    read_shut: Arc<AtomicBool>,
    /// The output stream's state, for `shutdown(send)`.
    writer: Weak<TcpOut>,
    _slot: Slot,
}

/// What the pollables of a TCP socket wait for.
#[derive(Debug)]
pub(crate) enum TcpWait {
    /// Nothing: no operation is in progress.
    Ready,
    /// The connection being made (the socket becomes writable, or fails).
    Connect(Arc<OwnedFd>),
    /// A connection to accept.
    Accept(Arc<OwnedFd>),
}

impl TcpWait {
    pub(crate) fn readiness(&self) -> Readiness {
        match self {
            TcpWait::Ready => Readiness::Ready,
            TcpWait::Connect(fd) => Readiness::Fd(fd.clone(), PollFlags::OUT),
            TcpWait::Accept(fd) => Readiness::Fd(fd.clone(), PollFlags::IN),
        }
    }
}

impl TcpSocket {
    fn new(fd: OwnedFd, family: IpAddressFamily, slot: Slot) -> Self {
        TcpSocket {
            fd: Arc::new(fd),
            family,
            state: State::Unbound,
            wait: Arc::new(Mutex::new(TcpWait::Ready)),
            backlog: DEFAULT_BACKLOG,
            adopted: false,
            read_shut: Arc::new(AtomicBool::new(false)),
            writer: Weak::new(),
            _slot: slot,
        }
    }

    fn set_state(&mut self, state: State) {
        self.state = state;
        *lock(&self.wait) = match state {
            State::Connecting => TcpWait::Connect(self.fd.clone()),
            State::Listening => TcpWait::Accept(self.fd.clone()),
            _ => TcpWait::Ready,
        };
    }

    /// The input and output streams of the connection; the output stream joins `writers`.
    fn streams(&mut self, writers: &SharedWriters) -> (InputStream, OutputStream) {
        let (writer, out) = TcpWriter::new(self.fd.clone(), writers);
        self.writer = out;
        let reader = TcpReader { fd: self.fd.clone(), shut: self.read_shut.clone() };
        (InputStream::Tcp(reader), OutputStream::Tcp(writer))
    }

    /// The error of a `start-*` call in the current state, if it is not `allowed`.
    fn check_start(&self, allowed: &[State]) -> Result<(), ErrorCode> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        Err(match self.state {
            State::BindStarted | State::ListenStarted | State::Connecting => ErrorCode::ConcurrencyConflict,
            _ => ErrorCode::InvalidState,
        })
    }

    fn is_bound(&self) -> bool {
        matches!(
            self.state,
            State::Bound | State::ListenStarted | State::Listening | State::Connecting | State::Connected
        )
    }
}

/// The error code of a failed `connect`.
fn connect_code(e: HostErrno) -> ErrorCode {
    super::code(crate::sockets::connect_error(e))
}

/// The reading half of a TCP connection (an [`InputStream::Tcp`]).
///
/// A read takes what has arrived without waiting: nothing yet is an empty list, the end of
/// the connection (or `shutdown(receive)`) is `closed`.
#[derive(Debug)]
pub struct TcpReader {
    fd: Arc<OwnedFd>,
    shut: Arc<AtomicBool>,
}

impl TcpReader {
    /// Reads what has arrived, up to `len` bytes (at most 64 KiB).
    pub(crate) fn read(&self, len: u64) -> Result<Vec<u8>, StreamError> {
        if self.shut.load(Ordering::Acquire) {
            return Err(StreamError::Closed);
        }
        let len = len.min(TCP_READ_MAX) as usize;
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0; len];
        match rustix::net::recv(&*self.fd, &mut buf[..], RecvFlags::DONTWAIT) {
            Ok((0, _)) => Err(StreamError::Closed),
            Ok((n, _)) => {
                buf.truncate(n.min(len));
                Ok(buf)
            }
            Err(HostErrno::AGAIN | HostErrno::INTR) => Ok(Vec::new()),
            Err(e) => Err(StreamError::Failed(sock_errno(e))),
        }
    }

    /// Ready when bytes (or the end, or an error) arrived.
    pub(crate) fn pollable(&self) -> SocketPollable {
        SocketPollable::fd(&self.fd, true)
    }
}

impl WasiCtx {
    fn tcp(&mut self, s: &Resource<TcpSocket>) -> SocketResult<&mut TcpSocket> {
        Ok(self.table.get_mut(s)?)
    }

    /// Pushes a connected socket's streams as its children.
    fn push_streams(
        &mut self,
        s: &Resource<TcpSocket>,
    ) -> SocketResult<(Resource<InputStream>, Resource<OutputStream>)> {
        let writers = self.net.writers().clone();
        let (input, output) = self.tcp(s)?.streams(&writers);
        let input = self.table.push_child(input, s)?;
        let output = self.table.push_child(output, s)?;
        Ok((input, output))
    }
}

impl tcp_create_socket::Host for WasiCtx {
    /// Answers `access-denied` unless the policy grants TCP some use or a listener of this
    /// family was preopened.
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let v6 = matches!(family, IpAddressFamily::Ipv6);
        let preopened = preopened_listeners(&self.fds).any(|(_, a)| a.is_ipv6() == v6);
        if !self.net.policy.allows_protocol(true) && !preopened {
            return err(ErrorCode::AccessDenied);
        }
        let (fd, slot) = new_socket(self, family, SocketType::STREAM)?;
        Ok(self.table.push(TcpSocket::new(fd, family, slot))?)
    }
}

impl tcp::Host for WasiCtx {}

impl tcp::HostTcpSocket for WasiCtx {
    fn start_bind(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let addr = to_std(local);
        let (state_ok, family) = {
            let sock = self.table.get(&s)?;
            (sock.check_start(&[State::Unbound]), sock.family)
        };
        state_ok?;
        check_local(family, addr)?;
        if let Some(fd) = adopt_listener(&self.fds, addr)? {
            let sock = self.tcp(&s)?;
            sock.fd = Arc::new(fd);
            sock.adopted = true;
            sock.set_state(State::BindStarted);
            return Ok(());
        }
        if !self.net.policy.allows(addr, SocketUse::TcpBind) {
            return err(ErrorCode::AccessDenied);
        }
        let sock = self.tcp(&s)?;
        if addr.port() != 0 {
            sockopt::set_socket_reuseaddr(&*sock.fd, true)?;
        }
        rustix::net::bind(&*sock.fd, &addr).map_err(|e| match e {
            HostErrno::AFNOSUPPORT => ErrorCode::InvalidArgument,
            e => host_code(e),
        })?;
        sock.set_state(State::BindStarted);
        Ok(())
    }

    fn finish_bind(&mut self, s: Resource<TcpSocket>) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        if sock.state != State::BindStarted {
            return err(ErrorCode::NotInProgress);
        }
        sock.set_state(State::Bound);
        Ok(())
    }

    fn start_connect(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        remote: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let addr = to_std(remote);
        let allowed = self.net.policy.allows(addr, SocketUse::TcpConnect);
        let sock = self.tcp(&s)?;
        sock.check_start(&[State::Unbound, State::Bound])?;
        if sock.adopted {
            // A preopened listener stays a listener.
            return err(ErrorCode::InvalidState);
        }
        check_remote(sock.family, addr)?;
        let unicast = match addr.ip() {
            std::net::IpAddr::V4(ip) => !ip.is_multicast() && !ip.is_broadcast(),
            std::net::IpAddr::V6(ip) => !ip.is_multicast(),
        };
        if !unicast {
            return err(ErrorCode::InvalidArgument);
        }
        if !allowed {
            return err(ErrorCode::AccessDenied);
        }
        match rustix::net::connect(&*sock.fd, &addr) {
            Ok(()) | Err(HostErrno::INPROGRESS | HostErrno::INTR) => {
                sock.set_state(State::Connecting);
                Ok(())
            }
            Err(e) => {
                sock.set_state(State::Closed);
                err(connect_code(e))
            }
        }
    }

    fn finish_connect(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<InputStream>, Resource<OutputStream>)> {
        let sock = self.tcp(&s)?;
        if sock.state != State::Connecting {
            return err(ErrorCode::NotInProgress);
        }
        if !crate::wait::ready_now(&sock.fd, PollFlags::OUT) {
            return err(ErrorCode::WouldBlock);
        }
        let failure = match sockopt::socket_error(&*sock.fd) {
            Ok(Ok(())) => None,
            Ok(Err(e)) | Err(e) => Some(e),
        };
        if let Some(e) = failure {
            sock.set_state(State::Closed);
            return err(connect_code(e));
        }
        sock.set_state(State::Connected);
        self.push_streams(&s)
    }

    fn start_listen(&mut self, s: Resource<TcpSocket>) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        sock.check_start(&[State::Bound])?;
        if !sock.adopted {
            rustix::net::listen(&*sock.fd, sock.backlog)?;
        }
        sock.set_state(State::ListenStarted);
        Ok(())
    }

    fn finish_listen(&mut self, s: Resource<TcpSocket>) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        if sock.state != State::ListenStarted {
            return err(ErrorCode::NotInProgress);
        }
        sock.set_state(State::Listening);
        Ok(())
    }

    fn accept(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<TcpSocket>, Resource<InputStream>, Resource<OutputStream>)> {
        let sockets = self.net.sockets().clone();
        let sock = self.tcp(&s)?;
        if sock.state != State::Listening {
            return err(ErrorCode::InvalidState);
        }
        // A preopened listener keeps the blocking mode its embedder gave it: accept only what
        // is there.
        if sock.adopted && !crate::wait::ready_now(&sock.fd, PollFlags::IN) {
            return err(ErrorCode::WouldBlock);
        }
        let slot = Slot::take(&sockets, MAX_SOCKETS).ok_or(ErrorCode::NewSocketLimit)?;
        let fd =
            rustix::net::accept_with(&*sock.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC).map_err(|e| match e {
                HostErrno::AGAIN | HostErrno::INTR => ErrorCode::WouldBlock,
                HostErrno::PROTO => ErrorCode::ConnectionAborted,
                e => host_code(e),
            })?;
        let mut new = TcpSocket::new(fd, sock.family, slot);
        new.set_state(State::Connected);
        let new = self.table.push(new)?;
        let (input, output) = self.push_streams(&new)?;
        Ok((new, input, output))
    }

    fn local_address(&mut self, s: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.tcp(&s)?;
        if !sock.is_bound() {
            return err(ErrorCode::InvalidState);
        }
        Ok(from_std(host_addr(rustix::net::getsockname(&*sock.fd)?)?))
    }

    fn remote_address(&mut self, s: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let sock = self.tcp(&s)?;
        if sock.state != State::Connected {
            return err(ErrorCode::InvalidState);
        }
        match rustix::net::getpeername(&*sock.fd) {
            Ok(Some(a)) => Ok(from_std(host_addr(a)?)),
            Ok(None) | Err(HostErrno::NOTCONN) => err(ErrorCode::InvalidState),
            Err(e) => Err(e.into()),
        }
    }

    fn is_listening(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&s)?.state == State::Listening)
    }

    fn address_family(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self.table.get(&s)?.family)
    }

    /// Before `listen`, kept for it; while listening, `listen` again (Linux changes the
    /// backlog of a listening socket). Clamped to `i32::MAX` (the kernel clamps further).
    fn set_listen_backlog_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        if value == 0 {
            return err(ErrorCode::InvalidArgument);
        }
        if matches!(sock.state, State::Connecting | State::Connected | State::Closed) {
            return err(ErrorCode::InvalidState);
        }
        let backlog = value.min(i32::MAX as u64) as i32;
        if matches!(sock.state, State::ListenStarted | State::Listening) {
            rustix::net::listen(&*sock.fd, backlog)?;
        }
        sock.backlog = backlog;
        Ok(())
    }

    fn keep_alive_enabled(&mut self, s: Resource<TcpSocket>) -> SocketResult<bool> {
        Ok(keepalive::enabled(&self.tcp(&s)?.fd)?)
    }

    fn set_keep_alive_enabled(&mut self, s: Resource<TcpSocket>, value: bool) -> SocketResult<()> {
        Ok(keepalive::set_enabled(&self.tcp(&s)?.fd, value)?)
    }

    fn keep_alive_idle_time(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(keepalive::idle_time(&self.tcp(&s)?.fd)?)
    }

    fn set_keep_alive_idle_time(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(keepalive::set_idle_time(&self.tcp(&s)?.fd, value)?)
    }

    fn keep_alive_interval(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(keepalive::interval(&self.tcp(&s)?.fd)?)
    }

    fn set_keep_alive_interval(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(keepalive::set_interval(&self.tcp(&s)?.fd, value)?)
    }

    fn keep_alive_count(&mut self, s: Resource<TcpSocket>) -> SocketResult<u32> {
        Ok(keepalive::count(&self.tcp(&s)?.fd)?)
    }

    fn set_keep_alive_count(&mut self, s: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        Ok(keepalive::set_count(&self.tcp(&s)?.fd, value)?)
    }

    fn hop_limit(&mut self, s: Resource<TcpSocket>) -> SocketResult<u8> {
        let sock = self.tcp(&s)?;
        hop_limit(&sock.fd, sock.family)
    }

    fn set_hop_limit(&mut self, s: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        set_hop_limit(&sock.fd, sock.family, value)
    }

    fn receive_buffer_size(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        buffer_size(&self.tcp(&s)?.fd, true)
    }

    fn set_receive_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        set_buffer_size(&self.tcp(&s)?.fd, true, value)
    }

    fn send_buffer_size(&mut self, s: Resource<TcpSocket>) -> SocketResult<u64> {
        buffer_size(&self.tcp(&s)?.fd, false)
    }

    fn set_send_buffer_size(&mut self, s: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        set_buffer_size(&self.tcp(&s)?.fd, false, value)
    }

    /// Ready when `finish-connect` or `accept` can answer something but `would-block` (always,
    /// when no connect is in progress and the socket is not listening).
    fn subscribe(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<Resource<Pollable>> {
        let wait = self.table.get(&s)?.wait.clone();
        Ok(self.table.push_child(Pollable::Socket(SocketPollable(PollKind::Tcp(wait))), &s)?)
    }

    /// `send` sends what the output stream still holds first (as it can, without waiting),
    /// then the FIN.
    fn shutdown(&mut self, s: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        let sock = self.tcp(&s)?;
        if sock.state != State::Connected {
            return err(ErrorCode::InvalidState);
        }
        let ignore_gone = |r: rustix::io::Result<()>| match r {
            Ok(()) | Err(HostErrno::NOTCONN) => Ok(()),
            Err(e) => Err(SocketError::from(e)),
        };
        if matches!(how, ShutdownType::Receive | ShutdownType::Both) {
            sock.read_shut.store(true, Ordering::Release);
            ignore_gone(rustix::net::shutdown(&*sock.fd, Shutdown::Read))?;
        }
        if matches!(how, ShutdownType::Send | ShutdownType::Both) {
            match sock.writer.upgrade() {
                Some(out) => out.shut_down_when_drained(),
                None => ignore_gone(rustix::net::shutdown(&*sock.fd, Shutdown::Write))?,
            }
        }
        Ok(())
    }

    fn drop(&mut self, s: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}
