//! hammertime's own executor for a synchronous embedder of async code (WASI 0.3's
//! `p3::run`): [`block_on`] runs a future to its end on the calling thread, and the waits that
//! future makes ([`wait`](super::wait) of a [`Plan`]) are registered with the thread's reactor
//! instead of blocking it, so that the guest's other tasks go on meanwhile. One `poll(2)` per
//! turn over every registered descriptor and an `eventfd` that wakers write to, with a timeout
//! at the earliest deadline: no tokio, no other thread.

use std::cell::RefCell;
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use rustix::event::{EventfdFlags, PollFd, PollFlags};

use super::Plan;

thread_local! {
    /// The reactor of the [`block_on`] running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<Reactor>>> = const { RefCell::new(None) };
}

/// The waits registered on one thread, and how to wake the thread.
struct Reactor {
    /// Written by every waker: ends the thread's `poll(2)`.
    eventfd: OwnedFd,
    /// Set by every waker: the future must be polled again before the thread sleeps.
    woken: AtomicBool,
    waits: Mutex<Vec<Weak<Registration>>>,
}

/// One wait: its plan, the waker of the task waiting, and, once over, each descriptor's events.
struct Registration {
    plan: Plan,
    state: Mutex<RegState>,
}

#[derive(Default)]
struct RegState {
    waker: Option<Waker>,
    done: Option<Vec<PollFlags>>,
}

impl Wake for Reactor {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            // A full counter (2^64 - 2 wakes unread) cannot happen: each turn reads it.
            let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
        }
    }
}

impl Reactor {
    fn new() -> std::io::Result<Arc<Reactor>> {
        let eventfd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Arc::new(Reactor { eventfd, woken: AtomicBool::new(false), waits: Mutex::new(Vec::new()) }))
    }

    /// Sleeps until a waker is called, a registered descriptor has an event awaited, or a
    /// deadline passes; then wakes the tasks whose waits are over.
    fn turn(&self) {
        if self.woken.swap(false, Ordering::AcqRel) {
            self.drain_eventfd();
            // A wait registered since the last turn may already be over (a deadline passed).
            self.settle(&self.live(), None);
            return;
        }
        let waits = self.live();
        let deadline = waits.iter().filter_map(|w| w.plan.deadline).min();
        let mut fds = vec![PollFd::new(&self.eventfd, PollFlags::IN)];
        for w in &waits {
            for (fd, flags) in &w.plan.fds {
                fds.push(PollFd::from_borrowed_fd(fd.as_fd(), *flags));
            }
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            // Rounded up: a wait never ends before its deadline.
            rustix::event::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: i64::from(left.subsec_nanos().div_ceil(1000) * 1000).min(999_999_999),
            }
        });
        let polled = rustix::event::poll(&mut fds, timeout.as_ref());
        let events: Option<Vec<PollFlags>> = match polled {
            Ok(_) => Some(fds.iter().skip(1).map(PollFd::revents).collect()),
            Err(rustix::io::Errno::INTR) => None,
            // A descriptor poll(2) refuses counts as ready (the call then meets the error).
            Err(_) => Some(waits.iter().flat_map(|w| w.plan.fds.iter().map(|(_, f)| *f)).collect()),
        };
        drop(fds);
        self.woken.store(false, Ordering::Release);
        self.drain_eventfd();
        self.settle(&waits, events.as_deref());
    }

    /// The registered waits still waited on (dropped ones are forgotten).
    fn live(&self) -> Vec<Arc<Registration>> {
        let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        waits.retain(|w| w.strong_count() > 0);
        waits.iter().filter_map(Weak::upgrade).collect()
    }

    /// Ends the waits that are over: a descriptor with an event (`events`, in the order of
    /// `waits`' descriptors; `None`: no events, only deadlines count), or a deadline passed.
    fn settle(&self, waits: &[Arc<Registration>], events: Option<&[PollFlags]>) {
        let now = Instant::now();
        let mut at = 0;
        for w in waits {
            let n = w.plan.fds.len();
            let mine: Vec<PollFlags> = match events {
                Some(events) => events.get(at..at + n).map_or_else(|| vec![PollFlags::empty(); n], <[_]>::to_vec),
                None => vec![PollFlags::empty(); n],
            };
            at += n;
            let over = mine.iter().any(|e| !e.is_empty()) || w.plan.deadline.is_some_and(|d| d <= now);
            if over {
                let mut st = w.state.lock().unwrap_or_else(|e| e.into_inner());
                if st.done.is_none() {
                    st.done = Some(mine);
                    if let Some(waker) = st.waker.take() {
                        waker.wake();
                    }
                }
            }
        }
        self.waits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|w| w.upgrade().is_some_and(|w| w.state.lock().unwrap_or_else(|e| e.into_inner()).done.is_none()));
    }

    fn drain_eventfd(&self) {
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(&self.eventfd, &mut buf);
    }
}

