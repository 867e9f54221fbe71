//! The official wasi-testsuite, in-process: every test with its root served by `MemFs` (seeded
//! from the fixture) and by `HostDir` (on a temporary copy), Rust tests in strict errno mode.
//!
//! A plain binary (`harness = false`) so that its per-test lines are always shown. The list of
//! tests expected to pass is `tests/conformance-expected.txt` (a ratchet: a listed test that
//! fails fails the run; a test that passes without being listed is reported, to be added).
//! Run only this: `cargo test --test conformance`. Filter: `cargo test --test conformance -- fd_`.

mod suite;

use std::path::Path;

use suite::Mode;

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite_dir = match suite::locate(workspace) {
        Ok(dir) => dir,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                eprintln!("conformance: {why}");
                std::process::exit(1);
            }
            println!("conformance: skipped: {why}");
            return;
        }
    };
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let specs: Vec<_> = suite::discover(&suite_dir)
        .into_iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.id.contains(f.as_str())))
        .collect();
    if specs.is_empty() {
        eprintln!("conformance: no tests found in {}", suite_dir.display());
        std::process::exit(1);
    }

    let engine = suite::engine();
    let mut modules = Vec::new();
    for spec in &specs {
        match wasmtime::Module::from_file(&engine, &spec.wasm) {
            Ok(m) => modules.push(m),
            Err(e) => {
                eprintln!("conformance: cannot compile {}: {e:?}", spec.wasm.display());
                std::process::exit(1);
            }
        }
    }
    let expected = workspace.join("tests/conformance-expected.txt");
    let result = suite::run_all(&specs, &[Mode::MemFs, Mode::HostDir], &expected, 2, |spec, mode| {
        let i = specs.iter().position(|s| s.id == spec.id).unwrap_or(0);
        suite::run_in_process(&engine, &modules[i], spec, mode)
    });
    if let Err(e) = result {
        eprintln!("conformance: {e}");
        std::process::exit(1);
    }
}
