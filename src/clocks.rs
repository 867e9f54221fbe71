//! Clocks the guest reads: the wall clock ([`WallClock`]), the monotonic clock
//! ([`MonotonicClock`]), and deterministic ones for tests ([`FixedClock`], [`ManualClock`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use hammertime_vfs::{SystemClock, WallClock};

/// A monotonic clock, in nanoseconds from an arbitrary fixed origin
/// (`clock_time_get(monotonic)`).
///
/// ```
/// use std::time::Duration;
/// use hammertime::{WasiCtx, clocks::{HostMonotonicClock, MonotonicClock}};
///
/// // The host's clock at twice real speed: a guest's one-second sleep lasts half a second.
/// struct Double(HostMonotonicClock);
///
/// impl MonotonicClock for Double {
///     fn now(&self) -> u64 {
///         self.0.now().saturating_mul(2)
///     }
///     fn wait_for(&self, nanos: u64) -> Duration {
///         Duration::from_nanos(nanos / 2)
///     }
/// }
///
/// let clock = Double(HostMonotonicClock::new());
/// assert_eq!(clock.wait_for(1_000_000_000), Duration::from_millis(500));
/// let ctx = WasiCtx::builder().monotonic_clock(clock).build()?;
/// # Ok::<(), hammertime::BuildError>(())
/// ```
pub trait MonotonicClock: Send + Sync + 'static {
    /// Nanoseconds since the clock's origin; never decreases.
    fn now(&self) -> u64;

    /// The clock's resolution in nanoseconds. Default: 1.
    fn resolution(&self) -> u64 {
        1
    }

    /// How long the host waits, in real time, for `nanos` of this clock's time to pass when the
    /// guest waits that long with nothing else to wake it (a `poll_oneoff` clock, a WASI 0.2
    /// `block` on a deadline). The wait then counts as done, whatever the clock reads. A clock
    /// may move itself here. Default: `nanos` of real time, for a clock that runs at real speed.
    fn wait_for(&self, nanos: u64) -> std::time::Duration {
        std::time::Duration::from_nanos(nanos)
    }
}

/// The host's monotonic clock ([`Instant`], `CLOCK_MONOTONIC`), counted from when the clock was made.
/// It is the context's default.
///
/// ```
/// use std::time::Duration;
/// use hammertime::clocks::{HostMonotonicClock, MonotonicClock};
/// let clock = HostMonotonicClock::new();
/// let start = clock.now(); // close to 0: the origin is when `new` ran
/// std::thread::sleep(Duration::from_millis(2));
/// assert!(clock.now() - start >= 2_000_000);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HostMonotonicClock {
    origin: Instant,
}

/// The host clock `id` in nanoseconds (rustix's own vDSO lookup: not for the hot monotonic
/// clock, which std reads through the C library's, the one profilers such as Valgrind expect).
pub(crate) fn host_clock_nanos(id: rustix::time::ClockId) -> u64 {
    let ts = rustix::time::clock_gettime(id);
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

impl HostMonotonicClock {
    /// A monotonic clock whose origin is now.
    pub fn new() -> Self {
        HostMonotonicClock { origin: Instant::now() }
    }
}

impl Default for HostMonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MonotonicClock for HostMonotonicClock {
    fn now(&self) -> u64 {
        // u64 arithmetic, not `as_nanos`' u128: good for 584 years from the origin.
        let d = Instant::now().saturating_duration_since(self.origin);
        d.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(d.subsec_nanos()))
    }
}

/// A clock that always reads the same time; serves as both wall and monotonic clock.
///
/// ```
/// use hammertime::clocks::{FixedClock, MonotonicClock, WallClock};
/// let clock = FixedClock::new(1_700_000_000_000_000_000);
/// assert_eq!(WallClock::now(&clock), 1_700_000_000_000_000_000);
/// assert_eq!(MonotonicClock::now(&clock), 1_700_000_000_000_000_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock {
    nanos: u64,
}

impl FixedClock {
    /// A clock stopped at `nanos` nanoseconds (since the Unix epoch when used as wall clock).
    pub fn new(nanos: u64) -> Self {
        FixedClock { nanos }
    }
}

impl WallClock for FixedClock {
    fn now(&self) -> u64 {
        self.nanos
    }
}

/// Time stands still: a wait takes no time (and the clock still reads the same).
impl MonotonicClock for FixedClock {
    fn now(&self) -> u64 {
        self.nanos
    }

    fn wait_for(&self, _nanos: u64) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// A clock that moves only when told to (or when the guest waits on it: see its
/// [`MonotonicClock::wait_for`]); clones share the time, so a test keeps one clone and
/// hands another to the context. Serves as both wall and monotonic clock.
///
/// ```
/// use hammertime::clocks::{ManualClock, MonotonicClock};
/// let clock = ManualClock::new(10);
/// let handle = clock.clone();
/// handle.advance(std::time::Duration::from_nanos(5));
/// assert_eq!(MonotonicClock::now(&clock), 15);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `nanos`.
    pub fn new(nanos: u64) -> Self {
        ManualClock { nanos: Arc::new(AtomicU64::new(nanos)) }
    }

    /// Moves the clock forward (saturating at `u64::MAX`).
    pub fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(by)));
    }

    /// Sets the time. As a monotonic clock, never set it backwards.
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// The current reading.
    pub fn get(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

impl WallClock for ManualClock {
    fn now(&self) -> u64 {
        self.get()
    }
}

/// A wait moves the clock forward by its length and takes no real time, so a test of a guest
/// that sleeps runs at once and sees the time it slept pass.
///
/// ```
/// use hammertime::clocks::{ManualClock, MonotonicClock};
/// let clock = ManualClock::new(0);
/// assert_eq!(clock.wait_for(1_000), std::time::Duration::ZERO);
/// assert_eq!(MonotonicClock::now(&clock), 1_000);
/// ```
impl MonotonicClock for ManualClock {
    fn now(&self) -> u64 {
        self.get()
    }

    fn wait_for(&self, nanos: u64) -> std::time::Duration {
        self.advance(std::time::Duration::from_nanos(nanos));
        std::time::Duration::ZERO
    }
}
