//! The WASI 0.2 guests end to end: the committed components `guests/p2/*.wasm` (Rust programs
//! for `wasm32-wasip2` in `guests/p2/src/bin/`, rebuilt by `guests/p2/build.sh`) run through
//! `hammertime::p2`, with exact assertions on their exit status, what they print and the state
//! of the filesystems afterwards.
//!
//! Each guest prints one line per check, `ok NAME [= VALUE]` or `FAIL NAME: DETAIL`, and exits
//! 0 when every check passed, 1 when one failed, 2 when it could not set up its checks (see
//! `guests/p2/src/lib.rs`). The tests compare the whole list of lines, so a failing check shows
//! as a diff naming it.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use hammertime::stdio::OutputBuffer;
use hammertime::vfs::MemFs;
use hammertime::{WasiCtx, WasiCtxBuilder};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// The committed guest `guests/p2/NAME.wasm`, compiled once per test binary.
fn component(name: &str) -> Component {
    static CACHE: OnceLock<Mutex<HashMap<String, Component>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap().get(name) {
        return c.clone();
    }
    let path = format!("{}/guests/p2/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert_eq!(bytes[..8], [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00], "{path} is not a component");
    let c = Component::new(engine(), &bytes).unwrap_or_else(|e| panic!("cannot compile {path}: {e:?}"));
    cache.lock().unwrap().insert(name.to_string(), c.clone());
    c
}

/// What a finished guest left behind.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Outcome {
    fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Runs guest `name` with argv `[name, args…]` and the rest of `builder`, capturing stdout and
/// stderr.
fn run(name: &str, args: &[&str], builder: &mut WasiCtxBuilder) -> Outcome {
    let stdout = OutputBuffer::new();
    let stderr = OutputBuffer::new();
    let ctx = builder.arg(name).args(args.iter().copied()).stdout(stdout.clone()).stderr(stderr.clone());
    let ctx = ctx.build().expect("context");
    let component = component(name);
    let start = Instant::now();
    let code = hammertime::p2::run(engine(), &component, ctx).unwrap_or_else(|e| {
        panic!("{name} trapped: {e:?}\nstdout:\n{}\nstderr:\n{}", stdout.to_string_lossy(), stderr.to_string_lossy())
    });
    let took = start.elapsed();
    let text = |b: &OutputBuffer| String::from_utf8(b.contents()).expect("UTF-8 output");
    Outcome { code, stdout: text(&stdout), stderr: text(&stderr), took }
}

/// Asserts the guest passed: status 0 and exactly `expected` as its report lines.
#[track_caller]
fn assert_report(out: &Outcome, lines: &[&str], expected: &[&str]) {
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}\nfull output: {out:#?}");
    assert_eq!(lines, expected, "report lines differ; full output: {out:#?}");
    assert_eq!(out.code, 0, "exit status; full output: {out:#?}");
}

fn root_with_greeting(text: &str) -> MemFs {
    MemFs::from_entries([("data/greeting.txt", text)]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The components themselves

#[test]
fn every_guest_is_a_wasi_0_2_command() {
    for name in ["hello", "streams", "readdir", "fsmeta", "sockets"] {
        let c = component(name);
        let ty = c.component_type();
        let exports: Vec<String> = ty.exports(engine()).map(|(n, _)| n.to_string()).collect();
        assert!(exports.iter().any(|e| e.starts_with("wasi:cli/run@0.2.")), "{name} exports {exports:?}");
        for (import, _) in ty.imports(engine()) {
            let version = import.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
            assert!(import.starts_with("wasi:") && version.starts_with("0.2."), "{name} imports {import}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// hello: std::fs and std::env (the components quick start)

#[test]
fn hello_prints_its_greeting_from_a_memfs_and_its_args() {
    let fs = root_with_greeting("Hello from a MemFs!\n");
    let out = run("hello", &["world", "two words", ""], WasiCtx::builder().preopen(fs, "/"));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "Hello from a MemFs!\nargv[0]=hello\nargv[1]=world\nargv[2]=two words\nargv[3]=\n", "")
    );
}

#[test]
fn hello_finds_its_greeting_in_a_mount_at_data() {
    let fs = MemFs::from_entries([("greeting.txt", "mounted at /data\n")]).unwrap();
    let mut builder = WasiCtx::builder();
    builder.preopen(MemFs::new(), "/").preopen(fs, "/data");
    let out = run("hello", &[], &mut builder);
    assert_eq!((out.code, out.stdout.as_str()), (0, "mounted at /data\nargv[0]=hello\n"), "{out:#?}");
}

#[test]
fn hello_reads_a_host_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("data")).unwrap();
    std::fs::write(tmp.path().join("data/greeting.txt"), "Hello from the host!\n").unwrap();
    let out = run("hello", &["x"], WasiCtx::builder().preopen_dir(tmp.path(), "/"));
    assert_eq!((out.code, out.stdout.as_str()), (0, "Hello from the host!\nargv[0]=hello\nargv[1]=x\n"), "{out:#?}");
}

#[test]
fn hello_without_a_greeting_exits_1_with_a_reason() {
    // `std::process::exit(1)` goes through wasi-libc's `wasi:cli/exit.exit(err)`.
    let out = run("hello", &[], WasiCtx::builder().preopen(MemFs::new(), "/"));
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "hello: cannot read /data/greeting.txt: No such file or directory (os error 44)\n");
    assert_eq!(out.code, 1, "{out:#?}");
}

/// The same through the lower-level API: a store of the embedder's own type, `add_to_linker`
/// and the generated `Command` bindings.
#[test]
fn hello_through_add_to_linker_and_the_command_bindings() {
    struct State {
        wasi: WasiCtx,
        calls: u32,
    }
    let stdout = OutputBuffer::new();
    let wasi = WasiCtx::builder()
        .arg("hello")
        .arg("linked")
        .stdout(stdout.clone())
        .preopen(root_with_greeting("Hi!\n"), "/")
        .build()
        .unwrap();
    let mut linker = Linker::<State>::new(engine());
    hammertime::p2::add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let mut store = Store::new(engine(), State { wasi, calls: 0 });
    let command = hammertime::p2::bindings::Command::instantiate(&mut store, &component("hello"), &linker).unwrap();
    let result = command.wasi_cli_run().call_run(&mut store).unwrap();
    store.data_mut().calls += 1;
    assert_eq!(result, Ok(()));
    assert_eq!(store.data().calls, 1);
    assert_eq!(stdout.to_string_lossy(), "Hi!\nargv[0]=hello\nargv[1]=linked\n");
}

#[test]
fn hello_runs_inside_a_tokio_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    let out =
        rt.block_on(async { run("hello", &[], WasiCtx::builder().preopen(root_with_greeting("from tokio\n"), "/")) });
    assert_eq!((out.code, out.stdout.as_str()), (0, "from tokio\nargv[0]=hello\n"));
}

// ---------------------------------------------------------------------------------------------
// streams: wasi:io/streams and wasi:io/poll directly

/// What the guest expects on stdin: 100,000 bytes, byte `i` being `i % 251`.
fn stdin_pattern() -> Vec<u8> {
    (0..100_000u32).map(|i| (i % 251) as u8).collect()
}

const STREAMS_STDOUT: &str = "write\nblocking-write-and-flush\nspliced from a file\nblocking-splice\n";

const STREAMS_REPORT: &[&str] = &[
    "ok stdout.check-write",
    "ok stdout.write",
    "ok stdout.flush",
    "ok stdout.subscribe.ready",
    "ok stdout.check-write.after-flush",
    "ok stdout.blocking-write-and-flush",
    "ok stdout.write.empty",
    "ok stdin.subscribe.ready",
    "ok stdin.read",
    "ok stdin.blocking-read",
    "ok stdin.skip",
    "ok stdin.blocking-skip",
    "ok stdin.closed",
    "ok stdin.length = 100000",
    "ok stdin.contents",
    "ok stdin.closed.stays-closed",
    "ok stdin.closed.ready",
    "ok file.write-via-stream",
    "ok file.append-via-stream",
    "ok file.write-via-stream.offset",
    "ok file.size = 16",
    "ok file.read-via-stream.ready",
    r#"ok file.read-via-stream = "heLLO world!\n\0\0\0""#,
    r#"ok file.read-via-stream.offset = "world!\n\0\0\0""#,
    "ok file.read-via-stream.past-end",
    "ok file.write-via-stream.read-only",
    "ok splice.len",
    "ok splice.moved = 20",
    "ok splice.closed",
    "ok blocking-splice.moved = Ok(16)",
    "ok poll.many.ready-index",
    "ok poll.many.no-wait",
    "ok poll.far-clock.not-ready",
    "ok poll.stdout-index = [2]",
    "ok poll.short-clock.index = [1]",
    "ok poll.short-clock.waits",
    "ok poll.short-clock.not-too-long",
    "ok poll.short-clock.ready-after",
    "ok pollable.block.waits",
    "ok subscribe-instant.past.ready",
    "ok poll.zero-duration = [1]",
    "ok poll.same-pollable-twice = [0, 2]",
];

#[test]
fn streams_on_stdio_files_and_pollables() {
    let fs = MemFs::new();
    let mut builder = WasiCtx::builder();
    builder.stdin_bytes(stdin_pattern()).preopen(fs.clone(), "/");
    let out = run("streams", &[], &mut builder);
    assert_report(&out, &out.stderr_lines(), STREAMS_REPORT);
    assert_eq!(out.stdout, STREAMS_STDOUT);
    // The guest waited on real clocks: 50 ms in a poll and 20 ms in a block.
    assert!(out.took >= Duration::from_millis(70), "the run took only {:?}", out.took);
    assert_eq!(fs.read_file("streams.txt").unwrap(), b"heLLO world!\n\0\0\0");
    assert_eq!(fs.read_file("splice.txt").unwrap(), b"spliced from a file\n");
}

/// A reader that hands out at most one byte per `read`, however large the buffer.
struct OneByteAtATime(std::io::Cursor<Vec<u8>>);

impl Read for OneByteAtATime {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn streams_with_a_stdin_that_gives_one_byte_per_read_on_a_host_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let reader = OneByteAtATime(std::io::Cursor::new(stdin_pattern()));
    let mut builder = WasiCtx::builder();
    builder.stdin(reader).preopen_dir(tmp.path(), "/");
    let out = run("streams", &[], &mut builder);
    assert_report(&out, &out.stderr_lines(), STREAMS_REPORT);
    assert_eq!(out.stdout, STREAMS_STDOUT);
    assert_eq!(std::fs::read(tmp.path().join("streams.txt")).unwrap(), b"heLLO world!\n\0\0\0");
}

#[test]
fn streams_reports_a_short_stdin_as_a_failed_check() {
    let mut short = stdin_pattern();
    short.truncate(50_000);
    short[30_000] ^= 0xff;
    let out = run("streams", &[], WasiCtx::builder().stdin_bytes(short).preopen(MemFs::new(), "/"));
    let lines = out.stderr_lines();
    assert!(lines.contains(&"FAIL stdin.length: got 50000, expected 100000"), "{out:#?}");
    assert!(lines.iter().any(|l| l.starts_with("FAIL stdin.contents: byte 30000 is ")), "{out:#?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("FAIL")).count(), 2, "{out:#?}");
    assert_eq!(out.code, 1);
}

#[test]
fn streams_without_a_root_preopen_exits_2() {
    let out = run("streams", &[], WasiCtx::builder().stdin_bytes(stdin_pattern()));
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.ends_with("setup: no preopened directory \"/\"\n"), "{out:#?}");
}

// ---------------------------------------------------------------------------------------------
// readdir: 10,000 entries through read-directory / read-directory-entry

const READDIR_REPORT: &[&str] = &[
    "ok create = 10000",
    "ok read-directory-entry.end",
    "ok names.each-once",
    "ok names.all",
    "ok names.no-others",
    "ok types",
    "ok read-directory-entry.after-end",
    "ok read-directory.again = 10000",
    "ok read-directory.empty",
    "count 10000",
];

#[test]
fn readdir_lists_10000_files_each_once_on_a_memfs() {
    let fs = MemFs::new();
    let out = run("readdir", &[], WasiCtx::builder().preopen(fs.clone(), "/"));
    assert_report(&out, &out.stdout_lines(), READDIR_REPORT);
    let names = fs.read_dir("big").unwrap();
    assert_eq!(names.len(), 10_000);
    assert_eq!((names[0].as_str(), names[9_999].as_str()), ("f00000", "f09999"));
}

#[test]
fn readdir_lists_10000_files_each_once_on_a_host_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run("readdir", &[], WasiCtx::builder().preopen_dir(tmp.path(), "/"));
    assert_report(&out, &out.stdout_lines(), READDIR_REPORT);
    assert_eq!(std::fs::read_dir(tmp.path().join("big")).unwrap().count(), 10_000);
}

#[test]
fn readdir_of_a_few_files() {
    let out = run("readdir", &["3"], WasiCtx::builder().preopen(MemFs::new(), "/"));
    let expected: Vec<String> = READDIR_REPORT.iter().map(|l| l.replace("10000", "3")).collect();
    assert_report(&out, &out.stdout_lines(), &expected.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn readdir_where_big_already_exists_fails_its_setup() {
    let fs = MemFs::from_entries([("big/zzz", "")]).unwrap();
    let out = run("readdir", &["5"], WasiCtx::builder().preopen(fs.clone(), "/"));
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:#?}");
    assert_eq!(out.stderr, "setup: create-directory-at big: exist\n");
    assert_eq!(fs.read_dir("big").unwrap(), ["zzz"]);
}

// ---------------------------------------------------------------------------------------------
// fsmeta: metadata, hashes, identities, sizes, times and error codes

const FSMETA_REPORT: &[&str] = &[
    "ok link-at",
    "ok symlink-at",
    "ok is-same-object.hard-link = true",
    "ok is-same-object.same-path = true",
    "ok is-same-object.itself = true",
    "ok is-same-object.through-symlink = true",
    "ok is-same-object.dot = true",
    "ok is-same-object.different-files = false",
    "ok is-same-object.file-and-directory = false",
    "ok is-same-object.different-directories = false",
    "ok metadata-hash a.txt",
    "ok metadata-hash d/a-link",
    "ok metadata-hash b.txt",
    "ok metadata-hash /",
    "ok metadata-hash-at a.txt",
    "ok metadata-hash-at d/a-link",
    "ok metadata-hash-at b.txt",
    "ok metadata-hash-at sym (follow)",
    "ok metadata-hash-at sym",
    "ok metadata-hash-at .",
    "ok metadata-hash.hard-link-equal",
    "ok metadata-hash.different-files-differ",
    "ok metadata-hash.file-and-directory-differ",
    "ok metadata-hash.same-at-twice",
    "ok metadata-hash-at.equals-metadata-hash",
    "ok metadata-hash-at.follows-symlink",
    "ok metadata-hash-at.symlink-itself-differs",
    "ok metadata-hash-at.dot-is-root",
    "ok metadata-hash-at missing = no-entry",
    "ok stat a.txt",
    r#"ok stat a.txt = ("regular-file", 4, 2)"#,
    "ok stat /",
    r#"ok stat /.type = "directory""#,
    "ok stat-at b.txt",
    r#"ok stat-at b.txt = ("regular-file", 2, 1)"#,
    "ok stat-at d/a-link",
    r#"ok stat-at d/a-link = ("regular-file", 4, 2)"#,
    "ok stat-at d",
    r#"ok stat-at d.type = "directory""#,
    "ok stat-at sym",
    r#"ok stat-at sym = ("symbolic-link", 5)"#,
    "ok stat-at sym (follow)",
    r#"ok stat-at sym (follow) = ("regular-file", 4)"#,
    r#"ok readlink-at sym = Ok("a.txt")"#,
    r#"ok get-type a.txt = Ok("regular-file")"#,
    r#"ok get-type / = Ok("directory")"#,
    r#"ok get-type d = Ok("directory")"#,
    r#"ok get-flags a.txt (read write) = Ok("read write")"#,
    r#"ok get-flags a.txt (read) = Ok("read")"#,
    "ok get-flags /",
    "ok open-at b.txt (read data-integrity-sync)",
    r#"ok get-flags b.txt (read data-integrity-sync) = Ok("read data-integrity-sync")"#,
    "ok set-size 10",
    "ok set-size 10.size = Ok(10)",
    r#"ok set-size 10.contents = Ok("bb\0\0\0\0\0\0\0\0")"#,
    "ok set-size 1",
    r#"ok set-size 1.contents = Ok("b")"#,
    "ok set-size read-only descriptor",
    "ok set-size directory",
    "ok set-size read-only.size = Ok(4)",
    "ok set-times",
    "ok set-times.stat",
    "ok set-times.times = (Some((1600000000, 123)), Some((1700000000, 456)))",
    "ok set-times-at",
    "ok set-times-at.stat",
    "ok set-times-at.mtime = Some((1500000000, 7))",
    "ok set-times-at.atime-unchanged",
    "ok set-times now",
    "ok set-times now.atime",
    "ok set-times now.mtime-unchanged = Ok(Some((1500000000, 7)))",
    "ok set-times-at sym",
    "ok set-times-at sym.target-unchanged = Ok(Some((1700000000, 456)))",
    "ok exist create-directory-at d = exist",
    "ok exist open-at a.txt create exclusive = exist",
    "ok exist link-at onto b.txt = exist",
    "ok exist symlink-at onto a.txt = exist",
    "ok no-entry open-at missing = no-entry",
    "ok no-entry stat-at missing = no-entry",
    "ok no-entry unlink-file-at missing = no-entry",
    "ok no-entry remove-directory-at missing = no-entry",
    "ok no-entry open-at missing/x create = no-entry",
    "ok not-empty remove-directory-at d = not-empty",
    "ok is-directory unlink-file-at d = is-directory",
    "ok is-directory open-at d write = is-directory",
    "ok not-directory open-at a.txt directory = not-directory",
    "ok not-directory remove-directory-at a.txt = not-directory",
    "ok not-directory stat-at a.txt/x = not-directory",
    "ok loop open-at sym nofollow = loop",
    "ok not-permitted open-at .. = not-permitted",
    "ok not-permitted open-at absolute = not-permitted",
    "ok bad-descriptor write read-only = bad-descriptor",
    "ok rename-at b.txt c.txt",
    "ok rename-at.old-gone = no-entry",
    "ok rename-at.same-object = Ok(true)",
    "ok not-empty rename-at e onto d = not-empty",
    "ok not-directory rename-at e onto c.txt = not-directory",
    "ok is-directory rename-at c.txt onto e = is-directory",
    "ok unlink-file-at d/a-link",
    "ok unlink.link-count = Ok(1)",
    r#"ok unlink.still-readable = Ok("aaaa")"#,
    "ok remove-directory-at d",
    "ok remove-directory-at.gone = no-entry",
];

/// a.txt's modification time as the guest set it, in nanoseconds.
const A_MTIME_NS: u64 = 1_700_000_000_000_000_456;

#[test]
fn fsmeta_on_a_memfs() {
    let fs = MemFs::new();
    let out = run("fsmeta", &[], WasiCtx::builder().preopen(fs.clone(), "/"));
    assert_report(&out, &out.stdout_lines(), FSMETA_REPORT);
    assert_eq!(fs.read_dir("").unwrap(), ["a.txt", "c.txt", "e", "sym"]);
    assert_eq!(fs.read_file("a.txt").unwrap(), b"aaaa");
    assert_eq!(fs.read_file("c.txt").unwrap(), b"b");
    let a = fs.metadata("a.txt").unwrap();
    assert_eq!((a.nlink, a.size, a.mtim, a.atim), (1, 4, A_MTIME_NS, 1_600_000_000_000_000_123));
    assert_eq!(fs.metadata("c.txt").unwrap().mtim, 1_500_000_000_000_000_007);
    assert_eq!(fs.metadata("sym").unwrap().mtim, 1_400_000_000_000_000_000);
}

#[test]
fn fsmeta_on_a_host_dir() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = run("fsmeta", &[], WasiCtx::builder().preopen_dir(tmp.path(), "/"));
    assert_report(&out, &out.stdout_lines(), FSMETA_REPORT);
    let mut names: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "c.txt", "e", "sym"]);
    assert_eq!(std::fs::read(tmp.path().join("c.txt")).unwrap(), b"b");
    assert_eq!(std::fs::read_link(tmp.path().join("sym")).unwrap(), std::path::Path::new("a.txt"));
    let a = std::fs::metadata(tmp.path().join("a.txt")).unwrap();
    assert_eq!((a.nlink(), a.len()), (1, 4));
    assert_eq!((a.mtime(), a.mtime_nsec()), (1_700_000_000, 456));
    // (No check of a.txt's atime here: the guest reads the file after setting it, and the
    // host's relatime updates an atime older than the mtime.)
    let sym = std::fs::symlink_metadata(tmp.path().join("sym")).unwrap();
    assert_eq!((sym.mtime(), sym.mtime_nsec()), (1_400_000_000, 0));
}

