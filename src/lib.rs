//! **hammertime**: a complete, sandboxed WASI preview1 (`wasi_snapshot_preview1`) for
//! [Wasmtime](https://docs.rs/wasmtime) whose I/O you control from Rust.
//!
//! - stdin from any [`std::io::Read`], stdout and stderr into any [`std::io::Write`]
//!   ([`stdio::OutputBuffer`] captures them);
//! - a guest filesystem made of mounts of any [`vfs::FileSystem`]: in memory ([`vfs::MemFs`]),
//!   a sandboxed host directory ([`vfs::HostDir`]), read-only ([`vfs::ReadOnly`]), a map of
//!   assets ([`vfs::SimpleFsAdapter`]), or your own;
//! - all 46 calls as synchronous host functions: no async runtime.
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
//! Where to find things: the ABI (types, errno, guest memory) in [`abi`]; each call in the file
//! of its family under [`calls`] (`fd_write` in `calls/fd.rs`, `path_open` in
//! `calls/path.rs`…); the descriptor table in `fdtable.rs`; the filesystem trait, resolver and
//! backends in [`vfs`] (the `hammertime-vfs` crate); the context in [`ctx`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
pub mod calls;
pub mod clocks;
pub mod ctx;
pub mod exit;
mod fdtable;
pub mod net;
pub mod p2;
pub mod random;
mod run;
pub mod stdio;

/// The virtual filesystem: the [`FileSystem`](vfs::FileSystem) trait, the resolver and the
/// backends (re-export of the `hammertime-vfs` crate).
pub use hammertime_vfs as vfs;

pub use abi::Errno;
pub use calls::add_to_linker;
pub use ctx::{BuildError, WasiCtx, WasiCtxBuilder};
pub use exit::I32Exit;
pub use run::{exit_status, instantiate_reactor, run, run_in};

/// The README's Rust examples, compiled and run as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
