//! `cargo +nightly fuzz run archive`: hostile bytes as a tar, tar.gz or zip (see
//! `harness/archive.rs` for the oracles).
#![no_main]

#[path = "../harness/archive.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::check(data);
});
