//! The async-embedding benchmarks (`--only concurrency`): many guests at once on tokio,
//! hammertime's async host against wasmtime-wasi 48's async API, in the same run.
//!
//! - **sleepers**: N guests that each sleep 100 ms (a preview1 `poll_oneoff` relative clock;
//!   the same module adapted to a WASI 0.2 component, whose adapter sleeps with
//!   `subscribe-duration` and `poll`), all spawned at once on a current-thread or a two-worker
//!   runtime, on Wasmtime's on-demand or pooling allocator: the wall time until all are done and
//!   the peak host memory added per guest. The floor is the same guest with no WASI at all: one
//!   async host function that sleeps on tokio.
//! - **writers**: 1,000 concurrent guests that each write 1,000 16-byte lines to a captured
//!   stdout and exit: guests per second.
//! - **requests**: a fresh store and context (one preopened host directory) instantiated from an
//!   `InstancePre` and running an empty command, one after the other: microseconds per request,
//!   synchronous and async hosts.
//! - **blocking pool**: the synchronous APIs inside `spawn_blocking`, 1,000 sleepers.
//! - **offload**: a `HostDir` `stat` made on the worker thread, as the async host makes it,
//!   against the same call handed to tokio's blocking pool.
//!
//! Each measurement runs in its own child process (`__concurrency …`), which prints
//! `ns=… rss=… check=…`.

use std::path::Path;
use std::time::{Duration, Instant};

use hammertime::WasiCtx;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store};

/// The sleeper: one relative monotonic-clock subscription of `poll_oneoff`, then exit.
pub const SLEEPER_WAT: &str = r#"(module
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start")
      (i32.store8 (i32.const 8) (i32.const 0))
      (i32.store (i32.const 16) (i32.const 1))
      (i64.store (i32.const 24) (i64.const 100000000))
      (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)) (then unreachable))))"#;

/// The floor of the sleepers: the same sleep through one async host function, no WASI.
const FLOOR_WAT: &str = r#"(module
    (import "floor" "sleep" (func $sleep (param i64)))
    (memory (export "memory") 1)
    (func (export "_start") (call $sleep (i64.const 100000000))))"#;

/// The writer: 1,000 `fd_write`s of a 16-byte line to stdout.
pub const WRITER_WAT: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 64) "0123456789abcde\n")
    (func (export "_start") (local $i i32)
      (i32.store (i32.const 0) (i32.const 64))
      (i32.store (i32.const 4) (i32.const 16))
      (loop $l
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))"#;

/// The empty command of the request rows.
pub const EMPTY_WAT: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

/// An engine for `n` guests at once: Wasmtime's default, or its pooling allocator with room
/// for them (a small memory reservation, so that 10,000 instances fit).
pub fn engine_for(pooled: bool, n: u32) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    if pooled {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(6 * n + 16)
            .total_component_instances(n + 16)
            .total_memories(2 * n + 16)
            .total_tables(4 * n + 16)
            .total_stacks(n + 16)
            .max_memory_size(4 << 20)
            .table_elements(1000);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        config.memory_reservation(4 << 20).memory_guard_size(64 << 10).memory_reservation_for_growth(0);
    }
    Engine::new(&config)
}

/// The RSS of this process now (bytes).
fn rss() -> u64 {
    crate::proc_status_bytes("VmRSS")
}

fn runtime(flavor: &str) -> wasmtime::Result<tokio::runtime::Runtime> {
    let mut b = if flavor == "mt" {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    Ok(b.enable_all().build()?)
}

/// Which host runs the guests of a measurement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Host {
    Hammertime,
    WasmtimeWasi,
    Floor,
}

fn host(id: &str) -> wasmtime::Result<Host> {
    Ok(match id {
        "ht" => Host::Hammertime,
        "ww" => Host::WasmtimeWasi,
        "floor" => Host::Floor,
        _ => wasmtime::bail!("bad host {id}"),
    })
}

