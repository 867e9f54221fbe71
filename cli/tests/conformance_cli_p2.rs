//! The official wasi-testsuite as WASI 0.2 components through the `hammertime` binary: every
//! test module is adapted into a component (once per process, at test time), written to a
//! temporary `NAME.wasm`, and run like the preview1 modules in `conformance_cli.rs`:
//! `hammertime run [--env K=V]... [--dir ROOT::/ | --mem-dir ROOT::/] NAME.wasm ARGS...`.
//! Same ratchet list (`tests/conformance-expected.txt`, modes `cli-p2-dir` and `cli-p2-mem-dir`).

#[path = "../../tests/suite/mod.rs"]
mod suite;

use std::path::Path;

use suite::Mode;

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let binary = Path::new(env!("CARGO_BIN_EXE_hammertime"));
    let out_dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("conformance-cli-p2: tempdir: {e}");
            std::process::exit(1);
        }
    };
    suite::main("conformance-cli-p2", &workspace, &[Mode::CliP2Dir, Mode::CliP2MemDir], |specs| {
        // One folder per suite: the component keeps its module's file name (argv[0]).
        let components = suite::adapt_all("conformance-cli-p2", specs, |spec, bytes| {
            let path = out_dir.path().join(&spec.suite).join(spec.wasm.file_name().unwrap_or_default());
            std::fs::create_dir_all(out_dir.path().join(&spec.suite))
                .and_then(|()| std::fs::write(&path, bytes))
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(path)
        });
        Box::new(move |spec, mode| {
            suite::with_prepared(specs, &components, spec, |path| suite::run_cli_on(binary, path, spec, mode))
        })
    });
}
