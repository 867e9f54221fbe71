//! The 46 `wasi_snapshot_preview1` host calls, one file per family, and their linking.
//!
//! Each call is a plain function `fn name(ctx, mem, args…) -> Result<(), Errno>` in the file
//! of its family (`fd_write` in [`fd`], `path_open` in [`path`], `poll_oneoff` in [`poll`], …).
//! [`add_to_linker`] wraps each one as a synchronous Wasmtime host function that borrows the
//! caller's exported `memory`, runs the call, emits a `tracing` event (target
//! `hammertime::wasi`, level TRACE) with the arguments and the errno, and returns the errno.
//!
//! The calls are public, with the guest memory type [`abi::memory::GuestMemory`], for two uses:
//! an embedder who defines one import itself (to meter, log or refuse a call) and then hands
//! it to ours, and code that drives the calls without Wasmtime (differential tests, fuzzing)
//! on a plain byte buffer:
//!
//! ```
//! use hammertime::{WasiCtx, p1::{self, abi::memory::GuestMemory}};
//! let mut ctx = WasiCtx::builder().args(["prog", "-v"]).build()?;
//! let mut bytes = vec![0u8; 64];
//! let mut mem = GuestMemory::new(&mut bytes);
//! p1::args::args_sizes_get(&mut ctx, &mut mem, 0, 4)?;   // argc at 0, buffer size at 4
//! assert_eq!((mem.read_u32(0)?, mem.read_u32(4)?), (2, 8)); // "prog\0-v\0"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use wasmtime::{Caller, Extern, Linker};

use crate::WasiCtx;
use crate::p1::abi::memory::GuestMemory;
use crate::vfs::Errno;

pub mod abi;
pub mod args;
pub mod clock;
pub mod environ;
pub mod fd;
pub mod path;
pub mod poll;
pub mod proc;
pub mod random;
pub mod sched;
pub mod sock;

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The names of the 46 functions of `wasi_snapshot_preview1`, all defined by [`add_to_linker`].
pub const FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// The errno as the `i32` a host function returns.
fn ret(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => i32::from(e.raw()),
    }
}

/// The host function's result: the errno, or the interrupt trap when the call's wait was
/// interrupted ([`crate::InterruptHandle`]).
#[inline]
fn finish(ctx: &mut WasiCtx, result: Result<(), Errno>) -> wasmtime::Result<i32> {
    if ctx.pending_interrupt {
        ctx.pending_interrupt = false;
        return Err(wasmtime::Trap::Interrupt.into());
    }
    Ok(ret(result))
}

/// Runs `f` with the context and the caller's exported memory: the pinned one (while
/// [`crate::run`] or [`crate::run_in_store`] runs a command), else the bound module's export ([`WasiCtx::bind_module`]), else the
/// caller's export named `memory`.
///
/// A module that calls a function needing memory without exporting one traps, as it does under
/// wasmtime-wasi.
fn with_memory<T: 'static, R>(
    caller: &mut Caller<'_, T>,
    get: &(impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static),
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> R,
) -> wasmtime::Result<R> {
    let ctx = get(caller.data_mut());
    if let Some(memory) = ctx.pinned_memory {
        let (bytes, data) = memory.data_and_store_mut(caller);
        let mut mem = GuestMemory::new(bytes);
        return Ok(f(get(data), &mut mem));
    }
    let export = match ctx.memory_export {
        Some(export) => match caller.get_module_export(&export) {
            Some(found) => Some(found),
            None => caller.get_export("memory"),
        },
        None => caller.get_export("memory"),
    };
    let memory = match export {
        Some(Extern::Memory(m)) => m,
        _ => {
            return Err(wasmtime::format_err!(
                "hammertime: the module calls WASI but exports no memory named `memory`"
            ));
        }
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut mem = GuestMemory::new(bytes);
    Ok(f(get(data), &mut mem))
}

/// Defines one host call: `call!(linker, get, family::name(mem; a: u32, b: u64))` for a call
/// that uses guest memory, `call!(linker, get, family::name(a: u32))` for one that does not.
macro_rules! call {
    ($linker:ident, $get:ident, $family:ident :: $name:ident (mem; $($arg:ident : $ty:ty),*)) => {
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                let result = with_memory(&mut caller, &$get, |ctx, mem| $family::$name(ctx, mem, $($arg),*))?;
                tracing::trace!(target: "hammertime::wasi", call = stringify!($name), $($arg,)* errno = errno_name(&result));
                finish($get(caller.data_mut()), result)
            },
        )?;
    };
    ($linker:ident, $get:ident, $family:ident :: $name:ident ($($arg:ident : $ty:ty),*)) => {
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                let ctx = $get(caller.data_mut());
                let result = $family::$name(ctx, $($arg),*);
                tracing::trace!(target: "hammertime::wasi", call = stringify!($name), $($arg,)* errno = errno_name(&result));
                finish(ctx, result)
            },
        )?;
    };
}

