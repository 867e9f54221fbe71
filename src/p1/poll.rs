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

use rustix::event::PollFlags;

use crate::WasiCtx;
use crate::fdtable::Kind;
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::{clockid, eventrwflags, eventtype, rights, size, subclockflags};
use crate::p1::clock;
use crate::vfs::Errno;
use crate::wait::Plan;

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

pub(crate) struct Event {
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
    let mut call = PollCall::decode(ctx, mem, subs, events, nsubscriptions, nevents)?;
    let ready = match call.ready_or_plan(ctx)? {
        Ok(ready) => ready,
        Err(plan) => {
            let woken = ctx.interrupt.block(&plan);
            call.after_wait(ctx, woken)?
        }
    };
    call.write_events(mem, &ready)
}

/// A `poll_oneoff` call, decoded: what [`poll_oneoff`] does in steps, so that its wait can be
/// the calling thread's ([`crate::InterruptHandle`]'s `block`) or an executor's (the async
/// host function of `add_to_linker_async`).
pub(crate) struct PollCall {
    subs: Vec<(u64, u8, Sub)>,
    events: u32,
    nevents: u32,
    /// Once waiting: the nanoseconds of the earliest clock, whether the wait was cut at
    /// `Limits::max_sleep`, and which subscriptions are the plan's descriptors, in order.
    waiting: Option<(Option<u64>, bool, Vec<usize>)>,
}

/// The events ready, or what to wait for.
pub(crate) type Readiness = Result<Vec<Event>, Plan>;

impl PollCall {
    /// Checks the arguments and reads the subscriptions (each one's state now).
    pub(crate) fn decode(
        ctx: &mut WasiCtx,
        mem: &GuestMemory<'_>,
        subs: u32,
        events: u32,
        nsubscriptions: u32,
        nevents: u32,
    ) -> Result<PollCall, Errno> {
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
        Ok(PollCall { subs: decoded, events, nevents, waiting: None })
    }

    /// The events ready now, or else what to wait for: the sockets polled, until the earliest
    /// clock. Its wait is the context's monotonic clock's (`MonotonicClock::wait_for`: a
    /// `ManualClock` moves forward here and takes no real time), at most `Limits::max_sleep`.
    pub(crate) fn ready_or_plan(&mut self, ctx: &WasiCtx) -> Result<Readiness, Errno> {
        let ready = collect_ready(&self.subs, 0);
        if !ready.is_empty() {
            return Ok(Ok(ready));
        }
        let wait = self
            .subs
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
        let mut plan = match real {
            Some(real) => Plan::sleep(real),
            // No clock: nothing but a socket (or an interrupt) ends the wait.
            None => Plan::default(),
        };
        let mut which = Vec::new();
        for (i, (_, _, sub)) in self.subs.iter().enumerate() {
            if let Sub::Fd(FdState::Socket { fd, read }) = sub {
                let waitable: crate::wait::Waitable = match &ctx.fds.get(*fd)?.kind {
                    Kind::Stream(s) => s.clone(),
                    Kind::Listener(l) => l.clone(),
                    _ => continue,
                };
                plan.fds.push((waitable, if *read { PollFlags::IN } else { PollFlags::OUT }));
                which.push(i);
            }
        }
        self.waiting = Some((wait, cut, which));
        Ok(Err(plan))
    }

    /// The events after the wait of the plan [`PollCall::ready_or_plan`] gave ended: the sockets
    /// ready, else the clocks due (`EINTR` when the wait was cut at `Limits::max_sleep`); an
    /// interrupted wait unwinds the call (the guest traps).
    pub(crate) fn after_wait(
        &self,
        ctx: &mut WasiCtx,
        woken: Result<Vec<PollFlags>, crate::wait::Interrupted>,
    ) -> Result<Vec<Event>, Errno> {
        let (wait, cut, which) = self.waiting.as_ref().ok_or(Errno::Inval)?;
        let woken = woken.map_err(|i| ctx.interrupted(i))?;
        let mut out = Vec::new();
        for (revents, i) in woken.iter().zip(which) {
            if revents.is_empty() {
                continue;
            }
            let (userdata, tag, _) = &self.subs[*i];
            let hangup = revents.intersects(PollFlags::HUP | PollFlags::ERR);
            let flags = if hangup { eventrwflags::FD_READWRITE_HANGUP } else { 0 };
            out.push(Event { userdata: *userdata, error: None, kind: *tag, nbytes: 0, flags });
        }
        if !out.is_empty() {
            // A socket ended the wait before the earliest clock: only sockets are ready.
            return Ok(out);
        }
        if *cut {
            return Err(Errno::Intr);
        }
        // The earliest clock has waited (a FixedClock never reads it as due).
        Ok(collect_ready(&self.subs, wait.unwrap_or(0)))
    }

    /// Writes `ready` to the guest's event array and their count.
    pub(crate) fn write_events(&self, mem: &mut GuestMemory<'_>, ready: &[Event]) -> Result<(), Errno> {
        for (i, e) in (0u32..).zip(ready) {
            let mut b = [0u8; size::EVENT as usize];
            b[0..8].copy_from_slice(&e.userdata.to_le_bytes());
            b[8..10].copy_from_slice(&e.error.map_or(0, Errno::raw).to_le_bytes());
            b[10] = e.kind;
            b[16..24].copy_from_slice(&e.nbytes.to_le_bytes());
            b[24..26].copy_from_slice(&e.flags.to_le_bytes());
            mem.write_bytes(self.events + i * size::EVENT, &b)?;
        }
        mem.write_u32(self.nevents, ready.len() as u32)
    }
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
