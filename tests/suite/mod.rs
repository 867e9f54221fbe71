//! The official wasi-testsuite, run against hammertime: discovery, one run per test and mode,
//! the ratchet list, and the report. Shared by `tests/conformance.rs` (in-process) and
//! `cli/tests/conformance_cli.rs` (through the `hammertime` binary), and for WASI 0.2 by
//! `tests/conformance_p2.rs` and `cli/tests/conformance_cli_p2.rs`, which run every module
//! adapted into a component ([`adapt`]).
#![allow(dead_code)]

pub mod p3;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{HostDir, MemFs, Overlay, ReadOnly};
use hammertime::{WasiCtx, run_in};

/// The time a test may take (the official runner's limit).
pub const TIME_LIMIT: Duration = Duration::from_secs(5);

/// One test of the suite and its specification.
#[derive(Clone, Debug)]
pub struct Spec {
    /// `suite/name`, e.g. `rust/fd_readdir`.
    pub id: String,
    /// The suite folder's name (`assemblyscript`, `c`, `rust`).
    pub suite: String,
    pub wasm: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub root: Option<PathBuf>,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// How a test is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In-process, root served by a `MemFs` seeded from the fixture.
    MemFs,
    /// In-process, root served by a `HostDir` on a temporary copy of the fixture.
    HostDir,
    /// The CLI with `--mem-dir ROOT::/`.
    CliMemDir,
    /// The CLI with `--dir COPY::/`.
    CliDir,
    /// The adapted component in-process through `hammertime::p2`, root served by a `MemFs`.
    P2MemFs,
    /// The adapted component in-process through `hammertime::p2`, root served by a `HostDir`.
    P2HostDir,
    /// The adapted component through the CLI with `--dir COPY::/`.
    CliP2Dir,
    /// The adapted component through the CLI with `--mem-dir ROOT::/`.
    CliP2MemDir,
    /// In-process, root served by a `vfs::archive::Archive` of a tar of the fixture (read-only:
    /// the ratchet lists the tests that write nothing).
    Archive,
    /// In-process, root served by an `Overlay` of a `MemFs` over a read-only `HostDir` on the
    /// temporary copy; the run fails if the copy changed in any byte, time or name.
    Overlay,
    /// The adapted component in-process through `hammertime::p2`, root served as in `Overlay`.
    P2Overlay,
    /// A WASI 0.3 test in-process through `hammertime::p3`, root served by a `MemFs`.
    P3MemFs,
    /// A WASI 0.3 test in-process through `hammertime::p3`, root served by a `HostDir`.
    P3HostDir,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::MemFs => "memfs",
            Mode::HostDir => "hostdir",
            Mode::CliMemDir => "cli-mem-dir",
            Mode::CliDir => "cli-dir",
            Mode::P2MemFs => "p2-memfs",
            Mode::P2HostDir => "p2-hostdir",
            Mode::CliP2Dir => "cli-p2-dir",
            Mode::CliP2MemDir => "cli-p2-mem-dir",
            Mode::Archive => "archive",
            Mode::Overlay => "overlay",
            Mode::P2Overlay => "p2-overlay",
            Mode::P3MemFs => "p3-memfs",
            Mode::P3HostDir => "p3-hostdir",
        }
    }

    /// Whether the root is an `Overlay` of a `MemFs` over the read-only copy.
    pub fn overlay(self) -> bool {
        matches!(self, Mode::Overlay | Mode::P2Overlay)
    }

    /// Whether the root is a `HostDir` on the temporary copy (else a `MemFs` seeded from it).
    pub fn host_dir(self) -> bool {
        matches!(self, Mode::HostDir | Mode::CliDir | Mode::P2HostDir | Mode::CliP2Dir | Mode::P3HostDir)
    }
}

