//! `sched_yield`.

use crate::WasiCtx;
use crate::vfs::Errno;

/// `sched_yield()`: yields the host thread running the guest.
pub fn sched_yield(_ctx: &mut WasiCtx) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}
