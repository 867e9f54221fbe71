//! `hammertime run` and `hammertime compile`: the context, the engine, the store with its limits,
//! the timeout watchdog, `--invoke`, and precompiled files.

use std::io::{IsTerminal, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use clap::ArgMatches;
use hammertime::vfs::{FileSystem, HostDir, MemFs, Overlay, archive::Archive};
use hammertime::{BuildError, InterruptHandle, WasiCtx};
use wasmtime::component::Component;
use wasmtime::{Engine, Func, Linker, Module, Precompiled, Store, StoreLimits, StoreLimitsBuilder, Trap, Val, ValType};

use crate::options::{CompileArgs, DirSpec, EnvSpec, MemDirSpec, RunArgs};
use crate::wasi_options::WasiOptions;
use crate::wasm_options::WasmOptions;
use crate::{ERROR_EXIT, Failure, TIMEOUT_EXIT, TRAP_EXIT, USAGE_EXIT, chain, fail};

/// How long after a timeout the guest has to stop before the process exits anyway (a guest
/// blocked where neither the epoch nor the interrupt handle reaches, e.g. reading a terminal).
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);

/// What a store holds: the WASI context and the limits of its memories and tables.
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// A preopened directory, in command-line order.
enum Mount {
    Host { spec: DirSpec, read_only: bool },
    Mem(MemDirSpec),
    Overlay(DirSpec),
}

/// The directory preopens in the order they appeared on the command line.
fn mounts_in_order(run: &RunArgs, matches: &ArgMatches) -> Vec<Mount> {
    let indices = |id: &str| -> Vec<usize> { matches.indices_of(id).map(Iterator::collect).unwrap_or_default() };
    let mut mounts: Vec<(usize, Mount)> = Vec::new();
    for (i, spec) in indices("dirs").into_iter().zip(&run.dirs) {
        mounts.push((i, Mount::Host { spec: spec.clone(), read_only: false }));
    }
    for (i, spec) in indices("ro_dirs").into_iter().zip(&run.ro_dirs) {
        mounts.push((i, Mount::Host { spec: spec.clone(), read_only: true }));
    }
    for (i, spec) in indices("mem_dirs").into_iter().zip(&run.mem_dirs) {
        mounts.push((i, Mount::Mem(spec.clone())));
    }
    for (i, spec) in indices("overlays").into_iter().zip(&run.overlays) {
        mounts.push((i, Mount::Overlay(spec.clone())));
    }
    mounts.sort_by_key(|(i, _)| *i);
    mounts.into_iter().map(|(_, m)| m).collect()
}

/// The parsed `-W` options, or a one-line usage error.
fn wasm_options(raw: &[String]) -> Result<WasmOptions, Failure> {
    WasmOptions::parse(raw).map_err(|e| fail(USAGE_EXIT, format!("hammertime: {e}")))
}

/// The parsed `-S` options, or a one-line usage error.
fn wasi_options(raw: &[String]) -> Result<WasiOptions, Failure> {
    WasiOptions::parse(raw).map_err(|e| fail(USAGE_EXIT, format!("hammertime: {e}")))
}

/// Whether `binary` is a component: its header's version and layer are `0d 00 01 00` (a core
/// module has `01 00 00 00`).
fn is_component(binary: &[u8]) -> bool {
    binary.starts_with(b"\0asm\x0d\x00\x01\x00")
}

/// An engine for `opts`, using `cache` if given.
fn make_engine(opts: &WasmOptions, cache: Option<wasmtime::Cache>) -> Result<Engine, Failure> {
    let mut config = opts.config();
    config.cache(cache);
    Engine::new(&config).map_err(|e| fail(USAGE_EXIT, format!("hammertime: cannot configure Wasmtime: {}", chain(&e))))
}

/// Wasmtime's compilation cache in its default location; one that cannot be set up is reported
/// once on stderr and left out.
fn default_cache() -> Option<wasmtime::Cache> {
    match wasmtime::Cache::from_file(None) {
        Ok(cache) => Some(cache),
        Err(e) => {
            eprintln!("hammertime: warning: compilation cache disabled: {}", chain(&e));
            None
        }
    }
}