/// `__concurrency sleepers HOST API ALLOC FLAVOR N`: N sleepers at once.
pub fn sleepers(host_id: &str, api: &str, pooled: bool, flavor: &str, n: u32) -> wasmtime::Result<String> {
    let host = host(host_id)?;
    let engine = engine_for(pooled, n)?;
    let rt = runtime(flavor)?;
    let component = api == "p2";
    let before = rss();
    let start = Instant::now();
    let peak = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        if component {
            let c = Component::new(&engine, crate::adapt(&wat::parse_str(SLEEPER_WAT)?)?)?;
            match host {
                Host::Hammertime => {
                    let mut linker = wasmtime::component::Linker::new(&engine);
                    hammertime::p2::add_to_linker_async(&mut linker, |c: &mut WasiCtx| c)?;
                    let pre = hammertime::p2::bindings::CommandPre::new(linker.instantiate_pre(&c)?)?;
                    for _ in 0..n {
                        let (pre, engine) = (pre.clone(), engine.clone());
                        set.spawn(async move {
                            let mut store = Store::new(&engine, WasiCtx::builder().build()?);
                            let cmd = pre.instantiate_async(&mut store).await?;
                            let (r,) = cmd.wasi_cli_run().func_run().call_async(&mut store, ()).await?;
                            r.map_err(|()| wasmtime::format_err!("run failed"))
                        });
                    }
                }
                Host::WasmtimeWasi => {
                    let mut linker = wasmtime::component::Linker::new(&engine);
                    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
                    let pre = wasmtime_wasi::p2::bindings::CommandPre::new(linker.instantiate_pre(&c)?)?;
                    for _ in 0..n {
                        let (pre, engine) = (pre.clone(), engine.clone());
                        set.spawn(async move {
                            let ctx = wasmtime_wasi::WasiCtxBuilder::new().build();
                            let mut store = Store::new(&engine, crate::ww_p2_state(ctx));
                            let cmd = pre.instantiate_async(&mut store).await?;
                            cmd.wasi_cli_run()
                                .call_run(&mut store)
                                .await?
                                .map_err(|()| wasmtime::format_err!("run failed"))
                        });
                    }
                }
                Host::Floor => wasmtime::bail!("the floor is a module"),
            }
        } else {
            let wat = if host == Host::Floor { FLOOR_WAT } else { SLEEPER_WAT };
            let module = Module::new(&engine, wat)?;
            match host {
                Host::Hammertime => {
                    let mut linker = Linker::new(&engine);
                    hammertime::add_to_linker_async(&mut linker, |c: &mut WasiCtx| c)?;
                    let pre = linker.instantiate_pre(&module)?;
                    for _ in 0..n {
                        let (pre, engine) = (pre.clone(), engine.clone());
                        set.spawn(async move {
                            let mut ctx = WasiCtx::builder().build()?;
                            ctx.bind_module(pre.module());
                            let mut store = Store::new(&engine, ctx);
                            let instance = pre.instantiate_async(&mut store).await?;
                            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                            start.call_async(&mut store, ()).await
                        });
                    }
                }
                Host::WasmtimeWasi => {
                    let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
                    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| s)?;
                    let pre = linker.instantiate_pre(&module)?;
                    for _ in 0..n {
                        let (pre, engine) = (pre.clone(), engine.clone());
                        set.spawn(async move {
                            let mut store = Store::new(&engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
                            let instance = pre.instantiate_async(&mut store).await?;
                            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                            start.call_async(&mut store, ()).await
                        });
                    }
                }
                Host::Floor => {
                    let mut linker = Linker::<()>::new(&engine);
                    linker.func_wrap_async("floor", "sleep", |_caller, (ns,): (i64,)| {
                        Box::new(async move { tokio::time::sleep(Duration::from_nanos(ns as u64)).await })
                    })?;
                    let pre = linker.instantiate_pre(&module)?;
                    for _ in 0..n {
                        let (pre, engine) = (pre.clone(), engine.clone());
                        set.spawn(async move {
                            let mut store = Store::new(&engine, ());
                            let instance = pre.instantiate_async(&mut store).await?;
                            let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                            start.call_async(&mut store, ()).await
                        });
                    }
                }
            }
        }
        // All spawned: halfway through the sleep, every guest is waiting.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let during = rss();
        while let Some(done) = set.join_next().await {
            done??;
        }
        Ok::<_, wasmtime::Error>(during)
    })?;
    let ns = start.elapsed().as_nanos();
    let per_guest = peak.saturating_sub(before) / u64::from(n.max(1));
    Ok(format!("ns={ns} rss={per_guest} check=sleepers:{n}\n"))
}

