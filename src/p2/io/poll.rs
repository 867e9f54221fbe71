//! `wasi:io/poll`: `poll` and the `pollable` resource, and the one wait every waiting method of
//! WASI 0.2 goes through ([`wait`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::PollFlags;
use wasmtime::component::Resource;

use super::Pollable;
use crate::WasiCtx;
use crate::p2::bindings::wasi::io::poll;
use crate::p2::sockets::Readiness;
use crate::wait::{HostStdin, Interrupted, Mode, Plan, run_on_thread};

/// Whether `p` is ready now, given the monotonic time `now`.
fn ready_now(p: &Pollable, now: u64) -> bool {
    match p {
        Pollable::Ready => true,
        Pollable::Deadline(at) => now >= *at,
        Pollable::Socket(s) => s.ready_now(),
        Pollable::HostStdin => crate::wait::ready_now(&rustix::stdio::stdin(), PollFlags::IN),
        Pollable::Stdio(r) => r.0.poll_ready(&mut std::task::Context::from_waker(std::task::Waker::noop())).is_ready(),
    }
}

/// The longest single sleep while a pollable with nothing to `poll(2)` (a name lookup) is
/// waited for, so it is looked at again regularly.
const SOCKET_RECHECK: Duration = Duration::from_millis(10);

/// One `poll` of a list of pollables, between its waits.
struct Polling {
    /// The earliest deadline still ahead when the poll began, and the real instant its wait
    /// ends (`None`: past the clock's range).
    timer: Option<(u64, Option<Instant>)>,
}

impl Polling {
    /// Starts a poll: the earliest deadline's wait is the context's clock's
    /// ([`MonotonicClock::wait_for`]: a `ManualClock` moves forward here, a `FixedClock` takes
    /// no time), at most `Limits::max_sleep`.
    ///
    /// [`MonotonicClock::wait_for`]: crate::clocks::MonotonicClock::wait_for
    fn start(ctx: &WasiCtx, pollables: &[Pollable]) -> Polling {
        let start = ctx.mono.now();
        let earliest = pollables
            .iter()
            .filter_map(|p| match p {
                Pollable::Deadline(at) if *at > start => Some(*at),
                _ => None,
            })
            .min();
        let timer = earliest.map(|at| {
            let real = ctx.mono.wait_for(at - start).min(ctx.limits.max_sleep);
            (at, Instant::now().checked_add(real))
        });
        Polling { timer }
    }

    /// The indices of the pollables ready now (those whose descriptors the last wait found
    /// ready, `woken` against `which`, among them), in order; or, with nothing ready, the plan of
    /// the next wait and which pollable each of its descriptors stands for (`None`: a TCP output
    /// stream sending its bytes, waited for with the rest so that a guest waiting to read cannot
    /// starve its own writes).
    fn look(
        &self,
        ctx: &WasiCtx,
        pollables: &[Pollable],
        woken: &[PollFlags],
        which: &[Option<u32>],
    ) -> Result<Vec<u32>, (Plan, Vec<Option<u32>>)> {
        let sending = ctx.net.writers_if_any().map(|w| crate::p2::sockets::lock(w).drain_all()).unwrap_or_default();
        let now = ctx.mono.now();
        let timer_done = self.timer.is_some_and(|(_, end)| end.is_some_and(|end| Instant::now() >= end));
        let mut ready: Vec<u32> =
            woken.iter().zip(which).filter(|(e, _)| !e.is_empty()).filter_map(|(_, i)| *i).collect();
        let mut plan = Plan { deadline: self.timer.and_then(|(_, end)| end), ..Plan::default() };
        let mut next = Vec::new();
        for (i, p) in (0u32..).zip(pollables) {
            match p {
                Pollable::Ready => ready.push(i),
                Pollable::Deadline(at) if now >= *at || (timer_done && self.timer.map(|t| t.0) == Some(*at)) => {
                    ready.push(i)
                }
                Pollable::Deadline(_) => {}
                Pollable::Socket(s) => match s.readiness() {
                    Readiness::Ready => ready.push(i),
                    Readiness::Fd(fd, flags) => {
                        let fd: crate::wait::Waitable = fd;
                        plan.fds.push((fd, flags));
                        next.push(Some(i));
                    }
                    Readiness::Later => {
                        let recheck = Instant::now() + SOCKET_RECHECK;
                        plan.deadline = Some(plan.deadline.map_or(recheck, |d| d.min(recheck)));
                    }
                },
                Pollable::HostStdin => {
                    plan.fds.push((Arc::new(HostStdin), PollFlags::IN));
                    next.push(Some(i));
                }
                Pollable::Stdio(r) => {
                    if ready_now(p, now) {
                        ready.push(i);
                    } else {
                        plan.ready.push(r.0.clone());
                    }
                }
            }
        }
        if !ready.is_empty() {
            // Something is ready: the descriptors are only looked at, to report them too.
            ready.extend(
                next.iter()
                    .zip(&plan.fds)
                    .filter(|(_, (fd, flags))| crate::wait::ready_now(fd, *flags))
                    .filter_map(|(i, _)| *i),
            );
            ready.sort_unstable();
            ready.dedup();
            return Ok(ready);
        }
        for fd in sending {
            let fd: crate::wait::Waitable = fd;
            plan.fds.push((fd, PollFlags::OUT));
            next.push(None);
        }
        Err((plan, next))
    }
}

