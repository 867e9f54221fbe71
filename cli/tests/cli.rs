//! Runs the built `hammertime` binary on the committed guests (see guests/README.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn guest(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "guests", &format!("{name}.wasm")].iter().collect();
    path.to_str().unwrap().to_owned()
}

/// A `hammertime` command whose compilation cache lives under the target directory, not in the
/// user's home.
fn hammertime() -> Command {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hammertime"));
    cmd.env("HOME", home).env_remove("XDG_CACHE_HOME").env_remove("XDG_CONFIG_HOME");
    cmd
}

fn run(args: &[&str]) -> Output {
    hammertime().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// (exit code, stdout, stderr)
fn outcome(out: &Output) -> (Option<i32>, String, String) {
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn hello_prints_and_exits_zero() {
    let out = run(&["run", &guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
}

#[test]
fn shorthand_without_run() {
    let out = run(&[&guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
}

#[test]
fn argv_is_module_path_then_args_including_options() {
    let module = guest("args");
    let out = run(&["run", &module, "a", "b c", "", "--dir", "-x"]);
    let expected = format!("argc=6\nargv[0]={module}\nargv[1]=a\nargv[2]=b c\nargv[3]=\nargv[4]=--dir\nargv[5]=-x\n");
    assert_eq!(outcome(&out), (Some(0), expected, String::new()));
}

#[test]
fn env_set_and_pass_through() {
    let out = hammertime()
        .args(["run", "--env", "A=1", "--env", "B", "--env", "C", "--env", "D=x=y", &guest("env")])
        .env("B", "from host")
        .env_remove("C")
        .output()
        .unwrap();
    assert_eq!(outcome(&out), (Some(0), "A=1\nB=from host\nD=x=y\n".into(), String::new()));
}

#[test]
fn env_is_empty_by_default_and_inherit_env_passes_host_variables() {
    let out = run(&["run", &guest("env")]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));

    let out = hammertime()
        .args(["run", "--inherit-env", "--env", "HT_X=over", &guest("env"), "HT_X", "HT_Y", "HT_Z"])
        .env("HT_X", "host")
        .env("HT_Y", "y")
        .env_remove("HT_Z")
        .output()
        .unwrap();
    assert_eq!(outcome(&out), (Some(0), "HT_X=over\nHT_Y=y\nHT_Z unset\n".into(), String::new()));
}

#[test]
fn exit_codes_pass_through_masked_to_8_bits() {
    for (arg, code) in [("0", 0), ("3", 3), ("255", 255), ("300", 44), ("-1", 255)] {
        let out = run(&["run", &guest("exit"), arg]);
        assert_eq!(outcome(&out), (Some(code), String::new(), String::new()), "exit {arg}");
    }
}

#[test]
fn cat_through_host_dir_with_default_and_explicit_guest_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "file contents\n").unwrap();
    let host = dir.path().to_str().unwrap();

    let out = run(&["run", "--dir", host, &guest("cat"), &format!("{host}/f.txt")]);
    assert_eq!(outcome(&out), (Some(0), "file contents\n".into(), String::new()));

    let out = run(&["run", "--dir", &format!("{host}::/h"), &guest("cat"), "/h/f.txt"]);
    assert_eq!(outcome(&out), (Some(0), "file contents\n".into(), String::new()));
}

#[test]
fn cat_through_mem_dir_seeded_from_host() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "seeded\n").unwrap();
    let spec = format!("{}::/data", dir.path().display());
    let out = run(&["run", "--mem-dir", &spec, &guest("cat"), "/data/f.txt", "/data/missing"]);
    assert_eq!(outcome(&out), (Some(1), "seeded\n".into(), "cat: /data/missing: No such file or directory\n".into()));
}

#[test]
fn write_through_mem_dir_leaves_host_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "original").unwrap();
    let spec = format!("{}::/m", dir.path().display());
    let out = run(&["run", "--mem-dir", &spec, &guest("write_file"), "/m/f.txt", "changed"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "--mem-dir", &spec, &guest("write_file"), "/m/new.txt", "new"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    assert_eq!(std::fs::read_to_string(dir.path().join("f.txt")).unwrap(), "original");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["f.txt"]);
}

