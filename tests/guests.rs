//! End-to-end tests: the committed C guests (`guests/*.wasm`, described in `guests/README.md`)
//! and a few tiny WAT modules, run through the public API with exact assertions on what they
//! print, their exit status, and the state of the filesystems afterwards.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use hammertime::clocks::{FixedClock, ManualClock};
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{DirPerms, FilePerms, FileSystem, HostDir, MemFs, ReadOnly, SimpleFsAdapter};
use hammertime::{I32Exit, WasiCtx, WasiCtxBuilder};
use wasmtime::{Engine, Linker, Module, Store};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// The committed guest `guests/NAME.wasm`.
fn guest(name: &str) -> Module {
    let path = format!("{}/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    Module::from_file(engine(), &path).unwrap_or_else(|e| panic!("cannot load {path}: {e:?}"))
}

fn wat(text: &str) -> Module {
    Module::new(engine(), text).expect("valid WAT")
}

/// What a finished guest left behind.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Outcome {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

/// Runs `module` with `args` (argv[0] first) and the rest of `builder`, capturing stdout and
/// stderr.
fn run_with(module: &Module, args: &[&str], builder: &mut WasiCtxBuilder) -> Outcome {
    let stdout = OutputBuffer::new();
    let stderr = OutputBuffer::new();
    let ctx =
        builder.args(args.iter().copied()).stdout(stdout.clone()).stderr(stderr.clone()).build().expect("context");
    let code = hammertime::run(engine(), module, ctx).expect("the guest runs to completion");
    Outcome { code, stdout: stdout.contents(), stderr: stderr.to_string_lossy() }
}

fn run_guest(name: &str, args: &[&str], builder: &mut WasiCtxBuilder) -> Outcome {
    let mut argv = vec![name];
    argv.extend_from_slice(args);
    run_with(&guest(name), &argv, builder)
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------------
// stdin, args, env, clocks

#[test]
fn greeter_greets_each_line_of_stdin_bytes() {
    let out = run_guest("greeter", &[], WasiCtx::builder().stdin_bytes("alice\nbob"));
    assert_eq!((out.code, out.stdout().as_str(), out.stderr.as_str()), (0, "hello alice\nhello bob\n", ""));
}

/// A reader that hands out one byte per `read`, however large the buffer.
struct OneByteAtATime(std::io::Cursor<Vec<u8>>);

impl Read for OneByteAtATime {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn greeter_reads_from_a_reader_that_returns_one_byte_per_read() {
    let reader = OneByteAtATime(std::io::Cursor::new(b"alice\n\nbob\r\ncarol".to_vec()));
    let out = run_guest("greeter", &[], WasiCtx::builder().stdin(reader));
    assert_eq!((out.code, out.stdout().as_str()), (0, "hello alice\nhello bob\nhello carol\n"));
}

#[test]
fn args_are_passed_verbatim() {
    let out = run_with(&guest("args"), &["prog", "a", "b c", "", "ünï=cødé"], &mut WasiCtx::builder());
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout(), "argc=5\nargv[0]=prog\nargv[1]=a\nargv[2]=b c\nargv[3]=\nargv[4]=ünï=cødé\n");
}

#[test]
fn args_empty_gives_argc_zero() {
    let out = run_with(&guest("args"), &[], &mut WasiCtx::builder());
    assert_eq!((out.code, out.stdout().as_str()), (0, "argc=0\n"));
}

#[test]
fn env_lists_the_environment_in_order() {
    let mut builder = WasiCtx::builder();
    builder.env("HOME", "/home/guest").env("EMPTY", "").env("EQ", "a=b=c").env("HOME", "/root");
    let out = run_guest("env", &[], &mut builder);
    // A later value for the same key replaces it in place.
    assert_eq!((out.code, out.stdout().as_str()), (0, "HOME=/root\nEMPTY=\nEQ=a=b=c\n"));
}

#[test]
fn env_with_names_reports_set_and_unset_variables() {
    let mut builder = WasiCtx::builder();
    builder.envs([("A", "1"), ("EMPTY", ""), ("EQ", "x=y")]);
    let out = run_guest("env", &["EQ", "MISSING", "A", "EMPTY", "a"], &mut builder);
    assert_eq!((out.code, out.stdout().as_str()), (0, "EQ=x=y\nMISSING unset\nA=1\nEMPTY=\na unset\n"));
}

#[test]
fn env_is_empty_by_default() {
    let out = run_guest("env", &[], &mut WasiCtx::builder());
    assert_eq!((out.code, out.stdout().as_str()), (0, ""));
}

#[test]
fn clock_prints_the_fixed_and_manual_clocks() {
    let mono = ManualClock::new(5_000);
    let mut builder = WasiCtx::builder();
    builder.wall_clock(FixedClock::new(1_700_000_000_123_456_789)).monotonic_clock(mono.clone());
    let out = run_guest("clock", &[], &mut builder);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stdout(), "realtime=1700000000123456789\nmonotonic=5000\nres_realtime=1\nres_monotonic=1\n");

    // The clock the test kept a handle on moves the guest's clock.
    mono.advance(std::time::Duration::from_millis(1500));
    let mut builder = WasiCtx::builder();
    builder.wall_clock(FixedClock::new(1)).monotonic_clock(mono);
    let out = run_guest("clock", &[], &mut builder);
    assert_eq!(out.stdout(), "realtime=1\nmonotonic=1500005000\nres_realtime=1\nres_monotonic=1\n");
}

// ---------------------------------------------------------------------------------------------
// stdio

#[test]
fn cat_echoes_one_mib_of_stdin_unchanged() {
    let data = pseudo_random(1 << 20, 0x1234_5678_9abc_def1);
    let out = run_guest("cat", &[], WasiCtx::builder().stdin_bytes(&data));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "stdout differs from stdin");
}

