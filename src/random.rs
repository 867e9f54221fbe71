//! Sources of the bytes `random_get` hands the guest.

/// A source of random bytes for `random_get`.
///
/// ```
/// use hammertime::{WasiCtx, random::RandomSource};
///
/// // Every byte the same: a guest's "random" output becomes reproducible.
/// struct Constant(u8);
///
/// impl RandomSource for Constant {
///     fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
///         buf.fill(self.0);
///         Ok(())
///     }
/// }
///
/// let mut buf = [0u8; 4];
/// Constant(0x2a).fill(&mut buf)?;
/// assert_eq!(buf, [0x2a; 4]);
/// let ctx = WasiCtx::builder().random(Constant(0x2a)).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RandomSource: Send + 'static {
    /// Fills `buf` entirely.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()>;
}

/// A context's randomness: its [`RandomSource`], and the insecure seed drawn from it once.
pub(crate) struct Randomness {
    source: Box<dyn RandomSource>,
    seed: Option<(u64, u64)>,
}

impl Randomness {
    pub fn new(source: Box<dyn RandomSource>) -> Self {
        Randomness { source, seed: None }
    }

    /// Fills `buf` from the source.
    pub fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.source.fill(buf)
    }

    /// Eight bytes of the source, little-endian.
    pub fn u64(&mut self) -> std::io::Result<u64> {
        let mut buf = [0; 8];
        self.source.fill(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }

    /// `wasi:random/insecure-seed`: drawn from the source by the first call and the same at
    /// every later one, as the WIT means it (a value, one per instance: Wasmtime gives one per
    /// context). A seeded context stays reproducible.
    pub fn insecure_seed(&mut self) -> std::io::Result<(u64, u64)> {
        if let Some(seed) = self.seed {
            return Ok(seed);
        }
        let seed = (self.u64()?, self.u64()?);
        self.seed = Some(seed);
        Ok(seed)
    }
}

/// The operating system's cryptographically secure generator (`getrandom(2)`), the context's
/// default.
///
/// ```
/// use hammertime::random::{OsRandom, RandomSource};
/// let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
/// OsRandom.fill(&mut a)?;
/// OsRandom.fill(&mut b)?;
/// assert_ne!(a, b); // equal with probability 2^-256
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, mut buf: &mut [u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            let n = rustix::rand::getrandom(&mut *buf, rustix::rand::GetRandomFlags::empty())?;
            buf = buf.get_mut(n..).unwrap_or_default();
        }
        Ok(())
    }
}

/// splitmix64's increment: 2^64 divided by the golden ratio, odd.
pub(crate) const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's finalizer: a bijection on `u64` (each step is invertible) that spreads every
/// input bit over the output.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic generator (xoshiro256** seeded through splitmix64): the same seed gives the
/// same bytes on every run and platform. For tests and reproducible runs only, never for
/// secrets.
///
/// ```
/// use hammertime::random::{RandomSource, SeededRandom};
/// let (mut a, mut b) = (SeededRandom::new(42), SeededRandom::new(42));
/// let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
/// a.fill(&mut x).unwrap();
/// b.fill(&mut y).unwrap();
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug)]
pub struct SeededRandom {
    s: [u64; 4],
}

impl SeededRandom {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(GOLDEN_GAMMA);
            mix64(x)
        };
        SeededRandom { s: [next(), next(), next(), next()] }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_seed_dependent() {
        let mut a = SeededRandom::new(1);
        let mut b = SeededRandom::new(2);
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_ne!(x, y);
        let mut a2 = SeededRandom::new(1);
        let mut x2 = [0u8; 13];
        a2.fill(&mut x2).unwrap();
        assert_eq!(x, x2);
    }

    #[test]
    fn os_random_fills_large_buffers() {
        let mut buf = vec![0u8; 1 << 20];
        OsRandom.fill(&mut buf).unwrap();
        assert!(buf.iter().filter(|&&b| b == 0).count() < 1 << 14);
    }
}