/// `__concurrency writers HOST ALLOC FLAVOR N`: N guests at once, each writing 1,000 16-byte
/// lines to a captured stdout. The floor's `fd_write` is a host function of its own that takes
/// the bytes' count and nothing else (no WASI context).
pub fn writers(host_id: &str, pooled: bool, flavor: &str, n: u32) -> wasmtime::Result<String> {
    let host = host(host_id)?;
    let engine = engine_for(pooled, n)?;
    let rt = runtime(flavor)?;
    let module = Module::new(&engine, WRITER_WAT)?;
    let start = Instant::now();
    let bytes = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        match host {
            Host::Hammertime => {
                let mut linker = Linker::new(&engine);
                hammertime::add_to_linker_async(&mut linker, |c: &mut WasiCtx| c)?;
                let pre = linker.instantiate_pre(&module)?;
                for _ in 0..n {
                    let (pre, engine) = (pre.clone(), engine.clone());
                    set.spawn(async move {
                        let out = hammertime::stdio::OutputBuffer::new();
                        let mut ctx = WasiCtx::builder().stdout(out.clone()).build()?;
                        ctx.bind_module(pre.module());
                        let mut store = Store::new(&engine, ctx);
                        let instance = pre.instantiate_async(&mut store).await?;
                        instance.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await?;
                        Ok::<_, wasmtime::Error>(out.len())
                    });
                }
            }
            Host::Floor => {
                let mut linker = Linker::<usize>::new(&engine);
                linker.func_wrap(
                    "wasi_snapshot_preview1",
                    "fd_write",
                    |mut caller: wasmtime::Caller<'_, usize>, _fd: i32, iovs: i32, _len: i32, nwritten: i32| {
                        let Some(wasmtime::Extern::Memory(memory)) = caller.get_export("memory") else {
                            return 8; // EBADF
                        };
                        let mut len = [0u8; 4];
                        let at = usize::try_from(iovs).unwrap_or(usize::MAX).saturating_add(4);
                        if memory.read(&caller, at, &mut len).is_err()
                            || memory.write(&mut caller, usize::try_from(nwritten).unwrap_or(usize::MAX), &len).is_err()
                        {
                            return 21; // EFAULT
                        }
                        *caller.data_mut() += u32::from_le_bytes(len) as usize;
                        0
                    },
                )?;
                let pre = linker.instantiate_pre(&module)?;
                for _ in 0..n {
                    let (pre, engine) = (pre.clone(), engine.clone());
                    set.spawn(async move {
                        let mut store = Store::new(&engine, 0usize);
                        let instance = pre.instantiate_async(&mut store).await?;
                        instance.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await?;
                        Ok::<_, wasmtime::Error>(*store.data())
                    });
                }
            }
            Host::WasmtimeWasi => {
                let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
                wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| s)?;
                let pre = linker.instantiate_pre(&module)?;
                for _ in 0..n {
                    let (pre, engine) = (pre.clone(), engine.clone());
                    set.spawn(async move {
                        let out = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
                        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
                        b.stdout(out.clone());
                        let mut store = Store::new(&engine, b.build_p1());
                        let instance = pre.instantiate_async(&mut store).await?;
                        instance.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await?;
                        drop(store);
                        Ok::<_, wasmtime::Error>(out.contents().len())
                    });
                }
            }
        }
        let mut bytes = 0;
        while let Some(done) = set.join_next().await {
            bytes += done??;
        }
        Ok::<_, wasmtime::Error>(bytes)
    })?;
    let ns = start.elapsed().as_nanos();
    Ok(format!("ns={ns} check=bytes:{bytes}\n"))
}

