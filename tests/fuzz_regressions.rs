//! The fuzz targets' seeds and regressions, replayed on stable: every input under
//! `fuzz/corpus/TARGET/` (the committed seed corpus) and `fuzz/regressions/TARGET/` (the
//! minimized inputs of crashes found, once fixed) goes through the same harness function as
//! `cargo +nightly fuzz run TARGET` (see `fuzz/README.md`), so a fixed crash stays fixed without
//! nightly.

#[path = "../fuzz/harness/archive.rs"]
mod archive;
#[path = "../fuzz/harness/ops.rs"]
mod ops;
#[path = "../fuzz/harness/overlay.rs"]
mod overlay;
#[path = "../fuzz/harness/p2.rs"]
mod p2;
mod p2_calls;
#[path = "../fuzz/harness/preview1.rs"]
mod preview1;
#[path = "../fuzz/harness/resolve.rs"]
mod resolve;
mod support;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in [fuzz.join("corpus").join(target), fuzz.join("regressions").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_file() && path.file_name().is_some_and(|n| n != "README.md") {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn archive_regressions_pass_the_harness() {
    let inputs = inputs("archive");
    assert!(inputs.len() >= 3, "the archive seeds are missing ({} inputs)", inputs.len());
    for (name, data) in inputs {
        eprintln!("replaying {name}");
        let opened = archive::check(&data);
        // The seeds are valid archives: they must open and be walked, or the harness checks nothing.
        assert!(opened || !name.contains("/corpus/archive/seed-"), "{name} did not open");
    }
}

/// Replays the inputs of a sequence target through `check`; they must run at least 100
/// operations together, or the replay proves little.
fn replay_sequences(target: &str, check: fn(&[u8]) -> usize) {
    let inputs = inputs(target);
    assert!(inputs.len() >= 3, "the {target} seeds are missing ({} inputs)", inputs.len());
    let mut ops = 0;
    for (name, data) in inputs {
        eprintln!("replaying {name}");
        ops += check(&data);
    }
    assert!(ops >= 100, "{ops} operations");
}

#[test]
fn overlay_regressions_pass_the_harness() {
    replay_sequences("overlay", overlay::check);
}

#[test]
fn resolve_regressions_pass_the_harness() {
    replay_sequences("resolve", resolve::check);
}

#[test]
fn preview1_regressions_pass_the_harness() {
    replay_sequences("preview1", preview1::check);
}

#[test]
fn p2_regressions_pass_the_harness() {
    replay_sequences("p2", p2::check);
}
