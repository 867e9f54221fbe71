//! `wasi:sockets` driven from Rust through the generated host traits, on loopback only
//! (127.0.0.1; ::1 where the host has IPv6): the network policy, TCP connections through
//! their streams, UDP datagrams, name lookup, the state machine's errors, and the adoption of a
//! preopened listener. Every wait is bounded by a deadline pollable.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use hammertime::Errno;
use hammertime::WasiCtx;
use hammertime::net::{AddrPattern, NetworkPolicy, SocketUse};
use hammertime::p2::bindings::wasi;
use hammertime::p2::io::{InputStream, OutputStream, Pollable, StreamError};
use hammertime::p2::sockets::{Network, SocketError, TcpSocket};
use wasi::clocks::monotonic_clock::Host as _;
use wasi::io::poll::{Host as _, HostPollable};
use wasi::io::streams::{Host as _, HostInputStream, HostOutputStream, StreamError as WitStreamError};
use wasi::sockets::instance_network::Host as _;
use wasi::sockets::ip_name_lookup::{Host as _, HostResolveAddressStream};
use wasi::sockets::network::{
    ErrorCode, Host as _, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasi::sockets::tcp::{HostTcpSocket, ShutdownType};
use wasi::sockets::tcp_create_socket::Host as _;
use wasi::sockets::udp::{self, HostIncomingDatagramStream, HostOutgoingDatagramStream, OutgoingDatagram};
use wasi::sockets::udp_create_socket::Host as _;
use wasmtime::component::Resource;

/// How long any wait of these tests may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(10);

fn b<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

/// The error code of a failed call (panics, failing the test, on success or a trap).
fn code<T: std::fmt::Debug>(r: Result<T, SocketError>) -> ErrorCode {
    match r {
        Err(SocketError::Code(c)) => c,
        other => panic!("expected an error code, got {other:?}"),
    }
}

fn ok<T>(r: Result<T, SocketError>) -> T {
    match r {
        Ok(v) => v,
        Err(SocketError::Code(c)) => panic!("unexpected error code {c:?}"),
        Err(SocketError::Trap(e)) => panic!("unexpected trap: {e:#}"),
    }
}

fn v4(a: [u8; 4], port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: (a[0], a[1], a[2], a[3]) })
}

fn std_addr(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (w, x, y, z) = a.address;
            SocketAddr::from(([w, x, y, z], a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (p, q, r, s, t, u, v, w) = a.address;
            SocketAddr::from(([p, q, r, s, t, u, v, w], a.port))
        }
    }
}

fn wit_addr(a: SocketAddr) -> IpSocketAddress {
    match a {
        SocketAddr::V4(a) => v4(a.ip().octets(), a.port()),
        SocketAddr::V6(a) => {
            let [p, q, r, s, t, u, v, w] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: 0,
                address: (p, q, r, s, t, u, v, w),
                scope_id: 0,
            })
        }
    }
}

const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

fn ip(a: IpAddress) -> std::net::IpAddr {
    match a {
        IpAddress::Ipv4((w, x, y, z)) => [w, x, y, z].into(),
        IpAddress::Ipv6((p, q, r, s, t, u, v, w)) => [p, q, r, s, t, u, v, w].into(),
    }
}

fn loopback_policy() -> NetworkPolicy {
    let lo: AddrPattern = "127.0.0.1:*".parse().unwrap();
    NetworkPolicy::none()
        .allow(SocketUse::TcpBind, lo.clone())
        .allow(SocketUse::TcpConnect, lo.clone())
        .allow(SocketUse::UdpBind, lo.clone())
        .allow(SocketUse::UdpSend, lo)
}

fn ctx(policy: NetworkPolicy) -> WasiCtx {
    WasiCtx::builder().network(policy).build().unwrap()
}

/// Waits until `p` is ready, at most [`TIMEOUT`]; panics when the deadline comes first.
fn wait_for(ctx: &mut WasiCtx, p: &Resource<Pollable>, what: &str) {
    let deadline = ctx.subscribe_duration(TIMEOUT.as_nanos() as u64).unwrap();
    let ready = ctx.poll(vec![b(p), b(&deadline)]).unwrap();
    HostPollable::drop(ctx, deadline).unwrap();
    assert!(ready.contains(&0), "timed out waiting for {what}");
}

/// Polls the socket's pollable until `f` answers something but `would-block`.
fn until_done<T>(
    ctx: &mut WasiCtx,
    s: &Resource<TcpSocket>,
    what: &str,
    mut f: impl FnMut(&mut WasiCtx) -> Result<T, SocketError>,
) -> Result<T, SocketError> {
    let p = HostTcpSocket::subscribe(ctx, b(s)).unwrap();
    for _ in 0..1000 {
        match f(ctx) {
            Err(SocketError::Code(ErrorCode::WouldBlock)) => wait_for(ctx, &p, what),
            other => {
                HostPollable::drop(ctx, p).unwrap();
                return other;
            }
        }
    }
    panic!("{what} kept answering would-block");
}