/// `__concurrency requests HOST API ALLOC ASYNC N DIR`: N requests one after the other, each a
/// fresh store and context with DIR preopened, instantiating an `InstancePre` and running the
/// empty command; the time per request.
pub fn requests(
    host_id: &str,
    api: &str,
    pooled: bool,
    is_async: bool,
    n: u32,
    dir: &Path,
) -> wasmtime::Result<String> {
    let host = host(host_id)?;
    let engine = engine_for(pooled, 16)?;
    let rt = runtime("ct")?;
    let module = wat::parse_str(EMPTY_WAT)?;
    // No `bind_module` for hammertime (one export lookup, ~0.1 µs, which pays back after a call
    // or two): the empty command makes no call.
    let ht_ctx = || Ok(WasiCtx::builder().preopen_dir(dir, "/data").build()?);
    let ww_ctx = || -> wasmtime::Result<wasmtime_wasi::WasiCtxBuilder> {
        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
        b.preopened_dir(dir, "/data", wasmtime_wasi::FsPerms::ReadWrite)?;
        Ok(b)
    };
    let requests = Requests { engine: &engine, rt: &rt, is_async, n };
    let elapsed = if api == "p2" {
        let component = Component::new(&engine, crate::adapt(&module)?)?;
        match (host, is_async) {
            (Host::Hammertime, _) => {
                let mut linker = wasmtime::component::Linker::new(&engine);
                if is_async {
                    hammertime::p2::add_to_linker_async(&mut linker, |c: &mut WasiCtx| c)?;
                } else {
                    hammertime::p2::add_to_linker(&mut linker, |c: &mut WasiCtx| c)?;
                }
                requests.commands(
                    &hammertime::p2::bindings::CommandPre::new(linker.instantiate_pre(&component)?)?,
                    ht_ctx,
                )?
            }
            (Host::Floor, _) => {
                // The same component with every import a trap (the empty command calls none):
                // no WASI context, no host state.
                let mut linker = wasmtime::component::Linker::<()>::new(&engine);
                linker.define_unknown_imports_as_traps(&component)?;
                requests.commands(
                    &hammertime::p2::bindings::CommandPre::new(linker.instantiate_pre(&component)?)?,
                    || Ok(()),
                )?
            }
            (Host::WasmtimeWasi, true) => {
                let mut linker = wasmtime::component::Linker::new(&engine);
                wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
                let pre = wasmtime_wasi::p2::bindings::CommandPre::new(linker.instantiate_pre(&component)?)?;
                let start = Instant::now();
                for _ in 0..n {
                    let mut store = Store::new(&engine, crate::ww_p2_state(ww_ctx()?.build()));
                    rt.block_on(async {
                        let cmd = pre.instantiate_async(&mut store).await?;
                        cmd.wasi_cli_run().call_run(&mut store).await?.map_err(|()| wasmtime::format_err!("run"))
                    })?;
                }
                start.elapsed()
            }
            (Host::WasmtimeWasi, false) => {
                // Its sync bindings (the async ones refuse a synchronous call).
                let mut linker = wasmtime::component::Linker::new(&engine);
                wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
                let pre = wasmtime_wasi::p2::bindings::sync::CommandPre::new(linker.instantiate_pre(&component)?)?;
                let start = Instant::now();
                for _ in 0..n {
                    let mut store = Store::new(&engine, crate::ww_p2_state(ww_ctx()?.build()));
                    let cmd = pre.instantiate(&mut store)?;
                    cmd.wasi_cli_run().call_run(&mut store)?.map_err(|()| wasmtime::format_err!("run"))?;
                }
                start.elapsed()
            }
        }
    } else {
        let module = Module::new(&engine, &module)?;
        match host {
            Host::Hammertime => {
                let mut linker = Linker::new(&engine);
                if is_async {
                    hammertime::add_to_linker_async(&mut linker, |c: &mut WasiCtx| c)?;
                } else {
                    hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c)?;
                }
                requests.modules(&linker.instantiate_pre(&module)?, ht_ctx)?
            }
            // No WASI: the module imports nothing, the store holds nothing.
            Host::Floor => requests.modules(&Linker::<()>::new(&engine).instantiate_pre(&module)?, || Ok(()))?,
            Host::WasmtimeWasi => {
                let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
                if is_async {
                    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| s)?;
                } else {
                    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
                }
                requests.modules(&linker.instantiate_pre(&module)?, || Ok(ww_ctx()?.build_p1()))?
            }
        }
    };
    let ns = elapsed.as_nanos() / u128::from(n.max(1));
    Ok(format!("ns={ns} check=requests:{n}\n"))
}