/// Runs a call that may wait: attempted, and after each wait its attempt says it needs (on the
/// calling thread, interruptibly) attempted again, with the progress it made kept in its
/// state; an interrupted wait unwinds the call (the host function then traps).
pub(crate) fn blocking(
    ctx: &mut WasiCtx,
    mut attempt: impl FnMut(&mut WasiCtx) -> Result<(), crate::wait::Blocked>,
) -> Result<(), Errno> {
    use crate::wait::Blocked;
    loop {
        match attempt(ctx) {
            Ok(()) => return Ok(()),
            Err(Blocked::Errno(e)) => return Err(e),
            Err(Blocked::Wait(plan)) => {
                if let Err(i) = ctx.interrupt.block(&plan) {
                    return Err(ctx.interrupted(i));
                }
            }
        }
    }
}

/// Defines one call that may wait as an async host function:
/// `call_async!(linker, get, family::try_name => name(a: u32, b: u64))`, where `try_name` is
/// one attempt of the call (`Err(Blocked::Wait(plan))` when it waits) and keeps its progress in
/// its last argument across attempts; each wait is a future ([`crate::wait::wait`]).
#[cfg(feature = "tokio")]
macro_rules! call_async {
    ($linker:ident, $get:ident, $family:ident :: $attempt:ident => $name:ident ($($arg:ident : $ty:ty),*)) => {
        $linker.func_wrap_async(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let mut done = 0u64;
                    let result = loop {
                        let attempt =
                            with_memory(&mut caller, &$get, |ctx, mem| $family::$attempt(ctx, mem, $($arg,)* &mut done))?;
                        match attempt {
                            Ok(()) => break Ok(()),
                            Err(crate::wait::Blocked::Errno(e)) => break Err(e),
                            Err(crate::wait::Blocked::Wait(plan)) => {
                                let interrupt = $get(caller.data_mut()).interrupt.clone();
                                if let Err(i) = crate::wait::wait(&interrupt, plan).await {
                                    break Err($get(caller.data_mut()).interrupted(i));
                                }
                            }
                        }
                    };
                    tracing::trace!(target: "hammertime::wasi", call = stringify!($name), $($arg,)* errno = errno_name(&result));
                    finish($get(caller.data_mut()), result)
                })
            },
        )?;
    };
}

fn errno_name(result: &Result<(), Errno>) -> &'static str {
    match result {
        Ok(()) => "success",
        Err(e) => e.name(),
    }
}

