//! The preview1 harness, shared by the fuzz target (`fuzz_targets/preview1.rs`) and the stable
//! replay of its corpus and regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! A sequence of preview1 calls with arbitrary arguments, made by a real wasm guest (a module
//! importing all 46 calls and exporting a forwarding function for each, `crate::support`) on a
//! real `Store`, through the functions `hammertime::add_to_linker` links. Twice, in lockstep:
//! once with a `MemFs` preopened at `/`, once with a `HostDir` over a fresh temporary directory,
//! both seeded with the tree of `ops::seed`; the first byte picks both read-write, both
//! read-only (`ReadOnly<MemFs>` and `HostDir::open_read_only`) or no preopens at all.
//!
//! Between the calls the input writes guest memory: paths (from the names `a b d f l x . ..`,
//! absolute or relative, with trailing slashes, NULs, bytes that are not UTF-8, escapes such as
//! `d/../../x`), iovec arrays (into buffers, past the end of memory, huge) and `poll_oneoff`
//! subscriptions (clocks, reads and writes, unknown tags). Arguments are drawn from pools of
//! descriptors, pointers to those, pointers at or past the end of memory, lengths, flag bits
//! and 64-bit edge values.
//!
//! Oracles: no panic; every call returns an errno of the witx set (`0..=76`), and only
//! `proc_exit` ends with an error (the exit status, which ends the sequence); both sides return
//! the same errno to every call, and where a call's output is determined by the tree (data
//! read, offsets, new descriptors, link targets, prestats, fdstats) the same guest memory; the
//! same tree and the same stdout/stderr at the end (the seed tree itself when read-only);
//! nothing outside the temporary root changed. Outputs that are each backend's own business
//! (inode numbers, times, directory sizes, listing order, random bytes, clock readings) are not
//! compared: the first side's memory is copied to the second after each call, so both go on
//! from the same bytes.

use std::sync::{Arc, OnceLock};

use crate::ops::{self, Bytes};
use crate::support::{self, Arg, Guest};
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{FileSystem, HostDir, MemFs, ReadOnly};
use hammertime::{I32Exit, Limits, WasiCtx};
use wasmtime::{InstancePre, Module};

/// The most calls one input makes.
pub const MAX_CALLS: usize = 150;

/// Guest memory layout (one 64 KiB page).
const PATHS: u32 = 0x1000; // 8 path slots of 128 bytes
const PATH_SLOT: u32 = 128;
const IOVECS: u32 = 0x2000; // 4 iovec arrays of 4 entries
const IOVEC_SLOT: u32 = 32;
const BUFS: u32 = 0x3000; // 64 buffers of 256 bytes
const SUBS: u32 = 0x8000; // 8 subscriptions of 48 bytes
const OUT: u32 = 0x9000; // 64 result slots of 8 bytes
const PAGE: u32 = 0x1_0000;

const NAMES: [&str; 9] = ["a", "b", "d", "f", "l", "x", ".", "..", ""];
/// Paths that the names alone do not make: a NUL, bytes that are not UTF-8, ways out of the
/// root, link targets.
const SPECIAL: [&[u8]; 8] = [b"a\0b", b"\xff\xfe", b"d/../../x", b"../x", b"/x", b"l/a", b"d/l/d/l/a", b"//d///a"];

/// The calls whose output in guest memory follows from the tree and the descriptors alone, and
/// so must be the same on both sides.
const SAME_OUTPUT: [&str; 14] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "fd_fdstat_get",
    "fd_pread",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_read",
    "fd_seek",
    "fd_tell",
    "path_open",
    "path_readlink",
    "sock_recv",
];

/// The forwarding module, compiled once, linked with hammertime's preview1 functions.
fn instance_pre() -> &'static InstancePre<WasiCtx> {
    static PRE: OnceLock<InstancePre<WasiCtx>> = OnceLock::new();
    PRE.get_or_init(|| {
        let wat = support::wat_for_imports(&hammertime::p1::FUNCTIONS);
        support::linked(&Module::new(support::engine(), wat).expect("the forwarding module"))
    })
}

/// One side: the guest, its stdout and stderr.
struct Side {
    guest: Guest,
    stdout: OutputBuffer,
    stderr: OutputBuffer,
}