/// Where the suite is: `$HAMMERTIME_WASI_TESTSUITE`, else `../shared/wasi-testsuite` next to the
/// workspace. `None` (with the reason) when it is missing.
pub fn locate(workspace: &Path) -> Result<PathBuf, String> {
    let path = match std::env::var_os("HAMMERTIME_WASI_TESTSUITE") {
        Some(p) => PathBuf::from(p),
        None => workspace.join("../shared/wasi-testsuite"),
    };
    if path.join("tests").is_dir() {
        Ok(path)
    } else {
        Err(format!("wasi-testsuite not found at {} (set HAMMERTIME_WASI_TESTSUITE)", path.display()))
    }
}

/// Every test of the suite, sorted by id.
pub fn discover(suite_dir: &Path) -> Vec<Spec> {
    let mut specs = Vec::new();
    for suite in ["assemblyscript", "c", "rust"] {
        let dir = suite_dir.join("tests").join(suite).join("testsuite/wasm32-wasip1");
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                continue;
            }
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            let json = path.with_extension("json");
            let v: serde_json::Value = match std::fs::read_to_string(&json) {
                Ok(text) => serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                Err(_) => serde_json::Value::Null,
            };
            let args = v["args"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let env = v["env"]
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                .unwrap_or_default();
            specs.push(Spec {
                id: format!("{suite}/{name}"),
                suite: suite.to_owned(),
                wasm: path.clone(),
                args,
                env,
                root: v["root"].as_str().map(|r| dir.join(r)),
                exit_code: v["exit_code"].as_i64().unwrap_or(0) as i32,
                stdout: v["stdout"].as_str().unwrap_or_default().to_owned(),
                stderr: v["stderr"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    specs.sort_by(|a, b| a.id.cmp(&b.id));
    specs
}

impl Spec {
    /// The guest environment: the spec's, plus strict errno mode for the Rust tests.
    pub fn guest_env(&self) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        if self.suite == "rust" {
            env.push(("ERRNO_MODE_UNIX".into(), "1".into()));
        }
        env
    }

    /// argv: the module's file name, then the spec's arguments.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.wasm.file_name().and_then(|n| n.to_str()).unwrap_or("test.wasm").to_owned()];
        argv.extend(self.args.iter().cloned());
        argv
    }
}

/// Copies a directory tree (files, directories, symlinks) to `to`.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
            let mut perms = std::fs::metadata(&dest)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&dest, perms)?;
        }
    }
    Ok(())
}

/// Deletes every `*.cleanup` file or directory under `dir`.
pub fn remove_cleanup(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if path.to_string_lossy().ends_with(".cleanup") {
            let _ = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        } else if is_dir {
            remove_cleanup(&path);
        }
    }
}

/// A fresh writable copy of the test's root, cleaned of `*.cleanup` entries.
fn root_copy(spec: &Spec) -> Result<Option<tempfile::TempDir>, String> {
    let Some(root) = &spec.root else { return Ok(None) };
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    copy_tree(root, tmp.path()).map_err(|e| format!("copying {}: {e}", root.display()))?;
    remove_cleanup(tmp.path());
    Ok(Some(tmp))
}

/// A tar of the tree at `dir` (links stored as links), served as an [`Archive`].
///
/// [`Archive`]: hammertime::vfs::archive::Archive
fn tar_of(dir: &Path) -> std::io::Result<hammertime::vfs::archive::Archive> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir)?;
    hammertime::vfs::archive::Archive::open(builder.into_inner()?)
}

/// Everything about the tree at `dir` that a write could change: per path, the type, the
/// content or link target, the size and the modification time.
fn tree_state(dir: &Path) -> std::io::Result<std::collections::BTreeMap<PathBuf, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let meta = std::fs::symlink_metadata(&path)?;
            let what = if meta.is_dir() {
                todo.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&path)?)
            } else {
                format!("file {:?}", std::fs::read(&path)?)
            };
            out.insert(path, format!("{what} {} {:?}", meta.len(), meta.modified()?));
        }
    }
    Ok(out)
}