#[test]
fn cat_reads_a_file_from_a_memfs_mount() {
    let fs = MemFs::from_entries([("dir/hello.txt", "hello from memfs\n"), ("other", "x")]).unwrap();
    let out = run_guest("cat", &["/mnt/dir/hello.txt", "/mnt/other"], WasiCtx::builder().preopen(fs, "/mnt"));
    assert_eq!((out.code, out.stdout().as_str(), out.stderr.as_str()), (0, "hello from memfs\nx", ""));
}

#[test]
fn cat_reports_a_missing_file_and_goes_on() {
    let fs = MemFs::from_entries([("a", "A")]).unwrap();
    let out = run_guest("cat", &["/m/missing", "/m/a"], WasiCtx::builder().preopen(fs, "/m"));
    assert_eq!((out.code, out.stdout().as_str()), (1, "A"));
    assert_eq!(out.stderr, "cat: /m/missing: No such file or directory\n");
}

#[test]
fn stdio_stress_loses_no_byte_with_chunks_of_1_and_7() {
    let data = pseudo_random(50_000, 42);
    for chunk in ["1", "7"] {
        let out = run_guest("stdio_stress", &[chunk], WasiCtx::builder().stdin_bytes(&data));
        assert_eq!((out.code, out.stderr.as_str()), (0, "done\n"), "chunk {chunk}");
        assert!(out.stdout == data, "chunk {chunk}: {} bytes out of {}", out.stdout.len(), data.len());
    }
}

#[test]
fn stdio_stress_with_one_byte_reads_and_one_byte_writes() {
    let data = pseudo_random(4_099, 7);
    let reader = OneByteAtATime(std::io::Cursor::new(data.clone()));
    let out = run_guest("stdio_stress", &["1"], WasiCtx::builder().stdin(reader));
    assert_eq!((out.code, out.stderr.as_str()), (0, "done\n"));
    assert!(out.stdout == data);
}