impl Side {
    fn new(preopen: Option<Arc<dyn FileSystem>>) -> Side {
        let (stdout, stderr) = (OutputBuffer::with_limit(4096), OutputBuffer::with_limit(4096));
        let mut limits = Limits::default();
        // Clock subscriptions asking for years end (with EINTR) after 1 ms.
        limits.max_sleep = std::time::Duration::from_millis(1);
        limits.descriptors = 32;
        let mut b = WasiCtx::builder();
        b.limits(limits).args(["prog", "arg"]).env("K", "V").stdin_bytes("line one\nline two\n");
        b.stdout(stdout.clone()).stderr(stderr.clone()).seeded_random(7);
        if let Some(fs) = preopen {
            b.preopen_shared(fs, "/");
        }
        let guest = Guest::instantiate(instance_pre(), b.build().expect("a context"));
        Side { guest, stdout, stderr }
    }
}

/// What each parameter of each call is, one letter per parameter: `F` a descriptor, `P` and
/// `L` a path slot's pointer and length, `I` and `N` an iovec array and its length, `B` and `Z`
/// a buffer and its size, `O` a result pointer, `S` subscriptions, `s` a small number (clock id,
/// whence, advice, signal, exit status, subscription count), `g` flag bits, `6` an offset or
/// size, `R` rights, `T` a time. The order of `hammertime::p1::FUNCTIONS`.
const ROLES: [&str; 46] = [
    "OB",
    "OO",
    "OB",
    "OO",
    "sO",
    "s6O",
    "F66s",
    "F66",
    "F",
    "F",
    "FO",
    "Fg",
    "FRR",
    "FO",
    "F6",
    "FTTg",
    "FIN6O",
    "FO",
    "FBZ",
    "FIN6O",
    "FINO",
    "FBZ6O",
    "FF",
    "F6sO",
    "F",
    "FO",
    "FINO",
    "FPL",
    "FgPLO",
    "FgPLTTg",
    "FgPLFPL",
    "FgPLgRRgO",
    "FPLBZO",
    "FPL",
    "FPLFPL",
    "PLFPL",
    "FPL",
    "SBsO",
    "s",
    "s",
    "",
    "BZ",
    "FgO",
    "FINgOO",
    "FINgO",
    "Fs",
];

/// Reads the arguments of a call whose parameters have the roles `roles`. One byte in sixteen
/// asks for an argument of any role instead (edge values, raw bits, pointers past the end).
fn args(input: &mut Bytes<'_>, roles: &str, lens: &[u32; 8]) -> Vec<Arg> {
    let mut slot = 0;
    let mut out = Vec::new();
    for role in roles.chars() {
        let b = input.byte();
        let wide = matches!(role, '6' | 'R' | 'T');
        if b >= 0xF0 {
            out.push(if wide { Arg::I64(any64(input)) } else { Arg::I32(any32(input, lens)) });
            continue;
        }
        let i = usize::from(b);
        out.push(match role {
            'F' => Arg::I32([3, 3, 3, 4, 4, 5, 5, 6, 7, 0, 1, 2, 8, 9][i % 14]),
            'P' => {
                slot = b % 8;
                Arg::I32(PATHS + PATH_SLOT * u32::from(slot))
            }
            'L' => Arg::I32(lens[usize::from(slot)]),
            'I' => Arg::I32(IOVECS + IOVEC_SLOT * u32::from(b % 4)),
            'N' => Arg::I32(u32::from(b % 5)),
            'B' => Arg::I32(BUFS + 256 * u32::from(b % 48)),
            'Z' => Arg::I32([0, 1, 8, 24, 64, 255, 256, 4096][i % 8]),
            'O' => Arg::I32(OUT + 8 * u32::from(b % 64)),
            'S' => Arg::I32(SUBS + 48 * u32::from(b % 8)),
            's' => Arg::I32(u32::from(b % 10)),
            'g' => Arg::I32(u32::from(b % 64)),
            '6' => Arg::I64([0, 1, 2, 5, 16, 100, 4096, 65536][i % 8]),
            // All rights, all but `fd_write` (a directory opened with it is `EISDIR`), none, others.
            'R' => Arg::I64([0x1FFF_FFFF, 0x1FFF_FFBF, 0, u64::from(b) << (b % 23)][i % 4]),
            _ => Arg::I64(u64::from(b % 64) * 100_000_000),
        });
    }
    out
}

