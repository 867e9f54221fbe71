use std::net::SocketAddr;

use hammertime::net::SocketUse;

use super::*;

fn parse(s: &str) -> Result<WasiOptions, String> {
    WasiOptions::parse(&[s.to_owned()])
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn the_network_options_mean_what_wasmtimes_do() {
    // By default sockets can be created but use no address, and names are not looked up.
    let p = parse("cli").unwrap().network();
    assert!(!p.allows(addr("127.0.0.1:80"), SocketUse::TcpConnect));
    assert!(!p.allows_any(SocketUse::UdpBind));
    assert!(!p.allows_name_lookup());
    // inherit-network: every address, for both protocols; no name lookup unless asked.
    let p = parse("inherit-network").unwrap().network();
    for usage in [SocketUse::TcpBind, SocketUse::TcpConnect, SocketUse::UdpBind, SocketUse::UdpSend] {
        assert!(p.allows(addr("[::1]:1"), usage), "{usage:?}");
    }
    assert!(!p.allows_name_lookup());
    assert!(parse("inherit-network,allow-ip-name-lookup").unwrap().network().allows_name_lookup());
    // tcp=n takes TCP away, addresses included.
    let p = parse("inherit-network,tcp=n").unwrap().network();
    assert!(!p.allows_any(SocketUse::TcpConnect) && p.allows_any(SocketUse::UdpSend));
}

#[test]
fn limits_environment_and_listeners_are_taken() {
    let o = WasiOptions::parse(&["max-resources=7,max-random-size=1K".into(), "inherit-env".into()]).unwrap();
    assert_eq!((o.max_resources, o.max_random_size, o.inherit_env), (Some(7), Some(1024), true));
    let mut builder = hammertime::WasiCtx::builder();
    o.apply(&mut builder);
    let ctx = builder.build().unwrap();
    assert_eq!((ctx.limits().resources, ctx.limits().random_bytes), (7, 1024));
    let o = WasiOptions::parse(&["tcplisten=127.0.0.1:0,tcplisten=[::1]:0".into()]).unwrap();
    assert_eq!(o.tcplisten, ["127.0.0.1:0", "[::1]:0"]);
    assert!(parse("preview2=n,common,cli-exit-with-code=y").is_ok());
}

#[test]
fn what_hammertime_lacks_is_a_one_line_error_and_turning_it_off_is_fine() {
    assert_eq!(parse("http").unwrap_err(), "-S http: wasi:http is not supported by hammertime");
    assert_eq!(parse("nn=y").unwrap_err(), "-S nn: wasi-nn is not supported by hammertime");
    assert!(parse("http=n,threads=no").is_ok());
    assert_eq!(parse("cli=n").unwrap_err(), "-S cli=n: hammertime always provides WASI");
    assert_eq!(parse("bogus").unwrap_err(), "unknown -S option `bogus` (`-S help` lists them)");
    assert_eq!(parse("tcp=maybe").unwrap_err(), "-S tcp=maybe: expected y or n");
    assert_eq!(parse("max-resources").unwrap_err(), "-S max-resources needs a value: -S max-resources=N");
    assert_eq!(parse("max-resources=8G").unwrap_err(), "-S max-resources=8G: too large (at most 4294967295)");
}
