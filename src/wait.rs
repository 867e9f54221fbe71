//! Waiting inside a host call, interruptibly: [`InterruptHandle`] and the waits every blocking
//! call of both ABIs goes through.
//!
//! A host call that waits (a `poll_oneoff` clock, a WASI 0.2 `block`, an accept or receive on a
//! blocking socket, a read of the host's own stdin) waits here, and returns as soon as the
//! context's [`InterruptHandle`] is interrupted: the call then makes the guest trap with
//! Wasmtime's interrupt trap ([`wasmtime::Trap::Interrupt`]) and the host thread is free.
//! Wasmtime's epoch deadline and fuel stop only wasm code, never a host call: an embedder with a
//! deadline calls [`InterruptHandle::interrupt`] where it calls `Engine::increment_epoch`.
//!
//! Time: a wait for `n` nanoseconds of the guest's monotonic clock asks the clock how long that
//! is in real time ([`MonotonicClock::wait_for`](crate::clocks::MonotonicClock::wait_for)): the
//! host clock answers `n`; a [`ManualClock`](crate::clocks::ManualClock) moves itself forward by
//! `n` and answers zero, so a test of a sleeping guest takes no real time; a
//! [`FixedClock`](crate::clocks::FixedClock) answers zero (time stands still, waits take none).

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

/// The longest one `poll(2)` of descriptors lasts before the interrupt flag is looked at again:
/// how late at most a wait on sockets or stdin notices an interrupt.
pub(crate) const POLL_SLICE: Duration = Duration::from_millis(10);

/// Ends the waits of a context's host calls from another thread; cloneable and `Send`.
///
/// Get it with [`WasiCtx::interrupt_handle`](crate::WasiCtx::interrupt_handle). After
/// [`interrupt`](InterruptHandle::interrupt), a call that waits — or is waiting — returns at
/// once (within 10 ms for waits on sockets and stdin) and the guest traps with
/// [`wasmtime::Trap::Interrupt`]; calls that do not wait run as usual, so stop the guest's own
/// code with Wasmtime's epoch interruption beside it.
/// [`clear`](InterruptHandle::clear) lets the context wait again (to call a reactor again).
///
/// ```
/// use std::time::Duration;
/// let ctx = hammertime::WasiCtx::builder().build()?;
/// let handle = ctx.interrupt_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(100));
///     handle.interrupt(); // with the engine's `increment_epoch()`, for a deadline
/// });
/// # Ok::<(), hammertime::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct InterruptHandle {
    inner: Arc<Signal>,
}

#[derive(Debug, Default)]
struct Signal {
    flag: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

/// A wait ended by [`InterruptHandle::interrupt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interrupted;

/// Unwinds a preview1 call from an interrupted wait: sets `pending` (the context's
/// `pending_interrupt`, after which the host function traps) and returns the errno the call
/// returns on its way out.
pub(crate) fn unwind(pending: &mut bool, _: Interrupted) -> crate::Errno {
    *pending = true;
    crate::Errno::Intr
}

impl From<Interrupted> for wasmtime::Error {
    fn from(_: Interrupted) -> Self {
        wasmtime::Error::from(wasmtime::Trap::Interrupt)
    }
}

impl InterruptHandle {
    /// A handle, not interrupted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends every wait of the context now and until [`InterruptHandle::clear`].
    pub fn interrupt(&self) {
        let _guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.flag.store(true, Ordering::SeqCst);
        self.inner.wake.notify_all();
    }

    /// Whether [`InterruptHandle::interrupt`] was called since the last clear.
    pub fn is_interrupted(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Lets calls wait again.
    pub fn clear(&self) {
        self.inner.flag.store(false, Ordering::SeqCst);
    }

    /// `Err` if interrupted.
    pub(crate) fn check(&self) -> Result<(), Interrupted> {
        if self.is_interrupted() { Err(Interrupted) } else { Ok(()) }
    }

    /// Sleeps `d` of real time, or less when interrupted (then `Err`).
    pub(crate) fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        let end = Instant::now().checked_add(d);
        let mut guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.is_interrupted() {
                return Err(Interrupted);
            }
            let left = match end {
                Some(end) => end.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return Ok(());
            }
            guard = match self.inner.wake.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// `poll(2)` of `fds` for up to `timeout` of real time (`None`: until one is ready), in
    /// slices of [`POLL_SLICE`] between which the interrupt flag is looked at. Returns the
    /// `poll` result (`Ok(0)` when the time ran out), or `Err` when interrupted.
    pub(crate) fn poll(
        &self,
        fds: &mut [PollFd<'_>],
        timeout: Option<Duration>,
    ) -> Result<rustix::io::Result<usize>, Interrupted> {
        let end = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            self.check()?;
            let left = end.map(|end| end.saturating_duration_since(Instant::now()));
            let slice = left.map_or(POLL_SLICE, |l| l.min(POLL_SLICE));
            let ts =
                rustix::event::Timespec { tv_sec: slice.as_secs() as i64, tv_nsec: i64::from(slice.subsec_nanos()) };
            match rustix::event::poll(fds, Some(&ts)) {
                Ok(0) if left.is_none_or(|l| l > slice) => continue,
                Err(rustix::io::Errno::INTR) => continue,
                other => return Ok(other),
            }
        }
    }

    /// Whether another clone of this handle exists: else nobody can interrupt, and a wait may
    /// block in the kernel as it would without an interrupt handle.
    pub(crate) fn shared(&self) -> bool {
        Arc::strong_count(&self.inner) > 1
    }

    /// Waits until `fd` is readable (or has hung up), interruptibly; at once when nobody can
    /// interrupt ([`InterruptHandle::shared`]), leaving the wait to the read itself.
    pub(crate) fn wait_readable(&self, fd: BorrowedFd<'_>) -> Result<(), Interrupted> {
        if !self.shared() {
            return Ok(());
        }
        let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
        // A descriptor poll(2) refuses is left for the read itself to report.
        let _ = self.poll(&mut fds, None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_ends_early_when_interrupted() {
        let h = InterruptHandle::new();
        assert_eq!(h.sleep(Duration::from_millis(1)), Ok(()));
        let other = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.interrupt();
        });
        let start = Instant::now();
        assert_eq!(h.sleep(Duration::from_secs(3600)), Err(Interrupted));
        assert!(start.elapsed() < Duration::from_secs(10));
        t.join().unwrap();
        assert_eq!(h.sleep(Duration::ZERO), Err(Interrupted));
        h.clear();
        assert_eq!(h.sleep(Duration::ZERO), Ok(()));
    }

    #[test]
    fn poll_ends_early_when_interrupted() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let h = InterruptHandle::new();
        let mut fds = [PollFd::new(&a, PollFlags::IN)];
        assert_eq!(h.poll(&mut fds, Some(Duration::from_millis(25))), Ok(Ok(0)));
        // Nobody else holds the handle: nothing could interrupt, so no wait happens here.
        use std::os::fd::AsFd;
        assert_eq!(h.wait_readable(a.as_fd()), Ok(()));
        let other = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.interrupt();
        });
        assert_eq!(h.wait_readable(a.as_fd()), Err(Interrupted));
        t.join().unwrap();
    }
}
