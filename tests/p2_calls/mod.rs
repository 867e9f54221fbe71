//! The WASI 0.2 call fuzzer that `tests/no_panic_p2.rs` runs from seeds and the `p2` fuzz target
//! (`fuzz/harness/p2.rs`) runs from libFuzzer's bytes: every host function of the
//! `wasi:cli/command` world called straight on a [`WasiCtx`] with arguments drawn from a
//! [`Source`], and the oracles that judge each outcome (see `tests/no_panic_p2.rs`).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use hammertime::Errno;
use hammertime::WasiCtx;
use hammertime::p2::bindings::wasi;
use hammertime::p2::cli::{TerminalInput, TerminalOutput};
use hammertime::p2::filesystem::{Descriptor, DirectoryEntryStream, FsError, error_code};
use hammertime::p2::io::{InputStream, IoError, OutputStream, Pollable, StreamError};
use hammertime::p2::sockets::{
    IncomingDatagramStream, Network, OutgoingDatagramStream, ResolveAddressStream, SocketError, TcpSocket, UdpSocket,
};
use hammertime::random::SeededRandom;
use hammertime::vfs::{HostDir, MemFs};
use wasi::clocks::wall_clock::Datetime;
use wasi::filesystem::types::{Advice, DescriptorFlags, NewTimestamp, OpenFlags, PathFlags};
use wasi::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress};
use wasmtime::component::{Resource, ResourceTableError};

use wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr, terminal_stdin,
    terminal_stdout,
};
use wasi::clocks::{monotonic_clock, wall_clock};
use wasi::filesystem::{preopens, types};
use wasi::io::{error, poll, streams};
use wasi::random::{insecure, insecure_seed, random};
use wasi::sockets::{instance_network, ip_name_lookup, network, tcp, tcp_create_socket, udp, udp_create_socket};

// ---------------------------------------------------------------------------------------------
// Handles

/// The resource types a handle can have.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum K {
    Desc,
    DirStream,
    In,
    Out,
    Poll,
    Err,
    Net,
    TermIn,
    TermOut,
    // No value of these can exist under the default (no network) policy: only made-up reps.
    Tcp,
    Udp,
    InDgram,
    OutDgram,
    Resolve,
}

/// A handle argument: its rep, and whether it is live and of the type the call wants.
#[derive(Clone, Copy)]
struct H {
    rep: u32,
    valid: bool,
}

impl std::fmt::Debug for H {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}{}", self.rep, if self.valid { "" } else { "?" })
    }
}

fn b<T: 'static>(h: H) -> Resource<T> {
    Resource::new_borrow(h.rep)
}

fn o<T: 'static>(h: H) -> Resource<T> {
    Resource::new_own(h.rep)
}

// ---------------------------------------------------------------------------------------------
// Plausible errnos

use Errno as E;

/// The resolver's errors, common to every call that takes a path.
const RESOLVE: &[Errno] = &[E::Noent, E::Notdir, E::Perm, E::Loop, E::Nametoolong, E::Inval];
/// Running out of table slots or host descriptors.
const FULL: &[Errno] = &[E::Nfile, E::Mfile, E::Nomem];

fn plausible_fs(call: &str) -> Vec<Errno> {
    let extra: &[Errno] = match call {
        "read-via-stream" | "write-via-stream" => &[E::Badf, E::Isdir, E::Inval],
        "append-via-stream" => &[E::Badf, E::Isdir],
        "advise" => &[E::Badf, E::Inval],
        "sync-data" | "sync" => &[E::Badf, E::Inval, E::Rofs],
        "get-flags" | "get-type" | "stat" | "metadata-hash" => &[],
        "set-size" => &[E::Inval, E::Fbig, E::Rofs, E::Nospc, E::Dquot, E::Badf, E::Perm],
        "set-times" => &[E::Inval, E::Rofs, E::Perm],
        "read" => &[E::Badf, E::Isdir, E::Inval],
        "write" => &[E::Badf, E::Isdir, E::Inval, E::Fbig, E::Nospc, E::Dquot, E::Rofs],
        "read-directory" => &[E::Notdir, E::Badf],
        "read-directory-entry" => &[E::Noent, E::Badf, E::Notdir],
        "create-directory-at" => &[E::Exist, E::Rofs, E::Nospc, E::Dquot, E::Mlink],
        "stat-at" | "metadata-hash-at" | "readlink-at" => &[],
        "set-times-at" => &[E::Rofs],
        "link-at" => &[E::Exist, E::Xdev, E::Rofs, E::Mlink, E::Nospc, E::Dquot],
        "open-at" => &[E::Exist, E::Isdir, E::Rofs, E::Nospc, E::Dquot, E::Fbig, E::Badf],
        "remove-directory-at" => &[E::Notempty, E::Exist, E::Busy, E::Rofs],
        "rename-at" => &[E::Exist, E::Notempty, E::Isdir, E::Busy, E::Xdev, E::Rofs, E::Nospc, E::Dquot, E::Mlink],
        "symlink-at" => &[E::Exist, E::Rofs, E::Nospc, E::Dquot],
        "unlink-file-at" => &[E::Isdir, E::Rofs, E::Busy],
        _ => panic!("no errno list for {call}"),
    };
    let mut all = extra.to_vec();
    all.extend_from_slice(FULL);
    if call.ends_with("-at") {
        all.extend_from_slice(RESOLVE);
    }
    all
}

fn plausible_stream(call: &str) -> &'static [Errno] {
    match call {
        // Files: pread past i64::MAX is EINVAL on Linux.
        "read" | "blocking-read" | "skip" | "blocking-skip" => &[E::Inval, E::Badf, E::Isdir, E::Io],
        // Files: EFBIG past the maximum size, ENOSPC/EDQUOT when full; a pwrite past
        // i64::MAX is EINVAL (HostDir) or EFBIG.
        _ => &[E::Fbig, E::Nospc, E::Dquot, E::Inval, E::Badf, E::Rofs],
    }
}

// ---------------------------------------------------------------------------------------------
// The fuzzer

/// One call's identity, for reports.
struct Call {
    name: &'static str,
    desc: String,
    valid: bool,
    expect_trap: bool,
}

/// Where the fuzzer's choices come from: a seeded generator (the stable test), or the bytes of a
/// fuzz input, two at a time (a first byte of `0xFF` takes the next eight whole), zeros once
/// they run out.
pub enum Source {
    Seeded(SeededRandom),
    Bytes(Vec<u8>, usize),
}

impl Source {
    fn next_u64(&mut self) -> u64 {
        match self {
            Source::Seeded(r) => r.next_u64(),
            Source::Bytes(data, at) => {
                let mut take = |n: usize| {
                    let mut v = [0u8; 8];
                    for b in v.iter_mut().take(n) {
                        *b = data.get(*at).copied().unwrap_or(0);
                        *at += 1;
                    }
                    u64::from_le_bytes(v)
                };
                match take(1) {
                    0xFF => take(8),
                    low => low | take(1) << 8,
                }
            }
        }
    }

    /// Whether a byte source has no more bytes (a seeded one never runs out).
    fn exhausted(&self) -> bool {
        matches!(self, Source::Bytes(data, at) if *at >= data.len())
    }
}

/// The fuzzer's state: the context, the handles it holds, what it saw.
pub struct Fuzz {
    pub label: String,
    pub ctx: WasiCtx,
    r: Source,
    live: BTreeMap<u32, K>,
    /// The live descriptors that are files.
    files: BTreeSet<u32>,
    /// `get-directories` returned something once.
    has_preopens: bool,
    dropped: Vec<u32>,
    pub calls: usize,
    /// Per function: outcome ("ok", errno name, "trap", "closed") → count.
    pub outcomes: BTreeMap<&'static str, BTreeMap<String, usize>>,
    /// What the oracles found wrong: empty, or the run fails.
    pub findings: BTreeSet<String>,
    start: Instant,
}

