//! `cargo +nightly fuzz run p2`: WASI 0.2 host calls driven by the input's bytes, on a `MemFs`,
//! a read-only one, a `HostDir` or no mounts (see `harness/p2.rs` for the oracles).
#![no_main]

#[path = "../harness/p2.rs"]
mod harness;
#[path = "../harness/ops.rs"]
mod ops;
#[path = "../../tests/p2_calls/mod.rs"]
mod p2_calls;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
