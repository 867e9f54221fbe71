//! `wasi:random`: `random`, `insecure` and `insecure-seed`, all from the context's random
//! source (so a seeded context is deterministic for components too).

use crate::WasiCtx;
use crate::p2::bindings::wasi::random::{insecure, insecure_seed, random};

/// The bytes of one `get-random-bytes` or `get-insecure-random-bytes` call: more than
/// [`Limits::random_bytes`](crate::Limits::random_bytes) is a trap (the WIT function has no error
/// to answer with).
fn bytes(ctx: &mut WasiCtx, len: u64) -> wasmtime::Result<Vec<u8>> {
    let max = ctx.limits.random_bytes;
    if len > u64::from(max) {
        wasmtime::bail!("random bytes requested ({len}) exceed the limit of {max} (Limits::random_bytes)");
    }
    let mut buf = vec![0; len as usize];
    ctx.random.fill(&mut buf)?;
    Ok(buf)
}

fn u64_of(ctx: &mut WasiCtx) -> wasmtime::Result<u64> {
    Ok(ctx.random.u64()?)
}

impl random::Host for WasiCtx {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        bytes(self, len)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        u64_of(self)
    }
}

impl insecure::Host for WasiCtx {
    fn get_insecure_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        bytes(self, len)
    }

    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        u64_of(self)
    }
}

impl insecure_seed::Host for WasiCtx {
    fn insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        Ok(self.random.insecure_seed()?)
    }
}