/// Each host function the fuzzer calls, with how often.
pub const WEIGHTS: &[(&str, u32)] = &[
    // filesystem: descriptor
    ("read-via-stream", 6),
    ("write-via-stream", 6),
    ("append-via-stream", 4),
    ("advise", 3),
    ("sync-data", 2),
    ("sync", 2),
    ("get-flags", 3),
    ("get-type", 3),
    ("set-size", 4),
    ("set-times", 4),
    ("read", 6),
    ("write", 6),
    ("read-directory", 5),
    ("create-directory-at", 8),
    ("stat", 3),
    ("stat-at", 8),
    ("set-times-at", 5),
    ("link-at", 8),
    ("open-at", 20),
    ("readlink-at", 6),
    ("remove-directory-at", 8),
    ("rename-at", 8),
    ("symlink-at", 8),
    ("unlink-file-at", 8),
    ("is-same-object", 3),
    ("metadata-hash", 3),
    ("metadata-hash-at", 4),
    ("descriptor.drop", 2),
    ("read-directory-entry", 8),
    ("directory-entry-stream.drop", 3),
    ("filesystem-error-code", 3),
    ("get-directories", 2),
    // io
    ("to-debug-string", 2),
    ("error.drop", 2),
    ("poll", 3),
    ("pollable.ready", 3),
    ("pollable.block", 2),
    ("pollable.drop", 6),
    ("input.read", 5),
    ("input.blocking-read", 3),
    ("input.skip", 3),
    ("input.blocking-skip", 2),
    ("input.subscribe", 2),
    ("input.drop", 3),
    ("output.check-write", 3),
    ("output.write", 5),
    ("output.blocking-write-and-flush", 3),
    ("output.flush", 2),
    ("output.blocking-flush", 2),
    ("output.subscribe", 2),
    ("output.write-zeroes", 3),
    ("output.blocking-write-zeroes-and-flush", 2),
    ("output.splice", 3),
    ("output.blocking-splice", 2),
    ("output.drop", 3),
    // cli
    ("get-environment", 1),
    ("get-arguments", 1),
    ("initial-cwd", 1),
    ("exit", 1),
    ("exit-with-code", 1),
    ("get-stdin", 1),
    ("get-stdout", 1),
    ("get-stderr", 1),
    ("terminal-input.drop", 1),
    ("terminal-output.drop", 1),
    ("get-terminal-stdin", 1),
    ("get-terminal-stdout", 1),
    ("get-terminal-stderr", 1),
    // clocks
    ("wall.now", 1),
    ("wall.resolution", 1),
    ("mono.now", 1),
    ("mono.resolution", 1),
    ("subscribe-instant", 2),
    ("subscribe-duration", 2),
    // random
    ("get-random-bytes", 2),
    ("get-random-u64", 1),
    ("get-insecure-random-bytes", 2),
    ("get-insecure-random-u64", 1),
    ("insecure-seed", 1),
    // sockets
    ("network-error-code", 2),
    ("network.drop", 1),
    ("instance-network", 1),
    ("create-tcp-socket", 2),
    ("create-udp-socket", 2),
    ("resolve-addresses", 2),
    ("resolve-next-address", 1),
    ("resolve.subscribe", 1),
    ("resolve.drop", 1),
    ("tcp.method", 8),
    ("tcp.drop", 1),
    ("udp.method", 5),
    ("udp.drop", 1),
    ("incoming.method", 1),
    ("incoming.drop", 1),
    ("outgoing.method", 1),
    ("outgoing.drop", 1),
];

const COMPS: &[&str] =
    &["a", "b", "d", "f", "l", "loop", "up", "abs", "dl", "e", "..", ".", "", "sib", "d/f", "dl/f", "x\u{e9}"];

impl Fuzz {
    pub fn new(label: &str, ctx: WasiCtx, r: Source) -> Self {
        Fuzz {
            label: label.to_owned(),
            ctx,
            r,
            live: BTreeMap::new(),
            files: BTreeSet::new(),
            has_preopens: false,
            dropped: Vec::new(),
            calls: 0,
            outcomes: BTreeMap::new(),
            findings: BTreeSet::new(),
            start: Instant::now(),
        }
    }

    fn n(&mut self, m: u64) -> u64 {
        self.r.next_u64() % m
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.n(one_in) == 0
    }

    /// A handle for an argument of type `want`.
    fn h(&mut self, want: K) -> H {
        let rep = match self.n(24) {
            // A live file descriptor (most descriptors are directories otherwise).
            0..=5 if want == K::Desc && !self.files.is_empty() => {
                let i = self.n(self.files.len() as u64) as usize;
                *self.files.iter().nth(i).expect("in range")
            }
            // Live, of the right type.
            0..=17 => {
                let of: Vec<u32> = self.live.iter().filter(|(_, k)| **k == want).map(|(r, _)| *r).collect();
                if of.is_empty() { self.any_live() } else { of[self.n(of.len() as u64) as usize] }
            }
            // Live, of any (most likely another) type.
            18..=19 => self.any_live(),
            // Dropped (possibly reused since).
            20 if !self.dropped.is_empty() => {
                let i = self.n(self.dropped.len() as u64) as usize;
                self.dropped[i]
            }
            // Made up.
            21 => self.n(64) as u32,
            22 => u32::MAX - self.n(4) as u32,
            _ => (self.r.next_u64() as u32) | (1 << 24),
        };
        H { rep, valid: self.live.get(&rep) == Some(&want) }
    }

    fn any_live(&mut self) -> u32 {
        if self.live.is_empty() {
            return self.n(32) as u32;
        }
        let i = self.n(self.live.len() as u64) as usize;
        *self.live.keys().nth(i).expect("in range")
    }