/// What one run produced.
pub struct Outcome {
    pub exit: Result<i32, String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl Outcome {
    /// A run that did not get as far as the guest.
    pub fn failed(why: String, start: Instant) -> Outcome {
        Outcome { exit: Err(why), stdout: vec![], stderr: vec![], elapsed: start.elapsed() }
    }

    /// `Ok` when the run matches the spec, else why not.
    pub fn check(&self, spec: &Spec) -> Result<(), String> {
        let tail = |b: &[u8]| {
            let s = String::from_utf8_lossy(b);
            let s = s.trim_end();
            let start = s.len().saturating_sub(600);
            let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
            s[start..].to_owned()
        };
        match &self.exit {
            Err(e) => return Err(format!("{e}; stderr: {}", tail(&self.stderr))),
            Ok(code) if *code != spec.exit_code => {
                return Err(format!(
                    "exit {code}, expected {}; stderr: {}; stdout: {}",
                    spec.exit_code,
                    tail(&self.stderr),
                    tail(&self.stdout)
                ));
            }
            Ok(_) => {}
        }
        if !self.stdout.starts_with(spec.stdout.as_bytes()) {
            return Err(format!("stdout {:?} does not start with {:?}", tail(&self.stdout), spec.stdout));
        }
        if !self.stderr.starts_with(spec.stderr.as_bytes()) {
            return Err(format!("stderr {:?} does not start with {:?}", tail(&self.stderr), spec.stderr));
        }
        Ok(())
    }
}

/// An engine whose guests can be stopped at a time limit: epoch interruption, with a thread
/// that ticks every 10 ms for the life of the process.
pub fn engine() -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let ticker = engine.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(10));
            ticker.increment_epoch();
        }
    });
    engine
}

/// Runs one test in-process: builds its context (argv, environment, captured stdio, the root
/// on a fresh copy in `mode`'s backend), hands it to `run`, and cleans the copy afterwards.
fn run_with(spec: &Spec, mode: Mode, run: impl FnOnce(WasiCtx) -> Result<i32, String>) -> Outcome {
    let start = Instant::now();
    let stdout = OutputBuffer::new();
    let stderr = OutputBuffer::new();
    let exit = (|| -> Result<i32, String> {
        let copy = root_copy(spec)?;
        let mut b = WasiCtx::builder();
        b.args(spec.argv()).envs(spec.guest_env()).stdout(stdout.clone()).stderr(stderr.clone());
        if let Some(copy) = &copy {
            if mode == Mode::Archive {
                b.preopen(tar_of(copy.path()).map_err(|e| format!("archive: {e}"))?, "/");
            } else if mode.overlay() {
                let lower = ReadOnly::new(HostDir::open(copy.path()).map_err(|e| format!("HostDir: {e}"))?);
                let overlay = Overlay::new(MemFs::new(), lower).map_err(|e| format!("Overlay: {e}"))?;
                b.preopen(overlay, "/");
            } else if mode.host_dir() {
                b.preopen(HostDir::open(copy.path()).map_err(|e| format!("HostDir: {e}"))?, "/");
            } else {
                b.preopen(MemFs::from_host_dir(copy.path()).map_err(|e| format!("MemFs: {e}"))?, "/");
            }
        }
        let lower_before = match (&copy, mode) {
            (Some(copy), mode) if mode.overlay() => {
                Some(tree_state(copy.path()).map_err(|e| format!("reading the copy: {e}"))?)
            }
            _ => None,
        };
        let ctx = b.build().map_err(|e| format!("build: {e}"))?;
        let result = run(ctx);
        if let (Some(copy), Some(before)) = (&copy, lower_before) {
            let after = tree_state(copy.path()).map_err(|e| format!("reading the copy: {e}"))?;
            if after != before {
                return Err("the overlay's lower layer changed".into());
            }
        }
        if let Some(copy) = &copy {
            remove_cleanup(copy.path());
        }
        result
    })();
    Outcome { exit, stdout: stdout.contents(), stderr: stderr.contents(), elapsed: start.elapsed() }
}

