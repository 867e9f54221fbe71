//! `-S`: the WASI options of `wasmtime run`, in its spellings and with its meanings where
//! hammertime has the feature (`-S help` lists them); the rest of Wasmtime's are refused with a
//! one-line error saying so.

use hammertime::net::{AddrPattern, NetworkPolicy, Protocol, SocketUse};
use hammertime::{Limits, WasiCtxBuilder};

/// The `-S` keys hammertime takes, with their help.
const KEYS: &[(&str, &str)] = &[
    ("allow-ip-name-lookup[=y|n]", "wasi:sockets/ip-name-lookup through the host's resolver (default n)"),
    ("cli[=y]", "wasi:cli and the rest of WASI (always on; `common` is its old name)"),
    ("cli-exit-with-code[=y]", "wasi:cli/exit's exit-with-code (always on)"),
    ("inherit-env[=y|n]", "pass the whole host environment (--env overrides it), as --inherit-env"),
    ("inherit-network[=y|n]", "every address for TCP and UDP sockets (bind, connect, send)"),
    ("max-random-size=BYTES", "the most bytes one get-random-bytes call may ask for (more traps)"),
    ("max-resources=N", "the most WASI 0.2 resources the guest holds at once"),
    ("preview2[=y|n]", "accepted: hammertime has one preview1 implementation"),
    ("tcp[=y|n]", "let the guest create TCP sockets (default y, Wasmtime's n; addresses need inherit-network)"),
    ("tcplisten=ADDR", "listen on ADDR, preopened for sock_accept, as --tcplisten"),
    ("udp[=y|n]", "let the guest create UDP sockets (default y, Wasmtime's n; addresses need inherit-network)"),
];

/// Wasmtime's `-S` keys hammertime does not have, and what each would need.
const MISSING: &[(&str, &str)] = &[
    ("config", "wasi:config"),
    ("config-var", "wasi:config"),
    ("hostcall-fuel", "host-call fuel (hammertime bounds each call with its Limits)"),
    ("http", "wasi:http"),
    ("http-outgoing-body-buffer-chunks", "wasi:http"),
    ("http-outgoing-body-chunk-size", "wasi:http"),
    ("keyvalue", "wasi:keyvalue"),
    ("keyvalue-in-memory-data", "wasi:keyvalue"),
    ("listenfd", "systemd listen descriptors"),
    ("max-http-fields-size", "wasi:http"),
    ("network-error-code", "the unstable network-error-code"),
    ("nn", "wasi-nn"),
    ("nn-graph", "wasi-nn"),
    ("p3", "WASI 0.3"),
    ("preview0", "wasi_unstable (preview0)"),
    ("threads", "wasi-threads"),
    ("tls", "wasi:tls"),
];

/// Keeps a `-S` value as given, but prints the list of `-S` options and exits for `-S help`.
pub fn parse_raw(s: &str) -> Result<String, String> {
    if s == "help" || s == "help-long" {
        println!("Available -S (--wasi) options:\n");
        for (key, doc) in KEYS {
            println!("  -S {key} -- {doc}");
        }
        let missing: Vec<&str> = MISSING.iter().map(|(k, _)| *k).collect();
        println!("\nWasmtime's other -S options are not supported: {}", missing.join(", "));
        std::process::exit(0);
    }
    Ok(s.to_owned())
}

/// The `-S` options, parsed.
#[derive(Debug)]
pub struct WasiOptions {
    /// `inherit-network`.
    pub inherit_network: bool,
    /// `allow-ip-name-lookup`.
    pub allow_ip_name_lookup: bool,
    /// `tcp`, `udp`.
    pub tcp: bool,
    pub udp: bool,
    /// `inherit-env`.
    pub inherit_env: bool,
    /// `max-resources=`.
    pub max_resources: Option<u32>,
    /// `max-random-size=`.
    pub max_random_size: Option<u32>,
    /// `tcplisten=`, in order.
    pub tcplisten: Vec<String>,
}

