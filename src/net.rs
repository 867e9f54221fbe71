//! The network policy: what a guest may do with WASI 0.2 sockets (`wasi:sockets`).
//!
//! A [`NetworkPolicy`] is given to the context with
//! [`WasiCtxBuilder::network`](crate::WasiCtxBuilder::network) (or
//! [`WasiCtxBuilder::inherit_network`](crate::WasiCtxBuilder::inherit_network)). The default is
//! **no network**: creating a TCP or UDP socket and looking up a name answer `access-denied`.
//!
//! A policy is a list of grants, each a [`SocketUse`] and an [`AddrPattern`] (an IP address or
//! CIDR range and a port range). It is checked when a guest binds (`start-bind`), connects
//! (`start-connect`, `udp-socket.stream` with a remote address) and sends a datagram to an
//! address; a refused address answers `access-denied`. Creating a socket is refused unless the
//! policy grants its protocol something (or, for TCP, a listener was preopened). Incoming
//! connections and datagrams are not filtered: the grant to bind is the grant to receive.
//!
//! A listener preopened with [`WasiCtxBuilder::preopen_socket`](crate::WasiCtxBuilder::preopen_socket)
//! is an explicit grant, independent of the policy: a WASI 0.2 guest gets it by binding a TCP
//! socket to exactly the listener's local address and then listening.
//!
//! ```
//! use hammertime::net::{AddrPattern, NetworkPolicy, SocketUse};
//! let policy = NetworkPolicy::none()
//!     .allow(SocketUse::TcpConnect, "10.0.0.0/8:443".parse()?)
//!     .allow(SocketUse::TcpBind, "127.0.0.1:8000-8099".parse()?)
//!     .allow(SocketUse::UdpSend, AddrPattern::any().port(53))
//!     .allow_name_lookup();
//! assert!(policy.allows("10.1.2.3:443".parse()?, SocketUse::TcpConnect));
//! assert!(!policy.allows("10.1.2.3:80".parse()?, SocketUse::TcpConnect));
//! assert!(!policy.allows("10.1.2.3:443".parse()?, SocketUse::UdpSend));
//! let ctx = hammertime::WasiCtx::builder().network(policy).build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;

/// What a guest does with an address, for [`NetworkPolicy::allows`].
///
/// ```
/// use hammertime::net::{AddrPattern, NetworkPolicy, SocketUse};
/// let policy = NetworkPolicy::none().allow(SocketUse::TcpBind, AddrPattern::any().port(8080));
/// let addr = "0.0.0.0:8080".parse()?;
/// assert!(policy.allows(addr, SocketUse::TcpBind));
/// assert!(!policy.allows(addr, SocketUse::TcpConnect)); // each use is granted on its own
/// assert!(!policy.allows(addr, SocketUse::UdpBind));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketUse {
    /// Bind a TCP socket to a local address (to listen on it, or to connect from it).
    TcpBind,
    /// Connect a TCP socket to a remote address.
    TcpConnect,
    /// Bind a UDP socket to a local address (and so receive datagrams sent to it).
    UdpBind,
    /// Send datagrams to a remote address, or associate a UDP socket with it
    /// (`udp-socket.stream` with a remote address).
    UdpSend,
}

impl SocketUse {
    fn is_tcp(self) -> bool {
        matches!(self, SocketUse::TcpBind | SocketUse::TcpConnect)
    }
}

/// A socket protocol, for [`NetworkPolicy::allow_sockets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP sockets.
    Tcp,
    /// UDP sockets.
    Udp,
}

/// A set of socket addresses: an IP address or CIDR range (or any address) and a port range.
///
/// Written as `ADDR` or `ADDR:PORTS`, where `ADDR` is `*`, an IPv4 address (`127.0.0.1`), an
/// IPv4 range (`10.0.0.0/8`), an IPv6 address or range in brackets (`[::1]`, `[fd00::]/8`) —
/// brackets may be left out when no port follows — and `PORTS` is `*`, a port (`80`) or a range
/// (`8000-8099`). Without `PORTS`, every port matches (including 0, the "any free port" of a
/// bind).
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are matched as the IPv4 address they map.
///
/// ```
/// use hammertime::net::AddrPattern;
/// use std::net::{IpAddr, Ipv4Addr};
/// let p: AddrPattern = "192.168.0.0/16:8000-8099".parse()?;
/// assert!(p.matches("192.168.4.2:8080".parse()?));
/// assert!(!p.matches("192.168.4.2:9000".parse()?));
/// assert!(!p.matches("10.0.0.1:8080".parse()?));
/// let q = AddrPattern::ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).ports(1024..=65535);
/// assert!(q.matches("127.0.0.1:5000".parse()?));
/// assert!(AddrPattern::any().matches("[::1]:1".parse()?));
/// assert!("[::1]:*".parse::<AddrPattern>()?.matches("[::1]:22".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrPattern {
    /// The network address and prefix length; `None`: any address of either family.
    net: Option<(IpAddr, u8)>,
    ports: RangeInclusive<u16>,
}

