//! WASI 0.2 (the component model): a synchronous host for components, over the same
//! [`WasiCtx`] — the same stdio, clocks, randomness, mounts and sandbox — as preview1.
//!
//! - [`add_to_linker`] defines every import of the `wasi:cli/command` world (0.2.0 … 0.2.12)
//!   in a [`wasmtime::component::Linker`]: `wasi:cli`, `wasi:clocks`, `wasi:filesystem`,
//!   `wasi:io`, `wasi:random` and `wasi:sockets`, each a plain synchronous host function. No
//!   async runtime is started or needed, and calling from inside a tokio runtime works.
//! - [`run`] instantiates a command component and calls its `wasi:cli/run`, returning the exit
//!   status.
//!
//! A WIT function's code is in the file of its package: `wasi:filesystem/types.open-at` in
//! `p2/filesystem.rs`, `wasi:io/streams.write` in `p2/io.rs`, `wasi:cli/exit.exit` in
//! `p2/cli.rs`, and so on.
//!
//! The public types of the package modules (`filesystem::Descriptor`, `io::InputStream`,
//! `io::Pollable`, `sockets::TcpSocket`, …) are the host side of the WIT resources, named in
//! [`bindings`] (its `with:` table) so that an embedder can hold a `Resource<T>` of one; they
//! are opaque: made and used by the host functions only, and kept in the context's resource
//! table under the [`Limits::resources`](crate::Limits::resources) bound.
//!
//! ```
//! use hammertime::{WasiCtx, stdio::OutputBuffer};
//! let engine = wasmtime::Engine::default();
//! let component = wasmtime::component::Component::new(&engine, r#"
//!     (component
//!       (core module $m (func (export "run") (result i32) (i32.const 0)))
//!       (core instance $i (instantiate $m))
//!       (func $run (result (result)) (canon lift (core func $i "run")))
//!       (instance $r (export "run" (func $run)))
//!       (export "wasi:cli/run@0.2.0" (instance $r)))
//! "#)?;
//! let code = hammertime::p2::run(&engine, &component, WasiCtx::builder().build()?)?;
//! assert_eq!(code, 0);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

use std::sync::Mutex;

use wasmtime::component::{Component, HasData, Linker};
use wasmtime::{Engine, Store};

use crate::{I32Exit, WasiCtx};

pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod io;
pub mod random;
pub mod sockets;

/// The generated bindings of the WASI 0.2.12 `wasi:cli/command` world (from `wit/`), with
/// hammertime's own types behind every resource. Generated code: its items carry the WIT
/// documentation where the WIT has some.
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi:cli/command",
        imports: { default: trappable },
        trappable_error_type: {
            "wasi:io/streams.stream-error" => crate::p2::io::StreamError,
            "wasi:filesystem/types.error-code" => crate::p2::filesystem::FsError,
            "wasi:sockets/network.error-code" => crate::p2::sockets::SocketError,
        },
        with: {
            "wasi:io/error.error": crate::p2::io::IoError,
            "wasi:io/poll.pollable": crate::p2::io::Pollable,
            "wasi:io/streams.input-stream": crate::p2::io::InputStream,
            "wasi:io/streams.output-stream": crate::p2::io::OutputStream,
            "wasi:filesystem/types.descriptor": crate::p2::filesystem::Descriptor,
            "wasi:filesystem/types.directory-entry-stream": crate::p2::filesystem::DirectoryEntryStream,
            "wasi:cli/terminal-input.terminal-input": crate::p2::cli::TerminalInput,
            "wasi:cli/terminal-output.terminal-output": crate::p2::cli::TerminalOutput,
            "wasi:sockets/network.network": crate::p2::sockets::Network,
            "wasi:sockets/tcp.tcp-socket": crate::p2::sockets::TcpSocket,
            "wasi:sockets/udp.udp-socket": crate::p2::sockets::UdpSocket,
            "wasi:sockets/udp.incoming-datagram-stream": crate::p2::sockets::IncomingDatagramStream,
            "wasi:sockets/udp.outgoing-datagram-stream": crate::p2::sockets::OutgoingDatagramStream,
            "wasi:sockets/ip-name-lookup.resolve-address-stream": crate::p2::sockets::ResolveAddressStream,
        },
    });
}

/// Marks the [`WasiCtx`] as the data the generated `add_to_linker` functions hand to hosts.
struct HasWasi;

impl HasData for HasWasi {
    type Data<'a> = &'a mut WasiCtx;
}

/// Defines every import of the WASI 0.2 `wasi:cli/command` world in `linker`, each reaching the
/// context through `get` (`|state| &mut state.wasi`).
///
/// Components built against any WASI 0.2.x link: Wasmtime matches an import of an older 0.2
/// minor version to these 0.2.12 definitions.
///
/// ```
/// struct State { wasi: hammertime::WasiCtx, other: u32 }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::component::Linker::<State>::new(&engine);
/// hammertime::p2::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut WasiCtx) -> wasmtime::Result<()> {
    add_interfaces_that_never_wait(linker, get)?;
    bindings::wasi::io::poll::add_to_linker::<T, HasWasi>(linker, get)?;
    io::add_streams_to_linker(linker, get)
}

