//! Shared helpers for the integration tests: build WASI guests from WAT text and run them with a
//! [`WasiCtx`].
//!
//! Two ways to make a call from a real wasm guest:
//!
//! - [`call`] / [`call_ctx`]: a one-off module whose exported `test` function makes one call with
//!   constant arguments and returns the errno. The WAT is generated from the signature and the
//!   arguments.
//! - [`Guest::new`]: a module importing several calls, each re-exported under its own name by a
//!   forwarding function, so a test can make a sequence of calls on one instance (and one
//!   context), writing and reading guest memory in between.
#![allow(dead_code)]

use std::cell::Cell;
use std::sync::OnceLock;

use hammertime::WasiCtx;
use wasmtime::{Engine, Instance, InstancePre, Linker, Memory, Module, Store, Val};

/// How a [`Guest`]'s WASI calls are linked: synchronous host functions
/// ([`hammertime::add_to_linker`]), or [`hammertime::add_to_linker_async`] with every call made
/// with `call_async` on a current-thread tokio runtime of the guest's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linking {
    Sync,
    Async,
}

thread_local! {
    static LINKING: Cell<Linking> = const { Cell::new(Linking::Sync) };
}

/// Runs `test` twice on this thread: with the guests it makes linked synchronously, then
/// asynchronously, so that one test body checks that both answer alike.
pub fn in_both_linkings(test: impl Fn()) {
    for linking in [Linking::Sync, Linking::Async] {
        LINKING.set(linking);
        test();
    }
    LINKING.set(Linking::Sync);
}

/// The linking of the guests made on this thread now.
pub fn linking() -> Linking {
    LINKING.get()
}

pub use Arg::{I32, I64};

/// An argument of a WASI call. Raw bit patterns, so `I32(0xFFFF_FFF0)` and `I64(u64::MAX)` work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    I32(u32),
    I64(u64),
}

impl Arg {
    fn wat(self) -> String {
        match self {
            I32(v) => format!("(i32.const {})", v as i32),
            I64(v) => format!("(i64.const {})", v as i64),
        }
    }

    fn val(self) -> Val {
        match self {
            I32(v) => Val::I32(v as i32),
            I64(v) => Val::I64(v as i64),
        }
    }
}

/// The witx signature (as a WAT function type) of each `wasi_snapshot_preview1` function.
pub fn signature(name: &str) -> &'static str {
    match name {
        "args_get" | "args_sizes_get" | "environ_get" | "environ_sizes_get" => "(param i32 i32) (result i32)",
        "clock_res_get" => "(param i32 i32) (result i32)",
        "clock_time_get" => "(param i32 i64 i32) (result i32)",
        "fd_advise" => "(param i32 i64 i64 i32) (result i32)",
        "fd_allocate" => "(param i32 i64 i64) (result i32)",
        "fd_close" | "fd_datasync" | "fd_sync" => "(param i32) (result i32)",
        "fd_fdstat_get" | "fd_filestat_get" | "fd_prestat_get" | "fd_tell" => "(param i32 i32) (result i32)",
        "fd_fdstat_set_flags" | "fd_renumber" => "(param i32 i32) (result i32)",
        "fd_fdstat_set_rights" => "(param i32 i64 i64) (result i32)",
        "fd_filestat_set_size" => "(param i32 i64) (result i32)",
        "fd_filestat_set_times" => "(param i32 i64 i64 i32) (result i32)",
        "fd_pread" | "fd_pwrite" | "fd_readdir" => "(param i32 i32 i32 i64 i32) (result i32)",
        "fd_prestat_dir_name" => "(param i32 i32 i32) (result i32)",
        "fd_read" | "fd_write" => "(param i32 i32 i32 i32) (result i32)",
        "fd_seek" => "(param i32 i64 i32 i32) (result i32)",
        "path_create_directory" | "path_remove_directory" | "path_unlink_file" => "(param i32 i32 i32) (result i32)",
        "path_filestat_get" => "(param i32 i32 i32 i32 i32) (result i32)",
        "path_filestat_set_times" => "(param i32 i32 i32 i32 i64 i64 i32) (result i32)",
        "path_link" => "(param i32 i32 i32 i32 i32 i32 i32) (result i32)",
        "path_open" => "(param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)",
        "path_readlink" | "path_rename" => "(param i32 i32 i32 i32 i32 i32) (result i32)",
        "path_symlink" => "(param i32 i32 i32 i32 i32) (result i32)",
        "poll_oneoff" => "(param i32 i32 i32 i32) (result i32)",
        "proc_exit" => "(param i32)",
        "proc_raise" => "(param i32) (result i32)",
        "sched_yield" => "(result i32)",
        "random_get" => "(param i32 i32) (result i32)",
        "sock_accept" => "(param i32 i32 i32) (result i32)",
        "sock_recv" => "(param i32 i32 i32 i32 i32 i32) (result i32)",
        "sock_send" => "(param i32 i32 i32 i32 i32) (result i32)",
        "sock_shutdown" => "(param i32 i32) (result i32)",
        other => panic!("no signature known for {other:?}"),
    }
}