/// The module's bytes, text turned into binary.
fn read_binary(path: &Path, name: &str) -> Result<Vec<u8>, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot read module {name}: {e}")))?;
    if Engine::detect_precompiled(&bytes).is_some() {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot compile module {name}: {e}")))
}

/// `hammertime compile`.
pub fn compile(args: &CompileArgs) -> Result<u8, Failure> {
    let opts = wasm_options(&args.wasm.wasm)?;
    let engine = make_engine(&opts, None)?;
    let name = args.module.display().to_string();
    let binary = read_binary(&args.module, &name)?;
    if Engine::detect_precompiled(&binary).is_some() {
        return Err(fail(ERROR_EXIT, format!("hammertime: {name} is already compiled")));
    }
    let (kind, compiled) = if is_component(&binary) {
        ("component", engine.precompile_component(&binary))
    } else {
        ("module", engine.precompile_module(&binary))
    };
    let compiled =
        compiled.map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot compile {kind} {name}: {}", chain(&e))))?;
    let out = args.output.clone().unwrap_or_else(|| args.module.with_extension("cwasm"));
    std::fs::write(&out, compiled)
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot write {}: {e}", out.display())))?;
    Ok(0)
}

/// What MODULE turned out to be, compiled.
enum Loaded {
    Module(Module),
    Component(Component),
}

/// Loads a precompiled file: Wasmtime maps it as machine code without validating it, which is
/// why `run` does this only with `--allow-precompiled`, for files the user trusts.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8], kind: Precompiled) -> wasmtime::Result<Loaded> {
    // SAFETY: `Module::deserialize` and `Component::deserialize` are unsafe because the bytes
    // are trusted to come from Wasmtime's `precompile_*` (they are not validated). The user
    // asserted that with `--allow-precompiled`; Wasmtime still checks the header, the version
    // and the configuration it was compiled with.
    unsafe {
        match kind {
            Precompiled::Module => Module::deserialize(engine, bytes).map(Loaded::Module),
            Precompiled::Component => Component::deserialize(engine, bytes).map(Loaded::Component),
        }
    }
}

/// Gives the calling thread a descriptor table of its own (`unshare(CLONE_FILES)`), for the
/// guest's descriptor system calls: in a process whose threads share the table, even with one
/// idle thread (Wasmtime's cache worker, which `Cache::from_file` starts), every `read`,
/// `write` or `fstat` takes and drops a reference to the file, about 45–75 ns more per 16-byte
/// `write` on the benchmark VM (BENCHMARKS.md). If the call fails (a seccomp filter, say),
/// nothing changes.
#[allow(unsafe_code)]
fn own_descriptor_table() {
    // SAFETY: after `unshare(CLONE_FILES)` the descriptors one thread opens are not in the
    // other threads' tables. It is called right after the cache worker started and before
    // this process opened a descriptor it keeps, so both tables hold the same (stdio); the
    // worker is sent paths, opens and closes its own files and never hands a descriptor over.
    // Threads started later (the timeout's watchdog, Wasmtime's compiler threads) share this
    // thread's new table.
    let _ = unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FILES) };
}

/// `hammertime run`: on this thread, or on a thread with a larger stack when `-W
/// max-wasm-stack` asks for more than the main thread is sure to have (a guest running out of
/// it must meet Wasmtime's stack-overflow trap, not the end of the native stack).
pub fn run(run: &RunArgs, matches: &ArgMatches) -> Result<u8, Failure> {
    let opts = wasm_options(&run.wasm.wasm)?;
    let Some(stack) = opts.run_thread_stack() else { return run_here(run, matches, opts) };
    std::thread::scope(|scope| {
        let guest = std::thread::Builder::new()
            .name("guest".into())
            .stack_size(stack)
            .spawn_scoped(scope, || run_here(run, matches, opts))
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot start the guest's thread: {e}")))?;
        guest.join().unwrap_or_else(|_| Err(fail(ERROR_EXIT, "hammertime: the guest's thread panicked")))
    })
}

