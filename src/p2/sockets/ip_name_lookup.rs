//! `wasi:sockets/ip-name-lookup`.
//!
//! - A name is looked up with the host's resolver (`getaddrinfo`, through std's
//!   `ToSocketAddrs`) on a thread of its own, so `resolve-addresses` returns at once and
//!   `resolve-next-address` answers `would-block` until the answer is in (wait on `subscribe`).
//!   A context runs at most 4 lookups at once in the background; a fifth is done on the
//!   calling thread.
//! - The answer holds at most [`MAX_ADDRESSES`] addresses, without duplicates; IPv4-mapped
//!   IPv6 addresses are returned as IPv4.
//! - Name lookup needs the policy's [`allow_name_lookup`](crate::net::NetworkPolicy::allow_name_lookup)
//!   (else `access-denied`). An IP address is returned as it is, with no lookup, whenever the
//!   policy allows anything at all.
//! - A name must be ASCII (IDNA conversion is not done: pass the `xn--` form), at most 253
//!   bytes, in labels of 1 to 63 letters, digits, `-` or `_`; anything else answers
//!   `invalid-argument`.

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use wasmtime::component::Resource;

use super::{PollKind, SocketPollable, SocketResult, err, ip_to_wit, lock};
use crate::WasiCtx;
use crate::p2::bindings::wasi::sockets::ip_name_lookup;
use crate::p2::bindings::wasi::sockets::network::{ErrorCode, IpAddress};
use crate::p2::io::Pollable;
use crate::p2::sockets::network::Network;
use crate::sockets::{MAX_BACKGROUND_LOOKUPS, Slot};

/// The most addresses one lookup returns.
pub const MAX_ADDRESSES: usize = 64;

/// A `wasi:sockets/ip-name-lookup.resolve-address-stream`: the answer of a lookup, in the
/// order the resolver gave it.
#[derive(Debug)]
pub struct ResolveAddressStream {
    lookup: Arc<Lookup>,
    next: usize,
}

/// A lookup's answer, once it is in.
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    answer: Mutex<Option<Result<Vec<IpAddr>, ErrorCode>>>,
}

impl Lookup {
    pub(crate) fn done(&self) -> bool {
        lock(&self.answer).is_some()
    }

    fn answered(answer: Result<Vec<IpAddr>, ErrorCode>) -> Arc<Lookup> {
        Arc::new(Lookup { answer: Mutex::new(Some(answer)) })
    }
}

/// An IP address written as a name (`127.0.0.1`, `::1`, `[::1]`).
fn ip_literal(name: &str) -> Option<IpAddr> {
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Checks the syntax of a domain name.
fn check_name(name: &str) -> Result<(), ErrorCode> {
    let n = name.strip_suffix('.').unwrap_or(name);
    let label_ok =
        |l: &str| (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if n.is_empty() || n.len() > 253 || !n.split('.').all(label_ok) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// The error code of a failed `getaddrinfo`, from the message std reports (it keeps no
/// `EAI_*` number).
fn resolver_code(e: &std::io::Error) -> ErrorCode {
    if e.raw_os_error().is_some() {
        // EAI_SYSTEM: the resolver could not reach its servers.
        return ErrorCode::TemporaryResolverFailure;
    }
    let msg = e.to_string();
    if msg.contains("Temporary failure") {
        ErrorCode::TemporaryResolverFailure
    } else if msg.contains("Non-recoverable") {
        ErrorCode::PermanentResolverFailure
    } else if msg.contains("Memory allocation") {
        ErrorCode::OutOfMemory
    } else {
        ErrorCode::NameUnresolvable
    }
}

/// Looks `name` up with the host's resolver.
fn lookup(name: &str) -> Result<Vec<IpAddr>, ErrorCode> {
    let addrs = (name, 0u16).to_socket_addrs().map_err(|e| resolver_code(&e))?;
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
    if out.is_empty() { Err(ErrorCode::NameUnresolvable) } else { Ok(out) }
}

/// Starts looking `name` up: on a thread of its own when the context has a free slot (and a
/// thread can be made), else at once.
fn start_lookup(lookups: &Arc<std::sync::atomic::AtomicUsize>, name: String) -> Arc<Lookup> {
    let Some(slot) = Slot::take(lookups, MAX_BACKGROUND_LOOKUPS) else {
        return Lookup::answered(lookup(&name));
    };
    let pending = Arc::new(Lookup::default());
    let shared = pending.clone();
    let thread_name = name.clone();
    let spawned = std::thread::Builder::new().name("hammertime-lookup".into()).spawn(move || {
        let answer = lookup(&thread_name);
        *lock(&shared.answer) = Some(answer);
        drop(slot);
    });
    match spawned {
        Ok(_) => pending,
        Err(_) => Lookup::answered(lookup(&name)),
    }
}

impl ip_name_lookup::Host for WasiCtx {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ResolveAddressStream>> {
        self.table.get(&network)?;
        let policy = &self.net.policy;
        let lookup = match ip_literal(&name) {
            Some(ip) if policy.allows_anything() => Lookup::answered(Ok(vec![ip])),
            _ if !policy.allows_name_lookup() => return err(ErrorCode::AccessDenied),
            Some(ip) => Lookup::answered(Ok(vec![ip])),
            None => {
                check_name(&name)?;
                start_lookup(self.net.lookups(), name)
            }
        };
        Ok(self.table.push(ResolveAddressStream { lookup, next: 0 })?)
    }
}

impl ip_name_lookup::HostResolveAddressStream for WasiCtx {
    fn resolve_next_address(&mut self, s: Resource<ResolveAddressStream>) -> SocketResult<Option<IpAddress>> {
        let stream = self.table.get_mut(&s)?;
        let answer = lock(&stream.lookup.answer);
        match &*answer {
            None => err(ErrorCode::WouldBlock),
            Some(Err(e)) => err(*e),
            Some(Ok(addrs)) => {
                let next = addrs.get(stream.next).copied();
                if next.is_some() {
                    stream.next += 1;
                }
                Ok(next.map(ip_to_wit))
            }
        }
    }

    fn subscribe(&mut self, s: Resource<ResolveAddressStream>) -> wasmtime::Result<Resource<Pollable>> {
        let lookup = self.table.get(&s)?.lookup.clone();
        Ok(self.table.push_child(Pollable::Socket(SocketPollable(PollKind::Lookup(lookup))), &s)?)
    }

    fn drop(&mut self, s: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
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
            assert_eq!(check_name(bad), Err(ErrorCode::InvalidArgument), "{bad:?}");
        }
        assert_eq!(ip_literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(ip_literal("::ffff:1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(ip_literal("localhost"), None);
    }
}