/// The parameter types of a WAT function type such as `(param i32 i64) (result i32)`.
fn params(sig: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = sig;
    while let Some(i) = rest.find("(param") {
        let after = &rest[i + "(param".len()..];
        let end = after.find(')').expect("unclosed (param");
        out.extend(after[..end].split_whitespace());
        rest = &after[end..];
    }
    out
}

fn has_result(sig: &str) -> bool {
    sig.contains("(result")
}

/// The engine every test shares (compiling is the slow part; the engine itself is stateless).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// The WAT of a module importing `name` with signature `sig`, exporting one page of `memory`
/// and a function `test` that calls `name` with the constant `args` and returns its errno (0 for
/// a function without a result, such as `proc_exit`).
pub fn wat_for_call(name: &str, sig: &str, args: &[Arg]) -> String {
    let types = params(sig);
    assert_eq!(types.len(), args.len(), "{name}: {} arguments for signature {sig}", args.len());
    for (t, a) in types.iter().zip(args) {
        let ok = matches!((*t, a), ("i32", I32(_)) | ("i64", I64(_)));
        assert!(ok, "{name}: argument {a:?} does not match parameter type {t}");
    }
    let consts: Vec<String> = args.iter().map(|a| a.wat()).collect();
    let tail = if has_result(sig) { "" } else { "\n    (i32.const 0)" };
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "{name}" (func $f {sig}))
  (memory (export "memory") 1)
  (func (export "test") (result i32)
    (call $f {consts}){tail}))
"#,
        consts = consts.join(" ")
    )
}

/// The WAT of a module importing each of `names` (with its witx signature) and re-exporting it
/// under the same name through a forwarding function, plus one page of `memory`.
pub fn wat_for_imports(names: &[&str]) -> String {
    let mut imports = String::new();
    let mut funcs = String::new();
    for name in names {
        let sig = signature(name);
        imports.push_str(&format!("  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {sig}))\n"));
        let locals: String = (0..params(sig).len()).map(|i| format!(" (local.get {i})")).collect();
        funcs.push_str(&format!("  (func (export \"{name}\") {sig}\n    (call ${name}{locals}))\n"));
    }
    format!("(module\n{imports}  (memory (export \"memory\") 1)\n{funcs})\n")
}

/// `module` with every WASI function linked as [`linking`] says, ready to instantiate.
pub fn linked(module: &Module) -> InstancePre<WasiCtx> {
    let mut linker = Linker::new(engine());
    match linking() {
        Linking::Sync => hammertime::add_to_linker(&mut linker, |s: &mut WasiCtx| s).expect("add_to_linker"),
        Linking::Async => {
            hammertime::add_to_linker_async(&mut linker, |s: &mut WasiCtx| s).expect("add_to_linker_async")
        }
    }
    linker.instantiate_pre(module).expect("instantiate_pre")
}

/// A guest instance with its store (which owns the [`WasiCtx`]) and its exported memory.
pub struct Guest {
    pub store: Store<WasiCtx>,
    pub instance: Instance,
    pub memory: Option<Memory>,
    /// The runtime of an asynchronously linked guest's calls.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Guest {
    /// Instantiates a module whose exports forward to the WASI imports `names`.
    pub fn new(ctx: WasiCtx, names: &[&str]) -> Guest {
        Guest::from_wat(ctx, &wat_for_imports(names))
    }

    /// Instantiates WAT text with every WASI function linked.
    pub fn from_wat(ctx: WasiCtx, wat: &str) -> Guest {
        let module = Module::new(engine(), wat).unwrap_or_else(|e| panic!("bad test module: {e:?}\n{wat}"));
        Guest::instantiate(&linked(&module), ctx)
    }