    fn add<T: 'static>(&mut self, res: &Resource<T>, k: K) {
        if let Some(old) = self.live.insert(res.rep(), k) {
            self.findings.insert(format!(
                "{}: a new {k:?} got rep {} while a live {old:?} holds it",
                self.label,
                res.rep()
            ));
        }
    }

    fn u64_edge(&mut self) -> u64 {
        match self.n(14) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => i64::MAX as u64,
            4 => (i64::MAX as u64) + 1,
            5 => 1 << 40,
            6 => 1 << 32,
            7 => (1 << 20) + 1,
            8 => 1 << 20,
            9 => u64::MAX - self.n(4096),
            10 => 4096,
            _ => self.n(9000),
        }
    }

    /// A length for reads, skips and splices.
    fn len(&mut self) -> u64 {
        match self.n(6) {
            0 => self.u64_edge(),
            _ => self.n(300),
        }
    }

    /// An offset for file positions: mostly small (files stay small), sometimes at the edges.
    fn offset(&mut self) -> u64 {
        match self.n(8) {
            0 | 1 => self.u64_edge(),
            _ => self.n(200),
        }
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.n(12) {
            0 => 4096,
            1 => 4097,
            2 => 65536,
            3 if self.chance(4) => (1 << 20) + 1,
            4 if self.chance(4) => 1 << 20,
            5 => 0,
            _ => self.n(200) as usize,
        };
        let seed = self.r.next_u64() as u8;
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    fn path(&mut self) -> String {
        if self.chance(3) {
            let simple = ["f", "d/f", "a", "b", "d/a", "e/x", "new", "l/f", "dl/f", "d", "e", "l", "sib", "up/x"];
            return simple[self.n(simple.len() as u64) as usize].to_string();
        }
        match self.n(24) {
            0 => String::new(),
            1 => "/".into(),
            2 => "/etc/passwd".into(),
            3 => "a\0b".into(),
            4 => "\0".into(),
            5 => "a".repeat(5000),
            6 => "n".repeat(256),
            7 => "d/".repeat(2100),
            8 => "../sibling/secret".into(),
            9 => "up/sibling/secret".into(),
            10 => "./././d//f".into(),
            11 => "e/../../..".into(),
            _ => {
                let depth = 1 + self.n(4);
                let mut parts = Vec::new();
                for _ in 0..depth {
                    parts.push(COMPS[self.n(COMPS.len() as u64) as usize]);
                }
                let mut p = parts.join("/");
                if self.chance(16) {
                    p.insert(0, '/');
                }
                if self.chance(8) {
                    p.push('/');
                }
                p
            }
        }
    }

    fn target(&mut self) -> String {
        match self.n(8) {
            0 => "/etc".into(),
            1 => "../sibling/secret".into(),
            2 => "..".into(),
            _ => self.path(),
        }
    }

    fn path_flags(&mut self) -> PathFlags {
        if self.chance(2) { PathFlags::SYMLINK_FOLLOW } else { PathFlags::empty() }
    }

    fn open_flags(&mut self) -> OpenFlags {
        let bits = self.r.next_u64();
        let mut f = OpenFlags::empty();
        for (i, flag) in
            [OpenFlags::CREATE, OpenFlags::DIRECTORY, OpenFlags::EXCLUSIVE, OpenFlags::TRUNCATE].into_iter().enumerate()
        {
            // CREATE and TRUNCATE are less common, so the tree is not flattened at once.
            if bits >> (i * 3) & 0b11 == 0 {
                f |= flag;
            }
        }
        f
    }

    fn desc_flags(&mut self) -> DescriptorFlags {
        let bits = self.r.next_u64();
        let mut f = DescriptorFlags::empty();
        for (i, flag) in [
            DescriptorFlags::READ,
            DescriptorFlags::WRITE,
            DescriptorFlags::FILE_INTEGRITY_SYNC,
            DescriptorFlags::DATA_INTEGRITY_SYNC,
            DescriptorFlags::REQUESTED_WRITE_SYNC,
            DescriptorFlags::MUTATE_DIRECTORY,
        ]
        .into_iter()
        .enumerate()
        {
            // READ, WRITE and MUTATE_DIRECTORY half the time; the sync flags one time in eight.
            let p = if matches!(i, 0 | 1 | 5) { 0b1 } else { 0b111 };
            if bits >> (i * 3) & p == 0 {
                f |= flag;
            }
        }
        f
    }

    fn timestamp(&mut self) -> NewTimestamp {
        match self.n(4) {
            0 => NewTimestamp::NoChange,
            1 => NewTimestamp::Now,
            _ => {
                let seconds = match self.n(4) {
                    0 => u64::MAX,
                    1 => u64::MAX / 1_000_000_000,
                    _ => self.n(2_000_000_000),
                };
                let nanoseconds = match self.n(5) {
                    0 => 1_000_000_000,
                    1 => u32::MAX,
                    _ => self.n(1_000_000_000) as u32,
                };
                NewTimestamp::Timestamp(Datetime { seconds, nanoseconds })
            }
        }
    }

    fn advice(&mut self) -> Advice {
        [Advice::Normal, Advice::Sequential, Advice::Random, Advice::WillNeed, Advice::DontNeed, Advice::NoReuse]
            [self.n(6) as usize]
    }

    fn family(&mut self) -> IpAddressFamily {
        if self.chance(2) { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 }
    }

    fn sockaddr(&mut self) -> IpSocketAddress {
        let port = self.r.next_u64() as u16;
        if self.chance(2) {
            let a = self.r.next_u64().to_le_bytes();
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: (a[0], a[1], a[2], a[3]) })
        } else {
            let w = |x: u64, i: u32| (x >> (i * 16)) as u16;
            let (x, y) = (self.r.next_u64(), self.r.next_u64());
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port,
                flow_info: self.r.next_u64() as u32,
                address: (w(x, 0), w(x, 1), w(x, 2), w(x, 3), w(y, 0), w(y, 1), w(y, 2), w(y, 3)),
                scope_id: self.r.next_u64() as u32,
            })
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running one call and judging its outcome

    fn call(&mut self, name: &'static str, desc: String, handles: &[H]) -> Call {
        Call { name, desc, valid: handles.iter().all(|h| h.valid), expect_trap: false }
    }

    /// Runs `f` on the context under `catch_unwind`; a panic fails the test with the call.
    fn guard<T>(&mut self, c: &Call, f: impl FnOnce(&mut WasiCtx) -> T) -> T {
        self.calls += 1;
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.ctx))) {
            Ok(v) => v,
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("HOST PANIC [{}] after {} calls in {}: {msg}", self.label, self.calls, c.desc);
            }
        }
    }

    fn note(&mut self, c: &Call, outcome: &str) {
        *self.outcomes.entry(c.name).or_default().entry(outcome.to_owned()).or_default() += 1;
    }

    fn finding(&mut self, c: &Call, what: String) {
        let key = format!("{} {}: {what}", self.label, c.name);
        if !self.findings.iter().any(|f| f.starts_with(&key)) {
            self.findings.insert(format!("{key} — e.g. {}", c.desc));
        }
    }

    /// A function that returns `wasmtime::Result`: an error is a trap.
    fn plain<T>(&mut self, c: &Call, r: wasmtime::Result<T>) -> Option<T> {
        match r {
            Ok(v) => {
                self.note(c, "ok");
                Some(v)
            }
            Err(e) => {
                if c.valid && !c.expect_trap {
                    self.finding(c, format!("trap with live handles: {e:#}"));
                }
                self.note(c, "trap");
                None
            }
        }
    }

    fn fs<T>(&mut self, c: &Call, r: Result<T, FsError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.note(c, "ok");
                Some(v)
            }
            Err(FsError::Code(e)) => {
                if !plausible_fs(c.name).contains(&e) {
                    self.finding(c, format!("implausible errno {}", e.name()));
                }
                // What the bindings do with it next.
                let code = self.guard(c, |ctx| types::Host::convert_error_code(ctx, FsError::Code(e)));
                match code {
                    Ok(code) if code == error_code(e) => {}
                    other => self.finding(c, format!("convert-error-code({}) gave {other:?}", e.name())),
                }
                self.note(c, e.name());
                None
            }
            Err(FsError::Trap(e)) => {
                if c.valid && !c.expect_trap {
                    self.finding(c, format!("trap with live handles: {e:#}"));
                }
                let msg = format!("{e:#}");
                let converted = self.guard(c, |ctx| types::Host::convert_error_code(ctx, FsError::Trap(e)));
                if converted.is_ok() {
                    self.finding(c, format!("convert-error-code turned the trap {msg} into a code"));
                }
                self.note(c, "trap");
                None
            }
        }
    }

    fn stream<T>(&mut self, c: &Call, r: Result<T, StreamError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.note(c, "ok");
                Some(v)
            }
            Err(StreamError::Closed) => {
                let converted = self.guard(c, |ctx| streams::Host::convert_stream_error(ctx, StreamError::Closed));
                if !matches!(converted, Ok(streams::StreamError::Closed)) {
                    self.finding(c, "convert-stream-error(closed) is not closed".into());
                }
                self.note(c, "closed");
                None
            }
            Err(StreamError::Failed(e)) => {
                let short = c.name.rsplit('.').next().unwrap_or(c.name);
                if !plausible_stream(short).contains(&e) {
                    self.finding(c, format!("implausible stream errno {}", e.name()));
                }
                let converted = self.guard(c, |ctx| streams::Host::convert_stream_error(ctx, StreamError::Failed(e)));
                match converted {
                    Ok(streams::StreamError::LastOperationFailed(err)) => self.add(&err, K::Err),
                    other => self.finding(c, format!("convert-stream-error(failed) gave {other:?}")),
                }
                self.note(c, e.name());
                None
            }
            Err(StreamError::Trap(e)) => {
                if c.valid && !c.expect_trap {
                    self.finding(c, format!("trap with live handles: {e:#}"));
                }
                let converted = self.guard(c, |ctx| streams::Host::convert_stream_error(ctx, StreamError::Trap(e)));
                if converted.is_ok() {
                    self.finding(c, "convert-stream-error turned a trap into an error".into());
                }
                self.note(c, "trap");
                None
            }
        }
    }

    fn sock<T>(&mut self, c: &Call, r: Result<T, SocketError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.note(c, "ok");
                Some(v)
            }
            Err(SocketError::Code(code)) => {
                let converted = self.guard(c, |ctx| network::Host::convert_error_code(ctx, SocketError::Code(code)));
                if !matches!(converted, Ok(x) if x == code) {
                    self.finding(c, format!("network convert-error-code({}) changed it", code.name()));
                }
                self.note(c, code.name());
                None
            }
            Err(SocketError::Trap(e)) => {
                if c.valid && !c.expect_trap {
                    self.finding(c, format!("trap with live handles: {e:#}"));
                }
                let converted = self.guard(c, |ctx| network::Host::convert_error_code(ctx, SocketError::Trap(e)));
                if converted.is_ok() {
                    self.finding(c, "network convert-error-code turned a trap into a code".into());
                }
                self.note(c, "trap");
                None
            }
        }
    }

    /// A resource `drop`: the handle is passed owned. A successful drop frees the rep; so does
    /// a drop of a live handle of the wrong type (Wasmtime's `ResourceTable::delete` frees the
    /// entry before it finds the type wrong — unreachable from a component, whose handles are
    /// typed by the runtime).
    fn dropped_result(&mut self, c: &Call, h: H, r: wasmtime::Result<()>) {
        let freed = match &r {
            Ok(()) => true,
            Err(e) => matches!(e.downcast_ref::<ResourceTableError>(), Some(ResourceTableError::WrongType)),
        };
        let has_children = matches!(&r, Err(e) if matches!(e.downcast_ref::<ResourceTableError>(), Some(ResourceTableError::HasChildren)));
        if freed {
            self.files.remove(&h.rep);
        }
        if freed && self.live.remove(&h.rep).is_some() {
            self.dropped.push(h.rep);
            if self.dropped.len() > 64 {
                self.dropped.remove(0);
            }
        }
        let c = Call { name: c.name, desc: c.desc.clone(), valid: c.valid, expect_trap: c.expect_trap || has_children };
        self.plain(&c, r);
    }

    fn drop_of(&mut self, name: &'static str, k: K, h: H) {
        let c = self.call(name, format!("{name}({h:?})"), &[h]);
        let r = self.guard(&c, |ctx| -> wasmtime::Result<()> {
            match k {
                K::Desc => types::HostDescriptor::drop(ctx, o::<Descriptor>(h)),
                K::DirStream => types::HostDirectoryEntryStream::drop(ctx, o::<DirectoryEntryStream>(h)),
                K::In => streams::HostInputStream::drop(ctx, o::<InputStream>(h)),
                K::Out => streams::HostOutputStream::drop(ctx, o::<OutputStream>(h)),
                K::Poll => poll::HostPollable::drop(ctx, o::<Pollable>(h)),
                K::Err => error::HostError::drop(ctx, o::<IoError>(h)),
                K::Net => network::HostNetwork::drop(ctx, o::<Network>(h)),
                K::TermIn => terminal_input::HostTerminalInput::drop(ctx, o::<TerminalInput>(h)),
                K::TermOut => terminal_output::HostTerminalOutput::drop(ctx, o::<TerminalOutput>(h)),
                K::Tcp => tcp::HostTcpSocket::drop(ctx, o::<TcpSocket>(h)),
                K::Udp => udp::HostUdpSocket::drop(ctx, o::<UdpSocket>(h)),
                K::InDgram => udp::HostIncomingDatagramStream::drop(ctx, o::<IncomingDatagramStream>(h)),
                K::OutDgram => udp::HostOutgoingDatagramStream::drop(ctx, o::<OutgoingDatagramStream>(h)),
                K::Resolve => ip_name_lookup::HostResolveAddressStream::drop(ctx, o::<ResolveAddressStream>(h)),
            }
        });
        self.dropped_result(&c, h, r);
    }

    // -----------------------------------------------------------------------------------------
    // The calls

    fn step(&mut self, name: &'static str) {
        macro_rules! desc {
            ($($arg:expr),*) => { format!("{name}{:?}", ($($arg,)*)) };
        }
        match name {
            // ---- wasi:filesystem/types.descriptor
            "read-via-stream" | "write-via-stream" | "append-via-stream" => {
                let (fd, off) = (self.h(K::Desc), self.offset());
                let c = self.call(name, format!("{name}({fd:?}, {off})"), &[fd]);
                let r = self.guard(&c, |ctx| match name {
                    "read-via-stream" => {
                        types::HostDescriptor::read_via_stream(ctx, b(fd), off).map(|s| (s.rep(), K::In))
                    }
                    "write-via-stream" => {
                        types::HostDescriptor::write_via_stream(ctx, b(fd), off).map(|s| (s.rep(), K::Out))
                    }
                    _ => types::HostDescriptor::append_via_stream(ctx, b(fd)).map(|s| (s.rep(), K::Out)),
                });
                if let Some((rep, k)) = self.fs(&c, r) {
                    self.add(&Resource::<()>::new_own(rep), k);
                }
            }
            "advise" => {
                let (fd, off, len, adv) = (self.h(K::Desc), self.u64_edge(), self.u64_edge(), self.advice());
                let c = self.call(name, desc!(fd, off, len, adv), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::advise(ctx, b(fd), off, len, adv));
                self.fs(&c, r);
            }
            "sync-data" | "sync" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| {
                    if name == "sync" {
                        types::HostDescriptor::sync(ctx, b(fd))
                    } else {
                        types::HostDescriptor::sync_data(ctx, b(fd))
                    }
                });
                self.fs(&c, r);
            }
            "get-flags" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::get_flags(ctx, b(fd)));
                self.fs(&c, r);
            }
            "get-type" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::get_type(ctx, b(fd)));
                self.fs(&c, r);
            }
            "set-size" => {
                let fd = self.h(K::Desc);
                // Sizes stay small but for the edges (a MemFs file is one dense buffer).
                let size = match self.n(6) {
                    0 => self.u64_edge(),
                    _ => self.n(5000),
                };
                let c = self.call(name, desc!(fd, size), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::set_size(ctx, b(fd), size));
                self.fs(&c, r);
            }
            "set-times" => {
                let (fd, a, m) = (self.h(K::Desc), self.timestamp(), self.timestamp());
                let c = self.call(name, desc!(fd, a, m), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::set_times(ctx, b(fd), a, m));
                self.fs(&c, r);
            }
            "read" => {
                let (fd, len, off) = (self.h(K::Desc), self.len(), self.offset());
                let c = self.call(name, desc!(fd, len, off), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::read(ctx, b(fd), len, off));
                if let Some((bytes, _)) = self.fs(&c, r)
                    && bytes.len() as u64 > len
                {
                    self.finding(&c, format!("read returned {} bytes for {len}", bytes.len()));
                }
            }
            "write" => {
                let (fd, buf, off) = (self.h(K::Desc), self.bytes(), self.offset());
                let len = buf.len();
                let c = self.call(name, format!("write({fd:?}, [{len} bytes], {off})"), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::write(ctx, b(fd), buf, off));
                if let Some(n) = self.fs(&c, r)
                    && n > len as u64
                {
                    self.finding(&c, format!("wrote {n} of {len}"));
                }
            }
            "read-directory" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::read_directory(ctx, b(fd)));
                if let Some(s) = self.fs(&c, r) {
                    self.add(&s, K::DirStream);
                }
            }
            "stat" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::stat(ctx, b(fd)));
                self.fs(&c, r);
            }
            "metadata-hash" => {
                let fd = self.h(K::Desc);
                let c = self.call(name, desc!(fd), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::metadata_hash(ctx, b(fd)));
                self.fs(&c, r);
            }
            "create-directory-at" | "readlink-at" | "remove-directory-at" | "unlink-file-at" => {
                let (fd, p) = (self.h(K::Desc), self.path());
                let c = self.call(name, format!("{name}({fd:?}, {})", show(&p)), &[fd]);
                let r = self.guard(&c, |ctx| match name {
                    "create-directory-at" => types::HostDescriptor::create_directory_at(ctx, b(fd), p),
                    "readlink-at" => types::HostDescriptor::readlink_at(ctx, b(fd), p).map(|_| ()),
                    "remove-directory-at" => types::HostDescriptor::remove_directory_at(ctx, b(fd), p),
                    _ => types::HostDescriptor::unlink_file_at(ctx, b(fd), p),
                });
                self.fs(&c, r);
            }
            "stat-at" | "metadata-hash-at" => {
                let (fd, fl, p) = (self.h(K::Desc), self.path_flags(), self.path());
                let c = self.call(name, format!("{name}({fd:?}, {fl:?}, {})", show(&p)), &[fd]);
                let r = self.guard(&c, |ctx| {
                    if name == "stat-at" {
                        types::HostDescriptor::stat_at(ctx, b(fd), fl, p).map(|_| ())
                    } else {
                        types::HostDescriptor::metadata_hash_at(ctx, b(fd), fl, p).map(|_| ())
                    }
                });
                self.fs(&c, r);
            }
            "set-times-at" => {
                let (fd, fl, p, a, m) =
                    (self.h(K::Desc), self.path_flags(), self.path(), self.timestamp(), self.timestamp());
                let c = self.call(name, format!("{name}({fd:?}, {fl:?}, {}, {a:?}, {m:?})", show(&p)), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::set_times_at(ctx, b(fd), fl, p, a, m));
                self.fs(&c, r);
            }
            "link-at" => {
                let (fd, fl, p, fd2, q) =
                    (self.h(K::Desc), self.path_flags(), self.path(), self.h(K::Desc), self.path());
                let c =
                    self.call(name, format!("{name}({fd:?}, {fl:?}, {}, {fd2:?}, {})", show(&p), show(&q)), &[fd, fd2]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::link_at(ctx, b(fd), fl, p, b(fd2), q));
                self.fs(&c, r);
            }
            "rename-at" => {
                let (fd, p, fd2, q) = (self.h(K::Desc), self.path(), self.h(K::Desc), self.path());
                let c = self.call(name, format!("{name}({fd:?}, {}, {fd2:?}, {})", show(&p), show(&q)), &[fd, fd2]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::rename_at(ctx, b(fd), p, b(fd2), q));
                self.fs(&c, r);
            }
            "symlink-at" => {
                let (fd, t, p) = (self.h(K::Desc), self.target(), self.path());
                let c = self.call(name, format!("{name}({fd:?}, {}, {})", show(&t), show(&p)), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::symlink_at(ctx, b(fd), t, p));
                self.fs(&c, r);
            }
            "open-at" => {
                let (fd, fl, mut p, mut of, mut df) =
                    (self.h(K::Desc), self.path_flags(), self.path(), self.open_flags(), self.desc_flags());
                if self.chance(3) {
                    // A file that can be opened, so there are files to work on.
                    p = ["f", "d/f", "new", "e/x", "n1", "l/n2"][self.n(6) as usize].to_string();
                    of |= OpenFlags::CREATE;
                    of &= !OpenFlags::DIRECTORY;
                    if self.chance(2) {
                        of &= !OpenFlags::EXCLUSIVE;
                    }
                    df |= [DescriptorFlags::READ, DescriptorFlags::WRITE][self.n(2) as usize];
                }
                let c = self.call(name, format!("{name}({fd:?}, {fl:?}, {}, {of:?}, {df:?})", show(&p)), &[fd]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::open_at(ctx, b(fd), fl, p, of, df));
                if let Some(d) = self.fs(&c, r) {
                    self.add(&d, K::Desc);
                    let h = H { rep: d.rep(), valid: true };
                    let c = self.call("get-type", format!("get-type({h:?}) [new]"), &[h]);
                    let r = self.guard(&c, |ctx| types::HostDescriptor::get_type(ctx, b(h)));
                    if self.fs(&c, r).is_some_and(|t| t != types::DescriptorType::Directory) {
                        self.files.insert(h.rep);
                    }
                }
            }
            "is-same-object" => {
                let (a, bb) = (self.h(K::Desc), self.h(K::Desc));
                let c = self.call(name, desc!(a, bb), &[a, bb]);
                let r = self.guard(&c, |ctx| types::HostDescriptor::is_same_object(ctx, b(a), b(bb)));
                if let Some(same) = self.plain(&c, r)
                    && a.rep == bb.rep
                    && !same
                {
                    self.finding(&c, "a descriptor is not the same object as itself".into());
                }
            }
            "descriptor.drop" => {
                let h = self.h(K::Desc);
                self.drop_of(name, K::Desc, h);
            }
            "read-directory-entry" => {
                let s = self.h(K::DirStream);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| types::HostDirectoryEntryStream::read_directory_entry(ctx, b(s)));
                self.fs(&c, r);
            }
            "directory-entry-stream.drop" => {
                let h = self.h(K::DirStream);
                self.drop_of(name, K::DirStream, h);
            }
            "filesystem-error-code" => {
                let e = self.h(K::Err);
                let c = self.call(name, desc!(e), &[e]);
                let r = self.guard(&c, |ctx| types::Host::filesystem_error_code(ctx, b(e)));
                if let Some(code) = self.plain(&c, r)
                    && code.is_none()
                {
                    self.finding(&c, "no error-code for a stream error of a file or stdio".into());
                }
            }
            // ---- wasi:filesystem/preopens
            "get-directories" => {
                let c = self.call(name, "get-directories()".into(), &[]);
                let r = self.guard(&c, preopens::Host::get_directories);
                for (d, _) in self.plain(&c, r).unwrap_or_default() {
                    self.has_preopens = true;
                    self.add(&d, K::Desc);
                }
            }
            // ---- wasi:io/error
            "to-debug-string" => {
                let e = self.h(K::Err);
                let c = self.call(name, desc!(e), &[e]);
                let r = self.guard(&c, |ctx| error::HostError::to_debug_string(ctx, b(e)));
                self.plain(&c, r);
            }
            "error.drop" => {
                let h = self.h(K::Err);
                self.drop_of(name, K::Err, h);
            }
            // ---- wasi:io/poll
            "poll" => {
                let n = match self.n(8) {
                    0 => 0,
                    _ => 1 + self.n(4) as usize,
                };
                let hs: Vec<H> = (0..n).map(|_| self.h(K::Poll)).collect();
                let mut c = self.call(name, format!("poll({hs:?})"), &hs);
                c.expect_trap = hs.is_empty();
                let list: Vec<Resource<Pollable>> = hs.iter().map(|h| b(*h)).collect();
                let r = self.guard(&c, |ctx| poll::Host::poll(ctx, list));
                if let Some(ready) = self.plain(&c, r)
                    && (ready.is_empty() || ready.iter().any(|i| *i as usize >= n))
                {
                    self.finding(&c, format!("poll of {n} answered {ready:?}"));
                }
            }
            "pollable.ready" | "pollable.block" => {
                let p = self.h(K::Poll);
                let c = self.call(name, desc!(p), &[p]);
                let r = self.guard(&c, |ctx| {
                    if name == "pollable.ready" {
                        poll::HostPollable::ready(ctx, b(p)).map(|_| ())
                    } else {
                        poll::HostPollable::block(ctx, b(p))
                    }
                });
                self.plain(&c, r);
            }
            "pollable.drop" => {
                let h = self.h(K::Poll);
                self.drop_of(name, K::Poll, h);
            }
            // ---- wasi:io/streams.input-stream
            "input.read" | "input.blocking-read" | "input.skip" | "input.blocking-skip" => {
                let (s, len) = (self.h(K::In), self.len());
                let c = self.call(name, desc!(s, len), &[s]);
                let r = self.guard(&c, |ctx| match name {
                    "input.read" => streams::HostInputStream::read(ctx, b(s), len).map(|v| v.len() as u64),
                    "input.blocking-read" => {
                        streams::HostInputStream::blocking_read(ctx, b(s), len).map(|v| v.len() as u64)
                    }
                    "input.skip" => streams::HostInputStream::skip(ctx, b(s), len),
                    _ => streams::HostInputStream::blocking_skip(ctx, b(s), len),
                });
                if let Some(n) = self.stream(&c, r)
                    && n > len
                {
                    self.finding(&c, format!("moved {n} bytes for {len}"));
                }
            }
            "input.subscribe" => {
                let s = self.h(K::In);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| streams::HostInputStream::subscribe(ctx, b(s)));
                if let Some(p) = self.plain(&c, r) {
                    self.add(&p, K::Poll);
                }
            }
            "input.drop" => {
                let h = self.h(K::In);
                self.drop_of(name, K::In, h);
            }
            // ---- wasi:io/streams.output-stream
            "output.check-write" | "output.flush" | "output.blocking-flush" => {
                let s = self.h(K::Out);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| match name {
                    "output.check-write" => streams::HostOutputStream::check_write(ctx, b(s)).map(|_| ()),
                    "output.flush" => streams::HostOutputStream::flush(ctx, b(s)),
                    _ => streams::HostOutputStream::blocking_flush(ctx, b(s)),
                });
                self.stream(&c, r);
            }
            "output.write" | "output.blocking-write-and-flush" => {
                let (s, buf) = (self.h(K::Out), self.bytes());
                let len = buf.len();
                let mut c = self.call(name, format!("{name}({s:?}, [{len} bytes])"), &[s]);
                c.expect_trap = if name == "output.write" { len > 1 << 20 } else { len > 4096 };
                let r = self.guard(&c, |ctx| {
                    if name == "output.write" {
                        streams::HostOutputStream::write(ctx, b(s), buf)
                    } else {
                        streams::HostOutputStream::blocking_write_and_flush(ctx, b(s), buf)
                    }
                });
                self.stream(&c, r);
            }
            "output.write-zeroes" | "output.blocking-write-zeroes-and-flush" => {
                let s = self.h(K::Out);
                let len = match self.n(6) {
                    0 => self.u64_edge().min((1 << 20) + 1),
                    1 => [4096, 4097, u64::MAX][self.n(3) as usize],
                    _ => self.n(300),
                };
                let mut c = self.call(name, desc!(s, len), &[s]);
                c.expect_trap = if name == "output.write-zeroes" { len > 1 << 20 } else { len > 4096 };
                let r = self.guard(&c, |ctx| {
                    if name == "output.write-zeroes" {
                        streams::HostOutputStream::write_zeroes(ctx, b(s), len)
                    } else {
                        streams::HostOutputStream::blocking_write_zeroes_and_flush(ctx, b(s), len)
                    }
                });
                self.stream(&c, r);
            }
            "output.splice" | "output.blocking-splice" => {
                let (dst, src, len) = (self.h(K::Out), self.h(K::In), self.len());
                let c = self.call(name, desc!(dst, src, len), &[dst, src]);
                let r = self.guard(&c, |ctx| {
                    if name == "output.splice" {
                        streams::HostOutputStream::splice(ctx, b(dst), b(src), len)
                    } else {
                        streams::HostOutputStream::blocking_splice(ctx, b(dst), b(src), len)
                    }
                });
                if let Some(n) = self.stream(&c, r)
                    && n > len
                {
                    self.finding(&c, format!("spliced {n} bytes for {len}"));
                }
            }
            "output.subscribe" => {
                let s = self.h(K::Out);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| streams::HostOutputStream::subscribe(ctx, b(s)));
                if let Some(p) = self.plain(&c, r) {
                    self.add(&p, K::Poll);
                }
            }
            "output.drop" => {
                let h = self.h(K::Out);
                self.drop_of(name, K::Out, h);
            }
            // ---- wasi:cli
            "get-environment" | "get-arguments" | "initial-cwd" => {
                let c = self.call(name, format!("{name}()"), &[]);
                let r = self.guard(&c, |ctx| match name {
                    "get-environment" => environment::Host::get_environment(ctx).map(|_| ()),
                    "get-arguments" => environment::Host::get_arguments(ctx).map(|_| ()),
                    _ => environment::Host::initial_cwd(ctx).map(|_| ()),
                });
                self.plain(&c, r);
            }
            "exit" | "exit-with-code" => {
                let (ok, code) = (self.chance(2), self.r.next_u64() as u8);
                let mut c = self.call(name, desc!(ok, code), &[]);
                c.expect_trap = true;
                let r = self.guard(&c, |ctx| {
                    if name == "exit" {
                        exit::Host::exit(ctx, if ok { Ok(()) } else { Err(()) })
                    } else {
                        exit::Host::exit_with_code(ctx, code)
                    }
                });
                let want = if name == "exit" { i32::from(!ok) } else { i32::from(code) };
                match &r {
                    Err(e) if e.downcast_ref::<hammertime::I32Exit>().map(|x| x.0) == Some(want) => {}
                    other => self.finding(&c, format!("exit gave {other:?}, not I32Exit({want})")),
                }
                self.plain(&c, r);
            }
            "get-stdin" => {
                let c = self.call(name, "get-stdin()".into(), &[]);
                let r = self.guard(&c, stdin::Host::get_stdin);
                if let Some(s) = self.plain(&c, r) {
                    self.add(&s, K::In);
                }
            }
            "get-stdout" | "get-stderr" => {
                let c = self.call(name, format!("{name}()"), &[]);
                let r = self.guard(&c, |ctx| {
                    if name == "get-stdout" { stdout::Host::get_stdout(ctx) } else { stderr::Host::get_stderr(ctx) }
                });
                if let Some(s) = self.plain(&c, r) {
                    self.add(&s, K::Out);
                }
            }
            "terminal-input.drop" => {
                let h = self.h(K::TermIn);
                self.drop_of(name, K::TermIn, h);
            }
            "terminal-output.drop" => {
                let h = self.h(K::TermOut);
                self.drop_of(name, K::TermOut, h);
            }
            "get-terminal-stdin" => {
                let c = self.call(name, "get-terminal-stdin()".into(), &[]);
                let r = self.guard(&c, terminal_stdin::Host::get_terminal_stdin);
                if let Some(Some(t)) = self.plain(&c, r) {
                    self.add(&t, K::TermIn);
                }
            }
            "get-terminal-stdout" | "get-terminal-stderr" => {
                let c = self.call(name, format!("{name}()"), &[]);
                let r = self.guard(&c, |ctx| {
                    if name == "get-terminal-stdout" {
                        terminal_stdout::Host::get_terminal_stdout(ctx)
                    } else {
                        terminal_stderr::Host::get_terminal_stderr(ctx)
                    }
                });
                if let Some(Some(t)) = self.plain(&c, r) {
                    self.add(&t, K::TermOut);
                }
            }
            // ---- wasi:clocks
            "wall.now" | "wall.resolution" | "mono.now" | "mono.resolution" => {
                let c = self.call(name, format!("{name}()"), &[]);
                let r = self.guard(&c, |ctx| match name {
                    "wall.now" => wall_clock::Host::now(ctx).map(|d| d.nanoseconds as u64),
                    "wall.resolution" => wall_clock::Host::resolution(ctx).map(|d| d.nanoseconds as u64),
                    "mono.now" => monotonic_clock::Host::now(ctx).map(|_| 0),
                    _ => monotonic_clock::Host::resolution(ctx).map(|_| 0),
                });
                if let Some(ns) = self.plain(&c, r)
                    && ns >= 1_000_000_000
                {
                    self.finding(&c, format!("a datetime with {ns} nanoseconds"));
                }
            }
            "subscribe-instant" | "subscribe-duration" => {
                let now = monotonic_clock::Host::now(&mut self.ctx).unwrap_or(0);
                // Past, now, or at most 200 µs ahead; or far away (then dropped at once).
                let far = self.chance(6);
                let when = if name == "subscribe-instant" {
                    match (far, self.n(4)) {
                        (true, 0) => u64::MAX,
                        (true, _) => now.saturating_add(1 << 40),
                        (false, 0) => 0,
                        (false, 1) => now.saturating_sub(self.n(1 << 30)),
                        (false, _) => now + self.n(200_000),
                    }
                } else {
                    match (far, self.n(4)) {
                        (true, 0) => u64::MAX,
                        (true, _) => 1 << 40,
                        (false, 0) => 0,
                        (false, _) => self.n(200_000),
                    }
                };
                let c = self.call(name, desc!(when), &[]);
                let r = self.guard(&c, |ctx| {
                    if name == "subscribe-instant" {
                        monotonic_clock::Host::subscribe_instant(ctx, when)
                    } else {
                        monotonic_clock::Host::subscribe_duration(ctx, when)
                    }
                });
                if let Some(p) = self.plain(&c, r) {
                    let h = H { rep: p.rep(), valid: true };
                    self.add(&p, K::Poll);
                    if far {
                        let c = self.call("pollable.ready", format!("pollable.ready({h:?}) [far]"), &[h]);
                        let r = self.guard(&c, |ctx| poll::HostPollable::ready(ctx, b(h)));
                        if self.plain(&c, r) == Some(true) {
                            self.finding(&c, "a pollable for a far deadline is ready".into());
                        }
                        self.drop_of("pollable.drop", K::Poll, h);
                    }
                }
            }
            // ---- wasi:random
            "get-random-bytes" | "get-insecure-random-bytes" => {
                let len = match self.n(10) {
                    0 => u64::MAX,
                    1 => (64 << 20) + 1,
                    2 => 65536,
                    _ => self.n(300),
                };
                let mut c = self.call(name, desc!(len), &[]);
                c.expect_trap = len > 64 << 20;
                let r = self.guard(&c, |ctx| {
                    if name == "get-random-bytes" {
                        random::Host::get_random_bytes(ctx, len)
                    } else {
                        insecure::Host::get_insecure_random_bytes(ctx, len)
                    }
                });
                if let Some(v) = self.plain(&c, r)
                    && v.len() as u64 != len
                {
                    self.finding(&c, format!("{} random bytes for {len}", v.len()));
                }
            }
            "get-random-u64" | "get-insecure-random-u64" | "insecure-seed" => {
                let c = self.call(name, format!("{name}()"), &[]);
                let r = self.guard(&c, |ctx| match name {
                    "get-random-u64" => random::Host::get_random_u64(ctx).map(|_| ()),
                    "get-insecure-random-u64" => insecure::Host::get_insecure_random_u64(ctx).map(|_| ()),
                    _ => insecure_seed::Host::insecure_seed(ctx).map(|_| ()),
                });
                self.plain(&c, r);
            }
            // ---- wasi:sockets
            "network-error-code" => {
                let e = self.h(K::Err);
                let c = self.call(name, desc!(e), &[e]);
                let r = self.guard(&c, |ctx| network::Host::network_error_code(ctx, b(e)));
                self.plain(&c, r);
            }
            "network.drop" => {
                let h = self.h(K::Net);
                self.drop_of(name, K::Net, h);
            }
            "instance-network" => {
                let c = self.call(name, "instance-network()".into(), &[]);
                let r = self.guard(&c, instance_network::Host::instance_network);
                if let Some(n) = self.plain(&c, r) {
                    self.add(&n, K::Net);
                }
            }
            "create-tcp-socket" | "create-udp-socket" => {
                let fam = self.family();
                let c = self.call(name, desc!(fam), &[]);
                let r = self.guard(&c, |ctx| {
                    if name == "create-tcp-socket" {
                        tcp_create_socket::Host::create_tcp_socket(ctx, fam).map(|s| (s.rep(), K::Tcp))
                    } else {
                        udp_create_socket::Host::create_udp_socket(ctx, fam).map(|s| (s.rep(), K::Udp))
                    }
                });
                if let Some((rep, k)) = self.sock(&c, r) {
                    self.add(&Resource::<()>::new_own(rep), k);
                }
            }
            "resolve-addresses" => {
                let net = self.h(K::Net);
                let host = match self.n(7) {
                    6 => "x".repeat(300),
                    i => ["localhost", "", "example.com", "::1", "127.0.0.1", "a\0b"][i as usize].to_string(),
                };
                let c = self.call(name, format!("{name}({net:?}, {})", show(&host)), &[net]);
                let r = self.guard(&c, |ctx| ip_name_lookup::Host::resolve_addresses(ctx, b(net), host));
                if let Some(s) = self.sock(&c, r) {
                    self.add(&s, K::Resolve);
                }
            }
            "resolve-next-address" => {
                let s = self.h(K::Resolve);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| ip_name_lookup::HostResolveAddressStream::resolve_next_address(ctx, b(s)));
                self.sock(&c, r);
            }
            "resolve.subscribe" => {
                let s = self.h(K::Resolve);
                let c = self.call(name, desc!(s), &[s]);
                let r = self.guard(&c, |ctx| ip_name_lookup::HostResolveAddressStream::subscribe(ctx, b(s)));
                if let Some(p) = self.plain(&c, r) {
                    self.add(&p, K::Poll);
                }
            }
            "resolve.drop" => {
                let h = self.h(K::Resolve);
                self.drop_of(name, K::Resolve, h);
            }
            "tcp.method" => self.tcp_method(),
            "udp.method" => self.udp_method(),
            "incoming.method" | "outgoing.method" => self.datagram_method(name),
            "tcp.drop" | "udp.drop" | "incoming.drop" | "outgoing.drop" => {
                let k = match name {
                    "tcp.drop" => K::Tcp,
                    "udp.drop" => K::Udp,
                    "incoming.drop" => K::InDgram,
                    _ => K::OutDgram,
                };
                let h = self.h(k);
                self.drop_of(name, k, h);
            }
            other => panic!("no such call in the fuzzer: {other}"),
        }
    }

    fn tcp_method(&mut self) {
        use tcp::HostTcpSocket as T;
        type S = TcpSocket;
        let s = self.h(K::Tcp);
        let (net, addr, v64, v32, v8, flag) = (
            self.h(K::Net),
            self.sockaddr(),
            self.u64_edge(),
            self.r.next_u64() as u32,
            self.r.next_u64() as u8,
            self.chance(2),
        );
        let how = [tcp::ShutdownType::Receive, tcp::ShutdownType::Send, tcp::ShutdownType::Both][self.n(3) as usize];
        let m = self.n(28);
        let name: &'static str = "tcp.method";
        let c = self.call(
            name,
            format!("tcp-socket method {m}({s:?}, {net:?}, {addr:?}, {v64}, {v32}, {v8}, {flag})"),
            &[s],
        );
        macro_rules! sockr {
            ($ctx:ident => $e:expr) => {{
                let r = self.guard(&c, |$ctx: &mut WasiCtx| $e.map(|_| ()));
                self.sock(&c, r);
            }};
        }
        macro_rules! plainr {
            ($ctx:ident => $e:expr) => {{
                let r = self.guard(&c, |$ctx: &mut WasiCtx| $e.map(|_| ()));
                self.plain(&c, r);
            }};
        }
        match m {
            0 => sockr!(ctx => T::start_bind(ctx, b::<S>(s), b(net), addr)),
            1 => sockr!(ctx => T::finish_bind(ctx, b::<S>(s))),
            2 => sockr!(ctx => T::start_connect(ctx, b::<S>(s), b(net), addr)),
            3 => sockr!(ctx => T::finish_connect(ctx, b::<S>(s))),
            4 => sockr!(ctx => T::start_listen(ctx, b::<S>(s))),
            5 => sockr!(ctx => T::finish_listen(ctx, b::<S>(s))),
            6 => sockr!(ctx => T::accept(ctx, b::<S>(s))),
            7 => sockr!(ctx => T::local_address(ctx, b::<S>(s))),
            8 => sockr!(ctx => T::remote_address(ctx, b::<S>(s))),
            9 => plainr!(ctx => T::is_listening(ctx, b::<S>(s))),
            10 => plainr!(ctx => T::address_family(ctx, b::<S>(s))),
            11 => sockr!(ctx => T::set_listen_backlog_size(ctx, b::<S>(s), v64)),
            12 => sockr!(ctx => T::keep_alive_enabled(ctx, b::<S>(s))),
            13 => sockr!(ctx => T::set_keep_alive_enabled(ctx, b::<S>(s), flag)),
            14 => sockr!(ctx => T::keep_alive_idle_time(ctx, b::<S>(s))),
            15 => sockr!(ctx => T::set_keep_alive_idle_time(ctx, b::<S>(s), v64)),
            16 => sockr!(ctx => T::keep_alive_interval(ctx, b::<S>(s))),
            17 => sockr!(ctx => T::set_keep_alive_interval(ctx, b::<S>(s), v64)),
            18 => sockr!(ctx => T::keep_alive_count(ctx, b::<S>(s))),
            19 => sockr!(ctx => T::set_keep_alive_count(ctx, b::<S>(s), v32)),
            20 => sockr!(ctx => T::hop_limit(ctx, b::<S>(s))),
            21 => sockr!(ctx => T::set_hop_limit(ctx, b::<S>(s), v8)),
            22 => sockr!(ctx => T::receive_buffer_size(ctx, b::<S>(s))),
            23 => sockr!(ctx => T::set_receive_buffer_size(ctx, b::<S>(s), v64)),
            24 => sockr!(ctx => T::send_buffer_size(ctx, b::<S>(s))),
            25 => sockr!(ctx => T::set_send_buffer_size(ctx, b::<S>(s), v64)),
            26 => plainr!(ctx => T::subscribe(ctx, b::<S>(s))),
            _ => sockr!(ctx => T::shutdown(ctx, b::<S>(s), how)),
        }
        self.note(&c, &format!("method {m}"));
    }

    fn udp_method(&mut self) {
        use udp::HostUdpSocket as U;
        type S = UdpSocket;
        let s = self.h(K::Udp);
        let (net, addr, v64, v8) = (self.h(K::Net), self.sockaddr(), self.u64_edge(), self.r.next_u64() as u8);
        let remote = if self.chance(2) { Some(self.sockaddr()) } else { None };
        let m = self.n(13);
        let c = self.call("udp.method", format!("udp-socket method {m}({s:?}, {net:?}, {addr:?}, {v64}, {v8})"), &[s]);
        macro_rules! sockr {
            ($ctx:ident => $e:expr) => {{
                let r = self.guard(&c, |$ctx: &mut WasiCtx| $e.map(|_| ()));
                self.sock(&c, r);
            }};
        }
        match m {
            0 => sockr!(ctx => U::start_bind(ctx, b::<S>(s), b(net), addr)),
            1 => sockr!(ctx => U::finish_bind(ctx, b::<S>(s))),
            2 => sockr!(ctx => U::stream(ctx, b::<S>(s), remote)),
            3 => sockr!(ctx => U::local_address(ctx, b::<S>(s))),
            4 => sockr!(ctx => U::remote_address(ctx, b::<S>(s))),
            5 => {
                let r = self.guard(&c, |ctx| U::address_family(ctx, b::<S>(s)).map(|_| ()));
                self.plain(&c, r);
            }
            6 => sockr!(ctx => U::unicast_hop_limit(ctx, b::<S>(s))),
            7 => sockr!(ctx => U::set_unicast_hop_limit(ctx, b::<S>(s), v8)),
            8 => sockr!(ctx => U::receive_buffer_size(ctx, b::<S>(s))),
            9 => sockr!(ctx => U::set_receive_buffer_size(ctx, b::<S>(s), v64)),
            10 => sockr!(ctx => U::send_buffer_size(ctx, b::<S>(s))),
            11 => sockr!(ctx => U::set_send_buffer_size(ctx, b::<S>(s), v64)),
            _ => {
                let r = self.guard(&c, |ctx| U::subscribe(ctx, b::<S>(s)).map(|_| ()));
                self.plain(&c, r);
            }
        }
        self.note(&c, &format!("method {m}"));
    }

    fn datagram_method(&mut self, name: &'static str) {
        let (max, addr) = (self.u64_edge(), self.sockaddr());
        let m = self.n(3);
        if name == "incoming.method" {
            use udp::HostIncomingDatagramStream as I;
            let s = self.h(K::InDgram);
            let c = self.call(name, format!("incoming-datagram-stream method {m}({s:?}, {max})"), &[s]);
            if m == 0 {
                let r = self.guard(&c, |ctx| I::receive(ctx, b::<IncomingDatagramStream>(s), max).map(|_| ()));
                self.sock(&c, r);
            } else {
                let r = self.guard(&c, |ctx| I::subscribe(ctx, b::<IncomingDatagramStream>(s)).map(|_| ()));
                self.plain(&c, r);
            }
        } else {
            use udp::HostOutgoingDatagramStream as O;
            let s = self.h(K::OutDgram);
            let c = self.call(name, format!("outgoing-datagram-stream method {m}({s:?}, {addr:?})"), &[s]);
            match m {
                0 => {
                    let r = self.guard(&c, |ctx| O::check_send(ctx, b::<OutgoingDatagramStream>(s)).map(|_| ()));
                    self.sock(&c, r);
                }
                1 => {
                    let dgrams = vec![udp::OutgoingDatagram { data: vec![1, 2, 3], remote_address: Some(addr) }];
                    let r = self.guard(&c, |ctx| O::send(ctx, b::<OutgoingDatagramStream>(s), dgrams).map(|_| ()));
                    self.sock(&c, r);
                }
                _ => {
                    let r = self.guard(&c, |ctx| O::subscribe(ctx, b::<OutgoingDatagramStream>(s)).map(|_| ()));
                    self.plain(&c, r);
                }
            }
        }
    }

    /// Makes `steps` random calls (plus the drops that keep the table small), or fewer if a
    /// byte source runs out.
    pub fn run(&mut self, steps: usize) {
        let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
        // A few live handles to start with.
        for name in ["get-directories", "get-stdin", "get-stdout", "get-stderr", "instance-network"] {
            self.step(name);
        }
        for _ in 0..steps {
            if self.r.exhausted() {
                break;
            }
            let mut pick = self.n(u64::from(total)) as u32;
            let mut name = WEIGHTS[0].0;
            for (n, w) in WEIGHTS {
                if pick < *w {
                    name = n;
                    break;
                }
                pick -= w;
            }
            self.step(name);
            // Keep the table (and the host's open descriptors) small: drop live handles, with
            // the right type, while there are many.
            // Pollables first (a stream with one cannot be dropped), files last.
            while self.live.len() > 120 {
                let victim = self
                    .live
                    .iter()
                    .find(|(_, k)| **k == K::Poll)
                    .or_else(|| self.live.iter().find(|(r, k)| **k != K::Desc || !self.files.contains(r)))
                    .map(|(r, k)| (*r, *k));
                let (rep, k) = victim.unwrap_or_else(|| {
                    let rep = self.any_live();
                    (rep, self.live[&rep])
                });
                self.drop_of("gc.drop", k, H { rep, valid: true });
            }
            // Always a directory to work from, when there are preopens.
            if self.has_preopens && !self.live.iter().any(|(r, k)| *k == K::Desc && !self.files.contains(r)) {
                self.step("get-directories");
            }
        }
    }

    /// Prints what was called and how each call ended.
    pub fn report(&self) {
        let took = self.start.elapsed();
        eprintln!("[{}] {} calls in {took:.2?}", self.label, self.calls);
        let mut kinds = BTreeMap::<K, usize>::new();
        for k in self.live.values() {
            *kinds.entry(*k).or_default() += 1;
        }
        eprintln!("  live at the end: {kinds:?}, {} files", self.files.len());
        for (name, outcomes) in &self.outcomes {
            let line: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}:{n}")).collect();
            eprintln!("  {name:40} {}", line.join(" "));
        }
    }
}

