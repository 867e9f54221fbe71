//! Name lookup for every ABI's `wasi:sockets/ip-name-lookup`: the host's resolver
//! (`getaddrinfo`, through std's `ToSocketAddrs`) on a thread of its own, the answer waited for
//! by polling ([`Lookup::done`], WASI 0.2's pollable) or as a future ([`Lookup::wait`], WASI
//! 0.3's async `resolve-addresses`).
//!
//! - A context runs at most [`MAX_BACKGROUND_LOOKUPS`](super::MAX_BACKGROUND_LOOKUPS) lookups
//!   at once in the background; another is done on the calling thread.
//! - The answer holds at most [`MAX_ADDRESSES`] addresses, without duplicates; IPv4-mapped IPv6
//!   addresses are returned as IPv4.
//! - A name must be ASCII (IDNA conversion is not done: pass the `xn--` form), at most 253
//!   bytes, in labels of 1 to 63 letters, digits, `-` or `_`; anything else is
//!   `InvalidArgument`.

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use super::{MAX_BACKGROUND_LOOKUPS, Slot, lock};

/// The most addresses one lookup returns.
pub const MAX_ADDRESSES: usize = 64;

/// Why a lookup failed, in the terms both `ip-name-lookup` WITs share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LookupErr {
    AccessDenied,
    InvalidArgument,
    NameUnresolvable,
    TemporaryResolverFailure,
    PermanentResolverFailure,
    OutOfMemory,
}

/// A lookup's answer, once it is in, and who waits for it.
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    answer: Mutex<Option<Result<Vec<IpAddr>, LookupErr>>>,
    waker: Mutex<Option<Waker>>,
}

impl Lookup {
    pub(crate) fn done(&self) -> bool {
        lock(&self.answer).is_some()
    }

    /// The answer, if it is in.
    pub(crate) fn answer(&self) -> Option<Result<Vec<IpAddr>, LookupErr>> {
        lock(&self.answer).clone()
    }

    pub(crate) fn answered(answer: Result<Vec<IpAddr>, LookupErr>) -> Arc<Lookup> {
        Arc::new(Lookup { answer: Mutex::new(Some(answer)), waker: Mutex::new(None) })
    }

    fn set(&self, answer: Result<Vec<IpAddr>, LookupErr>) {
        *lock(&self.answer) = Some(answer);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    /// The answer, when it is in.
    pub(crate) async fn wait(&self) -> Result<Vec<IpAddr>, LookupErr> {
        std::future::poll_fn(|cx| {
            *lock(&self.waker) = Some(cx.waker().clone());
            match self.answer() {
                Some(answer) => Poll::Ready(answer),
                None => Poll::Pending,
            }
        })
        .await
    }
}

/// An IP address written as a name (`127.0.0.1`, `::1`, `[::1]`).
pub(crate) fn ip_literal(name: &str) -> Option<IpAddr> {
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Checks the syntax of a domain name.
pub(crate) fn check_name(name: &str) -> Result<(), LookupErr> {
    let n = name.strip_suffix('.').unwrap_or(name);
    let label_ok =
        |l: &str| (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if n.is_empty() || n.len() > 253 || !n.split('.').all(label_ok) {
        return Err(LookupErr::InvalidArgument);
    }
    Ok(())
}

/// The error of a failed `getaddrinfo`, from the message std reports (it keeps no `EAI_*`
/// number).
fn resolver_error(e: &std::io::Error) -> LookupErr {
    if e.raw_os_error().is_some() {
        // EAI_SYSTEM: the resolver could not reach its servers.
        return LookupErr::TemporaryResolverFailure;
    }
    let msg = e.to_string();
    if msg.contains("Temporary failure") {
        LookupErr::TemporaryResolverFailure
    } else if msg.contains("Non-recoverable") {
        LookupErr::PermanentResolverFailure
    } else if msg.contains("Memory allocation") {
        LookupErr::OutOfMemory
    } else {
        LookupErr::NameUnresolvable
    }
}

/// Looks `name` up with the host's resolver.
fn lookup(name: &str) -> Result<Vec<IpAddr>, LookupErr> {
    let addrs = (name, 0u16).to_socket_addrs().map_err(|e| resolver_error(&e))?;
    let mut out = Vec::new();
    for a in addrs {
        let ip = a.ip().to_canonical();
        if !out.contains(&ip) {
            out.push(ip);
            if out.len() == MAX_ADDRESSES {
                break;
            }
        }
    }
    if out.is_empty() { Err(LookupErr::NameUnresolvable) } else { Ok(out) }
}

/// Starts looking `name` up: on a thread of its own when the context has a free slot (and a
/// thread can be made), else at once.
pub(crate) fn start_lookup(lookups: &Arc<AtomicUsize>, name: String) -> Arc<Lookup> {
    let Some(slot) = Slot::take(lookups, MAX_BACKGROUND_LOOKUPS) else {
        return Lookup::answered(lookup(&name));
    };
    let pending = Arc::new(Lookup::default());
    let shared = pending.clone();
    let thread_name = name.clone();
    let spawned = std::thread::Builder::new().name("hammertime-lookup".into()).spawn(move || {
        let answer = lookup(&thread_name);
        shared.set(answer);
        drop(slot);
    });
    match spawned {
        Ok(_) => pending,
        Err(_) => Lookup::answered(lookup(&name)),
    }
}

/// What `resolve-addresses` does first, for both ABIs: an IP literal is its own answer whenever
/// the policy allows anything at all; otherwise name lookup must be allowed (else
/// `AccessDenied`) and the name well formed; then the lookup starts.
pub(crate) fn resolve(net: &super::NetCtx, name: String) -> Result<Arc<Lookup>, LookupErr> {
    let policy = &net.policy;
    Ok(match ip_literal(&name) {
        Some(ip) if policy.allows_anything() => Lookup::answered(Ok(vec![ip])),
        _ if !policy.allows_name_lookup() => return Err(LookupErr::AccessDenied),
        Some(ip) => Lookup::answered(Ok(vec![ip])),
        None => {
            check_name(&name)?;
            start_lookup(net.lookups(), name)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["localhost", "example.com.", "a-b.c_d.e", "xn--bcher-kva.example"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        let long = format!("{}.com", "a".repeat(64));
        for bad in ["", ".", "a..b", "bücher.de", "a b", "a\0b", long.as_str()] {
            assert_eq!(check_name(bad), Err(LookupErr::InvalidArgument), "{bad:?}");
        }
        assert_eq!(ip_literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(ip_literal("::ffff:1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(ip_literal("localhost"), None);
    }
}
