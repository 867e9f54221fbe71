//! `proc_exit`, `proc_raise`.

use crate::WasiCtx;
use crate::exit::I32Exit;
use crate::p1::abi::types::signal;
use crate::vfs::Errno;

/// `proc_exit(code)`: ends the guest; the error carries the code as an [`I32Exit`]. WASI
/// defines exit codes as `u32`; they are kept bit for bit in the `i32`.
pub fn proc_exit(code: u32) -> wasmtime::Error {
    wasmtime::Error::new(I32Exit(code as i32))
}

/// `proc_raise(sig)`: there are no signals to deliver, as on a POSIX system without signal
/// support: signal 0 (none) succeeds and does nothing, as `raise(0)` does; an unknown signal
/// number answers `EINVAL`; every real signal `ENOSYS` (nothing is raised, the guest goes on).
pub fn proc_raise(_ctx: &mut WasiCtx, sig: u32) -> Result<(), Errno> {
    match sig {
        0 => Ok(()),
        s if s > u32::from(signal::MAX) => Err(Errno::Inval),
        _ => Err(Errno::Nosys),
    }
}
