//! Running modules: commands (`_start`) and reactors (`_initialize`).

use std::sync::{Arc, Mutex};

use wasmtime::{AsContextMut, Engine, Instance, Linker, Module, Store};

use crate::{I32Exit, WasiCtx};

/// Turns the outcome of running a guest export into an exit status: a normal return is 0, a
/// `proc_exit(code)` is `code`, anything else (a trap, a host error) stays an error.
///
/// ```
/// assert_eq!(hammertime::exit_status(Ok(())).unwrap(), 0);
/// let exited = Err(wasmtime::Error::new(hammertime::I32Exit(7)));
/// assert_eq!(hammertime::exit_status(exited).unwrap(), 7);
/// ```
pub fn exit_status(result: wasmtime::Result<()>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}

/// Runs a WASI command module to completion on the calling thread and returns its exit status.
///
/// The module is instantiated in a new [`Store`] that owns `ctx`, with only the WASI imports
/// defined; its `_start` export is called. A trap is returned as an error (its message and
/// Wasmtime backtrace are in the error).
///
/// ```no_run
/// use hammertime::{WasiCtx, stdio::OutputBuffer};
/// let engine = wasmtime::Engine::default();
/// let module = wasmtime::Module::from_file(&engine, "hello.wasm")?;
/// let out = OutputBuffer::new();
/// let code = hammertime::run(&engine, &module, WasiCtx::builder().stdout(out.clone()).build()?)?;
/// println!("exit {code}: {}", out.to_string_lossy());
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn run(engine: &Engine, module: &Module, mut ctx: WasiCtx) -> wasmtime::Result<i32> {
    ctx.bind_module(module);
    let linker = cached_linker(engine)?;
    let mut store = Store::new(engine, ctx);
    let instance = linker.instantiate(&mut store, module)?;
    // The store holds this one instance for its whole life: its memory can be pinned.
    store.data_mut().pinned_memory = instance.get_memory(&mut store, "memory");
    call_start(&mut store, instance)
}

/// Runs a WASI command module to completion as a future of the calling executor (tokio), the
/// async [`run`]: its waits (`poll_oneoff` sleeps, reads of sockets and of the host's stdin) are
/// tokio futures ([`crate::add_to_linker_async`]), so thousands of guests share a few worker
/// threads. The linker is kept for the engine of the last run, as [`run`] keeps its own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use hammertime::{WasiCtx, clocks::ManualClock};
/// let engine = wasmtime::Engine::default();
/// // Sleeps one second (a relative monotonic clock subscription) and exits.
/// let module = wasmtime::Module::new(&engine, r#"(module
///     (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
///     (memory (export "memory") 1)
///     (func (export "_start")
///       (i32.store8 (i32.const 8) (i32.const 0))          ;; clock subscription
///       (i32.store (i32.const 16) (i32.const 1))          ;; monotonic
///       (i64.store (i32.const 24) (i64.const 1000000000)) ;; 1 s
///       (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#)?;
/// let clock = ManualClock::new(0); // the sleep takes no real time
/// let ctx = WasiCtx::builder().monotonic_clock(clock.clone()).build()?;
/// assert_eq!(hammertime::run_async(&engine, &module, ctx).await?, 0);
/// assert_eq!(clock.get(), 1_000_000_000);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn run_async(engine: &Engine, module: &Module, mut ctx: WasiCtx) -> wasmtime::Result<i32> {
    ctx.bind_module(module);
    let linker = {
        static LAST: Mutex<Option<Arc<Linker<WasiCtx>>>> = Mutex::new(None);
        cached(&LAST, engine, Linker::engine, |engine| {
            let mut linker = Linker::new(engine);
            crate::add_to_linker_async(&mut linker, |ctx: &mut WasiCtx| ctx)?;
            Ok(linker)
        })?
    };
    let mut store = Store::new(engine, ctx);
    let instance = linker.instantiate_async(&mut store, module).await?;
    store.data_mut().pinned_memory = instance.get_memory(&mut store, "memory");
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let status = exit_status(start.call_async(&mut store, ()).await);
    store.data_mut().flush_stdio_async().await?;
    status
}

/// Calls a command instance's `_start` and turns the outcome into an exit status.
fn call_start<T: 'static>(store: &mut Store<T>, instance: Instance) -> wasmtime::Result<i32> {
    let start = instance.get_typed_func::<(), ()>(store.as_context_mut(), "_start")?;
    exit_status(start.call(store.as_context_mut(), ()))
}

/// A `Linker<WasiCtx>` with the WASI functions, kept for the most recently used engine and
/// cloned (defining the 46 host functions is most of the cost of a short run).
fn cached_linker(engine: &Engine) -> wasmtime::Result<Arc<Linker<WasiCtx>>> {
    static LAST: Mutex<Option<Arc<Linker<WasiCtx>>>> = Mutex::new(None);
    cached(&LAST, engine, Linker::engine, |engine| {
        let mut linker = Linker::new(engine);
        crate::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
        Ok(linker)
    })
}