#[test]
fn mem_dir_size_and_inodes_are_limits() {
    // The name "f" (1 byte) and 9 of data fit in 10 bytes; 10 of data do not.
    let out = run(&["run", "--mem-dir-size", "10", "--mem-dir", "/m", &guest("write_file"), "/m/f", "123456789"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "--mem-dir-size", "10", "--mem-dir", "/m", &guest("write_file"), "/m/f", "1234567890"]);
    assert_eq!(outcome(&out), (Some(1), String::new(), "write_file: /m/f: No space left on device\n".into()));
    // The root is the one inode of an empty mount.
    let out = run(&["run", "--mem-dir-inodes", "1", "--mem-dir", "/m", &guest("write_file"), "/m/f", "x"]);
    assert_eq!(outcome(&out), (Some(1), String::new(), "write_file: /m/f: No space left on device\n".into()));
    let out = run(&["run", "--mem-dir-size", "1X", "--mem-dir", "/m", &guest("hello")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn empty_mem_dir_is_writable() {
    let out = run(&["run", "--mem-dir", "/tmp", &guest("mkdir_rmdir"), "/tmp"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("stat a: ENOENT\nok\n"), "{}", text(&out.stdout));
}

#[test]
fn write_through_ro_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "original").unwrap();
    let spec = format!("{}::/ro", dir.path().display());
    for name in ["f.txt", "new.txt"] {
        let path = format!("/ro/{name}");
        let out = run(&["run", "--ro-dir", &spec, &guest("write_file"), &path, "changed"]);
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
        let allowed =
            ["Capabilities insufficient", "Read-only file system", "Permission denied", "Operation not permitted"];
        assert!(allowed.iter().any(|e| stderr == format!("write_file: {path}: {e}\n")), "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("f.txt")).unwrap(), "original");
    assert!(!dir.path().join("new.txt").exists());

    // Reading through it still works.
    let out = run(&["run", "--ro-dir", &spec, &guest("cat"), "/ro/f.txt"]);
    assert_eq!(outcome(&out), (Some(0), "original".into(), String::new()));
}

#[test]
fn mkdir_rmdir_on_host_dir() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().to_str().unwrap();
    let out = run(&["run", "--dir", &format!("{host}::/base"), &guest("mkdir_rmdir"), "/base"]);
    let expected = "mkdir a: ok\nmkdir a/b: ok\nwrite a/b/f.txt: ok\nread a/b/f.txt: ok\n\
                    rmdir nonempty: ENOTEMPTY\nunlink a/b/f.txt: ok\nrmdir a/b: ok\nrmdir a: ok\n\
                    stat a: ENOENT\nok\n";
    assert_eq!(outcome(&out), (Some(0), expected.into(), String::new()));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn duplicate_guest_paths_are_a_usage_error() {
    let out = run(&["run", "--mem-dir", "/x", "--mem-dir", "/x", &guest("hello")]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(stderr.starts_with("hammertime: ") && stderr.contains("\"/x\""), "{stderr}");
}

#[test]
fn trap_exits_134_with_message() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("trap.wat");
    std::fs::write(&wat, r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#).unwrap();
    let out = run(&["run", wat.to_str().unwrap()]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(134), ""));
    assert!(stderr.starts_with(&format!("hammertime: {} trapped: ", wat.display())), "{stderr}");
    assert!(stderr.contains("wasm trap: wasm `unreachable` instruction executed"), "{stderr}");
    assert!(stderr.contains("wasm backtrace:"), "{stderr}");
}

#[test]
fn wat_module_runs() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("seven.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 7))))"#,
    )
    .unwrap();
    let out = run(&["run", wat.to_str().unwrap()]);
    assert_eq!(outcome(&out), (Some(7), String::new(), String::new()));
}

#[test]
fn stdout_and_stderr_reach_the_descriptors_in_call_order() {
    // fd_write(1, "a"), fd_write(2, "b"), fd_write(1, ["c", "d\n"]) (two iovecs, one writev),
    // with stdout and stderr the same file: the bytes land in the order of the calls.
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("order.wat");
    std::fs::write(
        &wat,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "abcd\n")
             ;; iovecs at 16: [0,1] [1,1] [2,1] [3,2]
             (data (i32.const 16) "\00\00\00\00\01\00\00\00\01\00\00\00\01\00\00\00")
             (data (i32.const 32) "\02\00\00\00\01\00\00\00\03\00\00\00\02\00\00\00")
             (func (export "_start")
               (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 100)))
               (drop (call $w (i32.const 2) (i32.const 24) (i32.const 1) (i32.const 100)))
               (drop (call $w (i32.const 1) (i32.const 32) (i32.const 2) (i32.const 100)))
               (if (i32.ne (i32.load (i32.const 100)) (i32.const 3)) (then unreachable))))"#,
    )
    .unwrap();
    let log = dir.path().join("out");
    let file = std::fs::File::create(&log).unwrap();
    let status = hammertime().arg("run").arg(&wat).stdout(file.try_clone().unwrap()).stderr(file).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "abcd\n");
}

#[test]
fn missing_module_exits_1_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wasm");
    let out = run(&["run", missing.to_str().unwrap()]);
    let expected =
        format!("hammertime: cannot read module {}: No such file or directory (os error 2)\n", missing.display());
    assert_eq!(outcome(&out), (Some(1), String::new(), expected));
}

#[test]
fn invalid_module_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, "(module").unwrap();
    let out = run(&["run", bad.to_str().unwrap()]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert!(stderr.starts_with(&format!("hammertime: cannot compile module {}: ", bad.display())), "{stderr}");
}

#[test]
fn missing_dir_exits_1_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    for flag in ["--dir", "--ro-dir"] {
        let out = run(&["run", flag, &format!("{}::/a", missing.display()), &guest("hello")]);
        let expected = format!(
            "hammertime: cannot open directory {}: No such file or directory (os error 2)\n",
            missing.display()
        );
        assert_eq!(outcome(&out), (Some(1), String::new(), expected), "{flag}");
    }
    let out = run(&["run", "--mem-dir", &format!("{}::/a", missing.display()), &guest("hello")]);
    let expected =
        format!("hammertime: cannot copy directory {}: No such file or directory (os error 2)\n", missing.display());
    assert_eq!(outcome(&out), (Some(1), String::new(), expected));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["run", "--bogus", &guest("hello")]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(stderr.starts_with("error: unexpected argument '--bogus' found"), "{stderr}");

    for args in [&["run"][..], &[]] {
        let out = run(args);
        assert_eq!((out.status.code(), out.stdout.len()), (Some(2), 0), "{args:?}");
        assert!(text(&out.stderr).contains("Usage: hammertime"), "{args:?}: {}", text(&out.stderr));
    }
    for (flag, value, why) in [
        ("--env", "=v", "the variable name is empty"),
        ("--dir", "::/g", "the host directory is empty"),
        ("--dir", "/h::", "the guest path is empty"),
        ("--ro-dir", "", "the host directory is empty"),
        ("--mem-dir", "/h::", "the guest path is empty"),
        ("--mem-dir", "::/g", "the host directory before `::` is empty"),
    ] {
        let out = run(&["run", flag, value, &guest("hello")]);
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!((code, stdout.as_str()), (Some(2), ""), "{flag} {value}");
        assert!(stderr.starts_with(&format!("error: invalid value '{value}' for '{flag} <")), "{stderr}");
        assert!(stderr.contains(&format!(": {why}\n")), "{stderr}");
    }
}

