//! `environ_get`, `environ_sizes_get`: the guest's environment variables.

use super::args::{write_list, write_sizes};
use crate::WasiCtx;
use crate::p1::abi::memory::GuestMemory;
use crate::vfs::Errno;

/// `environ_get(environ, environ_buf)`: the variables as NUL-terminated `KEY=VALUE` strings.
/// Errors: `EFAULT`.
pub fn environ_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, environ: u32, environ_buf: u32) -> Result<(), Errno> {
    write_list(mem, &ctx.env, environ, environ_buf)
}

/// `environ_sizes_get() -> (count, buf_size)`.
/// Errors: `EFAULT`.
pub fn environ_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, count: u32, buf_size: u32) -> Result<(), Errno> {
    write_sizes(mem, &ctx.env, count, buf_size)
}
