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
    let binary = Path::new(env!("CARGO_BIN_EXE_hammertime"));
    suite::main("conformance-cli", &workspace, &[Mode::CliDir, Mode::CliMemDir], |_| {
        Box::new(move |spec, mode| suite::run_cli(binary, spec, mode))
    });
}