/// Waits until at least one of `pollables` is ready and returns the indices of the ready ones,
/// in order: on the guest's thread (`poll(2)` of every socket until the earliest deadline) or
/// as a future of the executor, as `mode` says. Once the earliest deadline's real time has
/// passed, it counts as ready whatever the clock reads. An interrupt ends the wait with `Err`
/// (the guest traps).
pub(super) async fn wait(ctx: &mut WasiCtx, mode: Mode, pollables: &[Pollable]) -> Result<Vec<u32>, Interrupted> {
    let polling = Polling::start(ctx, pollables);
    let (mut woken, mut which) = (Vec::new(), Vec::new());
    loop {
        ctx.interrupt.check()?;
        match polling.look(ctx, pollables, &woken, &which) {
            Ok(ready) => return Ok(ready),
            Err((plan, next)) => {
                woken = crate::wait::wait_in(mode, &ctx.interrupt, plan).await?;
                which = next;
            }
        }
    }
}

/// Checks `poll`'s list: not empty, and at most `Limits::poll_subscriptions` long.
fn check_list(ctx: &WasiCtx, pollables: &[Resource<Pollable>]) -> wasmtime::Result<()> {
    if pollables.is_empty() {
        wasmtime::bail!("poll of an empty list of pollables");
    }
    let max = ctx.limits.poll_subscriptions;
    if pollables.len() > max as usize {
        wasmtime::bail!(
            "poll of {} pollables, more than the limit of {max} (Limits::poll_subscriptions)",
            pollables.len()
        );
    }
    Ok(())
}

/// `poll`, waiting as `mode` says (the pollables are copied out of the table: each holds at
/// most a shared handle).
async fn poll_list(ctx: &mut WasiCtx, mode: Mode, pollables: &[Resource<Pollable>]) -> wasmtime::Result<Vec<u32>> {
    check_list(ctx, pollables)?;
    let mut ps = Vec::with_capacity(pollables.len());
    for p in pollables {
        ps.push(ctx.table.get(p)?.clone());
    }
    Ok(wait(ctx, mode, &ps).await?)
}

/// `pollable.block`, waiting as `mode` says.
async fn block(ctx: &mut WasiCtx, mode: Mode, p: &Resource<Pollable>) -> wasmtime::Result<()> {
    let p = ctx.table.get(p)?.clone();
    wait(ctx, mode, &[p]).await?;
    Ok(())
}

impl poll::Host for WasiCtx {
    fn poll(&mut self, pollables: Vec<Resource<Pollable>>) -> wasmtime::Result<Vec<u32>> {
        run_on_thread(poll_list(self, Mode::Thread, &pollables))
    }
}

impl poll::HostPollable for WasiCtx {
    fn ready(&mut self, p: Resource<Pollable>) -> wasmtime::Result<bool> {
        let now = self.mono.now();
        Ok(ready_now(self.table.get(&p)?, now))
    }

    fn block(&mut self, p: Resource<Pollable>) -> wasmtime::Result<()> {
        run_on_thread(block(self, Mode::Thread, &p))
    }

    fn drop(&mut self, p: Resource<Pollable>) -> wasmtime::Result<()> {
        self.table.delete(p)?;
        Ok(())
    }
}

/// Defines `wasi:io/poll` in `linker` for async stores: `poll` and `pollable.block` are async
/// host functions whose waits are futures of the executor; `ready` and the destructor stay
/// synchronous.
#[cfg(feature = "tokio")]
pub(crate) fn add_poll_to_linker_async<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    use poll::HostPollable;
    use wasmtime::StoreContextMut;
    use wasmtime::component::ResourceType;

    let mut inst = linker.instance("wasi:io/poll@0.2.12")?;
    inst.resource("pollable", ResourceType::host::<Pollable>(), move |mut store, rep| {
        HostPollable::drop(get(store.data_mut()), Resource::new_own(rep))
    })?;
    inst.func_wrap(
        "[method]pollable.ready",
        move |mut caller: StoreContextMut<'_, T>, (p,): (Resource<Pollable>,)| {
            Ok((HostPollable::ready(get(caller.data_mut()), p)?,))
        },
    )?;
    inst.func_wrap_async(
        "[method]pollable.block",
        move |mut caller: StoreContextMut<'_, T>, (p,): (Resource<Pollable>,)| {
            Box::new(async move {
                block(get(caller.data_mut()), Mode::Executor, &p).await?;
                Ok(())
            })
        },
    )?;
    inst.func_wrap_async(
        "poll",
        move |mut caller: StoreContextMut<'_, T>, (pollables,): (Vec<Resource<Pollable>>,)| {
            Box::new(async move { Ok((poll_list(get(caller.data_mut()), Mode::Executor, &pollables).await?,)) })
        },
    )?;
    Ok(())
}