/// Whether the calling thread runs a [`block_on`] (its waits then go to its reactor).
pub(crate) fn active() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Waits for `plan` on the calling thread's reactor: each descriptor's events, all empty when
/// the deadline came first. Only within [`block_on`] ([`active`]).
pub(crate) async fn wait(plan: Plan) -> Vec<PollFlags> {
    let Some(reactor) = CURRENT.with(|c| c.borrow().clone()) else {
        return Vec::new();
    };
    // Things to poll that are no descriptor (tokio stdio) have no place here: tokio serves them.
    let reg = Arc::new(Registration { plan, state: Mutex::new(RegState::default()) });
    reactor.waits.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::downgrade(&reg));
    // Looked at in the next turn, before the thread sleeps.
    reactor.wake_by_ref();
    std::future::poll_fn(|cx| {
        let mut st = reg.state.lock().unwrap_or_else(|e| e.into_inner());
        match st.done.take() {
            Some(events) => Poll::Ready(events),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}

/// Runs `future` to its end on the calling thread, which sleeps in `poll(2)` whenever nothing is
/// ready; the waits of the future ([`wait`](super::wait)) are registered with this thread's
/// reactor meanwhile. Nested calls run on their own reactor.
pub(crate) fn block_on<F: Future>(future: F) -> std::io::Result<F::Output> {
    let reactor = Reactor::new()?;
    let previous = CURRENT.with(|c| c.borrow_mut().replace(reactor.clone()));
    struct Restore(Option<Arc<Reactor>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    let waker = Waker::from(reactor.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Ok(out);
        }
        reactor.turn();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn concurrent_sleeps_end_in_deadline_order_in_one_thread() {
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let sleep = |ms: u64, order: Arc<Mutex<Vec<u64>>>| async move {
            wait(Plan::sleep(Duration::from_millis(ms))).await;
            order.lock().unwrap().push(ms);
        };
        let (a, b, c) = (sleep(30, order.clone()), sleep(10, order.clone()), sleep(20, order.clone()));
        block_on(async {
            let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
            let (mut da, mut db, mut dc) = (false, false, false);
            std::future::poll_fn(|cx| {
                da = da || a.as_mut().poll(cx).is_ready();
                db = db || b.as_mut().poll(cx).is_ready();
                dc = dc || c.as_mut().poll(cx).is_ready();
                if da && db && dc { Poll::Ready(()) } else { Poll::Pending }
            })
            .await
        })
        .unwrap();
        let elapsed = start.elapsed();
        assert_eq!(*order.lock().unwrap(), [10, 20, 30]);
        assert!(elapsed >= Duration::from_millis(30), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "the three sleeps overlap: {elapsed:?}");
        assert!(!active(), "the reactor is gone with its block_on");
    }

    #[test]
    fn a_descriptor_wait_ends_when_readable_and_a_waker_from_another_thread_wakes_the_loop() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a: super::super::Waitable = Arc::new(a);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            use std::io::Write;
            (&b).write_all(b"x").unwrap();
            b
        });
        let events = block_on(wait(Plan::fd(a, PollFlags::IN))).unwrap();
        assert_eq!(events, [PollFlags::IN]);
        writer.join().unwrap();

        // A future woken from another thread (no descriptor of ours involved).
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let woke = block_on(std::future::poll_fn(move |cx| {
            if flag.load(Ordering::Acquire) {
                return Poll::Ready(true);
            }
            let (waker, set) = (cx.waker().clone(), set.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                set.store(true, Ordering::Release);
                waker.wake();
            });
            Poll::Pending
        }))
        .unwrap();
        assert!(woke);
    }
}