/// An error of a run (`what`: "trap", "instantiate") as the report shows it: the error with its
/// causes and wasm backtrace, without the host's stack (which `RUST_BACKTRACE` adds).
fn error_message(what: &str, e: &wasmtime::Error) -> String {
    let text = format!("{what}: {e:?}");
    match text.find("\n\nStack backtrace:") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// The epoch deadline of [`TIME_LIMIT`] with the 10 ms ticks of [`engine`].
fn time_limit_ticks() -> u64 {
    (TIME_LIMIT.as_millis() / 10) as u64
}

/// Runs one test in-process.
pub fn run_in_process(engine: &wasmtime::Engine, module: &wasmtime::Module, spec: &Spec, mode: Mode) -> Outcome {
    run_with(spec, mode, |ctx| {
        let mut linker = wasmtime::Linker::new(engine);
        hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c).map_err(|e| e.to_string())?;
        let mut store = wasmtime::Store::new(engine, ctx);
        store.set_epoch_deadline(time_limit_ticks());
        run_in(&mut store, &linker, module).map_err(|e| error_message("trap", &e))
    })
}

/// The preview1 adapter's name and bytes, as wasmtime's own tooling uses them.
const ADAPTER: (&str, &[u8]) =
    ("wasi_snapshot_preview1", wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER);

/// A test module adapted into a WASI 0.2 command component with the preview1 adapter.
pub fn adapt(spec: &Spec) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(&spec.wasm).map_err(|e| format!("reading {}: {e}", spec.wasm.display()))?;
    wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|e| e.adapter(ADAPTER.0, ADAPTER.1))
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| format!("adapting {}: {e:#}", spec.wasm.display()))
}

/// Every spec adapted ([`adapt`]) and then handed to `then` (compiling it, writing it out), on
/// two threads; prints the time taken, adaptation's share apart. The result of spec `i` is at `i`.
pub fn adapt_all<R: Send>(
    name: &str,
    specs: &[Spec],
    then: impl Fn(&Spec, Vec<u8>) -> Result<R, String> + Sync,
) -> Vec<Result<R, String>> {
    let start = Instant::now();
    let adapting = Mutex::new(Duration::ZERO);
    let out = par_map(specs, 2, |spec| {
        let t = Instant::now();
        let bytes = adapt(spec);
        *adapting.lock().unwrap_or_else(|p| p.into_inner()) += t.elapsed();
        bytes.and_then(|bytes| then(spec, bytes))
    });
    let ok = out.iter().filter(|r| r.is_ok()).count();
    println!(
        "{name}: {ok} of {} modules adapted and prepared in {} ms on 2 threads (adaptation: {} ms of thread time)",
        specs.len(),
        start.elapsed().as_millis(),
        adapting.into_inner().unwrap_or_else(|p| p.into_inner()).as_millis()
    );
    out
}

/// Runs `spec` with `run` on what [`adapt_all`] prepared for it (`prepared[i]` for `specs[i]`);
/// a test whose preparation failed fails with the reason.
pub fn with_prepared<'a, R>(
    specs: &[Spec],
    prepared: &'a [Result<R, String>],
    spec: &Spec,
    run: impl FnOnce(&'a R) -> Outcome,
) -> Outcome {
    match specs.iter().position(|s| s.id == spec.id).and_then(|i| prepared.get(i)) {
        Some(Ok(r)) => run(r),
        Some(Err(e)) => Outcome::failed(e.clone(), Instant::now()),
        None => Outcome::failed(format!("{} was not prepared", spec.id), Instant::now()),
    }
}

/// Runs one test in-process as a component through `hammertime::p2`: instantiated as a
/// `wasi:cli/command` in a store with the epoch deadline, its `run` called.
pub fn run_component(
    engine: &wasmtime::Engine,
    linker: &wasmtime::component::Linker<WasiCtx>,
    component: &wasmtime::component::Component,
    spec: &Spec,
    mode: Mode,
) -> Outcome {
    run_with(spec, mode, |ctx| {
        let mut store = wasmtime::Store::new(engine, ctx);
        store.set_epoch_deadline(time_limit_ticks());
        let command = hammertime::p2::bindings::Command::instantiate(&mut store, component, linker)
            .map_err(|e| error_message("instantiate", &e))?;
        let result = command.wasi_cli_run().call_run(&mut store);
        hammertime::p2::exit_status(result).map_err(|e| error_message("trap", &e))
    })
}