    /// Instantiates a module already linked (see [`linked`]), for a caller that makes many
    /// guests of one module.
    pub fn instantiate(pre: &InstancePre<WasiCtx>, ctx: WasiCtx) -> Guest {
        let mut store = Store::new(engine(), ctx);
        let (instance, runtime) = match linking() {
            Linking::Sync => (pre.instantiate(&mut store).expect("instantiate"), None),
            Linking::Async => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                (rt.block_on(pre.instantiate_async(&mut store)).expect("instantiate_async"), Some(rt))
            }
        };
        let memory = instance.get_memory(&mut store, "memory");
        Guest { store, instance, memory, runtime }
    }

    /// Calls the export `name` with `args`; a trap or host error is returned as an error.
    pub fn try_call(&mut self, name: &str, args: &[Arg]) -> wasmtime::Result<i32> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("the guest exports no function {name:?}"));
        let params: Vec<Val> = args.iter().map(|a| a.val()).collect();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        match &self.runtime {
            None => func.call(&mut self.store, &params, &mut results)?,
            Some(rt) => rt.block_on(func.call_async(&mut self.store, &params, &mut results))?,
        }
        Ok(results.first().and_then(Val::i32).unwrap_or(0))
    }

    /// Calls the export `name` with `args` and returns its `i32` result (the errno); panics on a
    /// trap.
    pub fn call(&mut self, name: &str, args: &[Arg]) -> i32 {
        self.try_call(name, args).unwrap_or_else(|e| panic!("{name}{args:?} trapped: {e:?}"))
    }

    fn mem(&self) -> Memory {
        self.memory.expect("the guest exports no memory")
    }

    /// The whole guest memory.
    pub fn data(&self) -> &[u8] {
        self.mem().data(&self.store)
    }

    /// Writes `bytes` into guest memory at `at`.
    pub fn write(&mut self, at: u32, bytes: &[u8]) {
        let m = self.mem();
        m.data_mut(&mut self.store)[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    pub fn write_u16(&mut self, at: u32, v: u16) {
        self.write(at, &v.to_le_bytes());
    }

    pub fn write_u32(&mut self, at: u32, v: u32) {
        self.write(at, &v.to_le_bytes());
    }

    pub fn write_u64(&mut self, at: u32, v: u64) {
        self.write(at, &v.to_le_bytes());
    }

    /// Writes an array of `iovec`s (`buf`, `len`) at `at`.
    pub fn write_iovecs(&mut self, at: u32, iovs: &[(u32, u32)]) {
        for (i, (buf, len)) in (0u32..).zip(iovs) {
            self.write_u32(at + 8 * i, *buf);
            self.write_u32(at + 8 * i + 4, *len);
        }
    }

    /// `len` bytes of guest memory at `at`.
    pub fn read(&self, at: u32, len: u32) -> Vec<u8> {
        self.data()[at as usize..(at + len) as usize].to_vec()
    }

    pub fn u8(&self, at: u32) -> u8 {
        self.data()[at as usize]
    }

    pub fn u16(&self, at: u32) -> u16 {
        u16::from_le_bytes(self.read(at, 2).try_into().unwrap())
    }

    pub fn u32(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.read(at, 4).try_into().unwrap())
    }

    pub fn u64(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.read(at, 8).try_into().unwrap())
    }

    /// The context the guest runs with.
    pub fn ctx(&mut self) -> &mut WasiCtx {
        self.store.data_mut()
    }
}

/// Writes a `poll_oneoff` clock subscription (48 bytes) at `at`.
pub fn write_clock_subscription(g: &mut Guest, at: u32, userdata: u64, id: u32, timeout: u64, flags: u16) {
    g.write(at, &[0; 48]);
    g.write_u64(at, userdata);
    g.write(at + 8, &[0]); // eventtype::CLOCK
    g.write_u32(at + 16, id);
    g.write_u64(at + 24, timeout);
    g.write_u64(at + 32, 0);
    g.write_u16(at + 40, flags);
}

/// Runs `name(args)` from a fresh guest with the default context and returns the errno.
pub fn call(name: &str, sig: &str, args: &[Arg]) -> i32 {
    call_ctx(WasiCtx::builder().build().expect("default context"), name, sig, args).0
}

/// Runs `name(args)` from a fresh guest with `ctx`; returns the errno and the guest (to read its
/// memory or context afterwards).
pub fn call_ctx(ctx: WasiCtx, name: &str, sig: &str, args: &[Arg]) -> (i32, Guest) {
    let mut g = Guest::from_wat(ctx, &wat_for_call(name, sig, args));
    let errno = g.call("test", &[]);
    (errno, g)
}