#[test]
fn a_full_stdout_is_an_error_for_the_guest_not_a_silent_loss() {
    let stdout = OutputBuffer::with_limit(10);
    let stderr = OutputBuffer::new();
    let ctx = WasiCtx::builder()
        .arg("cat")
        .stdin_bytes("0123456789abcdefghij")
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build()
        .unwrap();
    let code = hammertime::run(engine(), &guest("cat"), ctx).unwrap();
    // The 10 bytes that fit are written; the next write fails with ENOSPC, which cat reports.
    assert_eq!(stdout.contents(), b"0123456789");
    assert_eq!(code, 1);
    assert_eq!(stderr.to_string_lossy(), "cat: stdout: No space left on device\n");
}

#[test]
fn a_full_stdout_stops_stdio_stress_with_an_error() {
    let stdout = OutputBuffer::with_limit(10);
    let stderr = OutputBuffer::new();
    let ctx = WasiCtx::builder()
        .args(["stdio_stress", "3"])
        .stdin_bytes("0123456789abcdefghij")
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build()
        .unwrap();
    let code = hammertime::run(engine(), &guest("stdio_stress"), ctx).unwrap();
    assert_eq!(stdout.contents(), b"0123456789");
    assert_eq!(code, 1);
    assert_eq!(stderr.to_string_lossy(), "stdio_stress: stdout: No space left on device\n");
}

// ---------------------------------------------------------------------------------------------
// directories

#[test]
fn ls_lists_files_dirs_and_links_sorted_with_dot_entries() {
    let fs = MemFs::from_entries([("b.txt", "b"), ("A.txt", "a"), ("sub/inner", "i")]).unwrap();
    fs.create_dir_all("empty").unwrap();
    fs.symlink("b.txt", "link").unwrap();
    fs.symlink("nowhere", "dangling").unwrap();
    let out = run_guest("ls", &["/fs"], WasiCtx::builder().preopen(fs.clone(), "/fs"));
    assert_eq!(out.stderr, "");
    assert_eq!(out.code, 0);
    // fd_readdir reports `.` and `..` first, so ls prints them; strcmp order puts uppercase
    // before lowercase.
    assert_eq!(out.stdout(), ". dir\n.. dir\nA.txt file\nb.txt file\ndangling link\nempty dir\nlink link\nsub dir\n");

    let out = run_guest("ls", &["/fs/sub", "/fs/empty", "/fs/nope"], WasiCtx::builder().preopen(fs, "/fs"));
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout(), "/fs/sub:\n. dir\n.. dir\ninner file\n/fs/empty:\n. dir\n.. dir\n/fs/nope:\n");
    assert_eq!(out.stderr, "ls: /fs/nope: No such file or directory\n");
}

const MKDIR_RMDIR_OK: &str = "mkdir a: ok\nmkdir a/b: ok\nwrite a/b/f.txt: ok\nread a/b/f.txt: ok\n\
rmdir nonempty: ENOTEMPTY\nunlink a/b/f.txt: ok\nrmdir a/b: ok\nrmdir a: ok\nstat a: ENOENT\nok\n";

#[test]
fn mkdir_rmdir_on_memfs_leaves_it_clean() {
    let fs = MemFs::new();
    fs.write_file("keep.txt", "kept").unwrap();
    let out = run_guest("mkdir_rmdir", &["/work/"], WasiCtx::builder().preopen(fs.clone(), "/work"));
    assert_eq!((out.code, out.stdout().as_str(), out.stderr.as_str()), (0, MKDIR_RMDIR_OK, ""));
    assert_eq!(fs.read_dir("").unwrap(), ["keep.txt"]);
    assert_eq!(fs.read_file("keep.txt").unwrap(), b"kept");
    // What the quota counts: the 4 bytes of data and the 8 of the name "keep.txt".
    assert_eq!(fs.used_bytes(), 4 + 8);
}