/// A 32-bit argument of any role.
fn any32(input: &mut Bytes<'_>, lens: &[u32; 8]) -> u32 {
    let tag = input.byte();
    let b = input.byte();
    match tag % 12 {
        0 => u32::from(b % 16),
        1 => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 64, u32::MAX][usize::from(b) % 12],
        2 => PATHS + PATH_SLOT * u32::from(b % 8),
        3 if b & 0x80 != 0 => u32::from(b & 0x7f),
        3 => lens[usize::from(b % 8)],
        4 => IOVECS + IOVEC_SLOT * u32::from(b % 4),
        5 => u32::from(b % 5),
        6 => OUT + 8 * u32::from(b % 64),
        7 => [PAGE - 1, PAGE - 4, PAGE - 8, PAGE, u32::MAX, 0x8000_0000, 1, 3][usize::from(b) % 8],
        8 => u32::from(b) | u32::from(input.byte()) << 8,
        9 => u32::from_le_bytes([b, input.byte(), input.byte(), input.byte()]),
        10 => SUBS + 48 * u32::from(b % 8),
        _ => BUFS + 256 * u32::from(b % 64),
    }
}

/// A 64-bit argument of any role. Offsets and sizes stay below 1 MiB or are values beyond any
/// file system (`2^56` and up, `i64::MAX`, `2^63`, `u64::MAX`): between 4 GiB (`MemFs`'s largest file) and
/// the host's limit the two sides may rightly differ, and a host file of gigabytes would fill
/// the disk.
fn any64(input: &mut Bytes<'_>) -> u64 {
    let tag = input.byte();
    let b = input.byte();
    match tag % 6 {
        0 => u64::from(b % 16),
        1 => u64::from(b) << 56,
        2 => [0, 1, u64::MAX, i64::MAX as u64, 1 << 63, (i64::MAX - 1) as u64][usize::from(b) % 6],
        3 => u64::from_le_bytes([b, input.byte(), input.byte() % 16, 0, 0, 0, 0, 0]),
        4 => u64::from(b) * 16,
        // A time in whole seconds; past 2^56 so that, as an offset, it is beyond any file system.
        _ => (1 << 56) + u64::from(b) * 1_000_000_000,
    }
}

/// Writes a path decoded from the input into slot `slot`; returns its length.
fn write_path(input: &mut Bytes<'_>, g: &mut Guest, slot: u32) -> u32 {
    let spec = input.byte();
    let mut p = Vec::new();
    if spec & 0x40 != 0 {
        p.push(b'/');
    }
    if spec & 0x20 != 0 {
        p.extend_from_slice(SPECIAL[usize::from(input.byte()) % SPECIAL.len()]);
    } else {
        for i in 0..1 + spec % 3 {
            if i > 0 {
                p.push(b'/');
            }
            p.extend_from_slice(NAMES[usize::from(input.byte()) % NAMES.len()].as_bytes());
        }
    }
    if spec & 0x80 != 0 {
        p.push(b'/');
    }
    g.write(PATHS + PATH_SLOT * slot, &p);
    p.len() as u32
}

/// Writes an array of four iovecs into slot `slot`.
fn write_iovecs(input: &mut Bytes<'_>, g: &mut Guest, slot: u32) {
    let mut iovs = [(0, 0); 4];
    for iov in &mut iovs {
        let buf = BUFS + 256 * u32::from(input.byte() % 64);
        let len = [0, 1, 16, 255, 256, 4096, u32::MAX, PAGE][usize::from(input.byte()) % 8];
        *iov = (buf, len);
    }
    if input.byte().is_multiple_of(8) {
        iovs[0].0 = PAGE - 2; // a buffer running past the end of memory
    }
    g.write_iovecs(IOVECS + IOVEC_SLOT * slot, &iovs);
}

/// Writes a `poll_oneoff` subscription into slot `slot`: a clock, a read or a write, or an
/// unknown event type.
fn write_subscription(input: &mut Bytes<'_>, g: &mut Guest, slot: u32) {
    let at = SUBS + 48 * slot;
    let kind = input.byte();
    let b = input.byte();
    if kind.is_multiple_of(4) {
        let timeout = [0, 1, 1000, 1_000_000, 1_000_000_000, u64::MAX][usize::from(b) % 6];
        let (id, flags) = (u32::from(b >> 4) % 5, u16::from(kind >> 7));
        return support::write_clock_subscription(g, at, u64::from(slot), id, timeout, flags);
    }
    g.write(at, &[0; 48]);
    g.write_u64(at, u64::from(slot));
    match kind % 4 {
        1 | 2 => {
            g.write(at + 8, &[kind % 4]);
            g.write_u32(at + 16, u32::from(b % 8));
        }
        _ => g.write(at + 8, &[3 + b % 3]),
    }
}

/// The tree of `fs`, or of nothing.
fn tree_of(fs: &dyn FileSystem) -> std::collections::BTreeMap<String, String> {
    ops::snapshot(&fs.root().expect("a root"))
}