/// Defines all 46 `wasi_snapshot_preview1` functions in `linker`, as synchronous host functions
/// that find the [`WasiCtx`] in the store's data through `get`.
///
/// No async runtime is involved: each call runs on the thread that runs the guest, and a call
/// that waits (`poll_oneoff`, a read of the host's stdin or of a blocking socket, `sock_accept`…)
/// waits on that thread, interruptibly ([`crate::InterruptHandle`]). For a store that many
/// guests share an executor with, see `add_to_linker_async` (the `tokio` feature).
///
/// ```
/// use hammertime::WasiCtx;
/// struct State { wasi: WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::Linker::<State>::new(&engine);
/// hammertime::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
///
/// Errors: Wasmtime's, when a function of the same name is already defined and shadowing is
/// off.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    add_calls_that_never_wait(linker, get)?;
    call!(linker, get, fd::fd_read(mem; fd: u32, iovs: u32, iovs_len: u32, nread: u32));
    call!(linker, get, fd::fd_write(mem; fd: u32, iovs: u32, iovs_len: u32, nwritten: u32));
    call!(linker, get, poll::poll_oneoff(mem; subs: u32, events: u32, nsubscriptions: u32, nevents: u32));
    call!(linker, get, sock::sock_accept(mem; fd: u32, flags: u32, opened: u32));
    call!(linker, get, sock::sock_recv(mem; fd: u32, ri_data: u32, ri_data_len: u32, ri_flags: u32, ro_datalen: u32, ro_flags: u32));
    call!(linker, get, sock::sock_send(mem; fd: u32, si_data: u32, si_data_len: u32, si_flags: u32, so_datalen: u32));
    Ok(())
}

/// Defines the 40 calls that never wait, as synchronous host functions (a `MemFs` call is a
/// memory operation; a `HostDir` call one system call on the disk, which an async store pays on
/// its executor thread, as a blocking `stat(2)` would).
fn add_calls_that_never_wait<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    call!(linker, get, args::args_get(mem; argv: u32, argv_buf: u32));
    call!(linker, get, args::args_sizes_get(mem; argc: u32, argv_buf_size: u32));
    call!(linker, get, environ::environ_get(mem; environ: u32, environ_buf: u32));
    call!(linker, get, environ::environ_sizes_get(mem; count: u32, buf_size: u32));
    call!(linker, get, clock::clock_res_get(mem; id: u32, resolution: u32));
    call!(linker, get, clock::clock_time_get(mem; id: u32, precision: u64, time: u32));
    call!(linker, get, fd::fd_advise(fd: u32, offset: u64, len: u64, advice: u32));
    call!(linker, get, fd::fd_allocate(fd: u32, offset: u64, len: u64));
    call!(linker, get, fd::fd_close(fd: u32));
    call!(linker, get, fd::fd_datasync(fd: u32));
    call!(linker, get, fd::fd_fdstat_get(mem; fd: u32, stat: u32));
    call!(linker, get, fd::fd_fdstat_set_flags(fd: u32, flags: u32));
    call!(linker, get, fd::fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64));
    call!(linker, get, fd::fd_filestat_get(mem; fd: u32, stat: u32));
    call!(linker, get, fd::fd_filestat_set_size(fd: u32, size: u64));
    call!(linker, get, fd::fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32));
    call!(linker, get, fd::fd_pread(mem; fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32));
    call!(linker, get, fd::fd_prestat_get(mem; fd: u32, prestat: u32));
    call!(linker, get, fd::fd_prestat_dir_name(mem; fd: u32, path: u32, path_len: u32));
    call!(linker, get, fd::fd_pwrite(mem; fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32));
    call!(linker, get, fd::fd_readdir(mem; fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32));
    call!(linker, get, fd::fd_renumber(fd: u32, to: u32));
    call!(linker, get, fd::fd_seek(mem; fd: u32, offset: u64, whence: u32, newoffset: u32));
    call!(linker, get, fd::fd_sync(fd: u32));
    call!(linker, get, fd::fd_tell(mem; fd: u32, offset: u32));
    call!(linker, get, path::path_create_directory(mem; fd: u32, path: u32, path_len: u32));
    call!(linker, get, path::path_filestat_get(mem; fd: u32, flags: u32, path: u32, path_len: u32, stat: u32));
    call!(linker, get, path::path_filestat_set_times(mem; fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32));
    call!(linker, get, path::path_link(mem; old_fd: u32, old_flags: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32));
    call!(linker, get, path::path_open(mem; fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32, base: u64, inheriting: u64, fdflags: u32, opened: u32));
    call!(linker, get, path::path_readlink(mem; fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, bufused: u32));
    call!(linker, get, path::path_remove_directory(mem; fd: u32, path: u32, path_len: u32));
    call!(linker, get, path::path_rename(mem; fd: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32));
    call!(linker, get, path::path_symlink(mem; old_path: u32, old_path_len: u32, fd: u32, new_path: u32, new_path_len: u32));
    call!(linker, get, path::path_unlink_file(mem; fd: u32, path: u32, path_len: u32));
    call!(linker, get, proc::proc_raise(sig: u32));
    call!(linker, get, sched::sched_yield());
    call!(linker, get, random::random_get(mem; buf: u32, buf_len: u32));
    call!(linker, get, sock::sock_shutdown(fd: u32, how: u32));
    linker.func_wrap(MODULE, "proc_exit", |code: u32| -> wasmtime::Result<()> {
        tracing::trace!(target: "hammertime::wasi", call = "proc_exit", code);
        Err(proc::proc_exit(code))
    })?;
    Ok(())
}

