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
    let base = tempfile::tempdir().expect("a temporary directory");
    let outside = base.path().join("x");
    std::fs::write(&outside, "outside").expect("the file outside");
    let root_path = base.path().join("root");
    std::fs::create_dir(&root_path).expect("the root");
    let host = HostDir::open(&root_path).expect("a HostDir");
    let mem = MemFs::new();
    let mut h = Side::respecting_open_modes(host.root().expect("root"));
    let mut m = Side::respecting_open_modes(mem.root().expect("root"));
    ops::seed(&h.root);
    ops::seed(&m.root);
    let ops = ops::run_both(data, &mut m, &mut h, "MemFs vs HostDir", |_, _, _| false);
    drop((h, m));
    assert_eq!(std::fs::read(&outside).expect("the file outside"), b"outside", "a change outside the root");
    let mut names: Vec<_> =
        std::fs::read_dir(base.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
    names.sort();
    assert_eq!(names, ["root", "x"], "an entry created outside the root");
    ops
}
