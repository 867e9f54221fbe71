//! The hammertime benchmark suite: the pieces shared by the runner (`src/main.rs`) and the
//! smoke test.
//!
//! One guest module (a C program of `guests/src`, compiled once to wasm) runs on one
//! [`Engine`] under hammertime with a [`MemFs`], hammertime with a [`HostDir`] (through
//! `preopen_dir`, and opened [`exclusive`](hammertime::vfs::HostDirBuilder::exclusive)),
//! wasmtime-wasi preview1 (defaults, and with `allow_blocking_current_thread`); the same C
//! source compiled natively is the floor. The same module adapted into a WASI 0.2 command
//! component ([`adapt`], Wasmtime's preview1 command adapter) runs under
//! `hammertime::p2` (MemFs, HostDir) and wasmtime-wasi's `p2::add_to_linker_sync` (defaults,
//! and with `allow_blocking_current_thread`). Each program times its own loop with
//! `clock_gettime(CLOCK_MONOTONIC)` and prints `ns=… check=…` lines on stderr (see
//! `guests/src/bench.h`), so every runtime measures exactly the same loop.

pub mod concurrency;
pub mod reference;

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use hammertime::WasiCtx;
use hammertime::stdio::{Discard, OutputBuffer};
use hammertime::vfs::{HostDir, MemFs};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{Config, Engine, Linker, Module, Store};

/// The guest path at which every runtime mounts the benchmark's data directory.
pub const GUEST_DIR: &str = "/data";

/// The benchmark guests: name, committed wasm module, C source.
pub const GUESTS: &[(&str, &[u8], &str)] = &[
    ("write", include_bytes!("../guests/write.wasm"), include_str!("../guests/src/write.c")),
    ("clock", include_bytes!("../guests/clock.wasm"), include_str!("../guests/src/clock.c")),
    ("read", include_bytes!("../guests/read.wasm"), include_str!("../guests/src/read.c")),
    ("meta", include_bytes!("../guests/meta.wasm"), include_str!("../guests/src/meta.c")),
    ("walk", include_bytes!("../guests/walk.wasm"), include_str!("../guests/src/walk.c")),
    ("fill", include_bytes!("../guests/fill.wasm"), include_str!("../guests/src/fill.c")),
    ("empty", include_bytes!("../guests/empty.wasm"), include_str!("../guests/src/empty.c")),
];

/// The header every guest source includes.
pub const BENCH_H: &str = include_str!("../guests/src/bench.h");

