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
//! A blocked call describes what it waits for as a [`Plan`] (a real-time deadline, descriptors
//! and the events awaited), and waits for it one of two ways, with the same meaning:
//! [`InterruptHandle::block`] on the calling thread (`poll(2)` in slices, the synchronous host
//! functions), or [`wait`], a future on the executor that polls the call (async host functions:
//! tokio's timers and reactor under the `tokio` feature; see `wait/tokio.rs`). Either ends at
//! once when the context is interrupted.
//!
//! Time: a wait for `n` nanoseconds of the guest's monotonic clock asks the clock how long that
//! is in real time ([`MonotonicClock::wait_for`](crate::clocks::MonotonicClock::wait_for)): the
//! host clock answers `n`; a [`ManualClock`](crate::clocks::ManualClock) moves itself forward by
//! `n` and answers zero, so a test of a sleeping guest takes no real time; a
//! [`FixedClock`](crate::clocks::FixedClock) answers zero (time stands still, waits take none).

use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

pub(crate) mod reactor;
#[cfg(feature = "tokio")]
mod tokio;

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
    /// The async waits to wake on an interrupt, by the number of the future that waits.
    lock: Mutex<Wakers>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Wakers {
    next: u64,
    waiting: Vec<(u64, Waker)>,
}

/// What something a guest may wait on (a socket, a socket stream, a name lookup) waits for,
/// now.
pub(crate) enum Readiness {
    /// Nothing: it is ready.
    Ready,
    /// One of these events (or an error or hang-up) on this descriptor.
    Fd(Arc<rustix::fd::OwnedFd>, PollFlags),
    /// Something with no descriptor to poll (a lookup): look again a little later.
    Later,
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
        let waiting = {
            let mut wakers = self.wakers();
            self.inner.flag.store(true, Ordering::SeqCst);
            self.inner.wake.notify_all();
            std::mem::take(&mut wakers.waiting)
        };
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        self.inner.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A future that completes when the handle is interrupted (at once if it is).
    pub(crate) fn interrupted(&self) -> Interruption<'_> {
        Interruption { handle: self, id: None }
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

    /// Sleeps until `end` of real time (`None`: forever), or less when interrupted (`Err`).
    fn sleep_until(&self, end: Option<Instant>) -> Result<(), Interrupted> {
        let mut guard = self.wakers();
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

    /// Waits on the calling thread for `plan`: until one of its descriptors has an event
    /// awaited (or an error or hang-up) or its deadline passes. Returns each descriptor's events
    /// (all empty when the deadline came first), or `Err` when interrupted. A descriptor
    /// `poll(2)` refuses counts as ready (the call then meets the error itself).
    pub(crate) fn block(&self, plan: &Plan) -> Result<Vec<PollFlags>, Interrupted> {
        if !plan.ready.is_empty() {
            return self.block_polling(plan);
        }
        if plan.fds.is_empty() {
            self.sleep_until(plan.deadline)?;
            return Ok(Vec::new());
        }
        let mut fds: Vec<PollFd<'_>> = plan.fds.iter().map(|(fd, flags)| PollFd::new(fd, *flags)).collect();
        let timeout = plan.deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match self.poll(&mut fds, timeout)? {
            Ok(_) => Ok(fds.iter().map(PollFd::revents).collect()),
            Err(_) => Ok(plan.fds.iter().map(|(_, flags)| *flags).collect()),
        }
    }
}

impl InterruptHandle {
    /// [`InterruptHandle::block`] for a plan with things to poll: they are polled with a waker
    /// that unparks this thread, the descriptors looked at, in slices of [`POLL_SLICE`].
    fn block_polling(&self, plan: &Plan) -> Result<Vec<PollFlags>, Interrupted> {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            self.check()?;
            if plan.ready.iter().any(|r| r.poll_ready(&mut cx).is_ready()) {
                return Ok(vec![PollFlags::empty(); plan.fds.len()]);
            }
            let events: Vec<PollFlags> =
                plan.fds.iter().map(|(fd, f)| if ready_now(fd, *f) { *f } else { PollFlags::empty() }).collect();
            if events.iter().any(|e| !e.is_empty()) {
                return Ok(events);
            }
            let left = plan.deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(events);
            }
            std::thread::park_timeout(left.map_or(POLL_SLICE, |l| l.min(POLL_SLICE)));
        }
    }
}

