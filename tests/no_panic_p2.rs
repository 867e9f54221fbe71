//! No host panic, whatever a component passes: every WASI 0.2 host function (filesystem
//! `types` — every `descriptor` method and the directory-entry stream —, `preopens`, `io`
//! streams, poll and error, `cli`, `clocks`, `random`, `sockets` under the default policy) called
//! tens of thousands of times, straight on a [`WasiCtx`], with seeded random arguments: handles
//! that are live and of the right type, live and of the wrong type, dropped, or made up; paths
//! from a small alphabet with `..`, `/`, absolute, empty, over-long and NUL paths and links that
//! point out of the sandbox; flags as random bit patterns; sizes and offsets at the edges.
//!
//! The oracle, for each call:
//! - no panic (each call runs under `catch_unwind`; a panic fails with the call and arguments);
//! - an `error-code` (or stream `last-operation-failed`) errno is one the call can plausibly
//!   give, as Linux would;
//! - with every handle argument live and of its right type, no trap (except the documented
//!   ones: over-long writes, too many random bytes, an empty poll list, exit, and dropping a
//!   stream that still has a pollable);
//! - on the `HostDir` backend, nothing outside the host directory changes: a sibling
//!   directory, which links in the sandbox point at, is snapshotted before and after.
//!
//! Waits are bounded: clock pollables are in the past or at most ~200 µs ahead; a pollable
//! with a far deadline is made, asked `ready` and dropped in the same step, so no `poll` or
//! `block` can ever meet one.
//!
//! Handles are always passed as the canonical ABI would: `self` and `borrow<…>` arguments as
//! borrowed resources, the argument of a resource's `drop` as an owned one (Wasmtime's
//! `ResourceTable::delete` debug-asserts that).
//!
//! The fuzzer itself is in `p2_calls/`, which the `p2` fuzz target (`fuzz/harness/p2.rs`) drives
//! from libFuzzer's bytes instead of a seed.

mod p2_calls;

use std::panic::{AssertUnwindSafe, catch_unwind};

use hammertime::Errno;
use hammertime::p2::bindings::wasi;
use hammertime::p2::filesystem::FsError;
use hammertime::p2::io::StreamError;
use hammertime::random::SeededRandom;
use hammertime::vfs::{MemFs, ReadOnly};
use p2_calls::{Fuzz, Source, WEIGHTS, ctx_builder, hostdir_run, populate_memfs, quota_memfs};
use wasi::cli::stdin;
use wasi::clocks::monotonic_clock;
use wasi::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
use wasi::filesystem::{preopens, types};
use wasi::io::streams;
use wasmtime::component::{Resource, ResourceTableError};

fn check(f: Fuzz) -> usize {
    f.report();
    let calls = f.calls;
    // Every host function was reached.
    for (name, _) in WEIGHTS {
        assert!(f.outcomes.contains_key(name), "[{}] {name} never called", f.label);
    }
    assert!(f.findings.is_empty(), "findings:\n{}", f.findings.into_iter().collect::<Vec<_>>().join("\n"));
    calls
}

#[test]
fn memfs_survives_random_p2_calls() {
    let mut calls = 0;
    for seed in 0..2 {
        let (fs, other) = (quota_memfs(), quota_memfs());
        populate_memfs(&fs);
        let ctx = ctx_builder().preopen(fs, "/").preopen(other, "/tmp").build().unwrap();
        let mut f = Fuzz::new(&format!("MemFs seed {seed}"), ctx, Source::Seeded(SeededRandom::new(seed)));
        f.run(12_000);
        calls += check(f);
    }
    eprintln!("MemFs: {calls} calls");
}

#[test]
fn read_only_memfs_survives_random_p2_calls() {
    let fs = quota_memfs();
    populate_memfs(&fs);
    let ctx = ctx_builder().preopen(ReadOnly::new(fs.clone()), "/").build().unwrap();
    let mut f = Fuzz::new("ReadOnly<MemFs> seed 20", ctx, Source::Seeded(SeededRandom::new(20)));
    f.run(12_000);
    check(f);
    // Nothing changed.
    assert_eq!(fs.read_file("d/f").unwrap(), b"data");
    assert_eq!(fs.read_dir("").unwrap().len(), 8);
}