/// The floor of a host call: a loop of `n` calls of a no-op host function with `fd_write`'s
/// signature, `run(n)`.
pub const HOSTCALL_WAT: &str = r#"
(module
  (import "bench" "nop" (func $nop (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (local.set $acc
          (i32.add (local.get $acc)
            (call $nop (i32.const 1) (local.get $n) (i32.const 1) (i32.const 8))))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $acc)))
"#;

/// The floor of a component host call: a component whose core loop calls a lowered import
/// `nop: func() -> u64` (the signature of `wasi:clocks/monotonic-clock.now`) `n` times, `run(n)`.
pub const HOSTCALL_COMPONENT_WAT: &str = r#"
(component
  (import "nop" (func $nop (result u64)))
  (core func $nop_lowered (canon lower (func $nop)))
  (core module $m
    (import "host" "nop" (func $nop (result i64)))
    (func (export "run") (param $n i32) (result i64)
      (local $acc i64)
      (block $done
        (br_if $done (i32.eqz (local.get $n)))
        (loop $l
          (local.set $acc (i64.add (local.get $acc) (call $nop)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      (local.get $acc)))
  (core instance $host (export "nop" (func $nop_lowered)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func (export "run") (param "n" u32) (result u64) (canon lift (core func $i "run"))))
"#;

/// The wasm bytes of a guest.
pub fn guest_wasm(name: &str) -> &'static [u8] {
    GUESTS.iter().find(|g| g.0 == name).map(|g| g.1).unwrap_or_else(|| panic!("no guest {name}"))
}

/// The Engine every runtime shares (and the children rebuild identically to deserialize the
/// modules the parent compiled): Wasmtime's default configuration.
pub fn engine() -> Engine {
    Engine::new(&Config::new()).expect("default engine")
}

/// Where a guest runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The C program compiled for the host, run as a process.
    Native,
    /// hammertime, `/data` a [`MemFs`] holding a copy of the data.
    MemFs,
    /// hammertime, `/data` the host data directory (`WasiCtxBuilder::preopen_dir`).
    HostDir,
    /// hammertime, `/data` the host data directory opened with
    /// [`HostDirBuilder::exclusive`](hammertime::vfs::HostDirBuilder::exclusive): the kept
    /// directories are used without checking them against the host first.
    HostDirExclusive,
    /// wasmtime-wasi preview1 (`p1::add_to_linker_sync`, `WasiCtxBuilder::build_p1`), defaults.
    Wasi,
    /// wasmtime-wasi preview1 with `allow_blocking_current_thread(true)`.
    WasiBlocking,
    /// The adapted component under `hammertime::p2`, `/data` a [`MemFs`].
    P2MemFs,
    /// The adapted component under `hammertime::p2`, `/data` the host data directory.
    P2HostDir,
    /// The adapted component under wasmtime-wasi (`p2::add_to_linker_sync`), defaults.
    P2Wasi,
    /// The adapted component under wasmtime-wasi p2 with `allow_blocking_current_thread(true)`.
    P2WasiBlocking,
}

impl Runtime {
    /// The preview1 runtimes (native included), in table order.
    pub const ALL: [Runtime; 6] = [
        Runtime::Native,
        Runtime::MemFs,
        Runtime::HostDir,
        Runtime::HostDirExclusive,
        Runtime::Wasi,
        Runtime::WasiBlocking,
    ];
    /// The preview1 wasm runtimes.
    pub const WASM: [Runtime; 5] =
        [Runtime::MemFs, Runtime::HostDir, Runtime::HostDirExclusive, Runtime::Wasi, Runtime::WasiBlocking];
    /// The component (WASI 0.2) runtimes, in table order.
    pub const P2: [Runtime; 4] = [Runtime::P2MemFs, Runtime::P2HostDir, Runtime::P2Wasi, Runtime::P2WasiBlocking];

    /// Whether this runtime runs the adapted component rather than the preview1 module.
    pub fn is_component(self) -> bool {
        Runtime::P2.contains(&self)
    }

    /// The command-line name.
    pub fn id(self) -> &'static str {
        match self {
            Runtime::Native => "native",
            Runtime::MemFs => "memfs",
            Runtime::HostDir => "hostdir",
            Runtime::HostDirExclusive => "hostdir-exclusive",
            Runtime::Wasi => "wasi",
            Runtime::WasiBlocking => "wasi-blocking",
            Runtime::P2MemFs => "p2-memfs",
            Runtime::P2HostDir => "p2-hostdir",
            Runtime::P2Wasi => "p2-wasi",
            Runtime::P2WasiBlocking => "p2-wasi-blocking",
        }
    }

    /// The column title.
    pub fn label(self) -> &'static str {
        match self {
            Runtime::Native => "native",
            Runtime::MemFs => "ht MemFs",
            Runtime::HostDir => "ht HostDir",
            Runtime::HostDirExclusive => "ht HostDir excl.",
            Runtime::Wasi => "wasmtime-wasi",
            Runtime::WasiBlocking => "ww blocking",
            Runtime::P2MemFs => "ht p2 MemFs",
            Runtime::P2HostDir => "ht p2 HostDir",
            Runtime::P2Wasi => "ww p2",
            Runtime::P2WasiBlocking => "ww p2 blocking",
        }
    }

    /// The runtime named `id`.
    pub fn from_id(id: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().chain(Runtime::P2).find(|r| r.id() == id)
    }
}

/// One measurement line of a guest: `ns=… [name=value…] check=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Nanoseconds of the measured loop.
    pub ns: u64,
    /// Other `name=value` numbers (phases).
    pub extra: Vec<(String, u64)>,
    /// The summary that must agree between runtimes.
    pub check: String,
}

/// Parses the `ns=` lines of an output; other lines are ignored.
pub fn parse_samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with("ns=") {
            continue;
        }
        let mut sample = Sample { ns: 0, extra: Vec::new(), check: String::new() };
        for field in line.split_whitespace() {
            let Some((k, v)) = field.split_once('=') else { continue };
            match k {
                "ns" => sample.ns = v.parse().unwrap_or(0),
                "check" => sample.check = v.to_string(),
                _ => sample.extra.push((k.to_string(), v.parse().unwrap_or(0))),
            }
        }
        out.push(sample);
    }
    out
}

/// Copies the entries `setup` (comma-separated names of `host_dir`, or `-` for none) into a
/// new [`MemFs`]: regular files with [`MemFs::write_file`], directories with
/// [`MemFs::copy_from_host_dir`].
pub fn prepare_memfs(host_dir: &Path, setup: &str) -> wasmtime::Result<MemFs> {
    let fs = MemFs::new();
    for name in setup.split(',').filter(|n| !n.is_empty() && *n != "-") {
        let host = host_dir.join(name);
        if host.is_dir() {
            fs.copy_from_host_dir(&host, name)?;
        } else {
            fs.write_file(name, std::fs::read(&host)?)?;
        }
    }
    Ok(fs)
}

/// A tar of the entries `setup` names (as [`prepare_memfs`] reads it) under `host_dir`, built in
/// memory and served as an [`Archive`](hammertime::vfs::archive::Archive).
pub fn prepare_archive(host_dir: &Path, setup: &str) -> wasmtime::Result<hammertime::vfs::archive::Archive> {
    let mut tar = tar::Builder::new(Vec::new());
    for name in setup.split(',').filter(|n| !n.is_empty() && *n != "-") {
        let host = host_dir.join(name);
        if host.is_dir() {
            tar.append_dir_all(name, &host)?;
        } else {
            tar.append_path_with_name(&host, name)?;
        }
    }
    Ok(hammertime::vfs::archive::Archive::open(tar.into_inner()?)?)
}