impl AddrPattern {
    /// Every address and every port.
    pub fn any() -> Self {
        AddrPattern { net: None, ports: 0..=u16::MAX }
    }

    /// Exactly `ip`, every port.
    pub fn ip(ip: IpAddr) -> Self {
        let ip = ip.to_canonical();
        let len = if ip.is_ipv4() { 32 } else { 128 };
        AddrPattern { net: Some((ip, len)), ports: 0..=u16::MAX }
    }

    /// The addresses whose first `prefix_len` bits are those of `ip`, every port. Fails when
    /// `prefix_len` is longer than the address (32 bits for IPv4, 128 for IPv6).
    ///
    /// ```
    /// use hammertime::net::AddrPattern;
    /// let p = AddrPattern::cidr("10.0.0.0".parse()?, 8)?;
    /// assert!(p.matches("10.200.0.1:1".parse()?));
    /// assert!(AddrPattern::cidr("10.0.0.0".parse()?, 33).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cidr(ip: IpAddr, prefix_len: u8) -> Result<Self, PatternError> {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(PatternError(format!("prefix length {prefix_len} is longer than {max}")));
        }
        let canonical = ip.to_canonical();
        // An IPv4-mapped range of at least 96 bits is the IPv4 range it maps.
        let (ip, len) = match (ip, canonical) {
            (IpAddr::V6(_), IpAddr::V4(_)) if prefix_len >= 96 => (canonical, prefix_len - 96),
            _ => (ip, prefix_len),
        };
        Ok(AddrPattern { net: Some((ip, len)), ports: 0..=u16::MAX })
    }

    /// The same addresses, only with port `port`.
    pub fn port(self, port: u16) -> Self {
        self.ports(port..=port)
    }

    /// The same addresses, only with a port in `ports`.
    pub fn ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.ports = ports;
        self
    }

    /// Whether `addr` is in the set.
    pub fn matches(&self, addr: SocketAddr) -> bool {
        self.ports.contains(&addr.port()) && self.matches_ip(addr.ip().to_canonical())
    }

    fn matches_ip(&self, ip: IpAddr) -> bool {
        let Some((net, len)) = self.net else { return true };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(u32::from(n).into(), u32::from(a).into(), 32, len),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(n), u128::from(a), 128, len),
            _ => false,
        }
    }
}

/// Whether the first `len` of the `bits` low bits of `a` and `b` are equal.
fn prefix_eq(a: u128, b: u128, bits: u8, len: u8) -> bool {
    if len == 0 {
        return true;
    }
    let shift = u32::from(bits.saturating_sub(len.min(bits)));
    (a >> shift) == (b >> shift)
}

/// Why a string is not an [`AddrPattern`].
///
/// ```
/// use hammertime::net::{AddrPattern, PatternError};
/// let err: PatternError = "10.0.0.0/8:http".parse::<AddrPattern>().unwrap_err();
/// assert_eq!(err.to_string(), r#"bad address pattern: "10.0.0.0/8:http""#);
/// let err = AddrPattern::cidr("::1".parse()?, 129).unwrap_err();
/// assert_eq!(err.to_string(), "bad address pattern: prefix length 129 is longer than 128");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad address pattern: {}", self.0)
    }
}

impl std::error::Error for PatternError {}