/// Runs one test through the `hammertime` binary, driven like wasmtime.
pub fn run_cli(binary: &Path, spec: &Spec, mode: Mode) -> Outcome {
    run_cli_on(binary, &spec.wasm, spec, mode)
}

/// Runs one test through the `hammertime` binary on `wasm` (the test's module or its adapted
/// component), driven like wasmtime.
pub fn run_cli_on(binary: &Path, wasm: &Path, spec: &Spec, mode: Mode) -> Outcome {
    let start = Instant::now();
    let copy = match root_copy(spec) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e, start),
    };
    let mut cmd = Command::new(binary);
    // The binary's own stack on a trap would hide the guest's message in the report.
    cmd.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    cmd.arg("run");
    for (k, v) in spec.guest_env() {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    if let Some(copy) = &copy {
        let flag = if mode.host_dir() { "--dir" } else { "--mem-dir" };
        cmd.arg(flag).arg(format!("{}::/", copy.path().display()));
    }
    cmd.arg(wasm).args(&spec.args);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let exit;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    match cmd.spawn() {
        Err(e) => exit = Err(format!("spawn {}: {e}", binary.display())),
        Ok(mut child) => {
            use std::io::Read;
            let mut so = child.stdout.take();
            let mut se = child.stderr.take();
            let t_out = std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(s) = so.as_mut() {
                    let _ = s.read_to_end(&mut v);
                }
                v
            });
            let t_err = std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(s) = se.as_mut() {
                    let _ = s.read_to_end(&mut v);
                }
                v
            });
            // Compilation happens in the child too: allow it on top of the guest's limit.
            let deadline = Instant::now() + TIME_LIMIT + Duration::from_secs(25);
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                    Ok(None) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break Err("timed out".to_owned());
                    }
                    Err(e) => break Err(e.to_string()),
                }
            };
            out = t_out.join().unwrap_or_default();
            err = t_err.join().unwrap_or_default();
            exit = status.and_then(|s| s.code().ok_or_else(|| format!("killed: {s}")));
        }
    }
    if let Some(copy) = &copy {
        remove_cleanup(copy.path());
    }
    Outcome { exit, stdout: out, stderr: err, elapsed: start.elapsed() }
}

/// The ratchet: the `mode id` lines of tests that must pass.
pub fn read_expected(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `f` of every item on `workers` threads, taking the items in order; the result of item `i`
/// is at `i`.
pub fn par_map<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0usize);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                        *n += 1;
                        *n - 1
                    };
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A test the harness runs: its id, and whether an outcome passes it.
pub trait Test: Sync {
    fn id(&self) -> &str;
    fn verdict(&self, outcome: &Outcome) -> Result<(), String>;
}

impl Test for Spec {
    fn id(&self) -> &str {
        &self.id
    }

    fn verdict(&self, outcome: &Outcome) -> Result<(), String> {
        outcome.check(self)
    }
}