#[test]
fn fsmeta_in_a_directory_that_is_not_empty_fails_its_setup() {
    let fs = MemFs::from_entries([("a.txt", "already here")]).unwrap();
    let out = run("fsmeta", &[], WasiCtx::builder().preopen(fs.clone(), "/"));
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:#?}");
    assert_eq!(out.stderr, "setup: open-at a.txt: exist\n");
    assert_eq!(fs.read_file("a.txt").unwrap(), b"already here");
}

// ---------------------------------------------------------------------------------------------
// sockets: the default policy is no network

#[test]
fn sockets_are_denied_under_the_default_policy() {
    let out = run("sockets", &[], &mut WasiCtx::builder());
    let expected = [
        "ok create-tcp-socket ipv4 = access-denied",
        "ok create-tcp-socket ipv6 = access-denied",
        "ok create-udp-socket ipv4 = access-denied",
        "ok create-udp-socket ipv6 = access-denied",
        "ok instance-network",
        "ok resolve-addresses localhost = access-denied",
        "ok resolve-addresses example.com = access-denied",
        "ok resolve-addresses 127.0.0.1 = access-denied",
        "ok resolve-addresses ::1 = access-denied",
        "ok resolve-addresses (empty name)",
        "ok std TcpStream::connect = PermissionDenied",
        "ok std TcpListener::bind = PermissionDenied",
        "ok std UdpSocket::bind = PermissionDenied",
        "ok std to_socket_addrs localhost",
    ];
    assert_report(&out, &out.stdout_lines(), &expected);
    assert_eq!(out.stderr, "");
}

