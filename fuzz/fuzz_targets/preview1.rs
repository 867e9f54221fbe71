//! `cargo +nightly fuzz run preview1`: preview1 call sequences from a real guest through the
//! linked host functions, on a `MemFs` and on a `HostDir` in lockstep (see
//! `harness/preview1.rs` for the oracles).
#![no_main]

#[path = "../harness/preview1.rs"]
mod harness;
#[path = "../harness/ops.rs"]
mod ops;
#[path = "../../tests/support/mod.rs"]
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