/// Runs `specs` in every mode with `run` on `workers` threads, prints a line per test and the
/// closing count, and fails (returns `Err`) when a test on the expected list failed.
pub fn run_all<S: Test>(
    specs: &[S],
    modes: &[Mode],
    expected_path: &Path,
    workers: usize,
    run: impl Fn(&S, Mode) -> Outcome + Sync,
) -> Result<(), String> {
    let expected = read_expected(expected_path);
    let jobs: Vec<(usize, Mode)> = modes.iter().flat_map(|&m| (0..specs.len()).map(move |i| (i, m))).collect();
    let results = par_map(&jobs, workers, |&(i, mode)| {
        let spec = &specs[i];
        let outcome = run(spec, mode);
        let verdict = spec.verdict(&outcome);
        let key = format!("{} {}", mode.name(), spec.id());
        println!(
            "{} {key} ({} ms){}",
            if verdict.is_ok() { "PASS" } else { "FAIL" },
            outcome.elapsed.as_millis(),
            verdict.as_ref().err().map(|e| format!(": {e}")).unwrap_or_default()
        );
        (key, verdict.is_ok())
    });
    let passed = results.iter().filter(|r| r.1).count();
    let failed = results.len() - passed;
    let regressions: Vec<&String> = results.iter().filter(|r| !r.1 && expected.contains(&r.0)).map(|r| &r.0).collect();
    let newly: Vec<&String> = results.iter().filter(|r| r.1 && !expected.contains(&r.0)).map(|r| &r.0).collect();
    for n in &newly {
        println!("NEW PASS (add to {}): {n}", expected_path.display());
    }
    for r in &regressions {
        println!("REGRESSION (listed as passing): {r}");
    }
    for mode in modes {
        let prefix = format!("{} ", mode.name());
        let of_mode: Vec<_> = results.iter().filter(|r| r.0.starts_with(&prefix)).collect();
        let passed = of_mode.iter().filter(|r| r.1).count();
        println!("conformance: {} {passed}/{} passed", mode.name(), of_mode.len());
    }
    let known = failed - regressions.len();
    if known == 0 {
        println!("conformance: {passed} passed, {failed} failed");
    } else {
        // Tests off the ratchet that fail are known failures (see notes/p2-suite.md): counted and
        // named above, but not a failure of the run.
        println!(
            "conformance: {passed} passed, {} failed (plus {known} known failures off the ratchet)",
            regressions.len()
        );
    }
    if regressions.is_empty() {
        Ok(())
    } else {
        Err(format!("{} test(s) on the expected list failed", regressions.len()))
    }
}

/// The suite's folder ([`locate`]); when it is missing, the process exits with an error under
/// `CI=true`, and else `None` (the binary says it skipped).
pub fn locate_or_skip(name: &str, workspace: &Path) -> Option<PathBuf> {
    match locate(workspace) {
        Ok(dir) => Some(dir),
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                eprintln!("{name}: {why}");
                std::process::exit(1);
            }
            println!("{name}: skipped: {why}");
            None
        }
    }
}

/// The command line's test filters (what is not a `-` flag).
pub fn filters() -> Vec<String> {
    std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect()
}

/// The shared `main` of the conformance binaries: locates the suite (missing: fail under
/// `CI=true`, else skip), keeps the tests whose id contains one of the command-line filters,
/// runs them in `modes` (only those named in `$HAMMERTIME_SUITE_MODES`, a comma-separated list
/// of [`Mode::name`]s, if set: for quick runs such as cargo-mutants') with `run`, and exits
/// non-zero on a regression.
pub fn main(
    name: &str,
    workspace: &Path,
    modes: &[Mode],
    run: impl Fn(&[Spec]) -> Box<dyn Fn(&Spec, Mode) -> Outcome + Sync + '_>,
) {
    let Some(suite_dir) = locate_or_skip(name, workspace) else { return };
    let filter = filters();
    let specs: Vec<Spec> = discover(&suite_dir)
        .into_iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.id.contains(f.as_str())))
        .collect();
    if specs.is_empty() {
        eprintln!("{name}: no tests found in {}", suite_dir.display());
        std::process::exit(1);
    }
    let wanted = std::env::var("HAMMERTIME_SUITE_MODES").ok();
    let modes: Vec<Mode> = match &wanted {
        Some(list) => modes.iter().copied().filter(|m| list.split(',').any(|w| w.trim() == m.name())).collect(),
        None => modes.to_vec(),
    };
    if modes.is_empty() {
        eprintln!("{name}: none of its modes is in HAMMERTIME_SUITE_MODES={}", wanted.unwrap_or_default());
        std::process::exit(1);
    }
    let expected = workspace.join("tests/conformance-expected.txt");
    let runner = run(&specs);
    if let Err(e) = run_all(&specs, &modes, &expected, 2, |spec, mode| runner(spec, mode)) {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