/// What [`MemFs::snapshot`] costs on a prepared tree of `files` files totalling `bytes` bytes
/// (in 100 directories): the time of one snapshot (the mean over `count`), of the first write
/// to one file in a snapshot (its copy-up, through the VFS as a guest's write goes), the RSS
/// that `count` snapshots each changing one file add, and, for comparison, the time of a deep
/// copy of the tree into a new `MemFs`. One line: `snapshot files=… copy_ns=… snapshot_ns=…
/// change_ns=… rss_delta=… base_rss=…`.
pub fn snapshot_costs(files: usize, bytes: u64, count: usize) -> wasmtime::Result<String> {
    use hammertime::vfs::{FileSystem, Node, OpenOptions, resolve};
    let path = |i: usize| format!("d{:03}/f{i:05}", i % 100);
    let content = vec![b'x'; usize::try_from(bytes / files.max(1) as u64)?];
    let base = MemFs::new();
    for i in 0..files {
        base.write_file(&path(i), &content)?;
    }
    let base_rss = proc_status_bytes("VmRSS");
    let started = Instant::now();
    let snaps = (0..count).map(|_| base.snapshot()).collect::<Result<Vec<_>, _>>()?;
    let snapshot_ns = started.elapsed().as_nanos() / count.max(1) as u128;
    let started = Instant::now();
    for (k, snap) in snaps.iter().enumerate() {
        let root = snap.root()?;
        let Node::File(f) = resolve::open(&root, &path(k % files), false, OpenOptions::new().read(true).write(true))?
        else {
            wasmtime::bail!("a directory");
        };
        f.write_at(b"y", 0)?;
    }
    let change_ns = started.elapsed().as_nanos() / count.max(1) as u128;
    let rss_delta = proc_status_bytes("VmRSS").saturating_sub(base_rss);
    // The snapshots are what they should be: their own change, the base's bytes elsewhere.
    for (k, snap) in snaps.iter().enumerate().take(3) {
        let changed = snap.upper().read_file(&path(k % files))?;
        wasmtime::ensure!(changed[0] == b'y' && changed.len() == content.len(), "snapshot {k} lost its change");
        wasmtime::ensure!(base.read_file(&path(k % files))? == content, "the base changed");
    }
    drop(snaps);
    let started = Instant::now();
    let copy = MemFs::new();
    for i in 0..files {
        copy.write_file(&path(i), base.read_file(&path(i))?)?;
    }
    let copy_ns = started.elapsed().as_nanos();
    Ok(format!(
        "snapshot files={files} bytes={bytes} count={count} copy_ns={copy_ns} snapshot_ns={snapshot_ns} change_ns={change_ns} rss_delta={rss_delta} base_rss={base_rss}\n"
    ))
}

/// Runs a guest command under hammertime with `fs` at `/data` (see [`run_guest`]).
pub fn run_guest_on(
    engine: &Engine,
    module: &Module,
    fs: impl hammertime::vfs::FileSystem,
    argv: &[String],
) -> wasmtime::Result<String> {
    let mut b = WasiCtx::builder();
    b.preopen(fs, GUEST_DIR);
    run_ht(engine, module, b, argv)
}

/// Runs a guest command under hammertime with the context `b` (plus `argv`, stdout discarded,
/// stderr captured): the exit code and the stderr.
fn run_ht(
    engine: &Engine,
    module: &Module,
    mut b: hammertime::WasiCtxBuilder,
    argv: &[String],
) -> wasmtime::Result<String> {
    let err = OutputBuffer::new();
    let ctx = b.args(argv.iter().cloned()).stdout(Discard).stderr(err.clone()).build()?;
    // The documented fast path for a command in the embedder's own store.
    let mut store = Store::new(engine, HtState { wasi: ctx });
    let code = hammertime::run_in_store(&mut store, module, |s: &mut HtState| &mut s.wasi)?;
    if code != 0 {
        return Err(wasmtime::format_err!("guest exited with {code}: {}", err.to_string_lossy()));
    }
    Ok(err.to_string_lossy())
}

/// Store data of the hammertime runs.
pub struct HtState {
    /// The WASI context.
    pub wasi: WasiCtx,
}

fn ht_ctx(rt: Runtime, host_dir: &Path, memfs: Option<&MemFs>) -> wasmtime::Result<hammertime::WasiCtxBuilder> {
    let mut b = WasiCtx::builder();
    match rt {
        Runtime::MemFs | Runtime::P2MemFs => b.preopen(memfs.cloned().unwrap_or_else(MemFs::new), GUEST_DIR),
        Runtime::HostDir | Runtime::P2HostDir => b.preopen_dir(host_dir, GUEST_DIR),
        Runtime::HostDirExclusive => b.preopen(HostDir::builder(host_dir).exclusive(true).open()?, GUEST_DIR),
        _ => unreachable!("not a hammertime runtime"),
    };
    Ok(b)
}

fn ww_ctx(rt: Runtime, host_dir: &Path) -> wasmtime::Result<wasmtime_wasi::WasiCtxBuilder> {
    let mut b = wasmtime_wasi::WasiCtxBuilder::new();
    if matches!(rt, Runtime::WasiBlocking | Runtime::P2WasiBlocking) {
        // Must come before `preopened_dir`, which captures it.
        b.allow_blocking_current_thread(true);
    }
    b.preopened_dir(host_dir, GUEST_DIR, wasmtime_wasi::FsPerms::ReadWrite)?;
    Ok(b)
}