/// A bound and listening TCP socket on 127.0.0.1 and its port.
fn listener(ctx: &mut WasiCtx, net: &Resource<Network>) -> (Resource<TcpSocket>, u16) {
    let l = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    ok(ctx.start_bind(b(&l), b(net), v4(LOOPBACK, 0)));
    ok(ctx.finish_bind(b(&l)));
    ok(ctx.start_listen(b(&l)));
    ok(ctx.finish_listen(b(&l)));
    assert!(ctx.is_listening(b(&l)).unwrap());
    let port = std_addr(ok(HostTcpSocket::local_address(ctx, b(&l)))).port();
    assert_ne!(port, 0);
    (l, port)
}

type Conn = (Resource<TcpSocket>, Resource<InputStream>, Resource<OutputStream>);

fn connect(ctx: &mut WasiCtx, net: &Resource<Network>, port: u16) -> Conn {
    let c = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    ok(ctx.start_connect(b(&c), b(net), v4(LOOPBACK, port)));
    let (i, o) = ok(until_done(ctx, &c, "finish-connect", |ctx| ctx.finish_connect(b(&c))));
    (c, i, o)
}

fn accept(ctx: &mut WasiCtx, l: &Resource<TcpSocket>) -> Conn {
    ok(until_done(ctx, l, "accept", |ctx| ctx.accept(b(l))))
}

/// Writes all of `bytes` through check-write and write, then flushes.
fn send(ctx: &mut WasiCtx, o: &Resource<OutputStream>, bytes: &[u8]) {
    let permit = ctx.check_write(b(o)).unwrap();
    assert!(permit >= bytes.len() as u64, "check-write granted {permit}");
    ctx.write(b(o), bytes.to_vec()).unwrap();
    ctx.blocking_flush(b(o)).unwrap();
}

/// Reads until `n` bytes came, waiting on the stream's pollable.
fn receive(ctx: &mut WasiCtx, i: &Resource<InputStream>, n: usize) -> Vec<u8> {
    let p = HostInputStream::subscribe(ctx, b(i)).unwrap();
    let mut got = Vec::new();
    for _ in 0..1000 {
        if got.len() >= n {
            break;
        }
        wait_for(ctx, &p, "stream bytes");
        got.extend(HostInputStream::read(ctx, b(i), (n - got.len()) as u64).unwrap());
    }
    HostPollable::drop(ctx, p).unwrap();
    got
}

fn drop_conn(ctx: &mut WasiCtx, (s, i, o): Conn) {
    HostInputStream::drop(ctx, i).unwrap();
    HostOutputStream::drop(ctx, o).unwrap();
    HostTcpSocket::drop(ctx, s).unwrap();
}

#[test]
fn the_default_policy_denies_every_socket_and_lookup() {
    let mut ctx = WasiCtx::builder().build().unwrap();
    assert_eq!(code(ctx.create_tcp_socket(IpAddressFamily::Ipv4)), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.create_tcp_socket(IpAddressFamily::Ipv6)), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.create_udp_socket(IpAddressFamily::Ipv4)), ErrorCode::AccessDenied);
    let net = ctx.instance_network().unwrap();
    assert_eq!(code(ctx.resolve_addresses(b(&net), "localhost".into())), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.resolve_addresses(b(&net), "127.0.0.1".into())), ErrorCode::AccessDenied);
}