/// The linker in `slot` if it was made for `engine`, else a new one from `make`, which replaces
/// it. The linker is shared, not cloned (a clone copies every name it defines). A cached linker
/// holds its engine: at most one engine per slot is kept alive, until a run with another engine.
pub(crate) fn cached<L>(
    slot: &Mutex<Option<Arc<L>>>,
    engine: &Engine,
    engine_of: fn(&L) -> &Engine,
    make: impl FnOnce(&Engine) -> wasmtime::Result<L>,
) -> wasmtime::Result<Arc<L>> {
    let mut last = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(linker) = last.as_ref().filter(|l| Engine::same(engine_of(l), engine)) {
        return Ok(linker.clone());
    }
    let linker = Arc::new(make(engine)?);
    *last = Some(linker.clone());
    Ok(linker)
}

/// Instantiates a command module with `linker` in `store` and runs its `_start` as a future
/// of the calling executor, the async [`run_in`]: for a linker made with
/// [`crate::add_to_linker_async`], and a store with the embedder's settings (fuel or epoch
/// yielding, limits).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> wasmtime::Result<()> {
/// use hammertime::WasiCtx;
/// let engine = wasmtime::Engine::default();
/// let mut linker = wasmtime::Linker::new(&engine);
/// hammertime::add_to_linker_async(&mut linker, |ctx: &mut WasiCtx| ctx)?;
/// let module = wasmtime::Module::new(&engine, r#"(module (memory (export "memory") 1) (func (export "_start")))"#)?;
/// let mut store = wasmtime::Store::new(&engine, WasiCtx::builder().build()?);
/// assert_eq!(hammertime::run_in_async(&mut store, &linker, &module).await?, 0);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn run_in_async<T: Send + 'static>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    module: &Module,
) -> wasmtime::Result<i32> {
    let instance = linker.instantiate_async(store.as_context_mut(), module).await?;
    let start = instance.get_typed_func::<(), ()>(store.as_context_mut(), "_start")?;
    exit_status(start.call_async(store.as_context_mut(), ()).await)
}

/// Instantiates a command module with `linker` in `store` and runs its `_start`, returning the
/// exit status. Use it when the linker defines more than WASI; for the fastest calls, bind the
/// module ([`WasiCtx::bind_module`]) before. When the linker would define only WASI,
/// [`run_in_store`] is faster.
pub fn run_in<T: 'static>(store: &mut Store<T>, linker: &Linker<T>, module: &Module) -> wasmtime::Result<i32> {
    let instance = linker.instantiate(store.as_context_mut(), module)?;
    call_start(store, instance)
}

/// Runs a command module in the embedder's `store` (with its limits, fuel, epoch deadline…) and
/// returns its exit status, its WASI calls as fast as [`run`]'s: the instance is linked with the
/// WASI functions only (found through `get`, as in [`crate::add_to_linker`]), and while its
/// `_start` runs, calls use its memory without looking it up. The linker is made for each call
/// (unlike [`run`], which keeps one per engine): for many short runs, link once and use
/// [`run_in`]. No other instance can make WASI calls during
/// that time — the module imports nothing but WASI, and WASI calls call no guest — so other
/// instances already in the store keep using their own memories, during and after. (The one
/// way around is the embedder's: a store callback, such as an epoch-deadline callback, that
/// calls into another instance while `_start` runs. Use [`run_in`] if yours do.)
///
/// ```
/// use hammertime::{WasiCtx, stdio::OutputBuffer};
/// struct Host { wasi: WasiCtx, calls: u32 }
/// let engine = wasmtime::Engine::default();
/// let module = wasmtime::Module::new(&engine, r#"(module (memory (export "memory") 1)
///     (func (export "_start")))"#)?;
/// let mut store = wasmtime::Store::new(&engine, Host { wasi: WasiCtx::builder().build()?, calls: 0 });
/// let code = hammertime::run_in_store(&mut store, &module, |h: &mut Host| &mut h.wasi)?;
/// assert_eq!(code, 0);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn run_in_store<T: 'static>(
    store: &mut Store<T>,
    module: &Module,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<i32> {
    let mut linker = Linker::new(store.engine());
    crate::add_to_linker(&mut linker, get)?;
    get(store.data_mut()).bind_module(module);
    let instance = linker.instantiate(store.as_context_mut(), module)?;
    let memory = instance.get_memory(store.as_context_mut(), "memory");
    let pinned = std::mem::replace(&mut get(store.data_mut()).pinned_memory, memory);
    let status = call_start(store, instance);
    get(store.data_mut()).pinned_memory = pinned;
    status
}

/// Instantiates a reactor module and calls its `_initialize` export if it has one; the
/// returned instance's other exports can then be called any number of times.
pub fn instantiate_reactor<T: 'static>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    module: &Module,
) -> wasmtime::Result<Instance> {
    let instance = linker.instantiate(store.as_context_mut(), module)?;
    if let Some(init) = instance.get_func(store.as_context_mut(), "_initialize") {
        let init = init.typed::<(), ()>(store.as_context_mut())?;
        init.call(store.as_context_mut(), ())?;
    }
    Ok(instance)
}
