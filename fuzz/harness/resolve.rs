//! The resolver harness, shared by the fuzz target (`fuzz_targets/resolve.rs`) and the stable
//! replay of its corpus and regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! The operations of `ops.rs` (declared beside this module as `crate::ops`) on a `MemFs` and on a `HostDir` over a fresh temporary directory,
//! both seeded with the same tree: the one resolver (`vfs::resolve`) walking `.`, `..`, links and
//! trailing slashes over `MemFs`'s single-name calls, against the same walk over the Linux
//! kernel's `*at` and `openat2` calls. Oracles: no panic; every result, errno for errno, the same
//! on both sides (writes and truncation only through handles opened for writing: a host
//! descriptor opened read-only refuses them itself); resumed listings give the same names, each
//! once; the same tree and file contents at the end; nothing outside the temporary root changed
//! (a file `x` beside it, which the link target `../x` names, and the directory holding both).

use crate::ops::{self, Side};
use hammertime_vfs::{FileSystem, HostDir, MemFs};

/// Runs the sequence `data` encodes on both sides and checks the oracles; returns the number of
/// operations run.
pub fn check(data: &[u8]) -> usize {
    let dirs = ops::HostRoot::create();
    let host = HostDir::open(&dirs.root).expect("a HostDir");
    let mem = MemFs::new();
    let mut h = Side::respecting_open_modes(host.root().expect("root"));
    let mut m = Side::respecting_open_modes(mem.root().expect("root"));
    ops::seed(&h.root);
    ops::seed(&m.root);
    let ops = ops::run_both(data, &mut m, &mut h, "MemFs vs HostDir", |_, _, _| false);
    drop((h, m));
    dirs.check_outside();
    ops
}