#[test]
fn mkdir_rmdir_on_a_host_dir_leaves_it_clean() -> TestResult {
    let tmp = tempfile::tempdir()?;
    std::fs::create_dir(tmp.path().join("base"))?;
    let out =
        run_guest("mkdir_rmdir", &["/host/base"], WasiCtx::builder().preopen(HostDir::open(tmp.path())?, "/host"));
    assert_eq!((out.code, out.stdout().as_str(), out.stderr.as_str()), (0, MKDIR_RMDIR_OK, ""));
    let left: Vec<_> = std::fs::read_dir(tmp.path())?.map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["base"]);
    assert_eq!(std::fs::read_dir(tmp.path().join("base"))?.count(), 0);

    // The same through `preopen_dir`.
    let out = run_guest("mkdir_rmdir", &["/h"], WasiCtx::builder().preopen_dir(tmp.path(), "/h"));
    assert_eq!((out.code, out.stdout().as_str()), (0, MKDIR_RMDIR_OK));
    assert_eq!(std::fs::read_dir(tmp.path())?.count(), 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// read-only mounts: a write must fail with EROFS, as on a read-only POSIX mount, and change
// nothing.

/// The mounts a write must not get through, each at `/ro`, with `f.txt` holding `original`.
fn read_only_mounts(memfs: &MemFs, host: &std::path::Path) -> Vec<(&'static str, WasiCtxBuilder)> {
    let map: HashMap<String, Vec<u8>> = HashMap::from([("f.txt".to_owned(), b"original".to_vec())]);
    vec![
        ("ReadOnly<MemFs>", std::mem::take(WasiCtx::builder().preopen(ReadOnly::new(memfs.clone()), "/ro"))),
        (
            "HostDir::open_read_only",
            std::mem::take(WasiCtx::builder().preopen(HostDir::open_read_only(host).unwrap(), "/ro")),
        ),
        ("preopen_dir_read_only", std::mem::take(WasiCtx::builder().preopen_dir_read_only(host, "/ro"))),
        ("SimpleFsAdapter<HashMap>", std::mem::take(WasiCtx::builder().preopen(SimpleFsAdapter::new(map), "/ro"))),
    ]
}

fn read_only_sources() -> (MemFs, tempfile::TempDir) {
    let fs = MemFs::from_entries([("f.txt", "original")]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("f.txt"), "original").unwrap();
    (fs, tmp)
}

fn assert_sources_unchanged(fs: &MemFs, tmp: &tempfile::TempDir) {
    assert_eq!(fs.read_dir("").unwrap(), ["f.txt"]);
    assert_eq!(fs.read_file("f.txt").unwrap(), b"original");
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["f.txt"]);
    assert_eq!(std::fs::read_to_string(tmp.path().join("f.txt")).unwrap(), "original");
}

fn assert_erofs(out: &Outcome, path: &str, what: &str) {
    assert_eq!(out.stderr, format!("write_file: {path}: Read-only file system\n"), "{what}");
    assert_eq!((out.code, out.stdout.as_slice()), (1, &b""[..]), "{what}");
}

#[test]
fn write_file_on_read_only_mounts_fails_with_erofs_and_changes_nothing() {
    let (fs, tmp) = read_only_sources();
    // An existing file (O_TRUNC) and a missing one (O_CREAT).
    for path in ["/ro/f.txt", "/ro/new.txt"] {
        for (what, mut builder) in read_only_mounts(&fs, tmp.path()) {
            let out = run_guest("write_file", &[path, "changed"], &mut builder);
            assert_erofs(&out, path, what);
        }
    }
    assert_sources_unchanged(&fs, &tmp);
    // Each mount still serves the original to readers.
    for (what, mut builder) in read_only_mounts(&fs, tmp.path()) {
        let out = run_guest("cat", &["/ro/f.txt"], &mut builder);
        assert_eq!((out.code, out.stdout().as_str()), (0, "original"), "{what}");
    }
}

#[test]
fn mkdir_on_read_only_mounts_fails_with_erofs() {
    let (fs, tmp) = read_only_sources();
    for (what, mut builder) in read_only_mounts(&fs, tmp.path()) {
        let out = run_guest("mkdir_rmdir", &["/ro"], &mut builder);
        assert_eq!(out.stdout(), "mkdir a: EROFS\n", "{what}");
        assert_eq!(out.stderr, "mkdir_rmdir: mkdir a: Read-only file system\n", "{what}");
        assert_eq!(out.code, 1, "{what}");
    }
    assert_sources_unchanged(&fs, &tmp);
}