/// Defines all 46 `wasi_snapshot_preview1` functions in `linker` for async stores, as
/// [`add_to_linker`] does, but for the six calls that can wait — `poll_oneoff`, `fd_read` and
/// `fd_write` (the host's stdin, blocking sockets), `sock_accept`, `sock_recv`, `sock_send` —
/// which are async host functions whose waits are futures of the executor that runs the
/// guest: tokio timers and tokio's reactor, so that a sleeping or reading guest costs no worker
/// thread. The other 40 stay plain synchronous functions. The store must then be driven with
/// Wasmtime's `*_async` entry points (`instantiate_async`, `call_async`); [`crate::run_async`]
/// does it. [`InterruptHandle::interrupt`](crate::InterruptHandle::interrupt) ends a waiting
/// call (the guest traps), and dropping the call's future cancels the wait cleanly.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> wasmtime::Result<()> {
/// use hammertime::WasiCtx;
/// struct State { wasi: WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::Linker::<State>::new(&engine);
/// hammertime::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi)?;
/// let module = wasmtime::Module::new(&engine, r#"(module
///     (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
///     (memory (export "memory") 1)
///     (func (export "_start") (drop (call $y))))"#)?;
/// let mut store = wasmtime::Store::new(&engine, State { wasi: WasiCtx::builder().build()? });
/// let instance = linker.instantiate_async(&mut store, &module).await?;
/// instance.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    add_calls_that_never_wait(linker, get)?;
    call_async!(linker, get, fd::try_fd_read => fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32));
    call_async!(linker, get, fd::try_fd_write => fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32));
    call_async!(linker, get, sock::try_sock_accept => sock_accept(fd: u32, flags: u32, opened: u32));
    call_async!(linker, get, sock::try_sock_recv => sock_recv(fd: u32, ri_data: u32, ri_data_len: u32, ri_flags: u32, ro_datalen: u32, ro_flags: u32));
    call_async!(linker, get, sock::try_sock_send => sock_send(fd: u32, si_data: u32, si_data_len: u32, si_flags: u32, so_datalen: u32));
    linker.func_wrap_async(
        MODULE,
        "poll_oneoff",
        move |mut caller: Caller<'_, T>, (subs, events, nsubscriptions, nevents): (u32, u32, u32, u32)| {
            Box::new(async move {
                let started = with_memory(&mut caller, &get, |ctx, mem| -> Result<_, Errno> {
                    let mut call = poll::PollCall::decode(ctx, mem, subs, events, nsubscriptions, nevents)?;
                    let ready = call.ready_or_plan(ctx)?;
                    Ok((call, ready))
                })?;
                let result = match started {
                    Err(e) => Err(e),
                    Ok((call, Ok(ready))) => with_memory(&mut caller, &get, |_, mem| call.write_events(mem, &ready))?,
                    Ok((call, Err(plan))) => {
                        let interrupt = get(caller.data_mut()).interrupt.clone();
                        let woken = crate::wait::wait(&interrupt, plan).await;
                        with_memory(&mut caller, &get, |ctx, mem| {
                            call.after_wait(ctx, woken).and_then(|ready| call.write_events(mem, &ready))
                        })?
                    }
                };
                tracing::trace!(target: "hammertime::wasi", call = "poll_oneoff", subs, events, nsubscriptions, nevents, errno = errno_name(&result));
                finish(get(caller.data_mut()), result)
            })
        },
    )?;
    Ok(())
}
