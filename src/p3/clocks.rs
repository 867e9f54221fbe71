//! `wasi:clocks@0.3.0`: `monotonic-clock` (its waits are async functions) and `system-clock`,
//! over the context's clocks.
//!
//! `wait-until` and `wait-for` wait the context's monotonic time: as long as the clock says in
//! real time ([`MonotonicClock::wait_for`](crate::clocks::MonotonicClock::wait_for): a
//! `ManualClock` moves forward and takes none), at most `Limits::max_sleep` (the wait then
//! returns), and end at once when the context is interrupted (the guest traps). A deadline
//! already past returns at once. Waits are futures: a guest's other tasks run meanwhile.

use wasmtime::component::Accessor;

use super::HasWasi;
use super::bindings::wasi::clocks::{monotonic_clock, system_clock, types};
use crate::WasiCtx;
use crate::wait::Plan;

const NANOS_PER_SEC: u64 = 1_000_000_000;

impl types::Host for WasiCtx {}

/// Nanoseconds since the epoch as a WIT `instant`.
pub(crate) fn instant(nanos: u64) -> system_clock::Instant {
    system_clock::Instant {
        seconds: i64::try_from(nanos / NANOS_PER_SEC).unwrap_or(i64::MAX),
        nanoseconds: (nanos % NANOS_PER_SEC) as u32,
    }
}

impl system_clock::Host for WasiCtx {
    fn now(&mut self) -> wasmtime::Result<system_clock::Instant> {
        Ok(instant(self.wall.now()))
    }

    fn get_resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(self.wall.resolution())
    }
}

impl monotonic_clock::Host for WasiCtx {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.now())
    }

    fn get_resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.resolution())
    }
}

/// Waits until the context's monotonic clock reads `when` (see the module documentation).
async fn wait_until<T>(accessor: &Accessor<T, HasWasi>, when: u64) -> wasmtime::Result<()> {
    let (interrupt, real) = accessor.with(|mut access| {
        let ctx = access.get();
        let now = ctx.mono.now();
        let real = (when > now).then(|| ctx.mono.wait_for(when - now).min(ctx.limits.max_sleep));
        (ctx.interrupt.clone(), real)
    });
    interrupt.check()?;
    if let Some(real) = real.filter(|r| !r.is_zero()) {
        crate::wait::wait(&interrupt, Plan::sleep(real)).await?;
    }
    Ok(())
}

impl<T: Send + 'static> monotonic_clock::HostWithStore<T> for HasWasi {
    async fn wait_until(accessor: &Accessor<T, Self>, when: u64) -> wasmtime::Result<()> {
        wait_until(accessor, when).await
    }

    async fn wait_for(accessor: &Accessor<T, Self>, how_long: u64) -> wasmtime::Result<()> {
        let now = accessor.with(|mut access| access.get().mono.now());
        wait_until(accessor, now.saturating_add(how_long)).await
    }
}