#[test]
fn help_documents_every_option() {
    let out = run(&["run", "--help"]);
    let help = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for needle in [
        "Usage: hammertime run [OPTIONS] <MODULE> [ARGS]...",
        "--dir <HOST[::GUEST]>",
        "--ro-dir <HOST[::GUEST]>",
        "--mem-dir <[HOST::]GUEST>",
        "--overlay <LOWER[::GUEST]>",
        "--env <KEY[=VALUE]>",
        "--inherit-env",
        "--tcplisten <ADDR>",
        "--trace",
        "--no-cache",
        "--invoke <NAME>",
        "--fuel <N>",
        "--allow-precompiled",
        "-W, --wasm <KEY[=VAL[,..]]>",
        "timeout=DURATION",
        "max-memory-size=BYTES",
        "Examples:",
        "134 on a trap",
        "124 when\n-W timeout expires",
    ] {
        assert!(help.contains(needle), "missing {needle:?} in:\n{help}");
    }
}

#[test]
fn trace_logs_host_calls_on_stderr() {
    let out = run(&["run", "--trace", &guest("hello")]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(0), "hello world\n"));
    let line = stderr.lines().find(|l| l.contains("call=\"fd_write\"")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("TRACE hammertime::wasi:") && line.contains("fd=1"), "{line}");

    let out = run(&["run", &guest("hello")]);
    assert_eq!(text(&out.stderr), "");

    // A path longer than PATH_MAX is refused before it is traced: the log never holds more than
    // the limit of one guest argument.
    let dir = tempfile::tempdir().unwrap();
    let long = format!("/d/{}", "x".repeat(5000));
    let spec = format!("{}::/d", dir.path().display());
    let out = run(&["run", "--trace", "--dir", &spec, &guest("cat"), &long]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1));
    assert!(stderr.contains(": Filename too long\n"), "{}", &stderr[stderr.len().saturating_sub(300)..]);
    // (The guest itself prints the path in its error message; the trace lines must not.)
    // A guest line and a trace line may share a line of stderr: look only after the TRACE tag.
    let traced: Vec<&str> =
        stderr.split("TRACE hammertime::wasi").skip(1).map(|t| t.lines().next().unwrap_or("")).collect();
    assert!(
        !traced.is_empty() && traced.iter().all(|t| !t.contains(&"x".repeat(4097))),
        "a path over PATH_MAX was traced"
    );
}

#[test]
fn tcplisten_binds_and_reports_bad_addresses() {
    let out = run(&["run", "--tcplisten", "127.0.0.1:0", "--mem-dir", "/m", &guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["run", "--tcplisten", &addr, &guest("hello")]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert!(stderr.starts_with(&format!("hammertime: cannot listen on {addr}: ")), "{stderr}");
}

#[test]
fn compilation_cache_is_used_by_default_and_can_be_disabled() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join(".cache/wasmtime");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hammertime"));
    cmd.env("HOME", home.path()).env_remove("XDG_CACHE_HOME").env_remove("XDG_CONFIG_HOME");

    let out = cmd.args(["run", "--no-cache", &guest("hello")]).output().unwrap();
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
    assert!(!cache.exists());

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hammertime"));
    cmd.env("HOME", home.path()).env_remove("XDG_CACHE_HOME").env_remove("XDG_CONFIG_HOME");
    let out = cmd.args(["run", &guest("hello")]).output().unwrap();
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
    assert!(cache.join("modules").is_dir(), "no cache under {}", cache.display());
}

#[test]
fn unusable_cache_warns_once_and_continues() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hammertime"));
    cmd.env("HOME", "/dev/null/no-home").env_remove("XDG_CACHE_HOME").env_remove("XDG_CONFIG_HOME");
    let out = cmd.args(["run", &guest("hello")]).output().unwrap();
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(0), "hello world\n"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("hammertime: warning: compilation cache disabled: "), "{stderr}");
}

#[test]
fn component_runs_with_the_same_flags() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("greeting.txt"), "hi from the CLI\n").unwrap();
    let component = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/p2/hello.wasm");
    let mount = format!("{}::/data", data.path().display());
    let out = run(&["run", "--mem-dir", "/", "--mem-dir", &mount, component, "x"]);
    let expected = format!("hi from the CLI\nargv[0]={component}\nargv[1]=x\n");
    assert_eq!(outcome(&out), (Some(0), expected, String::new()));
    // Without the greeting the component exits 1 with its reason on stderr.
    let out = run(&["run", "--mem-dir", "/", component]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert!(stderr.starts_with("hello: cannot read /data/greeting.txt"), "{stderr}");
}