/// `hammertime run` on the calling thread.
fn run_here(run: &RunArgs, matches: &ArgMatches, mut opts: WasmOptions) -> Result<u8, Failure> {
    if opts.fuel.is_none() {
        opts.fuel = run.fuel;
    }
    if run.trace {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(tracing_subscriber::EnvFilter::new("hammertime=trace"))
            .init();
    }

    let Some((module, guest_args)) = run.module_and_args.split_first() else {
        return Err(fail(USAGE_EXIT, "hammertime: MODULE is missing"));
    };
    let module = PathBuf::from(module);
    let module_name = module.display().to_string();
    let mut args = vec![module.to_string_lossy().into_owned()];
    for arg in guest_args {
        let arg = arg
            .to_str()
            .ok_or_else(|| fail(USAGE_EXIT, format!("hammertime: guest argument {arg:?} is not valid UTF-8")))?;
        args.push(arg.to_owned());
    }
    let binary = read_binary(&module, &module_name)?;
    let cache = if run.no_cache { None } else { default_cache() };
    if cache.is_some() {
        own_descriptor_table();
    }
    let wasi = wasi_options(&run.wasi)?;
    let ctx = build_ctx(run, &wasi, matches, args.clone())?;
    let engine = make_engine(&opts, cache)?;

    let loaded = match Engine::detect_precompiled(&binary) {
        Some(kind) if run.allow_precompiled => deserialize(&engine, &binary, kind).map_err(|e| {
            fail(ERROR_EXIT, format!("hammertime: cannot load precompiled {module_name}: {}", chain(&e)))
        })?,
        Some(_) => {
            return Err(fail(
                USAGE_EXIT,
                format!(
                    "hammertime: {module_name} is precompiled (.cwasm); running it needs --allow-precompiled \
                     (only for files you trust)"
                ),
            ));
        }
        None if is_component(&binary) => Loaded::Component(Component::new(&engine, &binary).map_err(|e| {
            fail(ERROR_EXIT, format!("hammertime: cannot compile component {module_name}: {}", chain(&e)))
        })?),
        None => Loaded::Module(Module::new(&engine, &binary).map_err(|e| {
            fail(ERROR_EXIT, format!("hammertime: cannot compile module {module_name}: {}", chain(&e)))
        })?),
    };
    let interrupt = ctx.interrupt_handle();
    let mut store = make_store(&engine, ctx, &opts)?;
    let watchdog = opts.timeout.map(|t| Watchdog::start(&engine, interrupt, t, &module_name));
    let outcome = match loaded {
        Loaded::Module(module) => run_module(&mut store, &module, &opts, run.invoke.as_deref(), &args[1..]),
        Loaded::Component(component) => match run.invoke.as_deref() {
            None => run_component(&mut store, &component, &opts),
            Some(call) => invoke_component(&mut store, &component, &opts, call),
        },
    };
    let timed_out = watchdog.is_some_and(Watchdog::stop);
    match outcome {
        Ok(code) => Ok((code & 0xff) as u8),
        Err(_) if timed_out => Err(timeout_failure(&module_name, opts.timeout)),
        Err(Outcome::Usage(message)) => Err(fail(USAGE_EXIT, format!("hammertime: {message}"))),
        Err(Outcome::Error(e)) => Err(report(&module_name, &e, opts.fuel)),
    }
}

fn timeout_failure(module_name: &str, timeout: Option<Duration>) -> Failure {
    let after = timeout.map(|t| format!(" after {t:?}")).unwrap_or_default();
    fail(TIMEOUT_EXIT, format!("hammertime: {module_name} timed out{after} (-W timeout)"))
}