#[test]
fn a_listener_accepts_a_connection_and_bytes_flow_both_ways() {
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let (l, port) = listener(&mut ctx, &net);
    // Nothing to accept yet.
    assert_eq!(code(ctx.accept(b(&l))), ErrorCode::WouldBlock);
    let client = connect(&mut ctx, &net, port);
    let server = accept(&mut ctx, &l);

    // The two ends see each other's addresses.
    let client_local = std_addr(ok(HostTcpSocket::local_address(&mut ctx, b(&client.0))));
    let client_remote = std_addr(ok(HostTcpSocket::remote_address(&mut ctx, b(&client.0))));
    let server_remote = std_addr(ok(HostTcpSocket::remote_address(&mut ctx, b(&server.0))));
    assert_eq!(client_remote, SocketAddr::from((LOOPBACK, port)));
    assert_eq!(server_remote, client_local);
    assert_eq!(HostTcpSocket::address_family(&mut ctx, b(&server.0)).unwrap(), IpAddressFamily::Ipv4);
    assert!(!ctx.is_listening(b(&server.0)).unwrap());

    // A read with nothing arrived returns at once, empty.
    assert_eq!(HostInputStream::read(&mut ctx, b(&server.1), 100).unwrap(), Vec::<u8>::new());

    send(&mut ctx, &client.2, b"ping from the client");
    assert_eq!(receive(&mut ctx, &server.1, 20), b"ping from the client");
    send(&mut ctx, &server.2, b"pong");
    assert_eq!(ctx.blocking_read(b(&client.1), 4).unwrap(), b"pong");

    // blocking-write-and-flush, then a bigger transfer than one write permits.
    ctx.blocking_write_and_flush(b(&client.2), b"more".to_vec()).unwrap();
    assert_eq!(receive(&mut ctx, &server.1, 4), b"more");
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    let can_read = HostInputStream::subscribe(&mut ctx, b(&server.1)).unwrap();
    let can_write = HostOutputStream::subscribe(&mut ctx, b(&client.2)).unwrap();
    for _ in 0..10_000 {
        if sent < big.len() {
            let permit = ctx.check_write(b(&client.2)).unwrap() as usize;
            assert!(permit as u64 <= hammertime::p2::sockets::TCP_WRITE_BUFFER);
            let n = permit.min(big.len() - sent);
            ctx.write(b(&client.2), big[sent..sent + n].to_vec()).unwrap();
            sent += n;
            ctx.flush(b(&client.2)).unwrap();
        }
        got.extend(HostInputStream::read(&mut ctx, b(&server.1), 1 << 20).unwrap());
        if got.len() == big.len() {
            break;
        }
        let deadline = ctx.subscribe_duration(TIMEOUT.as_nanos() as u64).unwrap();
        let mut ps = vec![b(&can_read), b(&deadline)];
        if sent < big.len() {
            ps.push(b(&can_write));
        }
        let ready = ctx.poll(ps).unwrap();
        HostPollable::drop(&mut ctx, deadline).unwrap();
        assert_ne!(ready, [1], "timed out moving bytes: sent {sent}, got {}", got.len());
    }
    ctx.blocking_flush(b(&client.2)).unwrap();
    HostPollable::drop(&mut ctx, can_read).unwrap();
    HostPollable::drop(&mut ctx, can_write).unwrap();
    assert_eq!(got.len(), big.len());
    assert!(got == big, "the bytes arrived changed");

    // shutdown(send): the other end reads the end of the stream; writing is closed.
    ok(ctx.shutdown(b(&client.0), ShutdownType::Send));
    ok(ctx.shutdown(b(&client.0), ShutdownType::Send));
    assert!(matches!(ctx.blocking_read(b(&server.1), 10), Err(StreamError::Closed)));
    assert!(matches!(ctx.check_write(b(&client.2)), Err(StreamError::Closed)));
    // shutdown(receive): the input stream is closed.
    ok(ctx.shutdown(b(&server.0), ShutdownType::Receive));
    assert!(matches!(HostInputStream::read(&mut ctx, b(&server.1), 10), Err(StreamError::Closed)));

    // The streams are children of their socket: the socket cannot go first.
    assert!(HostTcpSocket::drop(&mut ctx, Resource::new_own(server.0.rep())).is_err());
    drop_conn(&mut ctx, client);
    drop_conn(&mut ctx, server);
    HostTcpSocket::drop(&mut ctx, l).unwrap();
}

#[test]
fn addresses_and_ports_outside_the_policy_are_denied() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let policy = NetworkPolicy::none().allow(SocketUse::TcpConnect, AddrPattern::ip(LOOPBACK.into()).port(port));
    assert!(policy.allows(SocketAddr::from((LOOPBACK, port)), SocketUse::TcpConnect));
    assert!(!policy.allows(SocketAddr::from((LOOPBACK, other_port)), SocketUse::TcpConnect));
    let mut ctx = ctx(policy);
    let net = ctx.instance_network().unwrap();

    // No UDP grant: no UDP socket.
    assert_eq!(code(ctx.create_udp_socket(IpAddressFamily::Ipv4)), ErrorCode::AccessDenied);
    // No name lookup grant; an IP literal needs none.
    assert_eq!(code(ctx.resolve_addresses(b(&net), "localhost".into())), ErrorCode::AccessDenied);
    let r = ok(ctx.resolve_addresses(b(&net), "127.0.0.1".into()));
    assert_eq!(ok(ctx.resolve_next_address(b(&r))).map(ip), Some(std::net::IpAddr::from(LOOPBACK)));
    assert!(ok(ctx.resolve_next_address(b(&r))).is_none());

    let s = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    // Another port, another address, a bind: denied, and the socket is still usable.
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v4(LOOPBACK, other_port))), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v4([127, 0, 0, 2], port))), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v4(LOOPBACK, 0))), ErrorCode::AccessDenied);
    // The granted address and port connect.
    ok(ctx.start_connect(b(&s), b(&net), v4(LOOPBACK, port)));
    let (i, o) = ok(until_done(&mut ctx, &s, "finish-connect", |ctx| ctx.finish_connect(b(&s))));
    let (mut peer, _) = host.accept().unwrap();
    peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    send(&mut ctx, &o, b"granted");
    let mut buf = [0; 7];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"granted");
    drop_conn(&mut ctx, (s, i, o));
    drop(other);
}