fn ww_exit(result: wasmtime::Result<()>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}

/// Runs a guest command under a wasm runtime with `argv` (`argv[0]` included), stdout sent to
/// a discarding sink, `/data` mounted; returns its stderr. A non-zero exit is an error.
pub fn run_guest(
    engine: &Engine,
    module: &Module,
    rt: Runtime,
    host_dir: &Path,
    memfs: Option<&MemFs>,
    argv: &[String],
) -> wasmtime::Result<String> {
    let (code, stderr) = match rt {
        Runtime::MemFs | Runtime::HostDir | Runtime::HostDirExclusive => {
            return run_ht(engine, module, ht_ctx(rt, host_dir, memfs)?, argv);
        }
        Runtime::Wasi | Runtime::WasiBlocking => {
            let err = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
            let mut b = ww_ctx(rt, host_dir)?;
            b.args(argv).stdout(wasmtime_wasi::p2::pipe::SinkOutputStream).stderr(err.clone());
            let ctx = b.build_p1();
            let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(engine);
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
            let mut store = Store::new(engine, ctx);
            let instance = linker.instantiate(&mut store, module)?;
            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
            let code = ww_exit(start.call(&mut store, ()))?;
            (code, String::from_utf8_lossy(&err.contents()).into_owned())
        }
        _ => unreachable!("native guests run as processes; components with run_component"),
    };
    if code != 0 {
        return Err(wasmtime::format_err!("guest exited with {code}: {stderr}"));
    }
    Ok(stderr)
}

/// Startup: per iteration, build a context (one preopen at `/data`), link, instantiate `module`
/// in a new store and run its `_start`. `mode` says how linking is done: 0, a new `Linker` and
/// `add_to_linker` each time; 1, an `InstancePre` made once; 2, each library's one-call way to
/// run a command (`hammertime::run`, which keeps a linker per engine; wasmtime-wasi has none, so
/// as 0). Returns one sample per repetition, `ns` the time of `iters` iterations.
pub fn startup(
    engine: &Engine,
    module: &Module,
    rt: Runtime,
    host_dir: &Path,
    iters: u64,
    reps: u64,
    mode: u8,
) -> wasmtime::Result<Vec<Sample>> {
    let reuse = mode == 1;
    let mut samples = Vec::new();
    match rt {
        Runtime::MemFs | Runtime::HostDir | Runtime::HostDirExclusive => {
            let link = || -> wasmtime::Result<Linker<HtState>> {
                let mut linker = Linker::<HtState>::new(engine);
                hammertime::add_to_linker(&mut linker, |s| &mut s.wasi)?;
                Ok(linker)
            };
            let pre = if reuse { Some(link()?.instantiate_pre(module)?) } else { None };
            for _ in 0..reps {
                let t0 = Instant::now();
                for _ in 0..iters {
                    let mut ctx = ht_ctx(rt, host_dir, None)?.build()?;
                    if mode == 2 {
                        assert_eq!(hammertime::run(engine, module, ctx)?, 0);
                        continue;
                    }
                    ctx.bind_module(module);
                    let mut store = Store::new(engine, HtState { wasi: ctx });
                    let code = match &pre {
                        Some(pre) => {
                            let instance = pre.instantiate(&mut store)?;
                            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                            hammertime::exit_status(start.call(&mut store, ()))?
                        }
                        None => hammertime::run_in(&mut store, &link()?, module)?,
                    };
                    assert_eq!(code, 0);
                }
                samples.push(Sample {
                    ns: t0.elapsed().as_nanos() as u64,
                    extra: vec![],
                    check: format!("iters:{iters}"),
                });
            }
        }
        Runtime::Wasi | Runtime::WasiBlocking => {
            type T = wasmtime_wasi::p1::WasiP1Ctx;
            let link = || -> wasmtime::Result<Linker<T>> {
                let mut linker = Linker::<T>::new(engine);
                wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
                Ok(linker)
            };
            let pre = if reuse { Some(link()?.instantiate_pre(module)?) } else { None };
            for _ in 0..reps {
                let t0 = Instant::now();
                for _ in 0..iters {
                    let ctx = ww_ctx(rt, host_dir)?.build_p1();
                    let mut store = Store::new(engine, ctx);
                    let instance = match &pre {
                        Some(pre) => pre.instantiate(&mut store)?,
                        None => link()?.instantiate(&mut store, module)?,
                    };
                    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                    assert_eq!(ww_exit(start.call(&mut store, ()))?, 0);
                }
                samples.push(Sample {
                    ns: t0.elapsed().as_nanos() as u64,
                    extra: vec![],
                    check: format!("iters:{iters}"),
                });
            }
        }
        _ => unreachable!("not a preview1 wasm runtime"),
    }
    Ok(samples)
}

/// Adapts a preview1 command module into a WASI 0.2 command component with Wasmtime's
/// preview1 command adapter (the one of wasmtime-wasi 48.0.8).
pub fn adapt(module: &[u8]) -> wasmtime::Result<Vec<u8>> {
    let encode = || -> Result<Vec<u8>, String> {
        wit_component::ComponentEncoder::default()
            .module(module)
            .map_err(|e| format!("{e:?}"))?
            .adapter(
                "wasi_snapshot_preview1",
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            )
            .map_err(|e| format!("{e:?}"))?
            .validate(true)
            .encode()
            .map_err(|e| format!("{e:?}"))
    };
    encode().map_err(|e| wasmtime::format_err!("adapting the module: {e}"))
}