#[test]
fn a_sleep_on_a_manual_clock_takes_no_real_time_and_moves_it() {
    let mono = hammertime::clocks::ManualClock::new(0);
    let out = run("sleep", &["3600000"], WasiCtx::builder().monotonic_clock(mono.clone()));
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "slept 3600000 ms\n", ""));
    assert!(out.took < Duration::from_secs(30), "{:?}", out.took);
    assert!(mono.get() >= 3_600_000_000_000, "the clock reads {}", mono.get());
}

#[test]
fn a_sleeping_component_traps_when_interrupted() {
    let ctx = WasiCtx::builder().arg("sleep").arg("3600000").build().unwrap();
    let handle = ctx.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    let start = Instant::now();
    let err = hammertime::p2::run(engine(), &component("sleep"), ctx).unwrap_err();
    assert_eq!(err.downcast_ref::<wasmtime::Trap>(), Some(&wasmtime::Trap::Interrupt), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(30));
    t.join().unwrap();
    // And a short sleep on the host clock sleeps for real.
    let out = run("sleep", &["50"], &mut WasiCtx::builder());
    assert_eq!(out.code, 0);
    assert!(out.took >= Duration::from_millis(50), "{:?}", out.took);
}

/// `Limits::resources` bounds the WASI 0.2 resource table, through a real guest: `hello` holds
/// at most 3 resources at once (the preopen's descriptor, the file's, its stream or stdout). With
/// fewer, a call past the limit fails: a filesystem call with `error-code` NFILE, which the
/// guest then cannot even print (its stderr stream is one resource more), so it ends in a trap
/// whose cause names the table. The host stays up either way.
#[test]
fn the_resource_limit_bounds_the_table() {
    let fs = MemFs::new();
    fs.write_file("data/greeting.txt", "hi\n").unwrap();
    for n in 0..6 {
        let mut limits = hammertime::Limits::default();
        limits.resources = n;
        let stdout = OutputBuffer::new();
        let mut ctx = WasiCtx::builder();
        ctx.arg("hello").limits(limits).preopen(fs.clone(), "/").stdout(stdout.clone());
        let result = hammertime::p2::run(engine(), &component("hello"), ctx.build().unwrap());
        if n < 3 {
            let e = result.unwrap_err();
            assert!(format!("{e:?}").contains("resource table has no free keys"), "with {n} resources: {e:?}");
        } else {
            assert_eq!(result.unwrap(), 0, "with {n} resources");
            assert_eq!(stdout.to_string_lossy(), "hi\nargv[0]=hello\n");
        }
    }
}