#[test]
fn udp_datagrams_go_both_ways_over_loopback() {
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let bind = |ctx: &mut WasiCtx| {
        let s = ok(ctx.create_udp_socket(IpAddressFamily::Ipv4));
        assert_eq!(code(udp::HostUdpSocket::local_address(ctx, b(&s))), ErrorCode::InvalidState);
        ok(udp::HostUdpSocket::start_bind(ctx, b(&s), b(&net), v4(LOOPBACK, 0)));
        ok(udp::HostUdpSocket::finish_bind(ctx, b(&s)));
        let addr = std_addr(ok(udp::HostUdpSocket::local_address(ctx, b(&s))));
        (s, addr)
    };
    let (a, a_addr) = bind(&mut ctx);
    let (bs, b_addr) = bind(&mut ctx);
    assert_ne!(a_addr.port(), b_addr.port());
    let (a_in, a_out) = ok(udp::HostUdpSocket::stream(&mut ctx, b(&a), None));
    let (b_in, b_out) = ok(udp::HostUdpSocket::stream(&mut ctx, b(&bs), None));

    // Nothing yet.
    assert!(ok(ctx.receive(b(&b_in), 10)).is_empty());
    // A send without a check-send permit traps.
    let dg = |data: &[u8], to: Option<SocketAddr>| OutgoingDatagram {
        data: data.to_vec(),
        remote_address: to.map(wit_addr),
    };
    assert!(matches!(ctx.send(b(&a_out), vec![dg(b"x", Some(b_addr))]), Err(SocketError::Trap(_))));
    let p = HostOutgoingDatagramStream::subscribe(&mut ctx, b(&a_out)).unwrap();
    wait_for(&mut ctx, &p, "a writable UDP socket");
    HostPollable::drop(&mut ctx, p).unwrap();
    assert!(ok(ctx.check_send(b(&a_out))) >= 2);
    // Unconnected: a datagram needs an address; a denied address is refused.
    assert_eq!(code(ctx.send(b(&a_out), vec![dg(b"x", None)])), ErrorCode::InvalidArgument);
    assert!(ok(ctx.check_send(b(&a_out))) >= 2);
    assert_eq!(
        code(ctx.send(b(&a_out), vec![dg(b"x", Some("127.0.0.2:9".parse().unwrap()))])),
        ErrorCode::AccessDenied
    );
    assert!(ok(ctx.check_send(b(&a_out))) >= 2);
    assert_eq!(ok(ctx.send(b(&a_out), vec![dg(b"hello", Some(b_addr)), dg(b"world", Some(b_addr))])), 2);

    let mut got = Vec::new();
    let p = HostIncomingDatagramStream::subscribe(&mut ctx, b(&b_in)).unwrap();
    for _ in 0..100 {
        if got.len() >= 2 {
            break;
        }
        wait_for(&mut ctx, &p, "a datagram");
        got.extend(ok(ctx.receive(b(&b_in), 10)));
    }
    HostPollable::drop(&mut ctx, p).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, b"hello");
    assert_eq!(got[1].data, b"world");
    assert_eq!(std_addr(got[0].remote_address), a_addr);

    // b associates with a: the old streams are stale, the new ones send without an address.
    HostIncomingDatagramStream::drop(&mut ctx, b_in).unwrap();
    let (b_in2, b_out2) = ok(udp::HostUdpSocket::stream(&mut ctx, b(&bs), Some(wit_addr(a_addr))));
    assert_eq!(code(ctx.check_send(b(&b_out))), ErrorCode::InvalidState);
    assert_eq!(std_addr(ok(udp::HostUdpSocket::remote_address(&mut ctx, b(&bs)))), a_addr);
    let p = HostOutgoingDatagramStream::subscribe(&mut ctx, b(&b_out2)).unwrap();
    wait_for(&mut ctx, &p, "a writable UDP socket");
    HostPollable::drop(&mut ctx, p).unwrap();
    assert!(ok(ctx.check_send(b(&b_out2))) >= 1);
    assert_eq!(code(ctx.send(b(&b_out2), vec![dg(b"x", Some(b_addr))])), ErrorCode::InvalidArgument);
    assert!(ok(ctx.check_send(b(&b_out2))) >= 1);
    assert_eq!(ok(ctx.send(b(&b_out2), vec![dg(b"back", None)])), 1);
    let p = HostIncomingDatagramStream::subscribe(&mut ctx, b(&a_in)).unwrap();
    wait_for(&mut ctx, &p, "the answer");
    HostPollable::drop(&mut ctx, p).unwrap();
    let answer = ok(ctx.receive(b(&a_in), 1));
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].data, b"back");
    assert_eq!(std_addr(answer[0].remote_address), b_addr);
    assert_eq!(ok(ctx.receive(b(&a_in), 0)).len(), 0);

    // Options.
    ok(udp::HostUdpSocket::set_unicast_hop_limit(&mut ctx, b(&a), 7));
    assert_eq!(ok(udp::HostUdpSocket::unicast_hop_limit(&mut ctx, b(&a))), 7);
    assert_eq!(code(udp::HostUdpSocket::set_unicast_hop_limit(&mut ctx, b(&a), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(udp::HostUdpSocket::set_send_buffer_size(&mut ctx, b(&a), 0)), ErrorCode::InvalidArgument);
    ok(udp::HostUdpSocket::set_receive_buffer_size(&mut ctx, b(&a), 65536));
    assert!(ok(udp::HostUdpSocket::receive_buffer_size(&mut ctx, b(&a))) >= 65536);

    for s in [b_out, b_out2, a_out] {
        HostOutgoingDatagramStream::drop(&mut ctx, s).unwrap();
    }
    for s in [b_in2, a_in] {
        HostIncomingDatagramStream::drop(&mut ctx, s).unwrap();
    }
    udp::HostUdpSocket::drop(&mut ctx, a).unwrap();
    udp::HostUdpSocket::drop(&mut ctx, bs).unwrap();
}

/// Every address a lookup answers, waiting for it at most [`TIMEOUT`].
fn resolve(ctx: &mut WasiCtx, net: &Resource<Network>, name: &str) -> Result<Vec<std::net::IpAddr>, ErrorCode> {
    let r = ctx.resolve_addresses(b(net), name.into()).map_err(|e| code::<()>(Err(e)))?;
    let p = HostResolveAddressStream::subscribe(ctx, b(&r)).unwrap();
    let mut out = Vec::new();
    for _ in 0..1000 {
        match ctx.resolve_next_address(b(&r)) {
            Ok(Some(a)) => out.push(ip(a)),
            Ok(None) => break,
            Err(SocketError::Code(ErrorCode::WouldBlock)) => wait_for(ctx, &p, "a lookup"),
            Err(e) => return Err(code::<()>(Err(e))),
        }
    }
    HostPollable::drop(ctx, p).unwrap();
    HostResolveAddressStream::drop(ctx, r).unwrap();
    Ok(out)
}

#[test]
fn name_lookup_is_allowed_or_denied_by_the_policy() {
    let mut allowed = ctx(NetworkPolicy::none().allow_name_lookup());
    let net = allowed.instance_network().unwrap();
    let local = resolve(&mut allowed, &net, "localhost").unwrap();
    assert!(!local.is_empty());
    assert!(local.iter().all(|a| a.is_loopback()), "localhost is {local:?}");
    assert_eq!(resolve(&mut allowed, &net, "127.0.0.1").unwrap(), ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(resolve(&mut allowed, &net, "[::1]").unwrap(), ["::1".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(
        resolve(&mut allowed, &net, "::ffff:127.0.0.1").unwrap(),
        ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(resolve(&mut allowed, &net, "a..b"), Err(ErrorCode::InvalidArgument));
    assert_eq!(resolve(&mut allowed, &net, ""), Err(ErrorCode::InvalidArgument));
    assert_eq!(resolve(&mut allowed, &net, &"x".repeat(300)), Err(ErrorCode::InvalidArgument));
    // Lookups need no socket grant, and grant no socket.
    assert_eq!(code(allowed.create_tcp_socket(IpAddressFamily::Ipv4)), ErrorCode::AccessDenied);

    let mut denied = ctx(loopback_policy());
    let net = denied.instance_network().unwrap();
    assert_eq!(resolve(&mut denied, &net, "localhost"), Err(ErrorCode::AccessDenied));
}

#[test]
fn the_tcp_state_machine_answers_the_documented_errors() {
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let s = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    assert_eq!(code(ctx.finish_bind(b(&s))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.finish_connect(b(&s))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.finish_listen(b(&s))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.start_listen(b(&s))), ErrorCode::InvalidState);
    assert_eq!(code(ctx.accept(b(&s))), ErrorCode::InvalidState);
    assert_eq!(code(HostTcpSocket::local_address(&mut ctx, b(&s))), ErrorCode::InvalidState);
    assert_eq!(code(HostTcpSocket::remote_address(&mut ctx, b(&s))), ErrorCode::InvalidState);
    assert_eq!(code(ctx.shutdown(b(&s), ShutdownType::Both)), ErrorCode::InvalidState);
    // Wrong family, unspecified or port-0 remote addresses.
    let v6 = wit_addr("[::1]:80".parse().unwrap());
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v6)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v6)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v4([0, 0, 0, 0], 80))), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v4(LOOPBACK, 0))), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v4([224, 0, 0, 1], 0))), ErrorCode::InvalidArgument);

    // Options, before any bind.
    assert_eq!(code(ctx.set_keep_alive_idle_time(b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.set_keep_alive_interval(b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.set_keep_alive_count(b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.set_hop_limit(b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(HostTcpSocket::set_receive_buffer_size(&mut ctx, b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(HostTcpSocket::set_send_buffer_size(&mut ctx, b(&s), 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.set_listen_backlog_size(b(&s), 0)), ErrorCode::InvalidArgument);
    ok(ctx.set_keep_alive_enabled(b(&s), true));
    assert!(ok(ctx.keep_alive_enabled(b(&s))));
    ok(ctx.set_keep_alive_enabled(b(&s), false));
    assert!(!ok(ctx.keep_alive_enabled(b(&s))));
    ok(ctx.set_keep_alive_idle_time(b(&s), 1_500_000_000));
    assert_eq!(ok(ctx.keep_alive_idle_time(b(&s))), 2_000_000_000, "rounded up to whole seconds");
    ok(ctx.set_keep_alive_interval(b(&s), u64::MAX));
    assert_eq!(ok(ctx.keep_alive_interval(b(&s))), 32_767_000_000_000, "clamped to Linux's maximum");
    ok(ctx.set_keep_alive_count(b(&s), 1000));
    assert_eq!(ok(ctx.keep_alive_count(b(&s))), 127);
    ok(ctx.set_hop_limit(b(&s), 42));
    assert_eq!(ok(ctx.hop_limit(b(&s))), 42);
    ok(HostTcpSocket::set_send_buffer_size(&mut ctx, b(&s), 1 << 16));
    assert!(ok(HostTcpSocket::send_buffer_size(&mut ctx, b(&s))) >= 1 << 16);
    ok(ctx.set_listen_backlog_size(b(&s), 5));

    // Bind: in progress, then done, then not again.
    ok(ctx.start_bind(b(&s), b(&net), v4(LOOPBACK, 0)));
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v4(LOOPBACK, 0))), ErrorCode::ConcurrencyConflict);
    assert_eq!(code(ctx.start_listen(b(&s))), ErrorCode::ConcurrencyConflict);
    assert_eq!(code(HostTcpSocket::local_address(&mut ctx, b(&s))), ErrorCode::InvalidState);
    ok(ctx.finish_bind(b(&s)));
    assert_eq!(code(ctx.finish_bind(b(&s))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v4(LOOPBACK, 0))), ErrorCode::InvalidState);
    let bound = std_addr(ok(HostTcpSocket::local_address(&mut ctx, b(&s))));
    assert_eq!(bound.ip(), std::net::IpAddr::from(LOOPBACK));

    // Listen, then nothing else.
    ok(ctx.start_listen(b(&s)));
    assert!(!ctx.is_listening(b(&s)).unwrap(), "listening only once finished");
    assert_eq!(code(ctx.start_listen(b(&s))), ErrorCode::ConcurrencyConflict);
    ok(ctx.finish_listen(b(&s)));
    assert_eq!(code(ctx.finish_listen(b(&s))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.start_listen(b(&s))), ErrorCode::InvalidState);
    assert_eq!(code(ctx.start_connect(b(&s), b(&net), v4(LOOPBACK, bound.port()))), ErrorCode::InvalidState);
    ok(ctx.set_listen_backlog_size(b(&s), 10));
    assert_eq!(code(ctx.accept(b(&s))), ErrorCode::WouldBlock);

    // A second bind to the same address is in use.
    let t = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    assert_eq!(code(ctx.start_bind(b(&t), b(&net), wit_addr(bound))), ErrorCode::AddressInUse);
    // Still unbound after the failure: bind again elsewhere.
    ok(ctx.start_bind(b(&t), b(&net), v4(LOOPBACK, 0)));
    HostTcpSocket::drop(&mut ctx, t).unwrap();

    // A refused connection closes the socket.
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    let refused = match ctx.start_connect(b(&c), b(&net), v4(LOOPBACK, closed_port)) {
        Ok(()) => {
            assert_eq!(
                code(ctx.start_connect(b(&c), b(&net), v4(LOOPBACK, closed_port))),
                ErrorCode::ConcurrencyConflict
            );
            code(until_done(&mut ctx, &c, "a refused connect", |ctx| ctx.finish_connect(b(&c))))
        }
        Err(e) => code::<()>(Err(e)),
    };
    assert_eq!(refused, ErrorCode::ConnectionRefused);
    assert_eq!(code(ctx.finish_connect(b(&c))), ErrorCode::NotInProgress);
    assert_eq!(code(ctx.start_connect(b(&c), b(&net), v4(LOOPBACK, bound.port()))), ErrorCode::InvalidState);
    assert_eq!(code(ctx.start_bind(b(&c), b(&net), v4(LOOPBACK, 0))), ErrorCode::InvalidState);

    // UDP.
    let u = ok(ctx.create_udp_socket(IpAddressFamily::Ipv4));
    assert_eq!(code(udp::HostUdpSocket::finish_bind(&mut ctx, b(&u))), ErrorCode::NotInProgress);
    assert!(matches!(
        udp::HostUdpSocket::stream(&mut ctx, b(&u), None),
        Err(SocketError::Code(ErrorCode::InvalidState))
    ));
    assert_eq!(code(udp::HostUdpSocket::remote_address(&mut ctx, b(&u))), ErrorCode::InvalidState);
    ok(udp::HostUdpSocket::start_bind(&mut ctx, b(&u), b(&net), v4(LOOPBACK, 0)));
    assert_eq!(
        code(udp::HostUdpSocket::start_bind(&mut ctx, b(&u), b(&net), v4(LOOPBACK, 0))),
        ErrorCode::ConcurrencyConflict
    );
    ok(udp::HostUdpSocket::finish_bind(&mut ctx, b(&u)));
    assert_eq!(
        code(udp::HostUdpSocket::start_bind(&mut ctx, b(&u), b(&net), v4(LOOPBACK, 0))),
        ErrorCode::InvalidState
    );
    assert!(matches!(
        udp::HostUdpSocket::stream(&mut ctx, b(&u), Some(v4(LOOPBACK, 0))),
        Err(SocketError::Code(ErrorCode::InvalidArgument))
    ));

    udp::HostUdpSocket::drop(&mut ctx, u).unwrap();
    HostTcpSocket::drop(&mut ctx, c).unwrap();
    HostTcpSocket::drop(&mut ctx, s).unwrap();
}

#[test]
fn ipv6_sockets_are_ipv6_only_and_follow_the_policy() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this host: skipped");
        return;
    }
    let mut ctx = ctx(NetworkPolicy::none().allow(SocketUse::TcpBind, "[::1]:*".parse().unwrap()));
    let net = ctx.instance_network().unwrap();
    let s = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv6));
    assert_eq!(HostTcpSocket::address_family(&mut ctx, b(&s)).unwrap(), IpAddressFamily::Ipv6);
    // IPv4 and IPv4-mapped addresses are not IPv6 addresses.
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), v4(LOOPBACK, 0))), ErrorCode::InvalidArgument);
    let mapped = wit_addr("[::ffff:127.0.0.1]:0".parse().unwrap());
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), mapped)), ErrorCode::InvalidArgument);
    assert_eq!(code(ctx.start_bind(b(&s), b(&net), wit_addr("[::]:0".parse().unwrap()))), ErrorCode::AccessDenied);
    ok(ctx.start_bind(b(&s), b(&net), wit_addr("[::1]:0".parse().unwrap())));
    ok(ctx.finish_bind(b(&s)));
    let a = std_addr(ok(HostTcpSocket::local_address(&mut ctx, b(&s))));
    assert_eq!(a.ip(), "::1".parse::<std::net::IpAddr>().unwrap());
    ok(ctx.set_hop_limit(b(&s), 9));
    assert_eq!(ok(ctx.hop_limit(b(&s))), 9);
    HostTcpSocket::drop(&mut ctx, s).unwrap();
}