/// The component of a guest: its committed preview1 module, adapted ([`adapt`]).
pub fn guest_component(name: &str) -> wasmtime::Result<Vec<u8>> {
    adapt(guest_wasm(name))
}

/// Store data of the wasmtime-wasi p2 runs.
pub struct WwP2State {
    /// The WASI context.
    pub ctx: wasmtime_wasi::WasiCtx,
    /// The resource table the WASI host functions use.
    pub table: ResourceTable,
}

impl wasmtime_wasi::WasiView for WwP2State {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// The store data of a wasmtime-wasi p2 run with `ctx`.
pub fn ww_p2_state(ctx: wasmtime_wasi::WasiCtx) -> WwP2State {
    WwP2State { ctx, table: ResourceTable::new() }
}

/// Runs a guest command component under a component runtime, as [`run_guest`] does a module:
/// `argv` (`argv[0]` included), stdout a discarding sink, `/data` mounted; returns its stderr.
/// A non-zero exit is an error.
pub fn run_component(
    engine: &Engine,
    component: &Component,
    rt: Runtime,
    host_dir: &Path,
    memfs: Option<&MemFs>,
    argv: &[String],
) -> wasmtime::Result<String> {
    let (code, stderr) = match rt {
        Runtime::P2MemFs | Runtime::P2HostDir => {
            let err = OutputBuffer::new();
            let ctx =
                ht_ctx(rt, host_dir, memfs)?.args(argv.iter().cloned()).stdout(Discard).stderr(err.clone()).build()?;
            let code = hammertime::p2::run(engine, component, ctx)?;
            (code, err.to_string_lossy())
        }
        Runtime::P2Wasi | Runtime::P2WasiBlocking => {
            let err = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
            let mut b = ww_ctx(rt, host_dir)?;
            b.args(argv).stdout(wasmtime_wasi::p2::pipe::SinkOutputStream).stderr(err.clone());
            let mut linker = wasmtime::component::Linker::<WwP2State>::new(engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            let mut store = Store::new(engine, ww_p2_state(b.build()));
            let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, component, &linker)?;
            let code = ww_p2_exit(command.wasi_cli_run().call_run(&mut store))?;
            (code, String::from_utf8_lossy(&err.contents()).into_owned())
        }
        _ => unreachable!("not a component runtime"),
    };
    if code != 0 {
        return Err(wasmtime::format_err!("guest exited with {code}: {stderr}"));
    }
    Ok(stderr)
}

fn ww_p2_exit(result: wasmtime::Result<Result<(), ()>>) -> wasmtime::Result<i32> {
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => ww_exit(Err(e)),
    }
}

/// Startup of a command component, as [`startup`] for a module: per iteration, build a context
/// (one preopen at `/data`), link, instantiate in a new store and call `wasi:cli/run`. `mode` 0:
/// a new component `Linker` and `add_to_linker` each time; 1: an `InstancePre` made once; 2:
/// each library's one-call way (`hammertime::p2::run`; wasmtime-wasi has none, so as 0).
pub fn startup_component(
    engine: &Engine,
    component: &Component,
    rt: Runtime,
    host_dir: &Path,
    iters: u64,
    reps: u64,
    mode: u8,
) -> wasmtime::Result<Vec<Sample>> {
    use wasmtime::component::Linker;
    let reuse = mode == 1;
    let mut samples = Vec::new();
    let mut sample = |ns: u128| samples.push(Sample { ns: ns as u64, extra: vec![], check: format!("iters:{iters}") });
    match rt {
        Runtime::P2MemFs | Runtime::P2HostDir => {
            use hammertime::p2::bindings::{Command, CommandPre};
            let link = || -> wasmtime::Result<Linker<HtState>> {
                let mut linker = Linker::<HtState>::new(engine);
                hammertime::p2::add_to_linker(&mut linker, |s| &mut s.wasi)?;
                Ok(linker)
            };
            let pre = if reuse { Some(CommandPre::new(link()?.instantiate_pre(component)?)?) } else { None };
            for _ in 0..reps {
                let t0 = Instant::now();
                for _ in 0..iters {
                    let ctx = ht_ctx(rt, host_dir, None)?.build()?;
                    if mode == 2 {
                        assert_eq!(hammertime::p2::run(engine, component, ctx)?, 0);
                        continue;
                    }
                    let mut store = Store::new(engine, HtState { wasi: ctx });
                    let command = match &pre {
                        Some(pre) => pre.instantiate(&mut store)?,
                        None => Command::instantiate(&mut store, component, &link()?)?,
                    };
                    assert_eq!(hammertime::p2::exit_status(command.wasi_cli_run().call_run(&mut store))?, 0);
                }
                sample(t0.elapsed().as_nanos());
            }
        }
        Runtime::P2Wasi | Runtime::P2WasiBlocking => {
            use wasmtime_wasi::p2::bindings::sync::{Command, CommandPre};
            let link = || -> wasmtime::Result<Linker<WwP2State>> {
                let mut linker = Linker::<WwP2State>::new(engine);
                wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
                Ok(linker)
            };
            let pre = if reuse { Some(CommandPre::new(link()?.instantiate_pre(component)?)?) } else { None };
            for _ in 0..reps {
                let t0 = Instant::now();
                for _ in 0..iters {
                    let ctx = ww_ctx(rt, host_dir)?.build();
                    let mut store = Store::new(engine, ww_p2_state(ctx));
                    let command = match &pre {
                        Some(pre) => pre.instantiate(&mut store)?,
                        None => Command::instantiate(&mut store, component, &link()?)?,
                    };
                    assert_eq!(ww_p2_exit(command.wasi_cli_run().call_run(&mut store))?, 0);
                }
                sample(t0.elapsed().as_nanos());
            }
        }
        _ => unreachable!("not a component runtime"),
    }
    Ok(samples)
}