/// Writes `text` to `dir/name` and returns its path as a string.
fn write_wat(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Throws 42 from one function and catches it in another (try_table with a tag); exits 42.
const EXCEPTIONS_WAT: &str = include_str!("../../guests/wat/exceptions.wat");

/// A GC struct (20, 3) and array (4 × 7): exits 20 + 3 + 7 + 4 = 34.
const GC_WAT: &str = include_str!("../../guests/wat/gc.wat");

/// Loops forever.
const SPIN_WAT: &str = r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#;

/// Sleeps 60 s in one poll_oneoff (a relative monotonic-clock subscription).
const SLEEP_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;

/// Grows its 1-page memory by one page twice: exits 10 if the first grow fails, 11 if the
/// second does not, else with memory.size in pages.
const GROW_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then (call $exit (i32.const 10))))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (call $exit (i32.const 11))))
    (call $exit (memory.size))))"#;

/// Runs the WAT text `source` (exit `code`), then again with `-W off`: a one-line compile error
/// that contains `needle`.
fn assert_runs_and_refused_without(file: &str, source: &str, code: i32, off: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(&dir, file, source);
    let out = run(&["run", &wat]);
    assert_eq!(outcome(&out), (Some(code), String::new(), String::new()));

    let out = run(&["run", "-W", off, &wat]);
    let (status, stdout, stderr) = outcome(&out);
    assert_eq!((status, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("hammertime: cannot compile module {wat}: ")), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn exceptions_are_thrown_and_caught_across_functions() {
    assert_runs_and_refused_without("exn.wat", EXCEPTIONS_WAT, 42, "exceptions=n", "exceptions proposal not enabled");
}

#[test]
fn gc_structs_and_arrays_work_and_gc_n_refuses_them() {
    assert_runs_and_refused_without("gc.wat", GC_WAT, 34, "gc=n", "gc feature");
}

#[test]
fn every_w_proposal_spelling_is_accepted() {
    for name in [
        "bulk-memory",
        "component-model",
        "custom-page-sizes",
        "exceptions",
        "extended-const",
        "function-references",
        "gc",
        "memory64",
        "multi-memory",
        "multi-value",
        "reference-types",
        "relaxed-simd",
        "shared-memory",
        "simd",
        "tail-call",
        "threads",
        "wide-arithmetic",
    ] {
        for value in [name.to_owned(), format!("{name}=y"), format!("{name}=yes")] {
            let out = run(&["run", "-W", &value, &guest("hello")]);
            assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()), "-W {value}");
        }
    }
    // Comma-separated and repeated; turning simd off needs relaxed-simd off too, as in wasmtime.
    let out = run(&["run", "-W", "relaxed-simd=n,simd=n", "-W", "tail-call=no", &guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
    let out = run(&["run", "-W", "simd=n", &guest("hello")]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "hammertime: cannot configure Wasmtime: cannot disable the simd proposal but enable the relaxed simd proposal\n"
    );
}

#[test]
fn unknown_or_malformed_w_options_are_one_line_usage_errors() {
    for (value, expected) in [
        ("bogus", "hammertime: unknown -W option `bogus` (`-W help` lists them)\n"),
        ("simd,no-such=n", "hammertime: unknown -W option `no-such` (`-W help` lists them)\n"),
        ("gc=maybe", "hammertime: -W gc=maybe: expected y or n\n"),
        ("timeout=soon", "hammertime: -W timeout=soon: not a duration (like 10, 10s, 500ms or 2m)\n"),
        ("fuel=lots", "hammertime: -W fuel=lots: not a number\n"),
        ("max-memory-size", "hammertime: -W max-memory-size needs a value: -W max-memory-size=N\n"),
    ] {
        let out = run(&["run", "-W", value, &guest("hello")]);
        assert_eq!(outcome(&out), (Some(2), String::new(), expected.into()), "-W {value}");
    }
    let out = run(&["compile", "-W", "bogus", &guest("hello")]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn w_help_lists_the_options() {
    let out = run(&["run", "-W", "help"]);
    let (code, stdout, _) = outcome(&out);
    assert_eq!(code, Some(0));
    for needle in ["-W exceptions[=y|n]", "-W gc[=y|n]", "-W timeout=DURATION", "-W fuel=N", "-W max-memory-size=BYTES"]
    {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

/// A reactor: `_initialize` sets a base of 100; `add(i32, i64)` returns (base + a, b);
/// `half(f64, f32)` returns (a / 2, b); `bye` exits 9.
const REACTOR_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $base (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $base (i32.const 100)))
  (func (export "add") (param i32 i64) (result i32 i64)
    (i32.add (global.get $base) (local.get 0)) (local.get 1))
  (func (export "half") (param f64 f32) (result f64 f32) (f64.div (local.get 0) (f64.const 2)) (local.get 1))
  (func (export "bye") (call $exit (i32.const 9))))"#;

#[test]
fn invoke_calls_an_export_after_initialize_and_prints_results() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(&dir, "math.wat", REACTOR_WAT);
    let out = run(&["run", "--invoke", "add", &wat, "5", "-7"]);
    assert_eq!(outcome(&out), (Some(0), "105\n-7\n".into(), String::new()));
    let out = run(&["run", "--invoke", "half", &wat, "3", "1.5"]);
    assert_eq!(outcome(&out), (Some(0), "1.5\n1.5\n".into(), String::new()));
    let out = run(&["run", "--invoke", "bye", &wat]);
    assert_eq!(outcome(&out), (Some(9), String::new(), String::new()));

    for (args, expected) in [
        (&["add", "x", "1"][..], "hammertime: --invoke add: argument 1 (\"x\") is not i32\n"),
        (&["add", "1"], "hammertime: --invoke add: the function takes 2 argument(s), 1 given\n"),
        (&["nope"], "hammertime: --invoke nope: the module exports no function `nope`\n"),
    ] {
        let mut argv = vec!["run", "--invoke", args[0], &wat];
        argv.extend(&args[1..]);
        let out = run(&argv);
        assert_eq!(outcome(&out), (Some(2), String::new(), expected.into()), "{args:?}");
    }
    // Without --invoke a reactor has nothing to run.
    let out = run(&["run", &wat]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no `_start` export"), "{stderr}");
}

/// A component exporting `add(u32, u32) -> u32`, `flip(bool) -> bool` and `nothing()` at its
/// top level, `mul(s64, s64) -> s64` in the instance `docs:calc/ops@0.1.0`, a `twice` in both,
/// `boom()` that traps, and `bye()` that calls `wasi:cli/exit.exit(err)`.
const COMPONENT_WAT: &str = r#"(component
  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit" (func (param "status" (result))))))
  (core func $exit (canon lower (func $exit "exit")))
  (core module $m
    (import "host" "exit" (func $exit (param i32)))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "flip") (param i32) (result i32) (i32.eqz (local.get 0)))
    (func (export "nothing"))
    (func (export "mul") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
    (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "boom") unreachable)
    (func (export "bye") (call $exit (i32.const 1))))
  (core instance $host (export "exit" (func $exit)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func (export "flip") (param "b" bool) (result bool) (canon lift (core func $i "flip")))
  (func (export "nothing") (canon lift (core func $i "nothing")))
  (func (export "twice") (param "x" u32) (result u32) (canon lift (core func $i "twice")))
  (func (export "boom") (canon lift (core func $i "boom")))
  (func (export "bye") (canon lift (core func $i "bye")))
  (func $mul (param "a" s64) (param "b" s64) (result s64) (canon lift (core func $i "mul")))
  (func $twice2 (param "x" u32) (result u32) (canon lift (core func $i "twice")))
  (instance $ops (export "mul" (func $mul)) (export "twice" (func $twice2)))
  (export "docs:calc/ops@0.1.0" (instance $ops)))"#;

#[test]
fn invoke_calls_a_component_export_in_wave() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(&dir, "calc.wat", COMPONENT_WAT);
    for (call, expected) in
        [("add(2, 40)", "42\n"), ("flip(true)", "false\n"), ("nothing()", "()\n"), ("mul(-3, 7)", "-21\n")]
    {
        let out = run(&["run", "--invoke", call, &wat]);
        assert_eq!(outcome(&out), (Some(0), expected.into(), String::new()), "{call}");
    }
    // exit(err) is status 1; a trap is 134 with its wasm backtrace.
    let out = run(&["run", "--invoke", "bye()", &wat]);
    assert_eq!(outcome(&out), (Some(1), String::new(), String::new()));
    let out = run(&["run", "--invoke", "boom()", &wat]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(134), ""));
    assert!(stderr.contains("unreachable"), "{stderr}");
    // Usage errors: one line, status 2.
    for (call, needle) in [
        ("add", "not a WAVE function call"),
        ("add(1)", "the arguments do not fit `add`"),
        ("add(-1, 2)", "the arguments do not fit `add`"),
        ("flip(1)", "the arguments do not fit `flip`"),
        ("nope()", "the component exports no function `nope`"),
        ("twice(2)", "several exports are named `twice` (docs:calc/ops@0.1.0#twice, twice)"),
    ] {
        let out = run(&["run", "--invoke", call, &wat]);
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!((code, stdout.as_str()), (Some(2), ""), "{call}: {stderr}");
        assert!(stderr.starts_with("hammertime: --invoke") && stderr.contains(needle), "{call}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{call}: {stderr}");
    }
}