/// The future of [`InterruptHandle::interrupted`]: registers its waker with the handle while it
/// waits, and takes it back when dropped.
pub(crate) struct Interruption<'a> {
    handle: &'a InterruptHandle,
    id: Option<u64>,
}

impl Future for Interruption<'_> {
    type Output = Interrupted;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Interrupted> {
        let handle = self.handle;
        let mut wakers = handle.wakers();
        if handle.is_interrupted() {
            return Poll::Ready(Interrupted);
        }
        let id = *self.id.get_or_insert_with(|| {
            wakers.next += 1;
            wakers.next
        });
        match wakers.waiting.iter_mut().find(|(i, _)| *i == id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => wakers.waiting.push((id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Interruption<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.handle.wakers().waiting.retain(|(i, _)| *i != id);
        }
    }
}

/// Why an attempt of a call that may wait did not finish: its errno, or what it waits for
/// before it is attempted again (with the progress it made kept by its caller).
pub(crate) enum Blocked {
    /// The call's errno.
    Errno(crate::Errno),
    /// The call waits for this, then is attempted again.
    Wait(Plan),
}

impl From<crate::Errno> for Blocked {
    fn from(e: crate::Errno) -> Self {
        Blocked::Errno(e)
    }
}

/// Whether `fd` has one of `flags` (or an error or hang-up) now.
pub(crate) fn ready_now(fd: &impl AsFd, flags: PollFlags) -> bool {
    let mut fds = [PollFd::new(fd, flags)];
    let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// A descriptor a wait polls, shared with what owns it (a socket, the host's stdin), so that an
/// async wait can hold it while the guest's call is suspended.
pub(crate) type Waitable = Arc<dyn AsFd + Send + Sync>;

/// Something a wait polls that is no descriptor: a tokio stdin that has nothing yet, or a
/// tokio output that has not taken its bytes (the `tokio` feature).
pub(crate) trait Ready: Send + Sync {
    /// `Ready` once a call waiting for it can make progress; else it wakes `cx` when it can.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()>;
}

/// What a blocked call waits for: the first of its descriptors to have an event awaited (or an
/// error or hang-up), of its other things to be ready, or its deadline (real time), whichever
/// comes first.
#[derive(Default)]
pub(crate) struct Plan {
    /// When the wait ends by itself; `None`: only a descriptor (or an interrupt) ends it.
    pub deadline: Option<Instant>,
    /// The descriptors and the events awaited on each.
    pub fds: Vec<(Waitable, PollFlags)>,
    /// The other things awaited.
    pub ready: Vec<Arc<dyn Ready>>,
}

impl Plan {
    /// A wait of `d` of real time (saturating: forever past the clock's range).
    pub fn sleep(d: Duration) -> Plan {
        Plan { deadline: Instant::now().checked_add(d), ..Plan::default() }
    }

    /// A wait for `flags` on `fd`, with no deadline.
    pub fn fd(fd: Waitable, flags: PollFlags) -> Plan {
        Plan { fds: vec![(fd, flags)], ..Plan::default() }
    }

    /// A wait for `ready`, with no deadline.
    pub fn ready(ready: Arc<dyn Ready>) -> Plan {
        Plan { ready: vec![ready], ..Plan::default() }
    }
}

/// The host's own stdin descriptor, as a [`Waitable`].
pub(crate) struct HostStdin;

impl AsFd for HostStdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        rustix::stdio::stdin()
    }
}

/// Where a call that may wait does its waiting: on the thread that runs the guest (the
/// synchronous host functions), or as a future of the executor that polls the guest (the async
/// host functions of `add_to_linker_async`). A call that waits is written once, as an `async
/// fn` taking its mode; the synchronous host function runs it with [`run_on_thread`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// [`InterruptHandle::block`]: the future never yields.
    Thread,
    /// [`wait`].
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Executor,
}

/// Waits for `plan` as `mode` says.
pub(crate) async fn wait_in(
    mode: Mode,
    interrupt: &InterruptHandle,
    plan: Plan,
) -> Result<Vec<PollFlags>, Interrupted> {
    match mode {
        Mode::Thread => interrupt.block(&plan),
        Mode::Executor => wait(interrupt, plan).await,
    }
}

