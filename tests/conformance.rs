//! The official wasi-testsuite, in-process: every test with its root served by `MemFs` (seeded
//! from the fixture), by `HostDir` (on a temporary copy), by an `Archive` of a tar of it (the
//! tests that write nothing) and by an `Overlay` of a `MemFs` over a read-only `HostDir` on the
//! copy (which must be unchanged afterwards), Rust tests in strict errno mode.
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
    let engine = suite::engine();
    suite::main("conformance", workspace, &[Mode::MemFs, Mode::HostDir, Mode::Archive, Mode::Overlay], |specs| {
        let mut modules = Vec::new();
        for spec in specs {
            match wasmtime::Module::from_file(&engine, &spec.wasm) {
                Ok(m) => modules.push((spec.id.clone(), m)),
                Err(e) => {
                    eprintln!("conformance: cannot compile {}: {e:?}", spec.wasm.display());
                    std::process::exit(1);
                }
            }
        }
        let engine = engine.clone();
        Box::new(move |spec, mode| {
            let module = &modules.iter().find(|(id, _)| *id == spec.id).expect("compiled above").1;
            suite::run_in_process(&engine, module, spec, mode)
        })
    });
}