// ---------------------------------------------------------------------------------------------
// permissions: wasmtime-wasi's directory and file permissions on a host directory

#[test]
fn preopen_dir_with_permissions_allows_and_refuses_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("f.txt"), "original").unwrap();
    let with = |d, f| {
        let mut b = WasiCtx::builder();
        b.preopen_dir_with(tmp.path(), "/m", d, f);
        b
    };
    // Files writable, tree fixed: the existing file is rewritten, a new one is not made.
    let out = run_guest("write_file", &["/m/f.txt", "changed"], &mut with(DirPerms::READ, FilePerms::all()));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let out = run_guest("write_file", &["/m/new.txt", "x"], &mut with(DirPerms::READ, FilePerms::all()));
    assert_eq!((out.code, out.stderr.as_str()), (1, "write_file: /m/new.txt: Permission denied\n"));
    let out = run_guest("mkdir_rmdir", &["/m"], &mut with(DirPerms::READ, FilePerms::all()));
    assert_eq!((out.code, out.stdout().as_str()), (1, "mkdir a: EACCES\n"));
    // Tree mutable, files read-only: directories are made, no file is written.
    let out = run_guest("mkdir_rmdir", &["/m"], &mut with(DirPerms::all(), FilePerms::READ));
    assert_eq!((out.code, out.stderr.as_str()), (1, "mkdir_rmdir: write a/b/f.txt: Permission denied\n"));
    assert!(tmp.path().join("a/b").is_dir() && !tmp.path().join("a/b/f.txt").exists());
    std::fs::remove_dir_all(tmp.path().join("a")).unwrap();
    let out = run_guest("write_file", &["/m/f.txt", "again"], &mut with(DirPerms::all(), FilePerms::READ));
    assert_eq!((out.code, out.stderr.as_str()), (1, "write_file: /m/f.txt: Permission denied\n"));
    let out = run_guest("cat", &["/m/f.txt"], &mut with(DirPerms::all(), FilePerms::READ));
    assert_eq!((out.code, out.stdout().as_str()), (0, "changed"));
    // Nothing may change: the read-only mount's EROFS.
    let out = run_guest("write_file", &["/m/f.txt", "x"], &mut with(DirPerms::READ, FilePerms::READ));
    assert_erofs(&out, "/m/f.txt", "READ/READ");
    let mut names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["f.txt"]);
    assert_eq!(std::fs::read_to_string(tmp.path().join("f.txt")).unwrap(), "changed");
}

// ---------------------------------------------------------------------------------------------
// several mounts

fn three_mounts(root: &MemFs, tmp: &MemFs) -> WasiCtxBuilder {
    let data: HashMap<&'static str, &'static [u8]> = HashMap::from([("x", &b"x marks the spot\n"[..])]);
    let mut b = WasiCtx::builder();
    b.preopen(root.clone(), "/").preopen(SimpleFsAdapter::new(data), "/data").preopen(tmp.clone(), "/tmp");
    b
}

#[test]
fn three_mounts_each_serve_their_own_paths() {
    let root = MemFs::from_entries([("etc/motd", "welcome\n")]).unwrap();
    let tmp = MemFs::new();

    let out = run_guest("cat", &["/data/x", "/etc/motd"], &mut three_mounts(&root, &tmp));
    assert_eq!((out.code, out.stdout().as_str(), out.stderr.as_str()), (0, "x marks the spot\nwelcome\n", ""));

    let out = run_guest("write_file", &["/tmp/y", "written by the guest"], &mut three_mounts(&root, &tmp));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(tmp.read_file("y").unwrap(), b"written by the guest");
    assert!(!root.exists("tmp"), "/tmp/y went to the /tmp mount, not the root");

    let out = run_guest("cat", &["/tmp/y"], &mut three_mounts(&root, &tmp));
    assert_eq!((out.code, out.stdout().as_str()), (0, "written by the guest"));

    let out = run_guest("write_file", &["/data/z", "nope"], &mut three_mounts(&root, &tmp));
    assert_erofs(&out, "/data/z", "the /data mount");
    assert!(!root.exists("data"));

    let out = run_guest("ls", &["/", "/data", "/tmp"], &mut three_mounts(&root, &tmp));
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout(),
        "/:\n. dir\n.. dir\netc dir\n/data:\n. dir\n.. dir\nx file\n/tmp:\n. dir\n.. dir\ny file\n"
    );
}

