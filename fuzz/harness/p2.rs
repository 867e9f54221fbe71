//! The WASI 0.2 harness, shared by the fuzz target (`fuzz_targets/p2.rs`) and the stable replay
//! of its corpus and regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! The call fuzzer of `tests/no_panic_p2.rs` (declared beside this module as `crate::p2_calls`)
//! driven by the input's bytes instead of a seed: every host function of the `wasi:cli/command`
//! world (each `descriptor` method, directory-entry streams, preopens, streams, pollables and
//! `poll`, errors, cli, clocks, random, sockets under the default no-network policy) called on a
//! `WasiCtx` — the functions `hammertime::p2::add_to_linker` links, below the canonical ABI,
//! which is Wasmtime's — with handles live and of the right type, of the wrong type, dropped or
//! made up, paths from a small alphabet with `..`, absolute, empty, over-long and NUL paths,
//! links out of the sandbox, flags as bit patterns, sizes and offsets at the edges. The first
//! byte picks the mounts: a `MemFs` with a quota (and a second one at `/tmp`), a
//! `ReadOnly<MemFs>`, a `HostDir` (read-write at `/`, read-only at `/ro`) or none.
//!
//! Oracles (`p2_calls`): no panic; every `error-code` one the call can give on Linux, and the
//! same after `convert-error-code`; no trap while every handle is live and of its type, except
//! the documented ones; on the host directory, nothing outside it changed; on the read-only
//! `MemFs`, nothing changed.

use crate::p2_calls::{Fuzz, Source, ctx_builder, hostdir_run, populate_memfs, quota_memfs};
use hammertime::vfs::{FileSystem, MemFs, ReadOnly};

/// The most calls one input makes (fewer when its bytes run out).
pub const MAX_CALLS: usize = 400;

/// Runs the calls `data` encodes and checks the oracles; returns the number of calls made.
pub fn check(data: &[u8]) -> usize {
    let Some((&mode, rest)) = data.split_first() else { return 0 };
    let source = Source::Bytes(rest.to_vec(), 0);
    let f = match mode % 4 {
        0 => {
            let (fs, other) = (quota_memfs(), quota_memfs());
            populate_memfs(&fs);
            let ctx = ctx_builder().preopen(fs, "/").preopen(other, "/tmp").build().expect("a context");
            run(Fuzz::new("MemFs", ctx, source))
        }
        1 => {
            let fs = quota_memfs();
            populate_memfs(&fs);
            let before = tree(&fs);
            let ctx = ctx_builder().preopen(ReadOnly::new(fs.clone()), "/").build().expect("a context");
            let f = run(Fuzz::new("ReadOnly<MemFs>", ctx, source));
            assert_eq!(tree(&fs), before, "a read-only MemFs changed");
            f
        }
        2 => return hostdir_run("HostDir", source, MAX_CALLS, false),
        _ => run(Fuzz::new("no preopens", ctx_builder().build().expect("a context"), source)),
    };
    assert!(f.findings.is_empty(), "findings:\n{}", f.findings.iter().cloned().collect::<Vec<_>>().join("\n"));
    f.calls
}

fn run(mut f: Fuzz) -> Fuzz {
    f.run(MAX_CALLS);
    f
}

/// The tree of `fs` (`ops::snapshot`: types, sizes, contents, link targets).
fn tree(fs: &MemFs) -> std::collections::BTreeMap<String, String> {
    crate::ops::snapshot(&fs.root().expect("a root"))
}
