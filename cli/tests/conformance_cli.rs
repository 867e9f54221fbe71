//! The official wasi-testsuite through the `hammertime` binary, driven like wasmtime:
//! `hammertime run [--env K=V]... [--dir ROOT::/ | --mem-dir ROOT::/] test.wasm ARGS...`.
//! Same ratchet list as the in-process run (`tests/conformance-expected.txt`, modes `cli-dir`
//! and `cli-mem-dir`).

#[path = "../../tests/suite/mod.rs"]
mod suite;

use std::path::Path;

use suite::Mode;

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let suite_dir = match suite::locate(&workspace) {
        Ok(dir) => dir,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                eprintln!("conformance-cli: {why}");
                std::process::exit(1);
            }
            println!("conformance-cli: skipped: {why}");
            return;
        }
    };
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let specs: Vec<_> = suite::discover(&suite_dir)
        .into_iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.id.contains(f.as_str())))
        .collect();
    if specs.is_empty() {
        eprintln!("conformance-cli: no tests found in {}", suite_dir.display());
        std::process::exit(1);
    }
    let binary = Path::new(env!("CARGO_BIN_EXE_hammertime"));
    let expected = workspace.join("tests/conformance-expected.txt");
    let result = suite::run_all(&specs, &[Mode::CliDir, Mode::CliMemDir], &expected, 2, |spec, mode| {
        suite::run_cli(binary, spec, mode)
    });
    if let Err(e) = result {
        eprintln!("conformance-cli: {e}");
        std::process::exit(1);
    }
}
