//! `wasi:random@0.3.0`: `random`, `insecure` and `insecure-seed`, all from the context's random
//! source (a seeded context is deterministic for 0.3 components too).
//!
//! `get-random-bytes(max-len)` may return fewer bytes than asked (the WIT says so): at most
//! [`Limits::random_bytes`](crate::Limits::random_bytes), and at least one when `max-len` is
//! not zero.

use super::bindings::wasi::random::{insecure, insecure_seed, random};
use crate::WasiCtx;

fn bytes(ctx: &mut WasiCtx, max_len: u64) -> wasmtime::Result<Vec<u8>> {
    let len = max_len.min(u64::from(ctx.limits.random_bytes).max(1));
    let mut buf = vec![0; usize::try_from(len)?];
    ctx.random.fill(&mut buf)?;
    Ok(buf)
}

impl random::Host for WasiCtx {
    fn get_random_bytes(&mut self, max_len: u64) -> wasmtime::Result<Vec<u8>> {
        bytes(self, max_len)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.random.u64()?)
    }
}

impl insecure::Host for WasiCtx {
    fn get_insecure_random_bytes(&mut self, max_len: u64) -> wasmtime::Result<Vec<u8>> {
        bytes(self, max_len)
    }

    fn get_insecure_random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(self.random.u64()?)
    }
}

impl insecure_seed::Host for WasiCtx {
    fn get_insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        Ok(self.random.insecure_seed()?)
    }
}
