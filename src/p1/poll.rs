//! `poll_oneoff`: waiting for clocks and descriptors.
//!
//! Regular files, directories-as-files and the context's stdio streams are always ready (as
//! `poll(2)` reports regular files; a Rust `Read`/`Write` cannot be asked whether it would
//! block): a read subscription reports the bytes left before the end of a file (for a stream,
//! 0 bytes, meaning "unknown"), a write subscription 0. Sockets are polled for real with
//! `poll(2)`. Clock subscriptions, relative or absolute (`ABSTIME`), fire when their deadline
//! has passed; when nothing is ready, the call sleeps until the earliest deadline (or until a
//! socket becomes ready). The wait is the context's monotonic clock's (`MonotonicClock::wait_for`:
//! a `ManualClock` moves forward and takes no real time), at most `Limits::max_sleep` (then
//! `EINTR`), and ends at once when the context is interrupted (the guest traps). Errors of one
//! subscription (bad descriptor, missing right, unknown
//! clock) are reported in its event, not as the call's errno.

use std::os::fd::AsFd;
use std::time::Duration;

use crate::WasiCtx;
use crate::fdtable::Kind;
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::{clockid, eventrwflags, eventtype, rights, size, subclockflags};
use crate::p1::clock;
use crate::vfs::Errno;

/// One decoded subscription.
enum Sub {
    /// A clock: the remaining nanoseconds until it fires (0 = already), or its error.
    Clock(Result<u64, Errno>),
    /// A descriptor: ready now with `nbytes`, or a socket to poll, or an error.
    Fd(FdState),
}

enum FdState {
    Ready(u64),
    Socket { fd: u32, read: bool },
    Error(Errno),
}