/// The empty-host-call floor: `reps` times, `n` calls of a no-op `func_wrap` from
/// [`HOSTCALL_WAT`], timed from the host around the one `run(n)` call.
pub fn hostcall(engine: &Engine, module: &Module, n: u32, reps: u64) -> wasmtime::Result<Vec<Sample>> {
    let mut linker = Linker::<()>::new(engine);
    linker.func_wrap("bench", "nop", |_fd: i32, _iovs: i32, _len: i32, _nw: i32| -> i32 { 0 })?;
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, module)?;
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
    let mut samples = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let sum = run.call(&mut store, n as i32)?;
        let ns = t0.elapsed().as_nanos() as u64;
        samples.push(Sample { ns, extra: vec![], check: format!("calls:{n},sum:{sum}") });
    }
    Ok(samples)
}

/// The empty-component-host-call floor: `reps` times, `n` calls of a no-op component
/// `func_wrap` returning a `u64`, from [`HOSTCALL_COMPONENT_WAT`], timed from the host around the
/// one `run(n)` call.
pub fn hostcall_component(engine: &Engine, component: &Component, n: u32, reps: u64) -> wasmtime::Result<Vec<Sample>> {
    let mut linker = wasmtime::component::Linker::<()>::new(engine);
    linker.root().func_wrap("nop", |_, (): ()| Ok((1u64,)))?;
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, component)?;
    let run = instance.get_typed_func::<(u32,), (u64,)>(&mut store, "run")?;
    let mut samples = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let (sum,) = run.call(&mut store, (n,))?;
        let ns = t0.elapsed().as_nanos() as u64;
        samples.push(Sample { ns, extra: vec![], check: format!("calls:{n},sum:{sum}") });
    }
    Ok(samples)
}

/// A small, fast, deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Sizes of the workloads.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Small writes.
    pub writes: u64,
    /// `clock_gettime` calls.
    pub clocks: u64,
    /// The large file read in 64 KiB chunks.
    pub big_bytes: u64,
    /// The medium file read in 4 KiB chunks.
    pub mid_bytes: u64,
    /// Files of the metadata workload.
    pub meta_files: u64,
    /// The tree: top directories × subdirectories × files.
    pub tree: (u64, u64, u64),
    /// Startup iterations per repetition.
    pub startup_iters: u64,
    /// Empty host calls.
    pub hostcalls: u64,
}

impl Sizes {
    /// The sizes of the issue.
    pub const FULL: Sizes = Sizes {
        writes: 1_000_000,
        clocks: 1_000_000,
        big_bytes: 256 << 20,
        mid_bytes: 16 << 20,
        meta_files: 5_000,
        tree: (10, 10, 100),
        startup_iters: 500,
        hostcalls: 1_000_000,
    };
    /// Tiny sizes for the smoke test and `--quick`.
    pub const TINY: Sizes = Sizes {
        writes: 1_000,
        clocks: 1_000,
        big_bytes: 1 << 20,
        mid_bytes: 256 << 10,
        meta_files: 50,
        tree: (2, 2, 5),
        startup_iters: 5,
        hostcalls: 1_000,
    };

    /// Files in the tree.
    pub fn tree_files(&self) -> u64 {
        self.tree.0 * self.tree.1 * self.tree.2
    }
}

/// Writes `size` pseudo-random bytes to `path`.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng::new(seed);
    let mut left = size;
    let mut chunk = vec![0u8; 1 << 20];
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()
}

/// Makes the data directory: `big`, `mid` (random bytes) and `tree/dA/sB/fC.txt` (text files
/// of 0 to 4095 bytes of random lowercase lines).
pub fn make_data(dir: &Path, sizes: &Sizes) -> std::io::Result<()> {
    write_random_file(&dir.join("big"), sizes.big_bytes, 1)?;
    write_random_file(&dir.join("mid"), sizes.mid_bytes, 2)?;
    let mut rng = Rng::new(3);
    let mut text = Vec::with_capacity(4096);
    for a in 0..sizes.tree.0 {
        for b in 0..sizes.tree.1 {
            let sub = dir.join(format!("tree/d{a:02}/s{b:02}"));
            std::fs::create_dir_all(&sub)?;
            for c in 0..sizes.tree.2 {
                let len = (rng.next_u64() % 4096) as usize;
                text.clear();
                while text.len() < len {
                    let r = rng.next_u64();
                    text.push(if r.is_multiple_of(41) { b'\n' } else { b'a' + ((r >> 8) % 26) as u8 });
                }
                std::fs::write(sub.join(format!("f{c:03}.txt")), &text)?;
            }
        }
    }
    Ok(())
}