/// A run's error, told apart for its exit status and message.
fn report(module_name: &str, e: &wasmtime::Error, fuel: Option<u64>) -> Failure {
    // A trap, or a host error raised in guest code (a grow failure with -W
    // trap-on-grow-failure): both come with the wasm backtrace.
    let trap = e.downcast_ref::<Trap>();
    if trap.is_none() && e.downcast_ref::<wasmtime::WasmBacktrace>().is_none() {
        return fail(ERROR_EXIT, format!("hammertime: cannot run {module_name}: {}", chain(e)));
    }
    // The root cause first, then what Wasmtime attached to it (the wasm backtrace), as
    // `wasmtime run` prints it.
    let mut causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let root = causes.pop().unwrap_or_default();
    let mut message = if trap == Some(&Trap::OutOfFuel) {
        let n = fuel.map(|n| format!(" ({n} units, -W fuel)")).unwrap_or_default();
        format!("hammertime: {module_name} ran out of fuel{n}: {root}")
    } else {
        format!("hammertime: {module_name} trapped: {root}")
    };
    for cause in causes {
        message.push('\n');
        message.push_str(cause.trim_end());
    }
    fail(TRAP_EXIT, message)
}

/// What `--dir`, `--ro-dir` and `--overlay` mount from `spec.host`: an archive file (read into
/// memory, always read-only) or a host directory.
fn host_fs(spec: &DirSpec, read_only: bool) -> Result<Arc<dyn FileSystem>, Failure> {
    if spec.host.is_file() {
        let archive = std::fs::read(&spec.host)
            .and_then(Archive::open)
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot open archive {}: {e}", spec.host.display())))?;
        return Ok(Arc::new(archive));
    }
    let opened = if read_only { HostDir::open_read_only(&spec.host) } else { HostDir::open(&spec.host) };
    let dir = opened
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot open directory {}: {e}", spec.host.display())))?;
    Ok(Arc::new(dir))
}

/// The WASI context from the command line.
fn build_ctx(run: &RunArgs, wasi: &WasiOptions, matches: &ArgMatches, args: Vec<String>) -> Result<WasiCtx, Failure> {
    let mut builder = WasiCtx::builder();
    builder.inherit_stdio().args(args);
    wasi.apply(&mut builder);
    if run.inherit_env {
        builder.inherit_env();
    }
    for env in &run.envs {
        match env {
            EnvSpec::Set(k, v) => {
                builder.env(k, v);
            }
            EnvSpec::PassThrough(k) => {
                if let Some(v) = std::env::var_os(k) {
                    let v = v.into_string().map_err(|_| {
                        fail(USAGE_EXIT, format!("hammertime: the value of the host variable {k} is not UTF-8"))
                    })?;
                    builder.env(k, v);
                }
            }
        }
    }
    let mem_fs = || MemFs::builder().quota(run.mem_dir_size).max_inodes(run.mem_dir_inodes).build();
    for mount in mounts_in_order(run, matches) {
        match mount {
            Mount::Host { spec, read_only } => {
                builder.preopen(host_fs(&spec, read_only)?, spec.guest);
            }
            Mount::Overlay(spec) => {
                let overlay = Overlay::new(mem_fs(), host_fs(&spec, true)?)
                    .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot open {}: {e}", spec.host.display())))?;
                builder.preopen(overlay, spec.guest);
            }
            Mount::Mem(MemDirSpec { host, guest }) => {
                let fs = mem_fs();
                if let Some(host) = host {
                    fs.copy_from_host_dir(&host, "").map_err(|e| {
                        fail(ERROR_EXIT, format!("hammertime: cannot copy directory {}: {e}", host.display()))
                    })?;
                }
                builder.preopen(fs, guest);
            }
        }
    }
    for addr in run.tcplisten.iter().chain(&wasi.tcplisten) {
        let listener = TcpListener::bind(addr.as_str())
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot listen on {addr}: {e}")))?;
        builder.preopen_socket(listener);
    }
    builder.build().map_err(|e| {
        let status = if matches!(e, BuildError::Open { .. }) { ERROR_EXIT } else { USAGE_EXIT };
        fail(status, format!("hammertime: {e}"))
    })
}