/// A path for a report: long ones abbreviated.
fn show(p: &str) -> String {
    if p.len() > 60 { format!("{:?}…({} bytes)", &p[..40], p.len()) } else { format!("{p:?}") }
}

// ---------------------------------------------------------------------------------------------
// The backends

pub fn populate_memfs(fs: &MemFs) {
    fs.create_dir_all("d").unwrap();
    fs.create_dir_all("e").unwrap();
    fs.write_file("d/f", b"data").unwrap();
    fs.write_file("f", b"file").unwrap();
    fs.symlink("d", "l").unwrap();
    fs.symlink("loop", "loop").unwrap();
    fs.symlink("..", "up").unwrap();
    fs.symlink("/etc", "abs").unwrap();
    fs.symlink("d/", "dl").unwrap();
}

pub fn ctx_builder() -> hammertime::WasiCtxBuilder {
    let mut b = WasiCtx::builder();
    b.args(["fuzz", "--x"]).env("K", "V").stdin_bytes("line one\nline two\n".repeat(200)).seeded_random(7);
    b
}

pub fn quota_memfs() -> MemFs {
    MemFs::builder().quota(64 << 20).build()
}

/// Everything under `dir` (not following links): path → type, size, times, content or target.
fn snapshot(dir: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p == skip {
            continue;
        }
        let md = std::fs::symlink_metadata(&p).unwrap();
        use std::os::unix::fs::MetadataExt;
        let mut desc = format!(
            "{:?} mode={:o} size={} mtime={}.{}",
            md.file_type(),
            md.mode(),
            md.len(),
            md.mtime(),
            md.mtime_nsec()
        );
        if md.file_type().is_symlink() {
            desc += &format!(" -> {:?}", std::fs::read_link(&p).unwrap());
        } else if md.is_file() {
            desc += &format!(" {:?}", std::fs::read(&p).unwrap());
        } else if md.is_dir() {
            snapshot(&p, skip, out);
        }
        out.insert(p, desc);
    }
}