impl FromStr for AddrPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, PatternError> {
        let bad = || PatternError(format!("{s:?}"));
        // A bare address or range, with no port: every port.
        if let Ok(p) = parse_net(s) {
            return Ok(p);
        }
        let (addr, ports) = if let Some(rest) = s.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
            let (prefix, ports) = match after.split_once(':') {
                Some((prefix, ports)) => (prefix, Some(ports)),
                None => (after, None),
            };
            let net = match prefix.strip_prefix('/') {
                Some(len) => format!("{ip}/{len}"),
                None if prefix.is_empty() => ip.to_owned(),
                None => return Err(bad()),
            };
            (parse_net(&net).map_err(|_| bad())?, ports)
        } else {
            let (addr, ports) = s.rsplit_once(':').ok_or_else(bad)?;
            (parse_net(addr).map_err(|_| bad())?, Some(ports))
        };
        let ports = match ports {
            None | Some("*") => 0..=u16::MAX,
            Some(p) => match p.split_once('-') {
                Some((lo, hi)) => {
                    let lo = lo.parse::<u16>().map_err(|_| bad())?;
                    let hi = hi.parse::<u16>().map_err(|_| bad())?;
                    if lo > hi {
                        return Err(bad());
                    }
                    lo..=hi
                }
                None => {
                    let p = p.parse::<u16>().map_err(|_| bad())?;
                    p..=p
                }
            },
        };
        Ok(addr.ports(ports))
    }
}

/// `*`, an address, or `address/len`.
fn parse_net(s: &str) -> Result<AddrPattern, PatternError> {
    if s == "*" {
        return Ok(AddrPattern::any());
    }
    let bad = || PatternError(format!("{s:?}"));
    match s.split_once('/') {
        Some((ip, len)) => {
            let ip = ip.parse::<IpAddr>().map_err(|_| bad())?;
            AddrPattern::cidr(ip, len.parse::<u8>().map_err(|_| bad())?)
        }
        None => Ok(AddrPattern::ip(s.parse::<IpAddr>().map_err(|_| bad())?)),
    }
}

/// What a guest may do on the network through WASI 0.2 sockets. See the [module](self)
/// documentation.
///
/// ```
/// use hammertime::net::{NetworkPolicy, SocketUse};
/// let none = NetworkPolicy::default();
/// assert!(!none.allows("127.0.0.1:80".parse()?, SocketUse::TcpConnect));
/// assert!(!none.allows_name_lookup());
/// let all = NetworkPolicy::inherit();
/// assert!(all.allows("127.0.0.1:80".parse()?, SocketUse::TcpConnect));
/// assert!(all.allows_name_lookup());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    everything: bool,
    grants: Vec<(SocketUse, AddrPattern)>,
    name_lookup: bool,
    /// TCP and UDP sockets may be created even with no address granted.
    sockets: [bool; 2],
}

impl NetworkPolicy {
    /// No network (the default): every socket creation and name lookup answers `access-denied`.
    pub fn none() -> Self {
        NetworkPolicy::default()
    }

    /// The host's network: every address for every use, and name lookup.
    pub fn inherit() -> Self {
        NetworkPolicy { everything: true, grants: Vec::new(), name_lookup: true, sockets: [true; 2] }
    }