/// A store holding `ctx`, with the memory and table limits, the fuel and the epoch deadline
/// of `opts`.
fn make_store(engine: &Engine, ctx: WasiCtx, opts: &WasmOptions) -> Result<Store<Host>, Failure> {
    type Limit = fn(StoreLimitsBuilder, usize) -> StoreLimitsBuilder;
    let counts: [(Option<usize>, Limit); 5] = [
        (opts.max_memory_size, StoreLimitsBuilder::memory_size),
        (opts.max_table_elements, StoreLimitsBuilder::table_elements),
        (opts.max_instances, StoreLimitsBuilder::instances),
        (opts.max_tables, StoreLimitsBuilder::tables),
        (opts.max_memories, StoreLimitsBuilder::memories),
    ];
    let mut limits = StoreLimitsBuilder::new();
    for (n, set) in counts {
        if let Some(n) = n {
            limits = set(limits, n);
        }
    }
    if let Some(trap) = opts.trap_on_grow_failure {
        limits = limits.trap_on_grow_failure(trap);
    }
    let mut store = Store::new(engine, Host { wasi: ctx, limits: limits.build() });
    store.limiter(|host| &mut host.limits);
    if let Some(fuel) = opts.fuel {
        store.set_fuel(fuel).map_err(|e| fail(USAGE_EXIT, format!("hammertime: -W fuel: {}", chain(&e))))?;
    }
    if opts.timeout.is_some() {
        store.set_epoch_deadline(1);
    }
    Ok(store)
}

/// Why a run did not give an exit status.
enum Outcome {
    /// `--invoke` misused: no such export, wrong arguments (exit 2).
    Usage(String),
    /// A trap or a host error.
    Error(wasmtime::Error),
}

impl From<wasmtime::Error> for Outcome {
    fn from(e: wasmtime::Error) -> Self {
        Outcome::Error(e)
    }
}

/// A linker with WASI and, as `-W unknown-imports-trap` or `-W unknown-imports-default` ask,
/// the module's other function imports.
fn module_linker(store: &mut Store<Host>, module: &Module, opts: &WasmOptions) -> wasmtime::Result<Linker<Host>> {
    let mut linker = Linker::new(store.engine());
    hammertime::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    if opts.unknown_imports_trap {
        linker.define_unknown_imports_as_traps(module)?;
    }
    if opts.unknown_imports_default {
        linker.define_unknown_imports_as_default_values(&mut *store, module)?;
    }
    Ok(linker)
}

/// Instantiates a core module and calls `_start`, or the `--invoke` export after `_initialize`.
fn run_module(
    store: &mut Store<Host>,
    module: &Module,
    opts: &WasmOptions,
    invoke: Option<&str>,
    args: &[String],
) -> Result<i32, Outcome> {
    let Some(name) = invoke else {
        if !matches!(module.get_export("_start"), Some(wasmtime::ExternType::Func(_))) {
            return Err(Outcome::Error(wasmtime::Error::msg(
                "the module has no `_start` export (a reactor? call an export with --invoke NAME)",
            )));
        }
        if opts.unknown_imports_trap || opts.unknown_imports_default {
            let linker = module_linker(store, module, opts)?;
            store.data_mut().wasi.bind_module(module);
            return Ok(hammertime::run_in(store, &linker, module)?);
        }
        // The store has no callbacks that call guests: the fast path is safe.
        return Ok(hammertime::run_in_store(store, module, |host: &mut Host| &mut host.wasi)?);
    };
    let linker = module_linker(store, module, opts)?;
    store.data_mut().wasi.bind_module(module);
    let instance = hammertime::instantiate_reactor(store, &linker, module)?;
    let Some(func) = instance.get_func(&mut *store, name) else {
        return Err(Outcome::Usage(format!("--invoke {name}: the module exports no function `{name}`")));
    };
    let values = invoke_args(store, &func, name, args)?;
    let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
    if let Err(e) = func.call(&mut *store, &values, &mut results) {
        // A `proc_exit` in the call is its exit status; anything else stays an error.
        return Ok(hammertime::exit_status(Err(e))?);
    }
    let mut out = std::io::stdout().lock();
    for result in &results {
        let _ = writeln!(out, "{}", show(result));
    }
    Ok(0)
}

