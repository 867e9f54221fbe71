//! Waits on tokio (the `tokio` feature): a [`Plan`]'s deadline is a tokio timer and each of its
//! descriptors a registration with tokio's reactor, so that a guest's wait costs an executor
//! thread nothing. The runtime must have its time and I/O drivers (`Builder::enable_all`, or
//! `#[tokio::main]`).
//!
//! A non-blocking descriptor (every socket hammertime makes or accepts) is registered through a
//! duplicate of it wrapped as a [`tokio::net::UnixStream`]: what tokio polls is the open file's
//! readiness, whatever the file is, and the stream is only asked whether it is ready, never read
//! or written. The duplicate is closed, and the registration given back, when the wait ends or
//! its future is dropped. A blocking descriptor (the host's stdin, a listener its embedder left
//! blocking), which tokio does not take and whose mode is not hammertime's to change (it is
//! shared with the embedder), is polled on tokio's blocking pool instead, in slices of
//! [`POLL_SLICE`](super::POLL_SLICE) until the wait ends or is dropped. A descriptor the kernel
//! will not poll (a regular file) counts as ready, as `poll(2)` reports it.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Instant;

use rustix::event::{PollFd, PollFlags};

use super::Plan;

/// How one descriptor of a plan is waited for.
enum Registered {
    /// On tokio's reactor.
    Reactor(tokio::net::UnixStream, PollFlags),
    /// In the blocking poll of the plan's blocking descriptors.
    Blocking,
}

fn register(fd: &dyn AsFd, flags: PollFlags) -> Option<Registered> {
    let blocking = !rustix::fs::fcntl_getfl(fd).ok()?.contains(rustix::fs::OFlags::NONBLOCK);
    if blocking {
        return Some(Registered::Blocking);
    }
    let owned = fd.as_fd().try_clone_to_owned().ok()?;
    let stream = tokio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(owned)).ok()?;
    Some(Registered::Reactor(stream, flags))
}

/// Stops the blocking poll when the wait ends or is dropped.
struct Cancel(Arc<AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Polls `fds` (descriptors the plan had at these indices) until one is ready, `deadline`
/// passes or `cancel` is set: the events of each.
fn poll_blocking(
    fds: Vec<(usize, OwnedFd, PollFlags)>,
    deadline: Option<Instant>,
    cancel: Arc<AtomicBool>,
) -> Vec<(usize, PollFlags)> {
    let mut polled: Vec<PollFd<'_>> = fds.iter().map(|(_, fd, flags)| PollFd::new(fd, *flags)).collect();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = left.map_or(super::POLL_SLICE, |l| l.min(super::POLL_SLICE));
        let ts = rustix::event::Timespec { tv_sec: slice.as_secs() as i64, tv_nsec: i64::from(slice.subsec_nanos()) };
        match rustix::event::poll(&mut polled, Some(&ts)) {
            Ok(0) | Err(rustix::io::Errno::INTR) if left.is_none_or(|l| l > slice) => continue,
            Ok(_) => return fds.iter().zip(&polled).map(|((i, ..), p)| (*i, p.revents())).collect(),
            // Refused by poll(2), or the deadline came: what the call meets itself.
            Err(_) => return fds.iter().map(|(i, _, flags)| (*i, *flags)).collect(),
        }
    }
}

/// Waits for `plan` on the current tokio runtime: each descriptor's events (those awaited it
/// is ready for), all empty when the deadline came first.
pub(super) async fn wait(plan: Plan) -> Vec<PollFlags> {
    let mut registered = Vec::with_capacity(plan.fds.len());
    let mut blocking = Vec::new();
    for (i, (fd, flags)) in plan.fds.iter().enumerate() {
        match register(fd.as_ref(), *flags) {
            Some(Registered::Blocking) => match fd.as_fd().try_clone_to_owned() {
                Ok(owned) => {
                    blocking.push((i, owned, *flags));
                    registered.push(Registered::Blocking);
                }
                Err(_) => return plan.fds.iter().map(|(_, f)| *f).collect(),
            },
            Some(r) => registered.push(r),
            // Not pollable: ready now, as poll(2) says of a regular file.
            None => return plan.fds.iter().map(|(_, f)| *f).collect(),
        }
    }
    let cancel = Cancel(Arc::new(AtomicBool::new(false)));
    let mut blocked = (!blocking.is_empty()).then(|| {
        let (cancel, deadline) = (cancel.0.clone(), plan.deadline);
        tokio::task::spawn_blocking(move || poll_blocking(blocking, deadline, cancel))
    });
    let mut sleep = plan.deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into())));
    let events = std::future::poll_fn(|cx| {
        let mut events = vec![PollFlags::empty(); registered.len()];
        let mut any = false;
        for (r, event) in registered.iter().zip(&mut events) {
            let Registered::Reactor(stream, flags) = r else { continue };
            if flags.intersects(PollFlags::IN | PollFlags::PRI) && stream.poll_read_ready(cx).is_ready() {
                *event |= *flags & (PollFlags::IN | PollFlags::PRI);
            }
            if flags.contains(PollFlags::OUT) && stream.poll_write_ready(cx).is_ready() {
                *event |= PollFlags::OUT;
            }
            any |= !event.is_empty();
        }
        if let Some(task) = &mut blocked
            && let Poll::Ready(done) = std::pin::Pin::new(task).poll(cx)
        {
            for (i, revents) in done.unwrap_or_default() {
                if let Some(event) = events.get_mut(i) {
                    *event |= revents;
                    any |= !revents.is_empty();
                }
            }
            // The blocking poll ended at the deadline with nothing: the deadline is the answer.
            blocked = None;
            if !any && plan.deadline.is_some_and(|d| Instant::now() >= d) {
                return Poll::Ready(events);
            }
        }
        if any || plan.ready.iter().any(|r| r.poll_ready(cx).is_ready()) {
            return Poll::Ready(events);
        }
        if let Some(s) = &mut sleep
            && s.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(events);
        }
        Poll::Pending
    })
    .await;
    drop(cancel);
    events
}
