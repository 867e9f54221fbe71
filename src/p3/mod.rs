//! WASI 0.3 (the component model's own async: `stream<T>`, `future<T>`, async functions) over
//! the same [`WasiCtx`] — stdio, clocks, randomness, limits, interrupts — as preview1 and WASI
//! 0.2.
//!
//! - [`add_to_linker`] defines the `wasi:*@0.3.0` interfaces hammertime serves in a
//!   [`wasmtime::component::Linker`]: `wasi:cli` (environment, exit, stdin/stdout/stderr as
//!   streams, terminals), `wasi:clocks` (monotonic-clock, whose waits are async functions;
//!   system-clock), `wasi:filesystem` (types and preopens, over the same descriptors and mounts
//!   as WASI 0.2), `wasi:random` and `wasi:sockets` (types and ip-name-lookup, under the same
//!   `NetworkPolicy`).
//! - [`run`] runs a command's `wasi:cli/run@0.3.0` to its end for a synchronous embedder: no
//!   async code on their side and no tokio — hammertime's own executor runs the store's event
//!   loop on the calling thread, its waits registered with a `poll(2)` reactor, so that the
//!   guest's tasks wait concurrently. [`run_async`] (the `tokio` feature) is the same as a
//!   future of the caller's tokio runtime.
//!
//! Components built for WASI 0.3 import WASI 0.2 too (Rust's std uses 0.2): [`run`] links both,
//! as an embedder's linker does with [`crate::p2::add_to_linker`] beside [`add_to_linker`].
//!
//! A WIT function's code is in the file of its package: `wasi:cli/stdin.read-via-stream` in
//! `p3/cli.rs`, `wasi:clocks/monotonic-clock.wait-until` in `p3/clocks.rs`, and so on.
//!
//! ```
//! use hammertime::{WasiCtx, clocks::ManualClock, stdio::OutputBuffer};
//! let engine = wasmtime::Engine::default();
//! // A WASI 0.3 command whose `run` returns `ok`.
//! let component = wasmtime::component::Component::new(&engine, r#"
//!     (component
//!       (core module $m (func (export "run") (result i32) (i32.const 0)))
//!       (core instance $i (instantiate $m))
//!       (func $run (result (result)) (canon lift (core func $i "run")))
//!       (instance $r (export "run" (func $run)))
//!       (export "wasi:cli/run@0.3.0" (instance $r)))
//! "#)?;
//! let code = hammertime::p3::run(&engine, &component, WasiCtx::builder().build()?)?;
//! assert_eq!(code, 0);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

use std::sync::Mutex;

use wasmtime::component::{Component, HasData, Linker};
use wasmtime::{Engine, Store};

use crate::WasiCtx;

pub mod cli;
pub mod clocks;
pub mod filesystem;
mod outcome;
pub mod random;
pub mod sockets;
mod waiting;

/// The most bytes a stream read hands a reader on the host side (no guest buffer to bound it).
const HOST_READ_MAX: usize = 64 * 1024;

/// The generated bindings of the `wasi:*@0.3.0` interfaces hammertime serves (`wit/p3/`), and
/// the `run` export of a command ([`bindings::Command`]). Generated code: its items carry the
/// WIT documentation where the WIT has some.
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/p3",
        world: "hammertime:host-p3/command",
        imports: {
            "wasi:cli/stdin": store | trappable,
            "wasi:cli/stdout": store | trappable,
            "wasi:cli/stderr": store | trappable,
            "wasi:filesystem/types.[method]descriptor.read-via-stream": store | trappable,
            "wasi:filesystem/types.[method]descriptor.write-via-stream": store | trappable,
            "wasi:filesystem/types.[method]descriptor.append-via-stream": store | trappable,
            "wasi:filesystem/types.[method]descriptor.read-directory": store | trappable,
            "wasi:sockets/types.[method]tcp-socket.listen": store | trappable,
            "wasi:sockets/types.[method]tcp-socket.send": store | trappable,
            "wasi:sockets/types.[method]tcp-socket.receive": store | trappable,
            default: trappable,
        },
        exports: { default: async | store },
        trappable_error_type: {
            "wasi:filesystem/types.error-code" => crate::filesystem::FsError,
            "wasi:sockets/types.error-code" => crate::p3::sockets::SocketError,
        },
        with: {
            "wasi:filesystem/types.descriptor": crate::filesystem::Descriptor,
            "wasi:sockets/types.tcp-socket": crate::p3::sockets::TcpSocket,
            "wasi:sockets/types.udp-socket": crate::p3::sockets::UdpSocket,
            "wasi:cli/terminal-input.terminal-input": crate::stdio::TerminalInput,
            "wasi:cli/terminal-output.terminal-output": crate::stdio::TerminalOutput,
        },
    });
}