/// The request loop of [`requests`]: `n` fresh stores, one after the other, each instantiated
/// and run to the end, synchronously or as a future on `rt`.
struct Requests<'a> {
    engine: &'a Engine,
    rt: &'a tokio::runtime::Runtime,
    is_async: bool,
    n: u32,
}

impl Requests<'_> {
    /// Core modules: `_start` of each instance.
    fn modules<T: Send + 'static>(
        &self,
        pre: &wasmtime::InstancePre<T>,
        data: impl Fn() -> wasmtime::Result<T>,
    ) -> wasmtime::Result<Duration> {
        let start = Instant::now();
        for _ in 0..self.n {
            let mut store = Store::new(self.engine, data()?);
            if self.is_async {
                self.rt.block_on(async {
                    let instance = pre.instantiate_async(&mut store).await?;
                    instance.get_typed_func::<(), ()>(&mut store, "_start")?.call_async(&mut store, ()).await
                })?;
            } else {
                let instance = pre.instantiate(&mut store)?;
                instance.get_typed_func::<(), ()>(&mut store, "_start")?.call(&mut store, ())?;
            }
        }
        Ok(start.elapsed())
    }

    /// Components of the `wasi:cli/command` world: `run` of each instance, through
    /// hammertime's bindings (which need nothing of the store's data).
    fn commands<T: Send + 'static>(
        &self,
        pre: &hammertime::p2::bindings::CommandPre<T>,
        data: impl Fn() -> wasmtime::Result<T>,
    ) -> wasmtime::Result<Duration> {
        let start = Instant::now();
        for _ in 0..self.n {
            let mut store = Store::new(self.engine, data()?);
            let run = if self.is_async {
                self.rt.block_on(async {
                    let cmd = pre.instantiate_async(&mut store).await?;
                    wasmtime::Result::<_>::Ok(cmd.wasi_cli_run().func_run().call_async(&mut store, ()).await?.0)
                })?
            } else {
                pre.instantiate(&mut store)?.wasi_cli_run().call_run(&mut store)?
            };
            run.map_err(|()| wasmtime::format_err!("run"))?;
        }
        Ok(start.elapsed())
    }
}

/// `__concurrency blocking HOST N`: N sleepers through the synchronous API, each in tokio's
/// `spawn_blocking` on a two-worker runtime.
pub fn blocking_pool(host_id: &str, n: u32) -> wasmtime::Result<String> {
    let host = host(host_id)?;
    let engine = engine_for(false, n)?;
    let module = Module::new(&engine, SLEEPER_WAT)?;
    let rt = runtime("mt")?;
    let start = Instant::now();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (engine, module) = (engine.clone(), module.clone());
            set.spawn_blocking(move || -> wasmtime::Result<()> {
                if host == Host::Hammertime {
                    hammertime::run(&engine, &module, WasiCtx::builder().build()?)?;
                } else {
                    let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
                    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
                    let mut store = Store::new(&engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
                    let instance = linker.instantiate(&mut store, &module)?;
                    instance.get_typed_func::<(), ()>(&mut store, "_start")?.call(&mut store, ())?;
                }
                Ok(())
            });
        }
        while let Some(done) = set.join_next().await {
            done??;
        }
        Ok::<_, wasmtime::Error>(())
    })?;
    Ok(format!("ns={} check=blocking:{n}\n", start.elapsed().as_nanos()))
}

