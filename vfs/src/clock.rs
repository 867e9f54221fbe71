//! The wall clock that stamps file times.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, in nanoseconds since the Unix epoch.
///
/// [`crate::MemFs`] stamps file times with one; hammertime's context uses the same trait for
/// `clock_time_get(realtime)`, so a fixed clock makes both deterministic.
pub trait WallClock: Send + Sync + 'static {
    /// The current time in nanoseconds since the Unix epoch.
    fn now(&self) -> u64;

    /// The clock's resolution in nanoseconds. Default: 1.
    fn resolution(&self) -> u64 {
        1
    }
}

/// The host's real-time clock (`SystemTime::now`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> u64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Err(_) => 0,
        }
    }

    fn resolution(&self) -> u64 {
        1
    }
}