#[test]
fn timeout_stops_spinning_and_sleeping_guests() {
    let dir = tempfile::tempdir().unwrap();
    let spin = write_wat(&dir, "spin.wat", SPIN_WAT);
    let sleep = write_wat(&dir, "sleep.wat", SLEEP_WAT);
    let component = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/p2/sleep.wasm");
    for (module, arg) in [(&spin[..], None), (&sleep, None), (component, Some("60000"))] {
        let start = std::time::Instant::now();
        let mut argv = vec!["run", "-W", "timeout=300ms", module];
        argv.extend(arg);
        let out = run(&argv);
        let elapsed = start.elapsed();
        let expected = format!("hammertime: {module} timed out after 300ms (-W timeout)\n");
        assert_eq!(outcome(&out), (Some(124), String::new(), expected), "{module}");
        // Well before the 2 s grace after which the process would exit anyway.
        assert!(elapsed < std::time::Duration::from_millis(1800), "{module}: {elapsed:?}");
    }
    // A guest blocked reading a stdin that never ends.
    let start = std::time::Instant::now();
    let mut child = hammertime()
        .args(["run", "-W", "timeout=300ms", &guest("cat")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _open_stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    let expected = format!("hammertime: {} timed out after 300ms (-W timeout)\n", guest("cat"));
    assert_eq!(outcome(&out), (Some(124), String::new(), expected));
    assert!(start.elapsed() < std::time::Duration::from_millis(1800), "{:?}", start.elapsed());
    // A guest that finishes in time is not affected.
    let out = run(&["run", "-W", "timeout=1m", &guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
}

#[test]
fn fuel_runs_out_with_a_clear_trap() {
    let dir = tempfile::tempdir().unwrap();
    let spin = write_wat(&dir, "spin.wat", SPIN_WAT);
    for flags in [&["--fuel", "1000"][..], &["-W", "fuel=1000"]] {
        let mut argv = vec!["run"];
        argv.extend(flags);
        argv.push(&spin);
        let out = run(&argv);
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!((code, stdout.as_str()), (Some(134), ""), "{flags:?}");
        let first = stderr.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "hammertime: {spin} ran out of fuel (1000 units, -W fuel): wasm trap: all fuel consumed by WebAssembly"
            )
        );
        assert!(stderr.contains("wasm backtrace:"), "{stderr}");
    }
    // Enough fuel: the module runs as without.
    let exn = write_wat(&dir, "exn.wat", EXCEPTIONS_WAT);
    let out = run(&["run", "--fuel", "100000", &exn]);
    assert_eq!(outcome(&out), (Some(42), String::new(), String::new()));
    // A component too.
    let component = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/p2/sleep.wasm");
    let out = run(&["run", "--fuel", "1000", component, "1"]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(134), "{stderr}");
    assert!(stderr.contains("ran out of fuel"), "{stderr}");
}

#[test]
fn max_memory_size_makes_memory_grow_return_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let grow = write_wat(&dir, "grow.wat", GROW_WAT);
    // Uncapped, the second grow succeeds.
    let out = run(&["run", &grow]);
    assert_eq!(outcome(&out), (Some(11), String::new(), String::new()));
    // Capped at two pages: the first grow succeeds, the second returns -1; exit memory.size = 2.
    for cap in ["131072", "128K", "0x20000"] {
        let out = run(&["run", "-W", &format!("max-memory-size={cap}"), &grow]);
        assert_eq!(outcome(&out), (Some(2), String::new(), String::new()), "{cap}");
    }
    // With trap-on-grow-failure the failed grow traps instead.
    let out = run(&["run", "-W", "max-memory-size=131072,trap-on-grow-failure", &grow]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(134), "{stderr}");
    assert!(stderr.starts_with(&format!("hammertime: {grow} trapped: forcing trap when growing memory")), "{stderr}");
    // A component whose memory starts above the cap does not instantiate.
    let component = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/p2/hello.wasm");
    let out = run(&["run", "-W", "max-memory-size=65536", "--mem-dir", "/", component]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("hammertime: cannot run {component}: ")) && stderr.contains("memory"),
        "{stderr}"
    );
}