/// One workload run by a guest program.
#[derive(Clone, Debug)]
pub struct GuestWorkload {
    /// Short id (command line, child processes).
    pub id: &'static str,
    /// Table title.
    pub title: String,
    /// The guest program.
    pub guest: &'static str,
    /// Arguments after REPS; `{dir}` is replaced by the data directory as the runtime sees it.
    pub args: Vec<String>,
    /// What a [`MemFs`] must hold (see [`prepare_memfs`]).
    pub memfs_setup: &'static str,
    /// Operations per loop (for time per operation).
    pub ops: u64,
    /// Bytes per loop, for a throughput workload.
    pub bytes: Option<u64>,
}

/// `n` with thousands separators: `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The guest workloads at `sizes`.
pub fn guest_workloads(s: &Sizes) -> Vec<GuestWorkload> {
    let k = thousands;
    let mib = |b: u64| b >> 20;
    vec![
        GuestWorkload {
            id: "write",
            title: format!("{} × 16 B write(1) to a sink", k(s.writes)),
            guest: "write",
            args: vec![s.writes.to_string(), "16".into()],
            memfs_setup: "-",
            ops: s.writes,
            bytes: None,
        },
        GuestWorkload {
            id: "clock",
            title: format!("{} × clock_gettime", k(s.clocks)),
            guest: "clock",
            args: vec![s.clocks.to_string()],
            memfs_setup: "-",
            ops: s.clocks,
            bytes: None,
        },
        GuestWorkload {
            id: "read-big",
            title: format!("{} MiB read, 64 KiB reads", mib(s.big_bytes).max(1)),
            guest: "read",
            args: vec!["{dir}/big".into(), "65536".into()],
            memfs_setup: "big",
            ops: s.big_bytes.div_ceil(65536),
            bytes: Some(s.big_bytes),
        },
        GuestWorkload {
            id: "read-small",
            title: format!("{} MiB read, 4 KiB reads", mib(s.mid_bytes).max(1)),
            guest: "read",
            args: vec!["{dir}/mid".into(), "4096".into()],
            memfs_setup: "mid",
            ops: s.mid_bytes.div_ceil(4096),
            bytes: Some(s.mid_bytes),
        },
        GuestWorkload {
            id: "meta",
            title: format!("{} files: create+write, stat, readdir, unlink (per file)", k(s.meta_files)),
            guest: "meta",
            args: vec!["{dir}".into(), s.meta_files.to_string()],
            memfs_setup: "-",
            ops: s.meta_files,
            bytes: None,
        },
        GuestWorkload {
            id: "walk",
            title: format!("tree walk: list, stat, read {} files (per walk)", k(s.tree_files())),
            guest: "walk",
            args: vec!["{dir}/tree".into()],
            memfs_setup: "tree",
            ops: 1,
            bytes: None,
        },
    ]
}

/// The argv of a guest workload: `[guest, reps, args…]` with `{dir}` replaced by `dir`.
pub fn guest_argv(w: &GuestWorkload, reps: u64, dir: &str) -> Vec<String> {
    let mut argv = vec![w.guest.to_string(), reps.to_string()];
    argv.extend(w.args.iter().map(|a| a.replace("{dir}", dir)));
    argv
}

