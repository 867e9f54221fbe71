//! `random_get`: bytes from the context's random source.

use crate::WasiCtx;
use crate::p1::abi::memory::GuestMemory;
use crate::vfs::Errno;

/// `random_get(buf, buf_len)`: fills the buffer. Errors: `EINVAL` more than
/// [`Limits::random_bytes`](crate::Limits::random_bytes); `EFAULT`; `EIO` the source failed.
pub fn random_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, buf: u32, buf_len: u32) -> Result<(), Errno> {
    let out = mem.slice_mut(buf, buf_len)?;
    if buf_len > ctx.limits.random_bytes {
        return Err(Errno::Inval);
    }
    ctx.random.fill(out).map_err(|_| Errno::Io)
}