#[test]
fn max_table_elements_makes_table_grow_return_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(
        &dir,
        "table.wat",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (table 1 funcref)
          (func (export "_start") (call $exit (i32.add (table.grow (ref.null func) (i32.const 10)) (i32.const 2)))))"#,
    );
    let out = run(&["run", &wat]);
    assert_eq!(outcome(&out), (Some(3), String::new(), String::new()));
    let out = run(&["run", "-W", "max-table-elements=5", &wat]);
    assert_eq!(outcome(&out), (Some(1), String::new(), String::new()));
}

#[test]
fn compile_then_run_precompiled_only_with_allow_precompiled() {
    let dir = tempfile::tempdir().unwrap();
    let exn = write_wat(&dir, "exn.wat", EXCEPTIONS_WAT);
    let cwasm = dir.path().join("out.cwasm");
    let cwasm = cwasm.to_str().unwrap();
    let out = run(&["compile", &exn, "-o", cwasm]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "--allow-precompiled", cwasm]);
    assert_eq!(outcome(&out), (Some(42), String::new(), String::new()));

    let out = run(&["run", cwasm]);
    let expected = format!(
        "hammertime: {cwasm} is precompiled (.cwasm); running it needs --allow-precompiled (only for files you trust)\n"
    );
    assert_eq!(outcome(&out), (Some(2), String::new(), expected));
    // Compiled with other settings: refused with Wasmtime's reason.
    let out = run(&["run", "--allow-precompiled", "--fuel", "100", cwasm]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with(&format!("hammertime: cannot load precompiled {cwasm}: ")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // The default output is MODULE.cwasm; components compile too.
    let out = run(&["compile", &exn]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("exn.cwasm").is_file());
    let component = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/p2/sleep.wasm");
    let ccwasm = dir.path().join("sleep.cwasm");
    let out = run(&["compile", component, "-o", ccwasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&["run", "--allow-precompiled", ccwasm.to_str().unwrap(), "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("slept "), "{}", text(&out.stdout));
}

#[test]
fn version_names_hammertime_and_wasmtime() {
    let out = run(&["--version"]);
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    let wasmtime = lock
        .split("[[package]]")
        .find(|b| b.contains("\nname = \"wasmtime\"\n"))
        .and_then(|b| b.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap();
    let expected = format!("hammertime {} (Wasmtime {wasmtime})\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(outcome(&out), (Some(0), expected, String::new()));
}

#[test]
fn load_errors_are_one_line_without_a_rust_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("truncated.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x05").unwrap();
    for backtrace in [None, Some("1"), Some("full")] {
        let mut cmd = hammertime();
        cmd.args(["run", bad.to_str().unwrap()]);
        match backtrace {
            Some(v) => cmd.env("RUST_BACKTRACE", v).env("RUST_LIB_BACKTRACE", v),
            None => cmd.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE"),
        };
        let out = cmd.output().unwrap();
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{backtrace:?}");
        assert_eq!(
            stderr,
            format!(
                "hammertime: cannot compile module {}: failed to parse WebAssembly module: unexpected end-of-file (at offset 0x9)\n",
                bad.display()
            ),
            "{backtrace:?}"
        );
        assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    }
}

#[test]
fn trap_prints_the_wasm_backtrace_with_function_names() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(
        &dir,
        "named.wat",
        r#"(module (memory (export "memory") 1) (func $inner unreachable) (func $outer (call $inner))
             (func (export "_start") (call $outer)))"#,
    );
    let out = hammertime().args(["run", &wat]).env_remove("WASMTIME_BACKTRACE_DETAILS").output().unwrap();
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(134), ""));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], format!("hammertime: {wat} trapped: wasm trap: wasm `unreachable` instruction executed"));
    assert_eq!(lines[1], "error while executing at wasm backtrace:");
    assert!(lines[2].ends_with(" - <unknown>!inner") && lines[3].ends_with(" - <unknown>!outer"), "{stderr}");
    assert!(!stderr.contains("stack backtrace") && !stderr.contains("Caused by"), "{stderr}");
}