/// `__concurrency offload N DIR`: what a `HostDir` call costs a tokio worker thread, made there
/// (as hammertime's async host makes it) and handed to the blocking pool instead: N `stat`s of
/// one file each way, on a two-worker runtime. Prints `ns=` (inline) and `offloaded=` (per
/// call).
pub fn offload(n: u32, dir: &Path) -> wasmtime::Result<String> {
    use hammertime::vfs::{FileSystem, HostDir};
    std::fs::write(dir.join("offload-probe"), b"x")?;
    let root = HostDir::open(dir)?.root().map_err(|e| wasmtime::format_err!("root: {e}"))?;
    let rt = runtime("mt")?;
    let (inline, offloaded) = rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(root.stat_at("offload-probe").map_err(|e| wasmtime::format_err!("stat: {e}"))?);
        }
        let inline = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            let root = root.clone();
            let st = tokio::task::spawn_blocking(move || root.stat_at("offload-probe")).await?;
            std::hint::black_box(st.map_err(|e| wasmtime::format_err!("stat: {e}"))?);
        }
        wasmtime::Result::<_>::Ok((inline, start.elapsed()))
    })?;
    let per = |d: Duration| d.as_nanos() / u128::from(n.max(1));
    Ok(format!("ns={} offloaded={} check=offload:{n}\n", per(inline), per(offloaded)))
}

