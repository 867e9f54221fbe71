//! `wasi:clocks`: `wall-clock` and `monotonic-clock`, over the context's clocks.

use wasmtime::component::Resource;

use crate::WasiCtx;
use crate::p2::bindings::wasi::clocks::{monotonic_clock, wall_clock};
use crate::p2::io::Pollable;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Nanoseconds since the epoch as a WIT `datetime`.
pub(crate) fn datetime(nanos: u64) -> wall_clock::Datetime {
    wall_clock::Datetime { seconds: nanos / NANOS_PER_SEC, nanoseconds: (nanos % NANOS_PER_SEC) as u32 }
}

impl wall_clock::Host for WasiCtx {
    fn now(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        Ok(datetime(self.wall.now()))
    }

    fn resolution(&mut self) -> wasmtime::Result<wall_clock::Datetime> {
        Ok(datetime(self.wall.resolution()))
    }
}

impl monotonic_clock::Host for WasiCtx {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.now())
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.resolution())
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<Pollable>> {
        Ok(self.table.push(Pollable::Deadline(when))?)
    }

    fn subscribe_duration(&mut self, when: u64) -> wasmtime::Result<Resource<Pollable>> {
        let at = self.mono.now().saturating_add(when);
        Ok(self.table.push(Pollable::Deadline(at))?)
    }
}