/// A tar holding `index.html` and `css/site.css`, gzip-compressed when `gz`.
fn site_tar(gz: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("index.html", &b"<h1>hi</h1>\n"[..]), ("css/site.css", b"h1 {}\n")] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    if !gz {
        return tar;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    enc.finish().unwrap()
}

#[test]
fn dir_mounts_archives_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("site.tar");
    std::fs::write(&tar, site_tar(false)).unwrap();
    let tgz = dir.path().join("site.tgz");
    std::fs::write(&tgz, site_tar(true)).unwrap();
    let zip = dir.path().join("lib.zip");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("os.py", deflated).unwrap();
    std::io::Write::write_all(&mut w, &b"import posix\n".repeat(50)).unwrap();
    std::fs::write(&zip, w.finish().unwrap().into_inner()).unwrap();

    for archive in [&tar, &tgz] {
        let mount = format!("{}::/www", archive.display());
        let out = run(&["run", "--dir", &mount, &guest("cat"), "/www/css/site.css"]);
        assert_eq!(outcome(&out), (Some(0), "h1 {}\n".into(), String::new()), "{mount}");
        let out = run(&["run", "--ro-dir", &mount, &guest("write_file"), "/www/index.html", "x"]);
        let (code, _, stderr) = outcome(&out);
        assert_eq!((code, stderr.as_str()), (Some(1), "write_file: /www/index.html: Read-only file system\n"));
    }
    let mount = format!("{}::/lib", zip.display());
    let out = run(&["run", "--dir", &mount, &guest("cat"), "/lib/os.py"]);
    assert_eq!(outcome(&out), (Some(0), "import posix\n".repeat(50), String::new()));

    let bad = dir.path().join("bad.tar");
    std::fs::write(&bad, b"not an archive at all").unwrap();
    let out = run(&["run", "--dir", &format!("{}::/x", bad.display()), &guest("cat"), "/x/y"]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert!(stderr.starts_with("hammertime: cannot open archive") && stderr.contains("not a tar"), "{stderr}");
    assert_eq!(tar.metadata().unwrap().len(), site_tar(false).len() as u64, "the archive is never written");
}

#[test]
fn overlay_takes_writes_in_memory_over_a_directory_or_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "original").unwrap();
    let spec = format!("{}::/w", dir.path().display());
    let out = run(&["run", "--overlay", &spec, &guest("write_file"), "/w/f.txt", "changed"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "--overlay", &spec, &guest("write_file"), "/w/new.txt", "new"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    // The lower directory is untouched, and the next run starts from it again.
    assert_eq!(std::fs::read_to_string(dir.path().join("f.txt")).unwrap(), "original");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["f.txt"]);
    let out = run(&["run", "--overlay", &spec, &guest("cat"), "/w/f.txt"]);
    assert_eq!(outcome(&out), (Some(0), "original".into(), String::new()));
    // The in-memory layer has --mem-dir-size as its limit.
    let big = "x".repeat(5000);
    let out = run(&["run", "--overlay", &spec, "--mem-dir-size", "1K", &guest("write_file"), "/w/f.txt", &big]);
    assert_eq!(outcome(&out), (Some(1), String::new(), "write_file: /w/f.txt: No space left on device\n".into()));

    let tar = dir.path().join("site.tar");
    std::fs::write(&tar, site_tar(false)).unwrap();
    let mount = format!("{}::/www", tar.display());
    let out = run(&["run", "--overlay", &mount, &guest("write_file"), "/www/index.html", "x"]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "--overlay", &mount, &guest("cat"), "/www/css/site.css"]);
    assert_eq!(outcome(&out), (Some(0), "h1 {}\n".into(), String::new()));
    assert_eq!(std::fs::read(&tar).unwrap(), site_tar(false), "the archive is never written");
}

/// With the compilation cache (whose worker thread lives as long as the process), the guest's
/// thread gets a descriptor table of its own before anything is opened for the guest: a
/// preopened directory is in the guest thread's table and not in the worker's.
#[test]
fn the_guest_thread_has_a_descriptor_table_of_its_own() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().canonicalize().unwrap();
    let mut child = hammertime()
        .args(["run", "--dir", &format!("{}::/d", target.display()), &guest("cat")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let task = format!("/proc/{}/task", child.id());
    let holds = |tid: &str| {
        std::fs::read_dir(format!("{task}/{tid}/fd"))
            .map(|fds| fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == target)))
            .unwrap_or(false)
    };
    // Until the guest runs (it then waits on its stdin): some thread holds the preopen.
    let deadline = Instant::now() + Duration::from_secs(60);
    let holding = loop {
        let tids: Vec<String> =
            std::fs::read_dir(&task).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
        let holding: Vec<bool> = tids.iter().map(|t| holds(t)).collect();
        if holding.contains(&true) {
            break holding;
        }
        assert!(Instant::now() < deadline, "the guest never held its preopen");
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(holding.contains(&false), "every thread shares the guest's descriptor table: {holding:?}");
}