#[test]
fn a_preopened_listener_is_adopted_by_bind_and_listen() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = host.local_addr().unwrap();
    // No network at all, but the preopened listener.
    let mut ctx = WasiCtx::builder().preopen_socket(host).build().unwrap();
    let net = ctx.instance_network().unwrap();
    assert_eq!(code(ctx.create_udp_socket(IpAddressFamily::Ipv4)), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.create_tcp_socket(IpAddressFamily::Ipv6)), ErrorCode::AccessDenied);
    let other = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    assert_eq!(code(ctx.start_bind(b(&other), b(&net), v4(LOOPBACK, 0))), ErrorCode::AccessDenied);
    assert_eq!(code(ctx.start_connect(b(&other), b(&net), wit_addr(addr))), ErrorCode::AccessDenied);
    HostTcpSocket::drop(&mut ctx, other).unwrap();

    let l = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    ok(ctx.start_bind(b(&l), b(&net), wit_addr(addr)));
    ok(ctx.finish_bind(b(&l)));
    assert_eq!(code(ctx.start_connect(b(&l), b(&net), wit_addr(addr))), ErrorCode::InvalidState);
    ok(ctx.start_listen(b(&l)));
    ok(ctx.finish_listen(b(&l)));
    assert!(ctx.is_listening(b(&l)).unwrap());
    assert_eq!(std_addr(ok(HostTcpSocket::local_address(&mut ctx, b(&l)))), addr);
    assert_eq!(code(ctx.accept(b(&l))), ErrorCode::WouldBlock);

    let mut peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    peer.write_all(b"hi guest").unwrap();
    let conn = accept(&mut ctx, &l);
    assert_eq!(std_addr(ok(HostTcpSocket::remote_address(&mut ctx, b(&conn.0)))), peer.local_addr().unwrap());
    assert_eq!(receive(&mut ctx, &conn.1, 8), b"hi guest");
    send(&mut ctx, &conn.2, b"hi host");
    let mut buf = [0; 7];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi host");
    drop_conn(&mut ctx, conn);
    HostTcpSocket::drop(&mut ctx, l).unwrap();

    // The listener is still there for the next socket (and for preview1).
    let again = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    ok(ctx.start_bind(b(&again), b(&net), wit_addr(addr)));
    HostTcpSocket::drop(&mut ctx, again).unwrap();
}

