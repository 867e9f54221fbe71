//! The official wasi-testsuite as WASI 0.2 components, in-process: every test module is adapted
//! into a `wasi:cli/command` component with the preview1 adapter (once per process, at test
//! time) and run through `hammertime::p2` with its root served by `MemFs`, by `HostDir` and by an
//! `Overlay` (as in `tests/conformance.rs`), Rust tests in strict errno mode.
//!
//! Same ratchet list (`tests/conformance-expected.txt`, modes `p2-memfs`, `p2-hostdir` and `p2-overlay`);
//! why the failing tests fail is in `notes/p2-suite.md`.
//! Run only this: `cargo test --test conformance_p2`. Filter: `cargo test --test conformance_p2 -- fd_`.

mod suite;

use std::path::Path;

use hammertime::WasiCtx;
use suite::Mode;
use wasmtime::component::{Component, Linker};

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = suite::engine();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    if let Err(e) = hammertime::p2::add_to_linker(&mut linker, |c: &mut WasiCtx| c) {
        eprintln!("conformance-p2: add_to_linker: {e:?}");
        std::process::exit(1);
    }
    suite::main("conformance-p2", workspace, &[Mode::P2MemFs, Mode::P2HostDir, Mode::P2Overlay], |specs| {
        let components = suite::adapt_all("conformance-p2", specs, |spec, bytes| {
            Component::new(&engine, &bytes).map_err(|e| format!("compiling the adapted {}: {e:#}", spec.id))
        });
        let (engine, linker) = (engine.clone(), linker.clone());
        Box::new(move |spec, mode| {
            suite::with_prepared(specs, &components, spec, |c| suite::run_component(&engine, &linker, c, spec, mode))
        })
    });
}
