//! WASI 0.2 components run through `hammertime::p2::run` from inside a tokio runtime — both the
//! multi-threaded and the current-thread flavours, on the runtime's own thread, in spawned tasks
//! and in `spawn_blocking` — without a panic (hammertime's host is synchronous and never starts
//! or enters a runtime of its own), with stdout and stderr captured.
//!
//! The components are made in-process: committed preview1 guests (`guests/hello.wasm`,
//! `guests/ls.wasm`, `guests/cat.wasm`) adapted to WASI 0.2 with Wasmtime's preview1 command
//! adapter, so these tests need no other toolchain.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use hammertime::stdio::OutputBuffer;
use hammertime::vfs::MemFs;
use hammertime::{WasiCtx, WasiCtxBuilder};
use wasmtime::Engine;
use wasmtime::component::Component;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// `guests/NAME.wasm` adapted to a WASI 0.2 command component and compiled, once per binary.
fn component(name: &str) -> Component {
    static CACHE: OnceLock<Mutex<HashMap<String, Component>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    if let Some(c) = cache.get(name) {
        return c.clone();
    }
    let path = format!("{}/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    let module = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| {
            e.adapter(
                "wasi_snapshot_preview1",
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            )
        })
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("cannot adapt {path}: {e:?}"));
    let c = Component::new(engine(), &bytes).unwrap_or_else(|e| panic!("cannot compile {name}: {e:?}"));
    cache.insert(name.to_owned(), c.clone());
    c
}

#[derive(Debug, PartialEq)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the adapted guest `name` with argv `[name, args…]`, capturing stdout and stderr.
fn run(name: &str, args: &[&str], builder: &mut WasiCtxBuilder) -> Outcome {
    let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = builder.arg(name).args(args.iter().copied()).stdout(stdout.clone()).stderr(stderr.clone());
    let code = hammertime::p2::run(engine(), &component(name), ctx.build().unwrap())
        .unwrap_or_else(|e| panic!("{name} trapped: {e:?}\nstderr: {}", stderr.to_string_lossy()));
    Outcome { code, stdout: stdout.to_string_lossy(), stderr: stderr.to_string_lossy() }
}

fn hello() -> Outcome {
    run("hello", &[], &mut WasiCtx::builder())
}

fn hello_expected() -> Outcome {
    Outcome { code: 0, stdout: "hello world\n".into(), stderr: String::new() }
}

fn tree() -> MemFs {
    let fs = MemFs::from_entries([("b.txt", "bee\n"), ("A.txt", "a"), ("sub/inner", "inner\n")]).unwrap();
    fs.create_dir_all("empty").unwrap();
    fs.symlink("b.txt", "link").unwrap();
    fs
}

fn ls() -> Outcome {
    run("ls", &["/fs", "/fs/sub", "/fs/nope"], WasiCtx::builder().preopen(tree(), "/fs"))
}

fn ls_expected() -> Outcome {
    // As through preview1 (tests/guests.rs): `.` and `..` first, then byte order; the adapter
    // makes up `.` and `..` itself, as hammertime's fd_readdir reports them.
    Outcome {
        code: 1,
        stdout: "/fs:\n. dir\n.. dir\nA.txt file\nb.txt file\nempty dir\nlink link\nsub dir\n\
                 /fs/sub:\n. dir\n.. dir\ninner file\n/fs/nope:\n"
            .into(),
        stderr: "ls: /fs/nope: No such file or directory\n".into(),
    }
}

fn cat() -> Outcome {
    run("cat", &["/fs/b.txt", "/fs/link", "/fs/sub/inner"], WasiCtx::builder().preopen(tree(), "/fs"))
}

fn cat_expected() -> Outcome {
    Outcome { code: 0, stdout: "bee\nbee\ninner\n".into(), stderr: String::new() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_runs_on_a_multi_thread_runtime() {
    assert_eq!(hello(), hello_expected());
}

#[tokio::test(flavor = "current_thread")]
async fn hello_runs_on_a_current_thread_runtime() {
    assert_eq!(hello(), hello_expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_lists_a_memfs_on_a_multi_thread_runtime() {
    assert_eq!(ls(), ls_expected());
}

#[tokio::test(flavor = "current_thread")]
async fn cat_reads_a_memfs_on_a_current_thread_runtime() {
    assert_eq!(cat(), cat_expected());
}

/// Several guests at once, in tasks of their own and in `spawn_blocking`, on both flavours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_run_concurrently_in_tasks_and_blocking_threads() {
    let mut tasks = Vec::new();
    for i in 0..4 {
        tasks.push(tokio::spawn(async move { (i, if i % 2 == 0 { ls() } else { cat() }) }));
        tasks.push(tokio::task::spawn_blocking(move || (i, hello())));
    }
    let mut done = 0;
    for t in tasks {
        let (i, out) = t.await.expect("the task did not panic");
        let want = match (out.stdout.as_str(), i % 2) {
            ("hello world\n", _) => hello_expected(),
            (_, 0) => ls_expected(),
            _ => cat_expected(),
        };
        assert_eq!(out, want);
        done += 1;
    }
    assert_eq!(done, 8);
}

#[tokio::test(flavor = "current_thread")]
async fn guests_run_in_spawned_tasks_on_a_current_thread_runtime() {
    let local = tokio::spawn(async { (ls(), cat()) });
    let blocking = tokio::task::spawn_blocking(hello);
    let (l, c) = local.await.unwrap();
    assert_eq!(l, ls_expected());
    assert_eq!(c, cat_expected());
    assert_eq!(blocking.await.unwrap(), hello_expected());
}

/// Inside a runtime built by hand (what `#[tokio::main]` expands to), with `block_on`.
#[test]
fn a_guest_runs_under_block_on_of_a_hand_built_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let out = rt.block_on(async { tokio::spawn(async { cat() }).await.unwrap() });
    assert_eq!(out, cat_expected());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert_eq!(rt.block_on(async { ls() }), ls_expected());
}