#[test]
fn stream_errors_of_sockets_map_to_socket_error_codes() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let (c, i, o) = connect(&mut ctx, &net, port);
    let (peer, _) = host.accept().unwrap();
    send(&mut ctx, &o, b"unread");
    // Closing with unread bytes makes the kernel reset the connection.
    let mut probe = [0; 1];
    peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(peer.peek(&mut probe).unwrap(), 1);
    drop(peer);
    let p = HostInputStream::subscribe(&mut ctx, b(&i)).unwrap();
    wait_for(&mut ctx, &p, "the reset");
    HostPollable::drop(&mut ctx, p).unwrap();
    let e = match HostInputStream::read(&mut ctx, b(&i), 10) {
        Err(e @ StreamError::Failed(Errno::Connreset)) => e,
        other => panic!("expected connreset, got {other:?}"),
    };
    let WitStreamError::LastOperationFailed(err) = ctx.convert_stream_error(e).unwrap() else {
        panic!("not last-operation-failed")
    };
    assert_eq!(ctx.network_error_code(b(&err)).unwrap(), Some(ErrorCode::ConnectionReset));
    // After the reset, the stream is closed.
    assert!(matches!(HostInputStream::read(&mut ctx, b(&i), 10), Err(StreamError::Closed)));

    // An error that did not come from a socket has no socket error code.
    let WitStreamError::LastOperationFailed(file_err) =
        ctx.convert_stream_error(StreamError::Failed(Errno::Connreset)).unwrap()
    else {
        panic!("not last-operation-failed")
    };
    assert_eq!(ctx.network_error_code(b(&file_err)).unwrap(), None);
    drop_conn(&mut ctx, (c, i, o));
}

