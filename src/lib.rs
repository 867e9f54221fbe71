//! **hammertime**: a complete, sandboxed WASI for [Wasmtime](https://docs.rs/wasmtime) —
//! preview1 modules (`wasi_snapshot_preview1`, [`p1`]) and WASI 0.2 components ([`p2`]) — whose
//! I/O you control from Rust.
//!
//! - stdin from any [`std::io::Read`], stdout and stderr into any [`std::io::Write`]
//!   ([`stdio::OutputBuffer`] captures them);
//! - a guest filesystem made of mounts of any [`vfs::FileSystem`]: in memory ([`vfs::MemFs`]),
//!   a sandboxed host directory ([`vfs::HostDir`]), read-only ([`vfs::ReadOnly`]), a map of
//!   assets ([`vfs::SimpleFsAdapter`]), or your own;
//! - all 46 preview1 calls and every WASI 0.2 `wasi:cli/command` import as synchronous host
//!   functions: no async runtime, and calling from inside one works;
//! - WASI 0.3 components ([`p3`]: `wasi:cli`, `wasi:clocks`, `wasi:filesystem`, `wasi:random`,
//!   `wasi:sockets`), run by
//!   hammertime's own executor for a synchronous embedder ([`p3::run`]);
//! - with the `tokio` cargo feature, async linking of the same context
//!   (`add_to_linker_async`, `run_async`, `p2::add_to_linker_async`, `p2::run_async`):
//!   the calls that wait are futures on the caller's tokio runtime, so a waiting guest holds no
//!   thread.
//!
//! ```
//! use hammertime::{WasiCtx, stdio::OutputBuffer};
//!
//! let engine = wasmtime::Engine::default();
//! let module = wasmtime::Module::new(&engine, r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "fd_write"
//!         (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!       (memory (export "memory") 1)
//!       (data (i32.const 16) "hello\n")
//!       (func (export "_start")
//!         (i32.store (i32.const 0) (i32.const 16))
//!         (i32.store (i32.const 4) (i32.const 6))
//!         (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
//! "#)?;
//! let stdout = OutputBuffer::new();
//! let ctx = WasiCtx::builder().stdout(stdout.clone()).build()?;
//! let code = hammertime::run(&engine, &module, ctx)?;
//! assert_eq!((code, stdout.to_string_lossy().as_str()), (0, "hello\n"));
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```
//!
//! Where to find things: preview1 in [`p1`] — its ABI (types, guest memory) in [`p1::abi`], each
//! call in the file of its family (`fd_write` in `p1/fd.rs`, `path_open` in `p1/path.rs`…);
//! WASI 0.2 in [`p2`], one file per WIT package (`open-at` in `p2/filesystem.rs`, streams in
//! `p2/io.rs`…); the descriptor table in `fdtable.rs`; the filesystem trait, resolver and
//! backends in [`vfs`] (the `hammertime-vfs` crate); the context in [`ctx`].
//!
//! # Wasmtime features
//! hammertime needs Wasmtime's `runtime`, `std` and `component-model` cargo features (it also
//! turns on `cranelift`, `wat`, `parallel-compilation`, `addr2line`, `backtrace` and `demangle`
//! for the convenience of its users) and never changes a `Config`: the Wasm proposals a module
//! may use (exception handling and GC with the `gc` feature, threads, SIMD, memory64…) are the
//! embedder's choice, as with wasmtime-wasi.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
pub mod clocks;
pub mod ctx;
pub mod exit;
mod fdtable;
mod filesystem;
pub mod limits;
pub mod net;
pub mod p1;
pub mod p2;
pub mod p3;
pub mod random;
pub mod rights;
mod run;
mod sockets;
pub mod stdio;
mod wait;

/// The virtual filesystem: the [`FileSystem`](vfs::FileSystem) trait, the resolver and the
/// backends (re-export of the `hammertime-vfs` crate).
pub use hammertime_vfs as vfs;

pub use ctx::{BuildError, WasiCtx, WasiCtxBuilder};
pub use exit::I32Exit;
pub use limits::Limits;
pub use p1::add_to_linker;
#[cfg(feature = "tokio")]
pub use p1::add_to_linker_async;
pub use run::{exit_status, instantiate_reactor, run, run_in, run_in_store};
#[cfg(feature = "tokio")]
pub use run::{run_async, run_in_async};
pub use vfs::Errno;
pub use wait::InterruptHandle;

/// The README's Rust examples, compiled and run as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