/// The medians of `reps` runs of `__concurrency ARGS…` in child processes: (ns, rss per guest).
fn measure(exe: &Path, args: &[String], reps: u64) -> Option<(u64, u64)> {
    let mut ns = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..reps {
        let out = std::process::Command::new(exe).arg("__concurrency").args(args).output().ok()?;
        if !out.status.success() {
            eprintln!("  __concurrency {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let field =
            |name: &str| text.split_whitespace().find_map(|w| w.strip_prefix(name).and_then(|v| v.parse::<u64>().ok()));
        ns.push(field("ns=")?);
        rss.push(field("rss=").unwrap_or(0));
    }
    Some((crate::median(&ns), crate::median(&rss)))
}

/// "a ÷ b" of each pair, two decimals, joined by commas; "—" if a value is missing.
fn ratios(pairs: &[(Option<u64>, Option<u64>)]) -> String {
    let each: Option<Vec<String>> =
        pairs.iter().map(|(a, b)| Some(format!("{:.2}", (*a)? as f64 / ((*b)? as f64).max(1.0)))).collect();
    each.map_or("—".into(), |each| each.join(", "))
}

fn ms(ns: u64) -> String {
    format!("{:.0} ms", ns as f64 / 1e6)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// The concurrency section: the four tables, Markdown.
pub fn section(exe: &Path, quick: bool, reps: u64, dir: &Path) -> String {
    let n: u32 = if quick { 100 } else { 10_000 };
    let reps = reps.min(3);
    let mut s = String::new();
    s.push_str(&format!(
        "\n### Async embedding: {n} guests that sleep 100 ms, all at once\n\n\
         Wall time from the first spawn to the last exit, and the peak host memory added per \
         guest while all sleep (median of {reps}). Floor: the same module with no WASI, one async \
         host function sleeping on tokio.\n\n\
         | guest | runtime | allocator | hammertime | wasmtime-wasi | floor | hammertime ÷ wasmtime-wasi (time, memory) |\n\
         |---|---|---|---|---|---|---|\n"
    ));
    for api in ["p1", "p2"] {
        for flavor in ["ct", "mt"] {
            for alloc in ["on-demand", "pooling"] {
                let pooled = if alloc == "pooling" { "1" } else { "0" };
                let run = |host: &str| {
                    let args = ["sleepers", host, api, pooled, flavor, &n.to_string()].map(String::from);
                    eprintln!("  sleepers {host} {api} {alloc} {flavor}");
                    measure(exe, &args, reps)
                };
                let (ht, ww) = (run("ht"), run("ww"));
                let floor = if api == "p1" { run("floor") } else { None };
                let cell =
                    |m: Option<(u64, u64)>| m.map_or("—".into(), |(ns, rss)| format!("{}, {}", ms(ns), kib(rss)));
                let ratio = ratios(&[(ht.map(|h| h.0), ww.map(|w| w.0)), (ht.map(|h| h.1), ww.map(|w| w.1))]);
                let guest = if api == "p1" { "module" } else { "component" };
                let runtime = if flavor == "ct" { "current-thread" } else { "2 workers" };
                s.push_str(&format!(
                    "| {guest} | {runtime} | {alloc} | {} | {} | {} | {ratio} |\n",
                    cell(ht),
                    cell(ww),
                    cell(floor)
                ));
            }
        }
    }

    let writers: u32 = if quick { 50 } else { 1000 };
    s.push_str(&format!(
        "\n### Async embedding: {writers} concurrent guests, each 1,000 16-byte writes to a captured stdout\n\n\
         Guests per second from the first spawn to the last exit (median of {reps}). Floor: the same \
         module whose `fd_write` is a host function that only counts the bytes, no WASI.\n\n\
         | runtime | allocator | hammertime | wasmtime-wasi | floor | hammertime ÷ wasmtime-wasi |\n|---|---|---|---|---|---|\n"
    ));
    for flavor in ["ct", "mt"] {
        for alloc in ["on-demand", "pooling"] {
            let pooled = if alloc == "pooling" { "1" } else { "0" };
            let run = |host: &str| {
                eprintln!("  writers {host} {alloc} {flavor}");
                measure(exe, &["writers", host, pooled, flavor, &writers.to_string()].map(String::from), reps)
            };
            let (ht, ww, floor) = (run("ht"), run("ww"), run("floor"));
            let rate = |m: Option<(u64, u64)>| m.map(|(ns, _)| f64::from(writers) / (ns as f64 / 1e9));
            let cell = |m: Option<(u64, u64)>| rate(m).map_or("—".into(), |r| format!("{r:.0} guests/s"));
            // Faster is more guests per second: the ratio of rates is that of times, inverted.
            let ratio = ratios(&[(ww.map(|w| w.0), ht.map(|h| h.0))]);
            let runtime = if flavor == "ct" { "current-thread" } else { "2 workers" };
            s.push_str(&format!("| {runtime} | {alloc} | {} | {} | {} | {ratio} |\n", cell(ht), cell(ww), cell(floor)));
        }
    }

    let requests: u32 = if quick { 50 } else { 2000 };
    s.push_str(&format!(
        "\n### Per request: a fresh store and context (one preopened host directory), instantiated from an `InstancePre`, running an empty command ({requests} in a row)\n\n\
         | guest | host API | allocator | hammertime | wasmtime-wasi | floor (no WASI) | hammertime ÷ wasmtime-wasi | above the floor: hammertime, wasmtime-wasi |\n|---|---|---|---|---|---|---|---|\n"
    ));
    for api in ["p1", "p2"] {
        for is_async in ["0", "1"] {
            for alloc in ["on-demand", "pooling"] {
                let pooled = if alloc == "pooling" { "1" } else { "0" };
                let run = |host: &str| {
                    eprintln!("  requests {host} {api} {alloc} async={is_async}");
                    let dir = dir.to_string_lossy().into_owned();
                    measure(
                        exe,
                        &["requests", host, api, pooled, is_async, &requests.to_string(), &dir].map(String::from),
                        reps,
                    )
                };
                let (ht, ww, floor) = (run("ht"), run("ww"), run("floor"));
                let us = |ns: f64| format!("{:.1} µs", ns / 1e3);
                let cell = |m: Option<(u64, u64)>| m.map_or("—".into(), |(ns, _)| us(ns as f64));
                let ratio = ratios(&[(ht.map(|h| h.0), ww.map(|w| w.0))]);
                let above = match (ht, ww, floor) {
                    (Some(h), Some(w), Some(f)) => {
                        format!("{}, {}", us(h.0 as f64 - f.0 as f64), us(w.0 as f64 - f.0 as f64))
                    }
                    _ => "—".into(),
                };
                let guest = if api == "p1" { "module" } else { "component" };
                let which = if is_async == "1" { "async" } else { "sync" };
                s.push_str(&format!(
                    "| {guest} | {which} | {alloc} | {} | {} | {} | {ratio} | {above} |\n",
                    cell(ht),
                    cell(ww),
                    cell(floor)
                ));
            }
        }
    }

    let blocking: u32 = if quick { 50 } else { 1000 };
    s.push_str(&format!(
        "\n### The synchronous APIs in `spawn_blocking`: {blocking} sleepers (100 ms), two workers\n\n\
         | hammertime (`run`) | wasmtime-wasi (sync) | hammertime async (`run_async`, for comparison) |\n|---|---|---|\n"
    ));
    let ht = measure(exe, &["blocking", "ht", &blocking.to_string()].map(String::from), reps);
    let ww = measure(exe, &["blocking", "ww", &blocking.to_string()].map(String::from), reps);
    let asynchronous =
        measure(exe, &["sleepers", "ht", "p1", "0", "mt", &blocking.to_string()].map(String::from), reps);
    let cell = |m: Option<(u64, u64)>| m.map_or("—".into(), |(ns, _)| ms(ns));
    s.push_str(&format!("| {} | {} | {} |\n", cell(ht), cell(ww), cell(asynchronous)));

    let stats: u32 = if quick { 1000 } else { 100_000 };
    s.push_str(&format!(
        "\n### A `HostDir` call on the worker thread, or handed to tokio's blocking pool ({stats} `stat`s of one file, two workers)\n\n\
         | on the worker thread | through `spawn_blocking` | ratio |\n|---|---|---|\n"
    ));
    let dir = dir.to_string_lossy().into_owned();
    let out = std::process::Command::new(exe).args(["__concurrency", "offload", &stats.to_string(), &dir]).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let field = |name: &str| text.split_whitespace().find_map(|w| w.strip_prefix(name)?.parse::<u64>().ok());
    match (field("ns="), field("offloaded=")) {
        (Some(inline), Some(offloaded)) => {
            s.push_str(&format!("| {inline} ns | {offloaded} ns | {:.0}× |\n", offloaded as f64 / inline.max(1) as f64))
        }
        _ => s.push_str("| — | — | — |\n"),
    }
    s
}

/// The child side: `__concurrency KIND ARGS…`.
pub fn child(a: &[String]) -> wasmtime::Result<String> {
    let arg = |i: usize| a.get(i).map(String::as_str).ok_or_else(|| wasmtime::format_err!("missing argument {i}"));
    let num = |i: usize| -> wasmtime::Result<u32> { Ok(arg(i)?.parse()?) };
    match arg(0)? {
        "sleepers" => sleepers(arg(1)?, arg(2)?, arg(3)? == "1", arg(4)?, num(5)?),
        "writers" => writers(arg(1)?, arg(2)? == "1", arg(3)?, num(4)?),
        "requests" => requests(arg(1)?, arg(2)?, arg(3)? == "1", arg(4)? == "1", num(5)?, Path::new(arg(6)?)),
        "blocking" => blocking_pool(arg(1)?, num(2)?),
        "offload" => offload(num(1)?, Path::new(arg(2)?)),
        other => wasmtime::bail!("unknown concurrency measurement {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every measurement at a tiny size, for each host: it runs and counts what it was asked.
    #[test]
    fn every_measurement_runs() {
        let dir = tempfile::tempdir().unwrap();
        let check = |out: wasmtime::Result<String>, want: &str| {
            let out = out.unwrap();
            assert!(out.contains(&format!("check={want}")), "{out}");
            assert!(out.split_whitespace().any(|w| w.strip_prefix("ns=").is_some_and(|n| n.parse::<u64>().is_ok())));
        };
        for api in ["p1", "p2"] {
            for host in ["ht", "ww"] {
                check(sleepers(host, api, true, "ct", 3), "sleepers:3");
                check(requests(host, api, false, true, 2, dir.path()), "requests:2");
                check(requests(host, api, true, false, 2, dir.path()), "requests:2");
            }
            check(requests("floor", api, false, false, 2, dir.path()), "requests:2");
        }
        check(sleepers("floor", "p1", false, "mt", 3), "sleepers:3");
        check(writers("floor", false, "ct", 3), "bytes:48000");
        for host in ["ht", "ww"] {
            check(writers(host, true, "mt", 3), "bytes:48000");
            check(blocking_pool(host, 3), "blocking:3");
        }
        let out = offload(10, dir.path()).unwrap();
        assert!(out.contains("offloaded=") && out.contains("check=offload:10"), "{out}");
    }
}