/// A reactor exposing `fd_prestat_get` / `fd_prestat_dir_name` to the host, which then reads
/// the results from the guest's memory.
const PRESTAT_WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $prestat_dir_name (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; prestat(fd) -> errno; the prestat struct at address 0 (tag u8, name length u32 at 4)
  (func (export "prestat") (param $fd i32) (result i32)
    (call $prestat_get (local.get $fd) (i32.const 0)))
  ;; name(fd, len) -> errno; the name at address 64
  (func (export "name") (param $fd i32) (param $len i32) (result i32)
    (call $prestat_dir_name (local.get $fd) (i32.const 64) (local.get $len))))
"#;

#[test]
fn preopens_are_descriptors_3_4_5_in_order() -> TestResult {
    let ctx = three_mounts(&MemFs::new(), &MemFs::new()).build()?;
    let mut linker = Linker::new(engine());
    hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c)?;
    let mut store = Store::new(engine(), ctx);
    let instance = hammertime::instantiate_reactor(&mut store, &linker, &wat(PRESTAT_WAT))?;
    let prestat = instance.get_typed_func::<i32, i32>(&mut store, "prestat")?;
    let name = instance.get_typed_func::<(i32, i32), i32>(&mut store, "name")?;
    let memory = instance.get_memory(&mut store, "memory").expect("memory");

    let mut seen = Vec::new();
    for fd in 0..8 {
        let errno = prestat.call(&mut store, fd)?;
        if errno != 0 {
            seen.push((fd, format!("errno {errno}")));
            continue;
        }
        let mut header = [0u8; 8];
        memory.read(&store, 0, &mut header)?;
        assert_eq!(header[0], 0, "preopentype dir");
        let len = u32::from_le_bytes(header[4..8].try_into()?);
        // A buffer one byte short is refused with ENAMETOOLONG (37).
        assert_eq!(name.call(&mut store, (fd, len as i32 - 1))?, 37);
        assert_eq!(name.call(&mut store, (fd, len as i32))?, 0);
        let mut buf = vec![0u8; len as usize];
        memory.read(&store, 64, &mut buf)?;
        seen.push((fd, String::from_utf8(buf)?));
    }
    // stdio is not a preopen (EBADF = 8), neither is a closed descriptor.
    let expected: Vec<(i32, String)> = [
        (0, "errno 8"),
        (1, "errno 8"),
        (2, "errno 8"),
        (3, "/"),
        (4, "/data"),
        (5, "/tmp"),
        (6, "errno 8"),
        (7, "errno 8"),
    ]
    .into_iter()
    .map(|(fd, s)| (fd, s.to_owned()))
    .collect();
    assert_eq!(seen, expected);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// concurrency