struct Event {
    userdata: u64,
    /// The event's errno; `None` is success (0).
    error: Option<Errno>,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

/// `poll_oneoff(in, out, nsubscriptions) -> nevents`.
/// Errors: `EINVAL` zero subscriptions or an unknown subscription type; `EFAULT`.
pub fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    events: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> Result<(), Errno> {
    if nsubscriptions == 0 || nsubscriptions > ctx.limits.poll_subscriptions {
        return Err(Errno::Inval);
    }
    mem.check(nevents, 4)?;
    let in_len = nsubscriptions.checked_mul(size::SUBSCRIPTION).ok_or(Errno::Fault)?;
    let out_len = nsubscriptions.checked_mul(size::EVENT).ok_or(Errno::Fault)?;
    mem.check(subs, in_len)?;
    mem.check(events, out_len)?;

    let mut decoded = Vec::with_capacity(nsubscriptions as usize);
    for i in 0..nsubscriptions {
        let at = subs + i * size::SUBSCRIPTION;
        let userdata = mem.read_u64(at)?;
        let tag = mem.read_u8(at + 8)?;
        let sub = match tag {
            eventtype::CLOCK => {
                let id = mem.read_u32(at + 16)?;
                let timeout = mem.read_u64(at + 24)?;
                let flags = mem.read_u16(at + 40)?;
                Sub::Clock(clock_remaining(ctx, id, timeout, flags))
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = mem.read_u32(at + 16)?;
                Sub::Fd(fd_state(ctx, fd, tag == eventtype::FD_READ))
            }
            _ => return Err(Errno::Inval),
        };
        decoded.push((userdata, tag, sub));
    }

    let mut ready = collect_ready(&decoded, 0);
    if ready.is_empty() {
        let wait = decoded
            .iter()
            .filter_map(|(_, _, s)| match s {
                Sub::Clock(Ok(ns)) => Some(*ns),
                _ => None,
            })
            .min();
        // The real time the earliest clock takes (the context's clock decides), at most
        // `max_sleep`: past it the call ends with EINTR, as a wait cut short by a signal.
        let real = wait.map(|ns| ctx.mono.wait_for(ns));
        let cut = real.is_some_and(|r| r > ctx.limits.max_sleep);
        let real = real.map(|r| r.min(ctx.limits.max_sleep));
        let has_sockets = decoded.iter().any(|(_, _, s)| matches!(s, Sub::Fd(FdState::Socket { .. })));
        let waited = if has_sockets {
            wait_sockets(ctx, &decoded, real)
        } else {
            // No clock and no socket: nothing can wake the wait but an interrupt.
            ctx.interrupt.sleep(real.unwrap_or(Duration::MAX)).map(|()| Vec::new()).map_err(WaitError::Interrupted)
        };
        ready = match waited {
            Ok(sockets) if !sockets.is_empty() => sockets,
            Ok(_) if cut => return Err(Errno::Intr),
            Ok(_) => collect_ready(&decoded, wait.unwrap_or(0)),

            Err(WaitError::Errno(e)) => return Err(e),
            Err(WaitError::Interrupted(i)) => return Err(ctx.interrupted(i)),
        };
        if ready.is_empty() {
            // Only clocks not yet due (a FixedClock never gets there): the earliest has waited.
            ready = collect_ready(&decoded, wait.unwrap_or(0));
        }
    }

    for (i, e) in (0u32..).zip(&ready) {
        let mut b = [0u8; size::EVENT as usize];
        b[0..8].copy_from_slice(&e.userdata.to_le_bytes());
        b[8..10].copy_from_slice(&e.error.map_or(0, Errno::raw).to_le_bytes());
        b[10] = e.kind;
        b[16..24].copy_from_slice(&e.nbytes.to_le_bytes());
        b[24..26].copy_from_slice(&e.flags.to_le_bytes());
        mem.write_bytes(events + i * size::EVENT, &b)?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

/// Nanoseconds until a clock subscription fires.
fn clock_remaining(ctx: &WasiCtx, id: u32, timeout: u64, flags: u16) -> Result<u64, Errno> {
    if flags & !subclockflags::ABSTIME != 0 {
        return Err(Errno::Inval);
    }
    let now = match id {
        clockid::REALTIME | clockid::MONOTONIC => clock::now(ctx, id)?,
        clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => return Err(Errno::Notsup),
        _ => return Err(Errno::Inval),
    };
    if flags & subclockflags::ABSTIME != 0 { Ok(timeout.saturating_sub(now)) } else { Ok(timeout) }
}

fn fd_state(ctx: &WasiCtx, fd: u32, read: bool) -> FdState {
    let d = match ctx.fds.get(fd) {
        Ok(d) => d,
        Err(e) => return FdState::Error(e),
    };
    if d.require(rights::POLL_FD_READWRITE).is_err() {
        return FdState::Error(Errno::Notcapable);
    }
    match &d.kind {
        Kind::File { file, pos, .. } => {
            if read {
                match file.stat() {
                    Ok(st) => FdState::Ready(st.size.saturating_sub(*pos)),
                    Err(e) => FdState::Error(e),
                }
            } else {
                FdState::Ready(0)
            }
        }
        Kind::Reader { .. } if read => FdState::Ready(0),
        Kind::Writer { .. } if !read => FdState::Ready(0),
        Kind::Reader { .. } | Kind::Writer { .. } => FdState::Error(Errno::Badf),
        Kind::Dir { .. } => FdState::Error(Errno::Badf),
        Kind::Stream(_) | Kind::Listener(_) => FdState::Socket { fd, read },
    }
}

/// The events ready after `elapsed` nanoseconds of waiting.
fn collect_ready(subs: &[(u64, u8, Sub)], elapsed: u64) -> Vec<Event> {
    let mut out = Vec::new();
    for (userdata, tag, sub) in subs {
        let event = match sub {
            Sub::Clock(Ok(ns)) if *ns <= elapsed => Some((None, 0)),
            Sub::Clock(Ok(_)) => None,
            Sub::Clock(Err(e)) => Some((Some(*e), 0)),
            Sub::Fd(FdState::Ready(n)) => Some((None, *n)),
            Sub::Fd(FdState::Error(e)) => Some((Some(*e), 0)),
            Sub::Fd(FdState::Socket { .. }) => None,
        };
        if let Some((error, nbytes)) = event {
            out.push(Event { userdata: *userdata, error, kind: *tag, nbytes, flags: 0 });
        }
    }
    out
}

enum WaitError {
    Errno(Errno),
    Interrupted(crate::wait::Interrupted),
}

/// Polls the sockets among the subscriptions for up to `real` (forever if `None`), the wait of
/// the earliest clock. Returns the sockets ready: none when the time ran out first (the caller
/// then reports the clocks).
fn wait_sockets(ctx: &WasiCtx, subs: &[(u64, u8, Sub)], real: Option<Duration>) -> Result<Vec<Event>, WaitError> {
    use rustix::event::{PollFd, PollFlags};
    let mut fds = Vec::new();
    let mut which = Vec::new();
    for (i, (_, _, sub)) in subs.iter().enumerate() {
        if let Sub::Fd(FdState::Socket { fd, read }) = sub {
            let flags = if *read { PollFlags::IN } else { PollFlags::OUT };
            let borrowed = match &ctx.fds.get(*fd).map_err(WaitError::Errno)?.kind {
                Kind::Stream(s) => s.as_fd(),
                Kind::Listener(l) => l.as_fd(),
                _ => continue,
            };
            fds.push(PollFd::from_borrowed_fd(borrowed, flags));
            which.push(i);
        }
    }
    ctx.interrupt.poll(&mut fds, real).map_err(WaitError::Interrupted)?.map_err(|e| WaitError::Errno(e.into()))?;
    if fds.iter().all(|f| f.revents().is_empty()) {
        return Ok(Vec::new());
    }
    // A socket ended the wait before the earliest clock: only sockets are ready.
    let mut out = Vec::new();
    for (pfd, i) in fds.iter().zip(which) {
        let rev = pfd.revents();
        if rev.is_empty() {
            continue;
        }
        let (userdata, tag, _) = &subs[i];
        let hangup = rev.intersects(PollFlags::HUP | PollFlags::ERR);
        let flags = if hangup { eventrwflags::FD_READWRITE_HANGUP } else { 0 };
        out.push(Event { userdata: *userdata, error: None, kind: *tag, nbytes: 0, flags });
    }
    Ok(out)
}