impl Default for WasiOptions {
    fn default() -> Self {
        WasiOptions {
            inherit_network: false,
            allow_ip_name_lookup: false,
            tcp: true,
            udp: true,
            inherit_env: false,
            max_resources: None,
            max_random_size: None,
            tcplisten: Vec::new(),
        }
    }
}

impl WasiOptions {
    /// Parses the raw `-S` values; the error is one line naming the offending option.
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut opts = WasiOptions::default();
        for (key, value) in crate::options::key_values(raw) {
            match key {
                "inherit-network" => opts.inherit_network = parse_bool(key, value)?,
                "allow-ip-name-lookup" => opts.allow_ip_name_lookup = parse_bool(key, value)?,
                "tcp" => opts.tcp = parse_bool(key, value)?,
                "udp" => opts.udp = parse_bool(key, value)?,
                "inherit-env" => opts.inherit_env = parse_bool(key, value)?,
                "max-resources" => opts.max_resources = Some(parse_u32(key, value)?),
                "max-random-size" => opts.max_random_size = Some(parse_u32(key, value)?),
                "tcplisten" => {
                    opts.tcplisten.push(value.ok_or("-S tcplisten needs an address: -S tcplisten=ADDR")?.into())
                }
                "cli" | "common" | "cli-exit-with-code" => {
                    if !parse_bool(key, value)? {
                        return Err(format!("-S {key}=n: hammertime always provides WASI"));
                    }
                }
                "preview2" => {
                    parse_bool(key, value)?;
                }
                _ => match MISSING.iter().find(|(k, _)| *k == key) {
                    // Turning off what is not there changes nothing.
                    Some(_) if value.is_some_and(|v| parse_bool(key, Some(v)) == Ok(false)) => {}
                    Some((_, what)) => return Err(format!("-S {key}: {what} is not supported by hammertime")),
                    None => return Err(format!("unknown -S option `{key}` (`-S help` lists them)")),
                },
            }
        }
        Ok(opts)
    }

    /// The network policy: with `inherit-network`, every address for the protocols `tcp` and
    /// `udp` leave on; without it, sockets of those protocols can be created but use no address
    /// (as Wasmtime's default); name lookup with `allow-ip-name-lookup`.
    pub fn network(&self) -> NetworkPolicy {
        let mut policy = NetworkPolicy::none();
        for (on, protocol, uses) in [
            (self.tcp, Protocol::Tcp, [SocketUse::TcpBind, SocketUse::TcpConnect]),
            (self.udp, Protocol::Udp, [SocketUse::UdpBind, SocketUse::UdpSend]),
        ] {
            if !on {
                continue;
            }
            policy = policy.allow_sockets(protocol);
            if self.inherit_network {
                for usage in uses {
                    policy = policy.allow(usage, AddrPattern::any());
                }
            }
        }
        if self.allow_ip_name_lookup {
            policy = policy.allow_name_lookup();
        }
        policy
    }

    /// Applies the options to `builder`: the network, the limits and the whole environment
    /// (before `--env`, which overrides it). The listeners are the caller's.
    pub fn apply(&self, builder: &mut WasiCtxBuilder) {
        builder.network(self.network());
        if self.inherit_env {
            builder.inherit_env();
        }
        if self.max_resources.is_some() || self.max_random_size.is_some() {
            let mut limits = Limits::default();
            if let Some(n) = self.max_resources {
                limits.resources = n;
            }
            if let Some(n) = self.max_random_size {
                limits.random_bytes = n;
            }
            builder.limits(limits);
        }
    }
}

fn parse_bool(key: &str, value: Option<&str>) -> Result<bool, String> {
    crate::options::parse_bool("S", key, value)
}

fn parse_u32(key: &str, value: Option<&str>) -> Result<u32, String> {
    let v = value.ok_or_else(|| format!("-S {key} needs a value: -S {key}=N"))?;
    let n = crate::options::parse_size(v).map_err(|_| format!("-S {key}={v}: not a number"))?;
    u32::try_from(n).map_err(|_| format!("-S {key}={v}: too large (at most {})", u32::MAX))
}

#[cfg(test)]
mod tests;