    /// Also allows `usage` of the addresses of `pattern`.
    ///
    /// ```
    /// use hammertime::net::{AddrPattern, NetworkPolicy, SocketUse};
    /// let p = NetworkPolicy::none().allow(SocketUse::UdpBind, AddrPattern::any().ports(5000..=5010));
    /// assert!(p.allows("0.0.0.0:5005".parse()?, SocketUse::UdpBind));
    /// assert!(!p.allows("0.0.0.0:5005".parse()?, SocketUse::TcpBind));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow(mut self, usage: SocketUse, pattern: AddrPattern) -> Self {
        self.grants.push((usage, pattern));
        self
    }

    /// Also allows name lookup (`wasi:sockets/ip-name-lookup`) through the host's resolver.
    ///
    /// ```
    /// use hammertime::net::NetworkPolicy;
    /// assert!(NetworkPolicy::none().allow_name_lookup().allows_name_lookup());
    /// ```
    pub fn allow_name_lookup(mut self) -> Self {
        self.name_lookup = true;
        self
    }

    /// Also allows creating sockets of `protocol` when no address of theirs is granted: what a
    /// guest can then do with one is what needs no address (read and set its options), as
    /// Wasmtime's default lets a guest create TCP and UDP sockets and use no address.
    ///
    /// ```
    /// use hammertime::net::{NetworkPolicy, Protocol, SocketUse};
    /// let p = NetworkPolicy::none().allow_sockets(Protocol::Tcp);
    /// assert!(!p.allows_any(SocketUse::TcpBind) && !p.allows_any(SocketUse::TcpConnect));
    /// ```
    pub fn allow_sockets(mut self, protocol: Protocol) -> Self {
        self.sockets[protocol as usize] = true;
        self
    }

    /// Whether `usage` of `addr` is allowed.
    ///
    /// ```
    /// use hammertime::net::{NetworkPolicy, SocketUse};
    /// let p = NetworkPolicy::none().allow(SocketUse::TcpConnect, "[::1]:8080".parse()?);
    /// assert!(p.allows("[::1]:8080".parse()?, SocketUse::TcpConnect));
    /// assert!(!p.allows("[::1]:8081".parse()?, SocketUse::TcpConnect));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allows(&self, addr: SocketAddr, usage: SocketUse) -> bool {
        self.everything || self.grants.iter().any(|(u, p)| *u == usage && p.matches(addr))
    }

    /// Whether some address is allowed for `usage`.
    ///
    /// ```
    /// use hammertime::net::{AddrPattern, NetworkPolicy, SocketUse};
    /// let p = NetworkPolicy::none().allow(SocketUse::TcpBind, AddrPattern::any());
    /// assert!(p.allows_any(SocketUse::TcpBind));
    /// assert!(!p.allows_any(SocketUse::UdpBind));
    /// ```
    pub fn allows_any(&self, usage: SocketUse) -> bool {
        self.everything || self.grants.iter().any(|(u, _)| *u == usage)
    }

    /// Whether name lookup is allowed.
    pub fn allows_name_lookup(&self) -> bool {
        self.everything || self.name_lookup
    }

    /// Whether a TCP (`tcp == true`) or UDP socket may be created: some use of it is allowed.
    pub(crate) fn allows_protocol(&self, tcp: bool) -> bool {
        let protocol = if tcp { Protocol::Tcp } else { Protocol::Udp };
        self.everything || self.sockets[protocol as usize] || self.grants.iter().any(|(u, _)| u.is_tcp() == tcp)
    }

    /// Whether anything at all is allowed (an IP literal is then "resolved" without a lookup).
    pub(crate) fn allows_anything(&self) -> bool {
        self.everything || self.name_lookup || !self.grants.is_empty() || self.sockets.contains(&true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_parse_and_match() {
        let p: AddrPattern = "127.0.0.1:80".parse().unwrap();
        assert!(p.matches(sa("127.0.0.1:80")));
        assert!(!p.matches(sa("127.0.0.1:81")));
        assert!(!p.matches(sa("127.0.0.2:80")));
        assert!(p.matches(sa("[::ffff:127.0.0.1]:80")), "mapped addresses match as IPv4");
        let p: AddrPattern = "10.0.0.0/8".parse().unwrap();
        assert!(p.matches(sa("10.255.1.1:0")));
        assert!(!p.matches(sa("11.0.0.1:1")));
        let p: AddrPattern = "[fd00::]/8:1-2".parse().unwrap();
        assert!(p.matches(sa("[fd12::1]:2")));
        assert!(!p.matches(sa("[fd12::1]:3")));
        assert!(!p.matches(sa("[fe00::1]:2")));
        let p: AddrPattern = "::1".parse().unwrap();
        assert!(p.matches(sa("[::1]:9")));
        assert!(!p.matches(sa("127.0.0.1:9")));
        let p: AddrPattern = "*:443".parse().unwrap();
        assert!(p.matches(sa("1.2.3.4:443")) && p.matches(sa("[::2]:443")) && !p.matches(sa("1.2.3.4:80")));
        let p: AddrPattern = "0.0.0.0/0:*".parse().unwrap();
        assert!(p.matches(sa("8.8.8.8:1")) && !p.matches(sa("[::1]:1")));
        for bad in ["", "1.2.3", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:9-8", "1.2.3.4/33", "[::1", "[::1]x", "::1:80:"] {
            assert!(bad.parse::<AddrPattern>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn policies_allow_what_they_grant() {
        let p = NetworkPolicy::none().allow(SocketUse::TcpBind, "127.0.0.1:8000-8001".parse().unwrap());
        assert!(p.allows(sa("127.0.0.1:8001"), SocketUse::TcpBind));
        assert!(!p.allows(sa("127.0.0.1:8002"), SocketUse::TcpBind));
        assert!(!p.allows(sa("127.0.0.1:8001"), SocketUse::TcpConnect));
        assert!(p.allows_protocol(true) && !p.allows_protocol(false));
        assert!(!p.allows_name_lookup());
        assert!(!NetworkPolicy::none().allows_anything());
        let p = NetworkPolicy::none().allow_sockets(Protocol::Udp);
        assert!(p.allows_protocol(false) && !p.allows_protocol(true) && !p.allows_any(SocketUse::UdpBind));
    }
}
