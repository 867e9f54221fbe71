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

use std::sync::Arc;

use wasmtime::component::Resource;

use super::{PollKind, SocketPollable, SocketResult, err, ip_to_wit};
use crate::WasiCtx;
use crate::p2::bindings::wasi::sockets::ip_name_lookup;
use crate::p2::bindings::wasi::sockets::network::{ErrorCode, IpAddress};
use crate::p2::io::Pollable;
use crate::p2::sockets::network::Network;
use crate::sockets::lookup::{Lookup, LookupErr};

/// A `wasi:sockets/ip-name-lookup.resolve-address-stream`: the answer of a lookup, in the
/// order the resolver gave it.
#[derive(Debug)]
pub struct ResolveAddressStream {
    lookup: Arc<Lookup>,
    next: usize,
}

/// The `error-code` of a lookup error.
fn code(e: LookupErr) -> ErrorCode {
    match e {
        LookupErr::AccessDenied => ErrorCode::AccessDenied,
        LookupErr::InvalidArgument => ErrorCode::InvalidArgument,
        LookupErr::NameUnresolvable => ErrorCode::NameUnresolvable,
        LookupErr::TemporaryResolverFailure => ErrorCode::TemporaryResolverFailure,
        LookupErr::PermanentResolverFailure => ErrorCode::PermanentResolverFailure,
        LookupErr::OutOfMemory => ErrorCode::OutOfMemory,
    }
}

impl ip_name_lookup::Host for WasiCtx {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ResolveAddressStream>> {
        self.table.get(&network)?;
        let lookup = crate::sockets::lookup::resolve(&self.net, name).map_err(code)?;
        Ok(self.table.push(ResolveAddressStream { lookup, next: 0 })?)
    }
}

impl ip_name_lookup::HostResolveAddressStream for WasiCtx {
    fn resolve_next_address(&mut self, s: Resource<ResolveAddressStream>) -> SocketResult<Option<IpAddress>> {
        let stream = self.table.get_mut(&s)?;
        match stream.lookup.answer() {
            None => err(ErrorCode::WouldBlock),
            Some(Err(e)) => err(code(e)),
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