/// Runs the calls `data` encodes on both sides and checks the oracles; returns the number of
/// calls made.
pub fn check(data: &[u8]) -> usize {
    let mut input = Bytes(data);
    let mode = input.byte() % 3;
    let dirs = ops::HostRoot::create();
    let mem = MemFs::new();
    let host = HostDir::open(&dirs.root).expect("a HostDir");
    ops::seed(&mem.root().expect("root"));
    ops::seed(&host.root().expect("root"));
    let seeded = tree_of(&mem);
    type Mount = Option<Arc<dyn FileSystem>>;
    let (pm, ph): (Mount, Mount) = match mode {
        0 => (Some(Arc::new(mem.clone())), Some(Arc::new(host.clone()))),
        1 => (
            Some(Arc::new(ReadOnly::new(mem.clone()))),
            Some(Arc::new(HostDir::open_read_only(&dirs.root).expect("a read-only HostDir"))),
        ),
        _ => (None, None),
    };
    let (mut a, mut b) = (Side::new(pm), Side::new(ph));
    let mut lens = [0u32; 8];
    // `FUZZ_TRACE=1` prints each call and the paths in guest memory (to read a crash).
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let mut calls = 0;
    while !input.0.is_empty() && calls < MAX_CALLS {
        let op = usize::from(input.byte()) % (hammertime::p1::FUNCTIONS.len() + 3);
        let Some(&name) = hammertime::p1::FUNCTIONS.get(op) else {
            // Write guest memory, the same on both sides.
            let slot = input.byte();
            let start = input.0;
            for side in [&mut a, &mut b] {
                input.0 = start;
                match op - hammertime::p1::FUNCTIONS.len() {
                    0 => lens[usize::from(slot % 8)] = write_path(&mut input, &mut side.guest, u32::from(slot % 8)),
                    1 => write_iovecs(&mut input, &mut side.guest, u32::from(slot % 4)),
                    _ => write_subscription(&mut input, &mut side.guest, u32::from(slot % 8)),
                }
            }
            continue;
        };
        calls += 1;
        let args = args(&mut input, ROLES[op], &lens);
        let what = format!("call {calls}: {name}{args:?} (mode {mode})");
        if trace {
            let paths: Vec<_> = (0..8).map(|k| a.guest.read(PATHS + PATH_SLOT * k, lens[k as usize])).collect();
            eprintln!("{what}, paths {:?}", paths.iter().map(|p| String::from_utf8_lossy(p)).collect::<Vec<_>>());
        }
        let (ra, rb) = (outcome(&mut a, name, &args, &what), outcome(&mut b, name, &args, &what));
        assert!(ra == rb || backend_defined(name, &args), "{what}: MemFs gives {ra:?}, HostDir {rb:?}");
        if SAME_OUTPUT.contains(&name) {
            assert!(a.guest.data() == b.guest.data(), "{what}: the guest memories differ");
        }
        let mem_a = a.guest.data().to_vec();
        b.guest.write(0, &mem_a);
        if ra.is_err() {
            break; // proc_exit
        }
    }
    assert_eq!(a.stdout.contents(), b.stdout.contents(), "stdout differs after {calls} calls");
    assert_eq!(a.stderr.contents(), b.stderr.contents(), "stderr differs after {calls} calls");
    drop((a, b));
    let (tm, th) = (tree_of(&mem), tree_of(&host));
    assert_eq!(tm, th, "the trees differ after {calls} calls (mode {mode})");
    if mode != 0 {
        assert_eq!(tm, seeded, "a read-only or unmounted tree changed (mode {mode})");
    }
    dirs.check_outside();
    calls
}

/// Whether the errno of `name(args)` is each backend's own: `fd_readdir` from a cookie that
/// neither `.` nor `..` nor the backend issued (`Dir::read_dir`: such a cookie "may answer
/// `EINVAL`"; a host directory refuses those no kernel offset can be).
fn backend_defined(name: &str, args: &[Arg]) -> bool {
    name == "fd_readdir" && !matches!(args.get(3), Some(Arg::I64(0..=2)))
}

/// Makes one call; `Ok(errno)`, or `Err(status)` for `proc_exit`. Panics on anything else.
fn outcome(side: &mut Side, name: &str, args: &[Arg], what: &str) -> Result<i32, i32> {
    match side.guest.try_call(name, args) {
        Ok(errno) => {
            assert!((0..=76).contains(&errno), "{what} returned {errno}, not a witx errno");
            Ok(errno)
        }
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) if name == "proc_exit" => Err(exit.0),
            _ => panic!("{what} failed: {e:?}"),
        },
    }
}
