//! `clock_res_get`, `clock_time_get`: the realtime, monotonic and CPU-time clocks.

use crate::WasiCtx;
use crate::clocks::host_clock_nanos;
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::clockid;
use crate::vfs::Errno;

/// The current time of clock `id`, in nanoseconds. Process and thread CPU time are both the CPU
/// time of the host thread running the guest (never the host process's, which would let a guest
/// watch its co-tenants' load).
pub(crate) fn now(ctx: &WasiCtx, id: u32) -> Result<u64, Errno> {
    match id {
        clockid::REALTIME => Ok(ctx.wall.now()),
        clockid::MONOTONIC => Ok(ctx.mono.now()),
        // The guest's own CPU time: that of the thread running it. The host process's would
        // tell a guest how busy its co-tenants are.
        clockid::PROCESS_CPUTIME_ID => Ok(host_clock_nanos(rustix::time::ClockId::ThreadCPUTime)),
        clockid::THREAD_CPUTIME_ID => Ok(host_clock_nanos(rustix::time::ClockId::ThreadCPUTime)),
        _ => Err(Errno::Inval),
    }
}

/// `clock_res_get(id) -> resolution`. Errors: `EINVAL` unknown clock; `EFAULT`.
pub fn clock_res_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, id: u32, resolution: u32) -> Result<(), Errno> {
    let res = match id {
        clockid::REALTIME => ctx.wall.resolution(),
        clockid::MONOTONIC => ctx.mono.resolution(),
        clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => 1,
        _ => return Err(Errno::Inval),
    };
    mem.write_u64(resolution, res.max(1))
}

/// `clock_time_get(id, precision) -> time`. The precision is a hint and is ignored.
/// Errors: `EINVAL` unknown clock; `EFAULT`.
pub fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    time: u32,
) -> Result<(), Errno> {
    mem.check(time, 8)?;
    let t = now(ctx, id)?;
    mem.write_u64(time, t)
}
