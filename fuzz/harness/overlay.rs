//! The overlay harness, shared by the fuzz target (`fuzz_targets/overlay.rs`) and the stable
//! replay of its corpus and regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! The operations of `ops.rs` (declared beside this module as `crate::ops`), applied to an `Overlay` of a `MemFs` over a read-only `MemFs`
//! and to a plain `MemFs`, both starting from the same tree. Oracles: no panic; every result,
//! errno for errno, the same on both sides — except that renaming a directory that has a lower
//! copy is `EXDEV` on the overlay, as on Linux overlayfs (then the plain `MemFs` is not asked),
//! and a merged directory's link count is 1 (not compared); a listing, resumed from any cookie,
//! gives the same names on both sides, each once; after the sequence, the same tree with the
//! same file contents; the lower layer unchanged.

use crate::ops::{self, Side};
use hammertime_vfs::{Errno, FileSystem, FileType, MemFs, Overlay, ReadOnly, resolve};

/// Runs the sequence `data` encodes on both sides and checks the oracles; returns the number of
/// operations run.
pub fn check(data: &[u8]) -> usize {
    let lower = MemFs::new();
    ops::seed(&lower.root().expect("root"));
    let lower_before = ops::snapshot(&lower.root().expect("root"));
    let overlay = Overlay::new(MemFs::new(), ReadOnly::new(lower.clone())).expect("an overlay of MemFs roots");
    let plain = MemFs::new();
    ops::seed(&plain.root().expect("root"));
    let mut o = Side::new(overlay.root().expect("root"));
    let mut m = Side::new(plain.root().expect("root"));
    // Renaming a directory with a lower copy may be EXDEV (then the plain MemFs is not asked).
    let xdev = format!("err {}", Errno::Xdev.name());
    let ops = ops::run_both(data, &mut o, &mut m, "Overlay vs MemFs", |op, result, plain| {
        if op.op != 4 || result != xdev {
            return false;
        }
        let st = resolve::stat(&plain.root, &op.p, false).expect("the source exists");
        assert_eq!(st.filetype, FileType::Directory, "EXDEV renaming {:?}, not a directory", op.p);
        true
    });
    assert_eq!(ops::snapshot(&lower.root().expect("root")), lower_before, "the lower layer changed");
    ops
}
