//! Socket state that every ABI shares: the counts that bound what a guest holds (sockets, name
//! lookups), and the TCP output streams with what they hold beyond what the kernel took, which
//! every wait of the context sends on. The WIT glue of each ABI (`p2::sockets`) translates to
//! and from it.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use rustix::event::PollFlags;
use rustix::io::Errno as HostErrno;
use rustix::net::{SendFlags, Shutdown};

use crate::net::NetworkPolicy;
use crate::vfs::Errno;
use crate::wait::Readiness;

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
