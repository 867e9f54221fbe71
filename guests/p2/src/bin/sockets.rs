//! `wasi:sockets` under the host's default policy (no network): every way to a socket or a
//! name lookup answers `access-denied`, directly and through Rust's `std::net`.
//!
//! Prints one `ok NAME = RESULT` line per check. Exit status: 0, 1 (a check failed).

use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

use hammertime_p2_guests::Report;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{ErrorCode, IpAddressFamily, Network};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasip2::sockets::udp_create_socket::create_udp_socket;

/// The error of a call that must fail with `access-denied`.
fn denied<T>(r: &mut Report, name: &str, got: Result<T, ErrorCode>) {
    match got {
        Err(ErrorCode::AccessDenied) => r.ok_value(name, "access-denied"),
        Err(e) => r.fail(name, format!("got {}, expected access-denied", e.name())),
        Ok(_) => r.fail(name, "succeeded, expected access-denied"),
    }
}

/// A name lookup: the error may come from `resolve-addresses` or from the first
/// `resolve-next-address` of its stream (after waiting on the stream's pollable).
fn lookup(network: &Network, name: &str) -> Result<(), ErrorCode> {
    let stream = resolve_addresses(network, name)?;
    for _ in 0..1000 {
        match stream.resolve_next_address() {
            Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
            Err(e) => return Err(e),
            Ok(_) => return Ok(()),
        }
    }
    Err(ErrorCode::WouldBlock)
}

fn std_denied<T>(r: &mut Report, name: &str, got: std::io::Result<T>) {
    match got {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => r.ok_value(name, "PermissionDenied"),
        Err(e) => r.fail(name, format!("got {e} ({:?}), expected PermissionDenied", e.kind())),
        Ok(_) => r.fail(name, "succeeded, expected PermissionDenied"),
    }
}

fn main() {
    let mut r = Report::stdout();
    denied(&mut r, "create-tcp-socket ipv4", create_tcp_socket(IpAddressFamily::Ipv4));
    denied(&mut r, "create-tcp-socket ipv6", create_tcp_socket(IpAddressFamily::Ipv6));
    denied(&mut r, "create-udp-socket ipv4", create_udp_socket(IpAddressFamily::Ipv4));
    denied(&mut r, "create-udp-socket ipv6", create_udp_socket(IpAddressFamily::Ipv6));
    let network = instance_network();
    r.ok("instance-network");
    for name in ["localhost", "example.com", "127.0.0.1", "::1"] {
        denied(&mut r, &format!("resolve-addresses {name}"), lookup(&network, name));
    }
    // An invalid name may be refused as such before the policy is asked; either way, no address.
    match lookup(&network, "") {
        Err(ErrorCode::AccessDenied | ErrorCode::InvalidArgument) => r.ok("resolve-addresses (empty name)"),
        other => {
            r.fail("resolve-addresses (empty name)", format!("{other:?}, expected access-denied or invalid-argument"))
        }
    }
    drop(network);

    // Through the standard library (wasi-libc's sockets on these interfaces).
    std_denied(&mut r, "std TcpStream::connect", TcpStream::connect("127.0.0.1:9"));
    std_denied(&mut r, "std TcpListener::bind", TcpListener::bind("127.0.0.1:0"));
    std_denied(&mut r, "std UdpSocket::bind", UdpSocket::bind("0.0.0.0:0"));
    let resolved = ("localhost", 80).to_socket_addrs().map(|a| a.count());
    r.check("std to_socket_addrs localhost", resolved.is_err(), || format!("resolved {resolved:?}"));
    r.finish();
}