/// The rights sequences of Go, Zig and rights-0 programs (`guests/rights.wasm`) give through
/// the CLI, on a host directory and on `--mem-dir`, exactly what they give in process (which
/// tests/toolchains.rs checks against Wasmtime's answers).
#[test]
fn the_toolchain_rights_sequences_run_as_in_process() {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::from_file(&engine, guest("rights")).unwrap();
    let out = hammertime::stdio::OutputBuffer::new();
    let ctx =
        hammertime::WasiCtx::builder().stdout(out.clone()).preopen(hammertime::vfs::MemFs::new(), "/").build().unwrap();
    assert_eq!(hammertime::run(&engine, &module, ctx).unwrap(), 0);
    let expected = out.to_string_lossy();
    assert!(expected.contains("go-create ok\n") && expected.contains("zig-create ok\n"), "{expected}");
    let dir = tempfile::tempdir().unwrap();
    let host = format!("{}::/", dir.path().display());
    let out = run(&["run", "--dir", &host, &guest("rights")]);
    assert_eq!(outcome(&out), (Some(0), expected.clone(), String::new()), "--dir");
    let out = run(&["run", "--mem-dir", "/", &guest("rights")]);
    assert_eq!(outcome(&out), (Some(0), expected, String::new()), "--mem-dir");
}

/// `-W max-wasm-stack`, as Go's `go_wasip1_wasm_exec` passes it (8 MiB): a guest recursing
/// 4 MiB deep runs (its own thread has the stack), and past the limit it traps with Wasmtime's
/// stack-exhaustion trap, never a crash of the process.
#[test]
fn w_max_wasm_stack_lets_deep_recursion_run_and_traps_past_it() {
    // 200,000 frames of a non-tail recursion: several MiB of native stack.
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(
        &dir,
        "deep.wat",
        r#"(module
            (func $f (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1)))))))
            (func (export "_start")
              (drop (call $f (i32.const 200000)))))"#,
    );
    let out = run(&["run", &wat]);
    assert_eq!(out.status.code(), Some(134), "the default 512 KiB stack overflows: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("call stack exhausted"), "{}", text(&out.stderr));
    let out = run(&["run", "-W", "max-wasm-stack=8388608", &wat]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "-W", "max-wasm-stack=16777216", &wat]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    // Ten times deeper: past 8 MiB, Wasmtime's trap (the native stack of the guest's thread
    // holds the limit; the main thread's would not).
    let deeper = write_wat(&dir, "deeper.wat", &std::fs::read_to_string(&wat).unwrap().replace("200000", "2000000"));
    let out = run(&["run", "-W", "max-wasm-stack=8388608", &deeper]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("call stack exhausted"), "{}", text(&out.stderr));
}

/// `-W max-instances`, `max-tables`, `max-memories` bound the store as in Wasmtime, and
/// `-W unknown-imports-trap` lets a module with an import nobody defines run until it calls it.
#[test]
fn w_store_limits_and_unknown_imports() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_wat(&dir, "two.wat", r#"(module (memory 1) (memory 1) (func (export "_start")))"#);
    let wat = wat.as_str();
    assert_eq!(run(&["run", wat]).status.code(), Some(0));
    let out = run(&["run", "-W", "max-memories=1", wat]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("memory"), "{}", text(&out.stderr));
    let unknown = write_wat(
        &dir,
        "unknown.wat",
        r#"(module (import "env" "f" (func $f)) (import "env" "g" (func $g (result i32)))
            (func (export "_start") (if (i32.ne (call $g) (i32.const 0)) (then (call $f)))))"#,
    );
    let unknown = unknown.as_str();
    let out = run(&["run", unknown]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = run(&["run", "-W", "unknown-imports-default", unknown]);
    assert_eq!(outcome(&out), (Some(0), String::new(), String::new()));
    let out = run(&["run", "-W", "unknown-imports-trap", unknown]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
}

/// `-S`: Wasmtime's WASI options are taken with their meaning (`inherit-env`, `max-resources`,
/// `tcplisten`), the ones hammertime lacks are a one-line error, and `-S help` lists them.
#[test]
fn s_options_take_wasmtimes_spellings() {
    let out =
        hammertime().args(["run", "-S", "inherit-env", &guest("env")]).env("HT_FROM_HOST", "yes").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("HT_FROM_HOST=yes"), "{}", text(&out.stdout));
    let out = run(&["run", "-S", "http", &guest("hello")]);
    assert_eq!(
        outcome(&out),
        (Some(2), String::new(), "hammertime: -S http: wasi:http is not supported by hammertime\n".into())
    );
    let out = run(&["run", "-S", "inherit-network,allow-ip-name-lookup,tcp,udp=y,http=n", &guest("hello")]);
    assert_eq!(outcome(&out), (Some(0), "hello world\n".into(), String::new()));
    let out = run(&["run", "-S", "help"]);
    assert_eq!(out.status.code(), Some(0));
    for needle in ["-S inherit-network[=y|n]", "-S max-resources=N", "-S tcplisten=ADDR", "http"] {
        assert!(text(&out.stdout).contains(needle), "{needle}: {}", text(&out.stdout));
    }
}