/// Compiles the guest sources for the host with `cc` (`$CC`, default `cc`) into `out_dir`,
/// returning the compiler's complaint if it fails.
pub fn compile_native(out_dir: &Path) -> Result<(), String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src = out_dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    std::fs::write(src.join("bench.h"), BENCH_H).map_err(|e| e.to_string())?;
    for (name, _, source) in GUESTS {
        let c = src.join(format!("{name}.c"));
        std::fs::write(&c, source).map_err(|e| e.to_string())?;
        let out = std::process::Command::new(&cc)
            .args(["-O2", "-std=gnu11", "-o"])
            .arg(out_dir.join(name))
            .arg(&c)
            .output()
            .map_err(|e| format!("{cc}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{cc} {name}.c: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    Ok(())
}

/// The median of `values` (the lower middle one for an even count).
pub fn median(values: &[u64]) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() { 0 } else { v[(v.len() - 1) / 2] }
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
pub fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Resets the peak RSS of this process to its current RSS (Linux `clear_refs` 5), so setup
/// that frees its memory does not count in the peak.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload at a tiny size under every runtime, preview1 modules and their adapted
    /// components (native too, when `cc` works): all runs succeed and their checks agree.
    #[test]
    fn smoke_all_workloads_agree() {
        let sizes = Sizes::TINY;
        let data = tempfile::tempdir().unwrap();
        make_data(data.path(), &sizes).unwrap();
        let engine = engine();
        let native = tempfile::tempdir().unwrap();
        let have_native = compile_native(native.path()).is_ok();
        let mut components = std::collections::HashMap::new();
        for w in guest_workloads(&sizes) {
            let module = Module::new(&engine, guest_wasm(w.guest)).unwrap();
            let component = components
                .entry(w.guest)
                .or_insert_with(|| Component::new(&engine, guest_component(w.guest).unwrap()).unwrap())
                .clone();
            let memfs = prepare_memfs(data.path(), w.memfs_setup).unwrap();
            let mut checks = Vec::new();
            for rt in Runtime::WASM.into_iter().chain(Runtime::P2) {
                let argv = guest_argv(&w, 2, GUEST_DIR);
                let out = if rt.is_component() {
                    run_component(&engine, &component, rt, data.path(), Some(&memfs), &argv)
                } else {
                    run_guest(&engine, &module, rt, data.path(), Some(&memfs), &argv)
                };
                let out = out.unwrap_or_else(|e| panic!("{} under {rt:?}: {e:?}", w.id));
                let samples = parse_samples(&out);
                assert_eq!(samples.len(), 2, "{} under {rt:?}: {out}", w.id);
                checks.push((rt.id(), samples[0].check.clone()));
                assert_eq!(samples[0].check, samples[1].check);
            }
            if w.memfs_setup != "-" {
                // The archive rows: the same files in a tar served in place.
                let archive = prepare_archive(data.path(), w.memfs_setup).unwrap();
                let out = run_guest_on(&engine, &module, archive, &guest_argv(&w, 1, GUEST_DIR)).unwrap();
                checks.push(("archive", parse_samples(&out)[0].check.clone()));
                // The snapshot rows: the same files in a snapshot of a MemFs.
                let snapshot = prepare_memfs(data.path(), w.memfs_setup).unwrap().snapshot().unwrap();
                let out = run_guest_on(&engine, &module, snapshot, &guest_argv(&w, 1, GUEST_DIR)).unwrap();
                checks.push(("snapshot", parse_samples(&out)[0].check.clone()));
            }
            if have_native {
                let argv = guest_argv(&w, 1, data.path().to_str().unwrap());
                let out = std::process::Command::new(native.path().join(w.guest))
                    .args(&argv[1..])
                    .stdout(std::process::Stdio::null())
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}: {}", w.id, String::from_utf8_lossy(&out.stderr));
                let samples = parse_samples(&String::from_utf8_lossy(&out.stderr));
                checks.push(("native", samples[0].check.clone()));
            }
            let first = checks[0].1.clone();
            assert!(!first.is_empty());
            for (rt, check) in &checks {
                assert_eq!(check, &first, "{}: {rt} disagrees: {checks:?}", w.id);
            }
        }
        let empty = Module::new(&engine, guest_wasm("empty")).unwrap();
        for rt in Runtime::WASM {
            for mode in [0, 1, 2] {
                let s = startup(&engine, &empty, rt, data.path(), 2, 1, mode).unwrap();
                assert_eq!(s.len(), 1);
            }
        }
        let empty = Component::new(&engine, guest_component("empty").unwrap()).unwrap();
        for rt in Runtime::P2 {
            for mode in [0, 1, 2] {
                let s = startup_component(&engine, &empty, rt, data.path(), 2, 1, mode)
                    .unwrap_or_else(|e| panic!("startup mode {mode} under {rt:?}: {e:?}"));
                assert_eq!(s.len(), 1);
            }
        }
        let nop = Module::new(&engine, HOSTCALL_WAT).unwrap();
        let s = hostcall(&engine, &nop, 100, 2).unwrap();
        assert_eq!(s[0].check, "calls:100,sum:0");
        let nop = Component::new(&engine, HOSTCALL_COMPONENT_WAT).unwrap();
        let s = hostcall_component(&engine, &nop, 100, 2).unwrap();
        assert_eq!(s[0].check, "calls:100,sum:100");
    }

    /// `tests/toolchains/rights.wasmtime.txt`, what the toolchain tests hold hammertime to, is
    /// what wasmtime-wasi 48 prints for `guests/rights.wasm` (with an empty directory at `/`).
    #[test]
    fn the_committed_wasmtime_answers_are_wasmtimes() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let engine = engine();
        let module = Module::new(&engine, std::fs::read(format!("{root}/guests/rights.wasm")).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
        b.arg("rights").stdout(out.clone()).preopened_dir(dir.path(), "/", wasmtime_wasi::FsPerms::ReadWrite).unwrap();
        let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
        let mut store = Store::new(&engine, b.build_p1());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap().call(&mut store, ()).unwrap();
        let expected = std::fs::read_to_string(format!("{root}/tests/toolchains/rights.wasmtime.txt")).unwrap();
        assert_eq!(String::from_utf8(out.contents().to_vec()).unwrap(), expected);
    }

    #[test]
    fn parses_samples() {
        let s = parse_samples("junk\nns=12 create=3 check=a:1,b:2\n");
        assert_eq!(s, vec![Sample { ns: 12, extra: vec![("create".into(), 3)], check: "a:1,b:2".into() }]);
        assert_eq!(median(&[5, 1, 3]), 3);
        assert_eq!(median(&[4, 1, 3, 2]), 2);
        assert_eq!(
            (thousands(1_000_000), thousands(999), thousands(5_000)),
            ("1,000,000".into(), "999".into(), "5,000".into())
        );
    }
}
