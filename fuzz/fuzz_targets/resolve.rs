//! `cargo +nightly fuzz run resolve`: operation sequences on a `MemFs` and on a `HostDir` with
//! the same contents (see `harness/resolve.rs` for the oracles).
#![no_main]

#[path = "../harness/resolve.rs"]
mod harness;
#[path = "../harness/ops.rs"]
mod ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