/// The fuzzer over a host directory `base/root`, next to `base/sibling` that links in the
/// sandbox point at; the sibling (and `base` itself) must not change. `report`: print the
/// outcomes.
pub fn hostdir_run(label: &str, r: Source, steps: usize, report: bool) -> usize {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let sibling = base.path().join("sibling");
    std::fs::create_dir_all(sibling.join("sd")).unwrap();
    std::fs::write(sibling.join("secret"), b"secret").unwrap();
    std::fs::write(sibling.join("sd/x"), b"x").unwrap();
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::create_dir_all(root.join("e")).unwrap();
    std::fs::write(root.join("d/f"), b"data").unwrap();
    std::fs::write(root.join("f"), b"file").unwrap();
    use std::os::unix::fs::symlink;
    symlink("d", root.join("l")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    symlink("..", root.join("up")).unwrap();
    symlink(&sibling, root.join("abs")).unwrap();
    symlink("d/", root.join("dl")).unwrap();
    symlink("../sibling/secret", root.join("sib")).unwrap();
    let mut before = BTreeMap::new();
    snapshot(base.path(), &root, &mut before);

    let ctx = ctx_builder()
        .preopen(HostDir::open(&root).unwrap(), "/")
        .preopen(HostDir::open_read_only(&root).unwrap(), "/ro")
        .build()
        .unwrap();
    let mut f = Fuzz::new(label, ctx, r);
    f.run(steps);
    if report {
        f.report();
    }
    drop(f.ctx);
    let mut after = BTreeMap::new();
    snapshot(base.path(), &root, &mut after);
    assert_eq!(before, after, "{label}: something outside the sandbox changed");
    assert!(f.findings.is_empty(), "findings:\n{}", f.findings.into_iter().collect::<Vec<_>>().join("\n"));
    f.calls
}
