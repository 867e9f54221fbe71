//! `cargo +nightly fuzz run overlay`: operation sequences on an `Overlay` and on a `MemFs` with
//! the same contents (see `harness/overlay.rs` for the operations and the oracles).
#![no_main]

#[path = "../harness/overlay.rs"]
mod harness;
#[path = "../harness/ops.rs"]
mod ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