#[test]
fn hostdir_survives_random_p2_calls() {
    let mut calls = 0;
    for seed in 30..32 {
        calls += hostdir_run(&format!("HostDir seed {seed}"), Source::Seeded(SeededRandom::new(seed)), 10_000, true);
    }
    eprintln!("HostDir: {calls} calls");
}

#[test]
fn no_preopens_survive_random_p2_calls() {
    let ctx = ctx_builder().build().unwrap();
    let mut f = Fuzz::new("no preopens seed 40", ctx, Source::Seeded(SeededRandom::new(40)));
    f.run(10_000);
    f.report();
    assert!(f.findings.is_empty(), "findings:\n{}", f.findings.into_iter().collect::<Vec<_>>().join("\n"));
}

/// A full resource table (Wasmtime's limit: a million entries) is an error, never a panic:
/// `open-at` and the stream constructors answer `insufficient-memory` (ENFILE), the functions
/// without an error type trap; after a drop everything works again.
#[test]
fn a_full_table_is_an_error_not_a_panic() {
    let fs = MemFs::new();
    fs.write_file("f", b"data").unwrap();
    let mut ctx = ctx_builder().preopen(fs, "/").build().unwrap();
    let pre = preopens::Host::get_directories(&mut ctx).unwrap().remove(0).0.rep();
    let file = types::HostDescriptor::open_at(
        &mut ctx,
        Resource::new_borrow(pre),
        PathFlags::empty(),
        "f".into(),
        OpenFlags::empty(),
        DescriptorFlags::READ,
    )
    .unwrap()
    .rep();
    let mut last = None;
    for _ in 0..2_000_000 {
        match stdin::Host::get_stdin(&mut ctx) {
            Ok(s) => last = Some(s.rep()),
            Err(e) => {
                assert!(matches!(e.downcast_ref::<ResourceTableError>(), Some(ResourceTableError::Full)), "{e:?}");
                break;
            }
        }
    }
    let last = last.expect("some pushes worked");
    let full = catch_unwind(AssertUnwindSafe(|| {
        let open = types::HostDescriptor::open_at(
            &mut ctx,
            Resource::new_borrow(pre),
            PathFlags::empty(),
            "f".into(),
            OpenFlags::empty(),
            DescriptorFlags::READ,
        );
        assert!(matches!(open, Err(FsError::Code(Errno::Nfile))), "{open:?}");
        let code = types::Host::convert_error_code(&mut ctx, FsError::Code(Errno::Nfile)).unwrap();
        assert_eq!(code, types::ErrorCode::InsufficientMemory);
        let stream = types::HostDescriptor::read_via_stream(&mut ctx, Resource::new_borrow(file), 0);
        assert!(matches!(stream, Err(FsError::Code(Errno::Nfile))), "{:?}", stream.err());
        let listing = types::HostDescriptor::read_directory(&mut ctx, Resource::new_borrow(pre));
        assert!(matches!(listing, Err(FsError::Code(Errno::Nfile))), "{:?}", listing.err());
        assert!(preopens::Host::get_directories(&mut ctx).is_err());
        assert!(monotonic_clock::Host::subscribe_duration(&mut ctx, 0).is_err());
        assert!(streams::HostInputStream::subscribe(&mut ctx, Resource::new_borrow(last)).is_err());
        // A stream error needs a slot for its `error` resource: the conversion traps.
        assert!(streams::Host::convert_stream_error(&mut ctx, StreamError::Failed(Errno::Io)).is_err());
        // Calls that push nothing still work.
        assert_eq!(streams::HostInputStream::read(&mut ctx, Resource::new_borrow(last), 4).unwrap(), b"line");
        streams::HostInputStream::drop(&mut ctx, Resource::new_own(last)).unwrap();
        let open = types::HostDescriptor::open_at(
            &mut ctx,
            Resource::new_borrow(pre),
            PathFlags::empty(),
            "f".into(),
            OpenFlags::empty(),
            DescriptorFlags::READ,
        );
        assert!(open.is_ok(), "{:?}", open.err());
    }));
    assert!(full.is_ok(), "a host function panicked with a full table");
}