#[test]
fn four_threads_share_one_memfs() {
    let fs = MemFs::new();
    let shared: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let write = guest("write_file");
    let cat = guest("cat");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (shared, write, cat) = (shared.clone(), &write, &cat);
                scope.spawn(move || {
                    let path = format!("/shared/t{i}.txt");
                    let text = format!("thread {i} {}", "x".repeat(1000 * i));
                    for _ in 0..5 {
                        let out = run_with(
                            write,
                            &["write_file", &path, &text],
                            WasiCtx::builder().preopen_shared(shared.clone(), "/shared"),
                        );
                        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "thread {i}");
                        let out = run_with(
                            cat,
                            &["cat", &path],
                            WasiCtx::builder().preopen_shared(shared.clone(), "/shared"),
                        );
                        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "thread {i}");
                        assert!(out.stdout == text.as_bytes(), "thread {i} read back something else");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread succeeded");
        }
    });
    assert_eq!(fs.read_dir("").unwrap(), ["t0.txt", "t1.txt", "t2.txt", "t3.txt"]);
    for i in 0..4 {
        assert_eq!(
            fs.read_file(&format!("t{i}.txt")).unwrap(),
            format!("thread {i} {}", "x".repeat(1000 * i)).as_bytes()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// exit statuses, traps, reactors

#[test]
fn exit_codes_come_back_from_run() {
    for (arg, code) in [("0", 0), ("3", 3), ("255", 255)] {
        let out = run_guest("exit", &[arg], &mut WasiCtx::builder());
        assert_eq!((out.code, out.stderr.as_str()), (code, ""), "exit {arg}");
    }
    let out = run_guest("exit", &[], &mut WasiCtx::builder());
    assert_eq!(out.code, 0);
    let out = run_guest("exit", &["seven"], &mut WasiCtx::builder());
    assert_eq!((out.code, out.stderr.as_str()), (2, "exit: invalid code: seven\n"));
}

#[test]
fn hello_prints_hello_world() {
    let out = run_guest("hello", &[], &mut WasiCtx::builder());
    assert_eq!((out.code, out.stdout().as_str()), (0, "hello world\n"));
}

#[test]
fn a_trap_is_an_error_not_an_exit() {
    let module = wat(r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#);
    let err = hammertime::run(engine(), &module, WasiCtx::builder().build().unwrap()).unwrap_err();
    assert!(err.downcast_ref::<I32Exit>().is_none(), "{err:?}");
    assert_eq!(err.downcast_ref::<wasmtime::Trap>(), Some(&wasmtime::Trap::UnreachableCodeReached), "{err:?}");
}

#[test]
fn proc_exit_from_wat_is_an_exit_status() {
    let module = wat(r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 42)) unreachable))"#);
    let code = hammertime::run(engine(), &module, WasiCtx::builder().build().unwrap()).unwrap();
    assert_eq!(code, 42);
}

const REACTOR_WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "init\n")
  (data (i32.const 48) "hi\n")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then unreachable)))
  (func (export "_initialize") (call $print (i32.const 32) (i32.const 5)))
  (func (export "greet") (call $print (i32.const 48) (i32.const 3))))
"#;

#[test]
fn a_reactor_is_initialized_once_and_called_many_times() -> TestResult {
    let stdout = OutputBuffer::new();
    let ctx = WasiCtx::builder().stdout(stdout.clone()).build()?;
    let mut linker = Linker::new(engine());
    hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c)?;
    let mut store = Store::new(engine(), ctx);
    let instance = hammertime::instantiate_reactor(&mut store, &linker, &wat(REACTOR_WAT))?;
    assert_eq!(stdout.to_string_lossy(), "init\n");
    let greet = instance.get_typed_func::<(), ()>(&mut store, "greet")?;
    greet.call(&mut store, ())?;
    greet.call(&mut store, ())?;
    assert_eq!(stdout.to_string_lossy(), "init\nhi\nhi\n");
    Ok(())
}

#[test]
fn memfs_file_times_come_from_the_context_clock_unless_it_has_its_own() {
    const T: u64 = 1_600_000_000_000_000_007;
    // No clock of its own: the context's fixed clock stamps what the guest writes.
    let fs = MemFs::new();
    let out = run_guest(
        "write_file",
        &["/m/f.txt", "x"],
        WasiCtx::builder().wall_clock(FixedClock::new(T)).preopen(fs.clone(), "/m"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let st = fs.metadata("f.txt").unwrap();
    assert_eq!((st.mtim, st.ctim), (T, T));
    assert_eq!(fs.metadata("").unwrap().mtim, T, "the directory's mtime changed with the new entry");

    // A clock of its own wins over the context's.
    let own = Arc::new(FixedClock::new(42));
    let fs = MemFs::with_clock(own);
    let out = run_guest(
        "write_file",
        &["/m/f.txt", "x"],
        WasiCtx::builder().wall_clock(FixedClock::new(T)).preopen(fs.clone(), "/m"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fs.metadata("f.txt").unwrap().mtim, 42);
}