/// Connects to a host listener with small kernel buffers, so a stream's own buffer fills
/// quickly, and writes until `check-write` grants nothing: the kernel and the stream are full.
fn fill(ctx: &mut WasiCtx, net: &Resource<Network>, port: u16) -> (Conn, usize) {
    let c = ok(ctx.create_tcp_socket(IpAddressFamily::Ipv4));
    ok(HostTcpSocket::set_send_buffer_size(ctx, b(&c), 4096));
    ok(ctx.start_connect(b(&c), b(net), v4(LOOPBACK, port)));
    let (i, o) = ok(until_done(ctx, &c, "finish-connect", |ctx| ctx.finish_connect(b(&c))));
    let mut sent = 0;
    for _ in 0..10_000 {
        let permit = ctx.check_write(b(&o)).unwrap() as usize;
        if permit == 0 {
            return ((c, i, o), sent);
        }
        ctx.write(b(&o), vec![7; permit]).unwrap();
        sent += permit;
    }
    panic!("check-write never reached 0 after {sent} bytes");
}

/// A host peer that reads nothing until told how much to expect, then reads it, answers "ok"
/// and reports what it read (until the end of the stream).
fn slow_peer(host: TcpListener) -> (std::sync::mpsc::Sender<usize>, std::thread::JoinHandle<usize>) {
    let (tx, rx) = std::sync::mpsc::channel::<usize>();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = host.accept().unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        rustix::net::sockopt::set_socket_recv_buffer_size(&s, 1 << 16).unwrap();
        let expect = rx.recv_timeout(TIMEOUT).unwrap();
        let mut buf = vec![0; expect];
        s.read_exact(&mut buf).unwrap();
        assert!(buf.iter().all(|&x| x == 7));
        s.write_all(b"ok").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        expect + rest.len()
    });
    (tx, peer)
}

