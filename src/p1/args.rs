//! `args_get`, `args_sizes_get`: the guest's command-line arguments.

use crate::WasiCtx;
use crate::p1::abi::memory::GuestMemory;
use crate::vfs::Errno;

/// Writes a list of NUL-terminated strings: pointers into `ptrs`, bytes into `buf`.
/// Shared by `args_get` and `environ_get`.
pub(crate) fn write_list(mem: &mut GuestMemory<'_>, list: &[Vec<u8>], ptrs: u32, buf: u32) -> Result<(), Errno> {
    let count = u32::try_from(list.len()).map_err(|_| Errno::Overflow)?;
    mem.check(ptrs, count.checked_mul(4).ok_or(Errno::Fault)?)?;
    let mut at = buf;
    for (i, item) in (0u32..).zip(list) {
        mem.write_u32(ptrs + i * 4, at)?;
        mem.write_bytes(at, item)?;
        let len = u32::try_from(item.len()).map_err(|_| Errno::Overflow)?;
        at = at.checked_add(len).ok_or(Errno::Fault)?;
    }
    Ok(())
}

/// Writes the count of a list and the bytes its NUL-terminated strings take.
/// Shared by `args_sizes_get` and `environ_sizes_get`.
pub(crate) fn write_sizes(mem: &mut GuestMemory<'_>, list: &[Vec<u8>], count: u32, size: u32) -> Result<(), Errno> {
    let n = u32::try_from(list.len()).map_err(|_| Errno::Overflow)?;
    let bytes: usize = list.iter().map(Vec::len).sum();
    let bytes = u32::try_from(bytes).map_err(|_| Errno::Overflow)?;
    mem.check(count, 4)?;
    mem.check(size, 4)?;
    mem.write_u32(count, n)?;
    mem.write_u32(size, bytes)
}

/// `args_get(argv, argv_buf)`: the arguments as NUL-terminated strings.
/// Errors: `EFAULT` a buffer outside memory.
pub fn args_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, argv: u32, argv_buf: u32) -> Result<(), Errno> {
    write_list(mem, &ctx.args, argv, argv_buf)
}

/// `args_sizes_get() -> (argc, argv_buf_size)`.
/// Errors: `EFAULT`.
pub fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argc: u32,
    argv_buf_size: u32,
) -> Result<(), Errno> {
    write_sizes(mem, &ctx.args, argc, argv_buf_size)
}