/// Parses `args` by `func`'s parameter types.
fn invoke_args(store: &Store<Host>, func: &Func, name: &str, args: &[String]) -> Result<Vec<Val>, Outcome> {
    let ty = func.ty(store);
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != args.len() {
        return Err(Outcome::Usage(format!(
            "--invoke {name}: the function takes {} argument(s), {} given",
            params.len(),
            args.len()
        )));
    }
    let mut values = Vec::with_capacity(args.len());
    for (i, (ty, arg)) in params.iter().zip(args).enumerate() {
        let bad = || Outcome::Usage(format!("--invoke {name}: argument {} ({arg:?}) is not {ty}", i + 1));
        values.push(match ty {
            ValType::I32 => Val::I32(arg.parse().map_err(|_| bad())?),
            ValType::I64 => Val::I64(arg.parse().map_err(|_| bad())?),
            ValType::F32 => Val::F32(arg.parse::<f32>().map_err(|_| bad())?.to_bits()),
            ValType::F64 => Val::F64(arg.parse::<f64>().map_err(|_| bad())?.to_bits()),
            other => {
                return Err(Outcome::Usage(format!(
                    "--invoke {name}: parameter {} has type {other}, which cannot be given on the command line",
                    i + 1
                )));
            }
        });
    }
    Ok(values)
}

/// One result as `wasmtime run --invoke` prints it.
fn show(val: &Val) -> String {
    match val {
        Val::I32(i) => i.to_string(),
        Val::I64(i) => i.to_string(),
        Val::F32(f) => f32::from_bits(*f).to_string(),
        Val::F64(f) => f64::from_bits(*f).to_string(),
        Val::V128(v) => v.as_u128().to_string(),
        Val::ExternRef(None) => "<null externref>".into(),
        Val::ExternRef(Some(_)) => "<externref>".into(),
        Val::FuncRef(None) => "<null funcref>".into(),
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::AnyRef(None) => "<null anyref>".into(),
        Val::AnyRef(Some(_)) => "<anyref>".into(),
        Val::ExnRef(None) => "<null exnref>".into(),
        Val::ExnRef(Some(_)) => "<exnref>".into(),
        Val::ContRef(None) => "<null contref>".into(),
        Val::ContRef(Some(_)) => "<contref>".into(),
    }
}

/// A component linker with WASI and, as `-W unknown-imports-trap` asks, the component's other
/// function imports.
fn component_linker(
    engine: &Engine,
    component: &Component,
    opts: &WasmOptions,
) -> wasmtime::Result<wasmtime::component::Linker<Host>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    hammertime::p2::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
    if opts.unknown_imports_trap {
        linker.define_unknown_imports_as_traps(component)?;
    }
    Ok(linker)
}

/// Instantiates a component and calls its `wasi:cli/run`.
fn run_component(store: &mut Store<Host>, component: &Component, opts: &WasmOptions) -> Result<i32, Outcome> {
    let linker = component_linker(store.engine(), component, opts)?;
    let command = hammertime::p2::bindings::Command::instantiate(&mut *store, component, &linker)?;
    Ok(hammertime::p2::exit_status(command.wasi_cli_run().call_run(&mut *store))?)
}