/// Marks the [`WasiCtx`] as the data the generated `add_to_linker` functions hand to hosts.
pub struct HasWasi;

impl HasData for HasWasi {
    type Data<'a> = &'a mut WasiCtx;
}

/// Defines the `wasi:*@0.3.0` imports hammertime serves in `linker`, each reaching the context
/// through `get` (`|state| &mut state.wasi`). The store must be used with Wasmtime's async
/// entry points (`instantiate_async`, `run_concurrent`).
///
/// ```
/// struct State { wasi: hammertime::WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::component::Linker::<State>::new(&engine);
/// hammertime::p2::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?; // Rust's std
/// hammertime::p3::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    bindings::Command::add_to_linker::<T, HasWasi>(linker, get)
}

/// Runs a WASI 0.3 command component's `wasi:cli/run@0.3.0` to its end on the calling thread and
/// returns its exit status (0 for `ok`, 1 for `err`, the code of `exit`; a trap is an error).
///
/// The component is instantiated in a new [`Store`] that owns `ctx`, with WASI 0.2 and 0.3
/// defined. hammertime's own executor drives the store's event loop: the guest's waits (clocks,
/// the host's stdin) are registered with a `poll(2)` reactor on this thread, so its concurrent
/// tasks wait together; nothing else is started, no tokio runtime is needed, and calling from
/// inside one works. The linker is kept for the engine of the last run and reused.
pub fn run(engine: &Engine, component: &Component, ctx: WasiCtx) -> wasmtime::Result<i32> {
    static LAST: Mutex<Option<std::sync::Arc<Linker<WasiCtx>>>> = Mutex::new(None);
    let linker = crate::run::cached(&LAST, engine, Linker::engine, |engine| {
        let mut linker = Linker::new(engine);
        crate::p2::add_to_linker(&mut linker, |ctx| ctx)?;
        add_to_linker(&mut linker, |ctx| ctx)?;
        Ok(linker)
    })?;
    crate::wait::reactor::block_on(run_in(engine, component, &linker, ctx))?
}

/// Runs a WASI 0.3 command component as a future of the caller's tokio runtime (the `tokio`
/// feature): as [`run`], the waits being tokio's, and WASI 0.2 linked asynchronously.
#[cfg(feature = "tokio")]
pub async fn run_async(engine: &Engine, component: &Component, ctx: WasiCtx) -> wasmtime::Result<i32> {
    static LAST: Mutex<Option<std::sync::Arc<Linker<WasiCtx>>>> = Mutex::new(None);
    let linker = crate::run::cached(&LAST, engine, Linker::engine, |engine| {
        let mut linker = Linker::new(engine);
        crate::p2::add_to_linker_async(&mut linker, |ctx| ctx)?;
        add_to_linker(&mut linker, |ctx| ctx)?;
        Ok(linker)
    })?;
    run_in(engine, component, &linker, ctx).await
}

/// Instantiates `component` with `linker` in a new store owning `ctx` and runs its
/// `wasi:cli/run@0.3.0`.
async fn run_in(
    engine: &Engine,
    component: &Component,
    linker: &Linker<WasiCtx>,
    ctx: WasiCtx,
) -> wasmtime::Result<i32> {
    let mut store = Store::new(engine, ctx);
    let command = bindings::Command::instantiate_async(&mut store, component, linker).await?;
    let result = store.run_concurrent(async move |accessor| command.wasi_cli_run().call_run(accessor).await).await;
    let status = crate::p2::exit_status(result.and_then(|r| r));
    #[cfg(feature = "tokio")]
    store.data_mut().flush_stdio_async().await?;
    status
}
