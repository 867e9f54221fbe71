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
        "--env <KEY[=VALUE]>",
        "--inherit-env",
        "--tcplisten <ADDR>",
        "--trace",
        "--no-cache",
        "Examples:",
        "134 on a trap",
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
