//! `random_get`: bytes from the context's random source.

use crate::WasiCtx;
use crate::p1::abi::memory::GuestMemory;
use crate::vfs::Errno;

/// `random_get(buf, buf_len)`: fills the buffer. Errors: `EFAULT`; `EIO` the source failed.
pub fn random_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, buf: u32, buf_len: u32) -> Result<(), Errno> {
    let out = mem.slice_mut(buf, buf_len)?;
    ctx.random.fill(out).map_err(|_| Errno::Io)
}