/// Instantiates a component and calls the export that `call` names, with the arguments it
/// gives, both in WAVE (`'add(1, 2)'`, `'greet("you")'`), as `wasmtime run --invoke` does: the
/// function is looked up by its own name among the exports of the component and of its exported
/// instances (it must be the only one of that name), and its results are printed in WAVE.
fn invoke_component(
    store: &mut Store<Host>,
    component: &Component,
    opts: &WasmOptions,
    call: &str,
) -> Result<i32, Outcome> {
    use wasmtime::component::wasm_wave::{untyped::UntypedFuncCall, wasm::DisplayFuncResults, wasm::WasmFunc};
    use wasmtime::component::{Val, types::ComponentItem};

    let parsed = UntypedFuncCall::parse(call)
        .map_err(|e| Outcome::Usage(format!("--invoke {call:?}: not a WAVE function call `name(args…)`: {e}")))?;
    let name = parsed.name().to_string();
    // Every exported function whose own name is `name`, with the export path that leads to it.
    let mut found = Vec::new();
    let mut pending: Vec<(Vec<String>, ComponentItem)> =
        vec![(Vec::new(), ComponentItem::Component(component.component_type()))];
    let engine = store.engine().clone();
    while let Some((path, item)) = pending.pop() {
        let exports: Vec<(String, ComponentItem)> = match &item {
            ComponentItem::Component(c) => c.exports(&engine).map(|(n, e)| (n.to_string(), e.ty)).collect(),
            ComponentItem::ComponentInstance(c) => c.exports(&engine).map(|(n, e)| (n.to_string(), e.ty)).collect(),
            ComponentItem::ComponentFunc(func) => {
                if path.last() == Some(&name) {
                    found.push((path, func.clone()));
                }
                continue;
            }
            _ => continue,
        };
        for (export, item) in exports {
            let mut next = path.clone();
            next.push(export);
            pending.push((next, item));
        }
    }
    let (path, ty) = match found.len() {
        0 => return Err(Outcome::Usage(format!("--invoke: the component exports no function `{name}`"))),
        1 => found.remove(0),
        _ => {
            let mut all: Vec<String> = found.iter().map(|(p, _)| p.join("#")).collect();
            all.sort();
            return Err(Outcome::Usage(format!(
                "--invoke: several exports are named `{name}` ({}); the component must export one",
                all.join(", ")
            )));
        }
    };
    let param_types: Vec<_> = WasmFunc::params(&ty).collect();
    let params: Vec<Val> = parsed
        .to_wasm_params(&param_types)
        .map_err(|e| Outcome::Usage(format!("--invoke {call:?}: the arguments do not fit `{name}`: {e}")))?;
    let index = path
        .iter()
        .try_fold(None, |instance: Option<wasmtime::component::ComponentExportIndex>, export| {
            component.get_export_index(instance.as_ref(), export).map(Some)
        })
        .flatten();
    let Some(index) = index else {
        return Err(Outcome::Usage(format!("--invoke: cannot find export `{}`", path.join("#"))));
    };

    let linker = component_linker(store.engine(), component, opts)?;
    let instance = linker.instantiate(&mut *store, component)?;
    let Some(func) = instance.get_func(&mut *store, index) else {
        return Err(Outcome::Usage(format!("--invoke: `{}` is not a function", path.join("#"))));
    };
    let mut results = vec![Val::Bool(false); ty.results().len()];
    if let Err(e) = func.call(&mut *store, &params, &mut results) {
        // `exit` in the call is its exit status; anything else stays an error.
        return Ok(hammertime::exit_status(Err(e))?);
    }
    let _ = writeln!(std::io::stdout().lock(), "{}", DisplayFuncResults(&results));
    Ok(0)
}

/// Ends a run after its timeout: increments the engine's epoch (the guest's code traps at its
/// next check) and interrupts the context (a guest waiting in a host call returns).
struct Watchdog {
    done: mpsc::Sender<()>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(engine: &Engine, interrupt: InterruptHandle, timeout: Duration, module_name: &str) -> Watchdog {
        let (done, finished) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), fired.clone());
        let message = timeout_failure(module_name, Some(timeout)).message;
        std::thread::spawn(move || {
            if finished.recv_timeout(timeout) != Err(mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            flag.store(true, Ordering::SeqCst);
            engine.increment_epoch();
            interrupt.interrupt();
            if finished.recv_timeout(TIMEOUT_GRACE) == Err(mpsc::RecvTimeoutError::Timeout) {
                // Blocked where neither reaches: stop the process.
                let _ = writeln!(std::io::stderr(), "{message}");
                std::process::exit(i32::from(TIMEOUT_EXIT));
            }
        });
        Watchdog { done, fired }
    }

    /// Ends the watch; whether the timeout had expired.
    fn stop(self) -> bool {
        let _ = self.done.send(());
        self.fired.load(Ordering::SeqCst)
    }
}
