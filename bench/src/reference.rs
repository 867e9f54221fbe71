//! The reference runner (`ww-run`, and tests that run programs under Wasmtime's WASI): a
//! preview1 module or a WASI 0.2 command component under wasmtime-wasi 48, the way
//! `wasmtime run` does, with the few options the comparisons need, so that a program's answers
//! on hammertime can be checked against Wasmtime's in the same script (tests, the toolchain
//! suites, notes/rights.md).
//!
//! ```text
//! ww-run [--dir HOST[::GUEST]]... [--env KEY=VALUE]... [-W max-wasm-stack=N] MODULE [ARGS]...
//! ```
//!
//! Stdio is inherited; `argv[0]` is MODULE as given. Exit status: the guest's, 134 on a trap, 2
//! on a usage error, 1 on any other error. With `-W max-wasm-stack=N` the guest runs on a thread
//! with N + 2 MiB of stack (as `wasmtime run` on a main thread that may hold less).

use std::process::ExitCode;

use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

struct Options {
    dirs: Vec<(String, String)>,
    envs: Vec<(String, String)>,
    max_wasm_stack: Option<usize>,
    module: String,
    args: Vec<String>,
}

fn usage(message: &str) -> ExitCode {
    eprintln!(
        "ww-run: {message}\nusage: ww-run [--dir HOST[::GUEST]]... [--env K=V]... [-W max-wasm-stack=N] MODULE [ARGS]..."
    );
    ExitCode::from(2)
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts =
        Options { dirs: Vec::new(), envs: Vec::new(), max_wasm_stack: None, module: String::new(), args: Vec::new() };
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| argv.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => {
                let v = value()?;
                let (host, guest) = v.split_once("::").map_or((v.clone(), v.clone()), |(h, g)| (h.into(), g.into()));
                opts.dirs.push((host, guest));
            }
            "--env" => {
                let v = value()?;
                let (k, val) = v.split_once('=').ok_or_else(|| format!("--env {v}: expected KEY=VALUE"))?;
                opts.envs.push((k.into(), val.into()));
            }
            "-W" => {
                let v = value()?;
                let n = v.strip_prefix("max-wasm-stack=").ok_or_else(|| format!("-W {v}: not supported here"))?;
                opts.max_wasm_stack = Some(n.parse().map_err(|_| format!("-W {v}: not a number"))?);
            }
            _ => {
                opts.module = arg;
                opts.args = argv.collect();
                return Ok(opts);
            }
        }
    }
    Err("MODULE is missing".into())
}

/// Runs `ww-run ARGS` (without the program name): the reference runner's whole life, for its
/// binary and for tests that start themselves as the runner.
pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    let opts = match parse(args) {
        Ok(opts) => opts,
        Err(e) => return usage(&e),
    };
    let run = || -> wasmtime::Result<i32> {
        let mut config = Config::new();
        if let Some(n) = opts.max_wasm_stack {
            config.max_wasm_stack(n);
            config.async_stack_size(n + (512 << 10));
        }
        let engine = Engine::new(&config)?;
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio().arg(&opts.module).args(&opts.args);
        for (k, v) in &opts.envs {
            builder.env(k, v);
        }
        for (host, guest) in &opts.dirs {
            builder.preopened_dir(host, guest, FsPerms::ReadWrite)?;
        }
        let bytes = std::fs::read(&opts.module)?;
        if bytes.starts_with(b"\0asm\x0d\x00\x01\x00") {
            let component = wasmtime::component::Component::new(&engine, &bytes)?;
            let mut linker = wasmtime::component::Linker::new(&engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            let mut store = Store::new(&engine, crate::ww_p2_state(builder.build()));
            let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker)?;
            return exit_status(command.wasi_cli_run().call_run(&mut store).map(|r| if r.is_ok() { 0 } else { 1 }));
        }
        let module = Module::new(&engine, &bytes)?;
        let mut linker = Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s)?;
        let mut store = Store::new(&engine, builder.build_p1());
        let instance = linker.instantiate(&mut store, &module)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        exit_status(start.call(&mut store, ()).map(|()| 0))
    };
    // The guest's stack is the thread's: give it room for the limit asked for.
    let result = match opts.max_wasm_stack {
        Some(n) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(n.saturating_add(2 << 20))
                .spawn_scoped(scope, run)
                .map_err(wasmtime::Error::from)
                .and_then(|guest| {
                    guest.join().unwrap_or_else(|_| Err(wasmtime::format_err!("the guest thread panicked")))
                })
        }),
        None => run(),
    };
    match result {
        Ok(code) => ExitCode::from((code & 0xff) as u8),
        Err(e)
            if e.downcast_ref::<wasmtime::Trap>().is_some()
                || e.downcast_ref::<wasmtime::WasmBacktrace>().is_some() =>
        {
            eprintln!("ww-run: {} trapped: {e:?}", opts.module);
            ExitCode::from(134)
        }
        Err(e) => {
            eprintln!("ww-run: {}: {e:?}", opts.module);
            ExitCode::from(1)
        }
    }
}

/// A `proc_exit` or `exit` is its status; anything else stays an error.
fn exit_status(result: wasmtime::Result<i32>) -> wasmtime::Result<i32> {
    match result {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}