/// Defines every import of the WASI 0.2 `wasi:cli/command` world in `linker` for async stores,
/// as [`add_to_linker`] does, but for the functions that can wait — `wasi:io/poll`'s `poll` and
/// `pollable.block`, and the six `blocking-*` stream methods — which are async host functions
/// whose waits are futures of the executor that runs the guest (tokio timers and tokio's
/// reactor), so that a sleeping or reading guest costs no worker thread. Everything else stays
/// a plain synchronous function. Instantiate with `instantiate_async` and call with
/// `call_async`; [`run_async`] does it.
///
/// ```
/// struct State { wasi: hammertime::WasiCtx }
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::component::Linker::<State>::new(&engine);
/// hammertime::p2::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
#[cfg(feature = "tokio")]
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    add_interfaces_that_never_wait(linker, get)?;
    io::add_poll_to_linker_async(linker, get)?;
    io::add_streams_to_linker_async(linker, get)
}

/// Every interface of the world but `wasi:io/poll` and `wasi:io/streams`, whose functions never
/// wait: the same for both kinds of linking.
fn add_interfaces_that_never_wait<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    use bindings::wasi;
    let options = bindings::LinkOptions::default();
    wasi::cli::environment::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::exit::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::stdin::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::stdout::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::stderr::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::terminal_input::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::terminal_output::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::terminal_stdin::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::terminal_stdout::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::cli::terminal_stderr::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::clocks::monotonic_clock::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::clocks::wall_clock::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::filesystem::types::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::filesystem::preopens::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::io::error::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::random::random::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::random::insecure::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::random::insecure_seed::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::network::add_to_linker::<T, HasWasi>(linker, &(&options).into(), get)?;
    wasi::sockets::instance_network::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::tcp::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::tcp_create_socket::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::udp::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::udp_create_socket::add_to_linker::<T, HasWasi>(linker, get)?;
    wasi::sockets::ip_name_lookup::add_to_linker::<T, HasWasi>(linker, get)?;
    Ok(())
}

/// Turns the outcome of a component's `wasi:cli/run` into an exit status: `Ok` is 0, `Err` is 1,
/// `exit(ok)` 0, `exit(err)` 1, `exit-with-code(n)` n; a trap stays an error.
pub fn exit_status(result: wasmtime::Result<Result<(), ()>>) -> wasmtime::Result<i32> {
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}

/// Runs a WASI 0.2 command component to completion as a future of the calling executor
/// (tokio), the async [`run`]: its waits are tokio futures ([`add_to_linker_async`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let engine = wasmtime::Engine::default();
/// let component = wasmtime::component::Component::new(&engine, r#"
///     (component
///       (core module $m (func (export "run") (result i32) (i32.const 0)))
///       (core instance $i (instantiate $m))
///       (func $run (result (result)) (canon lift (core func $i "run")))
///       (instance $r (export "run" (func $run)))
///       (export "wasi:cli/run@0.2.0" (instance $r)))
/// "#)?;
/// let ctx = hammertime::WasiCtx::builder().build()?;
/// assert_eq!(hammertime::p2::run_async(&engine, &component, ctx).await?, 0);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn run_async(engine: &Engine, component: &Component, ctx: WasiCtx) -> wasmtime::Result<i32> {
    static LAST: Mutex<Option<std::sync::Arc<Linker<WasiCtx>>>> = Mutex::new(None);
    let linker = crate::run::cached(&LAST, engine, Linker::engine, |engine| {
        let mut linker = Linker::new(engine);
        add_to_linker_async(&mut linker, |ctx| ctx)?;
        Ok(linker)
    })?;
    let mut store = Store::new(engine, ctx);
    let command = bindings::Command::instantiate_async(&mut store, component, &linker).await?;
    let run = command.wasi_cli_run().func_run();
    let status = exit_status(run.call_async(&mut store, ()).await.map(|(r,)| r));
    store.data_mut().flush_stdio_async().await?;
    status
}

/// Runs a WASI 0.2 command component to completion on the calling thread and returns its exit
/// status (see [`exit_status`]).
///
/// The component is instantiated in a new [`Store`] that owns `ctx`, with only the WASI imports
/// defined, and its `wasi:cli/run` export is called. A trap is returned as an error. The linker
/// is kept for the engine of the last run and reused.
///
/// ```no_run
/// use hammertime::{WasiCtx, stdio::OutputBuffer, vfs::MemFs};
/// let engine = wasmtime::Engine::default();
/// let component = wasmtime::component::Component::from_file(&engine, "hello.wasm")?;
/// let out = OutputBuffer::new();
/// let ctx = WasiCtx::builder().stdout(out.clone()).preopen(MemFs::new(), "/").build()?;
/// let code = hammertime::p2::run(&engine, &component, ctx)?;
/// println!("exit {code}: {}", out.to_string_lossy());
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn run(engine: &Engine, component: &Component, ctx: WasiCtx) -> wasmtime::Result<i32> {
    static LAST: Mutex<Option<std::sync::Arc<Linker<WasiCtx>>>> = Mutex::new(None);
    let linker = crate::run::cached(&LAST, engine, Linker::engine, |engine| {
        let mut linker = Linker::new(engine);
        add_to_linker(&mut linker, |ctx| ctx)?;
        Ok(linker)
    })?;
    let mut store = Store::new(engine, ctx);
    let command = bindings::Command::instantiate(&mut store, component, &linker)?;
    exit_status(command.wasi_cli_run().call_run(&mut store))
}
