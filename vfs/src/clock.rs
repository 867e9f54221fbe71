//! The wall clock that stamps file times.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, in nanoseconds since the Unix epoch.
///
/// [`crate::MemFs`] stamps file times with one; hammertime's context uses the same trait for
/// `clock_time_get(realtime)`, so a fixed clock makes both deterministic.
///
/// ```
/// use std::sync::Arc;
/// use hammertime_vfs::{MemFs, WallClock};
///
/// // A clock stopped at 14 November 2023, 22:13:20 UTC.
/// struct Stopped;
///
/// impl WallClock for Stopped {
///     fn now(&self) -> u64 {
///         1_700_000_000_000_000_000
///     }
/// }
///
/// let fs = MemFs::with_clock(Arc::new(Stopped));
/// fs.write_file("log.txt", "started")?;
/// assert_eq!(fs.metadata("log.txt")?.mtim, 1_700_000_000_000_000_000);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait WallClock: Send + Sync + 'static {
    /// The current time in nanoseconds since the Unix epoch.
    fn now(&self) -> u64;

    /// The clock's resolution in nanoseconds. Default: 1.
    fn resolution(&self) -> u64 {
        1
    }
}

/// The host's real-time clock (`SystemTime::now`).
///
/// ```
/// use hammertime_vfs::{SystemClock, WallClock};
/// let now = SystemClock.now();
/// assert!(now > 1_600_000_000_000_000_000); // after September 2020
/// assert_eq!(SystemClock.resolution(), 1);
/// ```
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
