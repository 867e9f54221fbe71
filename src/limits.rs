//! [`Limits`]: how much of the host one guest may use in one call, and at once.
//!
//! Every limit answers the guest the way a POSIX system answers a program that reaches the same
//! limit (an errno, a short count), never with a trap, so a hostile guest costs the host bounded
//! work and memory per call while a normal program never notices. Set them with
//! [`WasiCtxBuilder::limits`](crate::WasiCtxBuilder::limits).
//!
//! What the limits do not cover, and the embedder should still set in Wasmtime: the guest's
//! linear memory and table sizes (`wasmtime::ResourceLimiter`, `Store::limiter`), the time it
//! computes (epoch interruption or fuel), and the filesystems' own sizes
//! ([`MemFs::builder`](crate::vfs::MemFs::builder) quotas). A wait inside a host call is ended
//! by [`InterruptHandle::interrupt`](crate::InterruptHandle::interrupt).

use std::time::Duration;

/// Linux's `MAX_RW_COUNT`: the most bytes one `read`/`write` moves (`INT_MAX` rounded down to a
/// page), so that a count always fits the guest's `size_t` and `ssize_t`.
pub const MAX_RW_COUNT: u32 = 0x7fff_f000;

/// Per-guest limits, with defaults that are safe for an untrusted guest and generous for a normal
/// program (each field's docs give its default and the answer past it).
///
/// ```
/// use hammertime::{WasiCtx, Limits};
/// let mut limits = Limits::default();
/// limits.descriptors = 64;
/// limits.max_sleep = std::time::Duration::from_secs(5);
/// let ctx = WasiCtx::builder().limits(limits).build()?;
/// # Ok::<(), hammertime::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Preview1 descriptors open at once, stdio and preopens included. Past it, calls that would
    /// open one (`path_open`, `sock_accept`) answer `EMFILE`. Default 1024, Linux's default
    /// `RLIMIT_NOFILE`.
    pub descriptors: u32,
    /// WASI 0.2 resources held at once (descriptors, streams, pollables, sockets…). Past it, a
    /// call that would make one answers its interface's error (`error-code`'s NFILE for
    /// filesystem calls); where the WIT function has no error, the guest traps. Default 4096.
    pub resources: u32,
    /// iovecs in one `fd_read`/`fd_write`/`fd_pread`/`fd_pwrite`/`sock_recv`/`sock_send`. Past
    /// it: `EINVAL`, as Linux's `IOV_MAX`. Default 1024.
    pub iovecs: u32,
    /// Bytes one read or write call moves. Past it the call moves that many and reports the short
    /// count, as Linux does past [`MAX_RW_COUNT`] (the default, and the most allowed).
    pub io_bytes: u32,
    /// Subscriptions in one `poll_oneoff`, and pollables in one WASI 0.2 `poll`. Past it:
    /// `EINVAL` (Linux's `poll` past `RLIMIT_NOFILE`); WASI 0.2 `poll` has no error and traps.
    /// Default 4096.
    pub poll_subscriptions: u32,
    /// Bytes one `random_get` or `get-random-bytes` call fills. Past it: `EINVAL`; WASI 0.2's
    /// functions have no error and trap. Default 64 MiB.
    pub random_bytes: u32,
    /// Bytes of one path argument. Past it: `ENAMETOOLONG`. Default and most: 4096 (`PATH_MAX`).
    pub path_bytes: u32,
    /// Components (`/`-separated names, `.` and `..` included) of one path argument. Past it:
    /// `ENAMETOOLONG`. Default 2048 (what 4096 bytes can hold).
    pub path_components: u32,
    /// The longest a single wait may last (a `poll_oneoff` or WASI 0.2 `poll`/`block` with
    /// nothing else to wake it). Past it, `poll_oneoff` ends with `EINTR`, as a wait interrupted
    /// by a signal; a WASI 0.2 wait returns with its pollable not ready. Default one hour; a
    /// guest that must not hold its thread longer needs an embedder that interrupts it
    /// ([`InterruptHandle`](crate::InterruptHandle)).
    pub max_sleep: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            descriptors: 1024,
            resources: 4096,
            iovecs: 1024,
            io_bytes: MAX_RW_COUNT,
            poll_subscriptions: 4096,
            random_bytes: 64 << 20,
            path_bytes: 4096,
            path_components: 2048,
            max_sleep: Duration::from_secs(3600),
        }
    }
}

impl Limits {
    /// No more than the host can serve: `io_bytes` at most [`MAX_RW_COUNT`] and `path_bytes` at
    /// most 4096 (what the resolver accepts).
    pub(crate) fn clamped(mut self) -> Self {
        self.io_bytes = self.io_bytes.min(MAX_RW_COUNT);
        self.path_bytes = self.path_bytes.min(crate::vfs::resolve::MAX_PATH_LEN as u32);
        self
    }

    /// Checks a path argument against `path_bytes` and `path_components`.
    pub(crate) fn check_path(&self, path: &str) -> Result<(), crate::Errno> {
        if path.len() > self.path_bytes as usize {
            return Err(crate::Errno::Nametoolong);
        }
        // Only long paths can hold many components: skip the count for the common short ones.
        if path.len() / 2 >= self.path_components as usize
            && path.split('/').filter(|c| !c.is_empty()).count() > self.path_components as usize
        {
            return Err(crate::Errno::Nametoolong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Errno;

    #[test]
    fn paths_are_checked_for_bytes_and_components() {
        let mut l = Limits::default();
        assert_eq!(l.check_path("a/b"), Ok(()));
        assert_eq!(l.check_path(&"a".repeat(4097)), Err(Errno::Nametoolong));
        l.path_components = 3;
        assert_eq!(l.check_path("a/b/c"), Ok(()));
        assert_eq!(l.check_path("a/b/c/d"), Err(Errno::Nametoolong));
        assert_eq!(l.check_path("a//b///c/"), Ok(()));
        assert_eq!(l.check_path("./././."), Err(Errno::Nametoolong));
    }

    #[test]
    fn clamped_to_what_linux_allows() {
        let l = Limits { io_bytes: u32::MAX, path_bytes: u32::MAX, ..Limits::default() }.clamped();
        assert_eq!((l.io_bytes, l.path_bytes), (MAX_RW_COUNT, 4096));
    }
}