/// Runs `future` to its end on the calling thread: the future of a call in [`Mode::Thread`],
/// which finishes in its first poll (its waits block the thread instead of yielding); one that
/// yields all the same is polled again when woken, the thread parked meanwhile.
pub(crate) fn run_on_thread<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = pin!(future);
    if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return out;
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Waits for `plan` as a future of the executor that polls it, as [`InterruptHandle::block`]
/// waits on the thread: each descriptor's events, all empty when the deadline came first, or
/// `Err` when `interrupt` is interrupted. Dropping the future ends the wait and gives back what
/// it registered.
///
/// Within hammertime's own executor ([`reactor::block_on`], which `p3::run` uses) the wait is
/// registered with the thread's reactor; inside a tokio runtime (with the `tokio` feature) the
/// deadline is a tokio timer and each descriptor a registration with tokio's reactor; anywhere
/// else the wait blocks the thread that polls it, as a synchronous call would.
pub(crate) async fn wait(interrupt: &InterruptHandle, plan: Plan) -> Result<Vec<PollFlags>, Interrupted> {
    let interrupted = pin!(interrupt.interrupted());
    let waited = pin!(wait_on_executor(interrupt, plan));
    select(interrupted, waited).await
}

/// The wait of [`wait`], without the interrupt.
async fn wait_on_executor(interrupt: &InterruptHandle, plan: Plan) -> Result<Vec<PollFlags>, Interrupted> {
    if reactor::active() && plan.ready.is_empty() {
        return Ok(reactor::wait(plan).await);
    }
    #[cfg(feature = "tokio")]
    if ::tokio::runtime::Handle::try_current().is_ok() {
        return Ok(tokio::wait(plan).await);
    }
    interrupt.block(&plan)
}

/// The first of an interrupt and a wait to end.
async fn select<W>(
    mut interrupted: std::pin::Pin<&mut Interruption<'_>>,
    mut waited: std::pin::Pin<&mut W>,
) -> Result<Vec<PollFlags>, Interrupted>
where
    W: Future<Output = Result<Vec<PollFlags>, Interrupted>>,
{
    std::future::poll_fn(|cx| {
        if let Poll::Ready(i) = interrupted.as_mut().poll(cx) {
            return Poll::Ready(Err(i));
        }
        waited.as_mut().poll(cx)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_early_when_interrupted() {
        let h = InterruptHandle::new();
        assert_eq!(h.block(&Plan::sleep(Duration::from_millis(1))), Ok(Vec::new()));
        let other = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.interrupt();
        });
        let start = Instant::now();
        assert_eq!(h.block(&Plan::sleep(Duration::from_secs(3600))), Err(Interrupted));
        assert!(start.elapsed() < Duration::from_secs(10));
        t.join().unwrap();
        assert_eq!(h.block(&Plan::sleep(Duration::ZERO)), Err(Interrupted));
        h.clear();
        assert_eq!(h.block(&Plan::sleep(Duration::ZERO)), Ok(Vec::new()));
    }

    #[test]
    fn a_wait_for_a_descriptor_reports_its_events_and_ends_when_interrupted() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a: Waitable = Arc::new(a);
        let h = InterruptHandle::new();
        let plan = Plan {
            deadline: Instant::now().checked_add(Duration::from_millis(25)),
            fds: vec![(a.clone(), PollFlags::IN)],
            ..Plan::default()
        };
        assert_eq!(h.block(&plan), Ok(vec![PollFlags::empty()]), "nothing to read: the deadline ends it");
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        assert_eq!(h.block(&Plan::fd(a.clone(), PollFlags::IN)), Ok(vec![PollFlags::IN]));
        let (c, _d) = std::os::unix::net::UnixStream::pair().unwrap();
        let other = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.interrupt();
        });
        assert_eq!(h.block(&Plan::fd(Arc::new(c), PollFlags::IN)), Err(Interrupted));
        t.join().unwrap();
    }

    #[test]
    fn an_interruption_future_completes_on_interrupt_and_forgets_its_waker_when_dropped() {
        let h = InterruptHandle::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        {
            let mut f = pin!(h.interrupted());
            assert_eq!(f.as_mut().poll(&mut cx), Poll::Pending);
            assert_eq!(h.wakers().waiting.len(), 1);
        }
        assert!(h.wakers().waiting.is_empty(), "a dropped wait takes its waker back");
        let mut f = pin!(h.interrupted());
        assert_eq!(f.as_mut().poll(&mut cx), Poll::Pending);
        h.interrupt();
        assert_eq!(f.as_mut().poll(&mut cx), Poll::Ready(Interrupted));
        assert!(h.wakers().waiting.is_empty());
    }
}