#[test]
fn bytes_a_stream_holds_are_sent_while_the_guest_waits_to_read() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let (tx, peer) = slow_peer(host);
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let ((c, i, o), sent) = fill(&mut ctx, &net, port);
    assert!(sent as u64 >= hammertime::p2::sockets::TCP_WRITE_BUFFER, "only {sent} bytes before full");
    tx.send(sent).unwrap();
    // No flush: the guest only waits for the answer, which needs every byte it wrote.
    let p = HostInputStream::subscribe(&mut ctx, b(&i)).unwrap();
    wait_for(&mut ctx, &p, "the peer's answer");
    HostPollable::drop(&mut ctx, p).unwrap();
    assert_eq!(receive(&mut ctx, &i, 2), b"ok");
    drop_conn(&mut ctx, (c, i, o));
    assert_eq!(peer.join().unwrap(), sent);
}

#[test]
fn a_dropped_stream_sends_what_it_holds_during_later_waits() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let (tx, peer) = slow_peer(host);
    let mut ctx = ctx(loopback_policy());
    let net = ctx.instance_network().unwrap();
    let ((c, i, o), sent) = fill(&mut ctx, &net, port);
    ok(ctx.shutdown(b(&c), ShutdownType::Send));
    drop_conn(&mut ctx, (c, i, o));
    tx.send(sent).unwrap();
    // Waits of the guest (here for a timer) send the rest, then the end of the stream.
    for _ in 0..1000 {
        if peer.is_finished() {
            break;
        }
        let t = ctx.subscribe_duration(10_000_000).unwrap();
        HostPollable::block(&mut ctx, b(&t)).unwrap();
        HostPollable::drop(&mut ctx, t).unwrap();
    }
    assert_eq!(peer.join().unwrap(), sent);
}
