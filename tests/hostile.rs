//! A hostile guest's worst cases keep the host's memory bounded: each case runs in a child
//! process (this test binary, run again with `HAMMERTIME_HOSTILE_CASE` set) whose peak RSS
//! (`VmHWM`) is read before and after the attack. Run with `--nocapture` to see the figures.

mod support;

use std::time::{Duration, Instant};

use hammertime::WasiCtx;
use hammertime::p1::FUNCTIONS;
use hammertime::p1::abi::types::{eventtype, oflags, rights};
use hammertime::vfs::{HostDir, MemFs};
use support::{Guest, I32, I64};

const CASE_VAR: &str = "HAMMERTIME_HOSTILE_CASE";
const RES: u32 = 0x10;
const PATH: u32 = 0x100;

/// The peak resident set of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// In the parent: runs `name` in a child and returns how much its peak RSS grew during the
/// attack (KiB) and how long the attack took. In the child (`CASE_VAR` = `name`): `setup`
/// prepares a guest, `attack` runs the hostile calls, and the figures are printed.
fn measure<S>(name: &str, setup: impl FnOnce() -> S, attack: impl FnOnce(&mut S)) -> Option<(u64, Duration)> {
    if std::env::var(CASE_VAR).as_deref() == Ok(name) {
        let mut state = setup();
        let before = peak_kib();
        let start = Instant::now();
        attack(&mut state);
        let took = start.elapsed();
        println!("HOSTILE {} {}", peak_kib().saturating_sub(before), took.as_micros());
        return None;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE_VAR, name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line =
        stdout.lines().find_map(|l| l.split_once("HOSTILE ").map(|(_, r)| r)).expect("the child printed no figures");
    let mut parts = line.split_whitespace().map(|p| p.parse::<u64>().unwrap());
    let (kib, micros) = (parts.next().unwrap(), parts.next().unwrap());
    println!("{name}: peak RSS grew {kib} KiB in {:?}", Duration::from_micros(micros));
    Some((kib, Duration::from_micros(micros)))
}

fn guest(ctx: WasiCtx, pages: u32) -> Guest {
    let wat = support::wat_for_imports(&FUNCTIONS)
        .replace("(memory (export \"memory\") 1)", &format!("(memory (export \"memory\") {pages})"));
    Guest::from_wat(ctx, &wat)
}

fn open(g: &mut Guest, path: &str, oflags: u16, base: u64) -> (i32, u32) {
    g.write(PATH, path.as_bytes());
    let args = [I32(3), I32(0), I32(PATH), I32(path.len() as u32), I32(oflags.into()), I64(base), I64(rights::ALL)];
    let errno = g.call("path_open", &[&args[..], &[I32(0), I32(RES)]].concat());
    (errno, g.u32(RES))
}

/// One byte written at 4 GiB, a file shrunk and grown again: MemFs stores holes sparsely.
#[test]
fn sparse_writes_on_memfs_cost_kilobytes() {
    let setup = || {
        let mut g = guest(WasiCtx::builder().preopen(MemFs::new(), "/").build().unwrap(), 1);
        let (errno, fd) = open(&mut g, "big", oflags::CREAT, rights::ALL);
        assert_eq!(errno, 0);
        (g, fd)
    };
    let attack = |(g, fd): &mut (Guest, u32)| {
        g.write(0x200, b"x");
        g.write_iovecs(0x300, &[(0x200, 1)]);
        // The last byte MemFs allows (4 GiB - 1), a shrink, a growth back, a byte in between.
        assert_eq!(g.call("fd_pwrite", &[I32(*fd), I32(0x300), I32(1), I64((4 << 30) - 1), I32(RES)]), 0);
        assert_eq!(g.call("fd_filestat_set_size", &[I32(*fd), I64(1 << 30)]), 0);
        assert_eq!(g.call("fd_filestat_set_size", &[I32(*fd), I64(4 << 30)]), 0);
        assert_eq!(g.call("fd_pwrite", &[I32(*fd), I32(0x300), I32(1), I64(3 << 30), I32(RES)]), 0);
    };
    if let Some((kib, _)) = measure("sparse_writes_on_memfs_cost_kilobytes", setup, attack) {
        assert!(kib < 16 << 10, "{kib} KiB");
    }
}

/// "." opened a thousand times on a 5,000-entry host directory, each listed once: a
/// directory descriptor's listing state is bounded.
#[test]
fn reopening_dot_on_hostdir_keeps_listings_bounded() {
    let setup = || {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5000 {
            std::fs::write(dir.path().join(format!("entry-with-a-longish-name-{i:05}")), b"").unwrap();
        }
        let g = guest(WasiCtx::builder().preopen(HostDir::open(dir.path()).unwrap(), "/").build().unwrap(), 1);
        (g, dir)
    };
    let attack = |(g, _): &mut (Guest, tempfile::TempDir)| {
        for _ in 0..1000 {
            let (errno, fd) = open(g, ".", oflags::DIRECTORY, rights::DIRECTORY);
            assert_eq!(errno, 0);
            assert_eq!(g.call("fd_readdir", &[I32(fd), I32(0x1000), I32(4096), I64(0), I32(RES)]), 0);
        }
    };
    if let Some((kib, _)) = measure("reopening_dot_on_hostdir_keeps_listings_bounded", setup, attack) {
        assert!(kib < 32 << 10, "{kib} KiB");
    }
}

/// A million and a half subscriptions in a 64 MiB memory: refused before anything is allocated.
#[test]
fn a_huge_poll_allocates_nothing() {
    const N: u32 = (64 << 20) / 48 - 1000;
    let setup = || {
        let mut g = guest(WasiCtx::builder().build().unwrap(), 1024);
        for i in 0..N {
            let at = 0x1000 + 48 * i;
            g.write(at + 8, &[eventtype::CLOCK]);
            g.write_u32(at + 16, 1);
        }
        g
    };
    let attack = |g: &mut Guest| {
        // The events would overlap the subscriptions: the guest may do that too.
        let errno = g.call("poll_oneoff", &[I32(0x1000), I32(0x1000), I32(N), I32(RES)]);
        assert_eq!(errno, i32::from(hammertime::Errno::Inval.raw()));
    };
    if let Some((kib, _)) = measure("a_huge_poll_allocates_nothing", setup, attack) {
        assert!(kib < 8 << 10, "{kib} KiB");
    }
}

/// Two million iovecs over one 16 MiB buffer ask one `fd_write` for 32 TiB: refused at once.
#[test]
fn the_iovec_alias_loop_is_refused() {
    const COUNT: u32 = (16 << 20) / 8;
    let setup = || {
        let out = hammertime::stdio::OutputBuffer::new();
        let mut g = guest(WasiCtx::builder().stdout(out.clone()).build().unwrap(), 256);
        let iovs: Vec<u8> =
            (0..COUNT).flat_map(|_| [0u32.to_le_bytes(), (16u32 << 20).to_le_bytes()].concat()).collect();
        g.write(0, &iovs);
        (g, out)
    };
    let attack = |(g, out): &mut (Guest, hammertime::stdio::OutputBuffer)| {
        let errno = g.call("fd_write", &[I32(1), I32(0), I32(COUNT), I32(RES)]);
        assert_eq!(errno, i32::from(hammertime::Errno::Inval.raw()));
        assert!(out.is_empty());
    };
    if let Some((kib, took)) = measure("the_iovec_alias_loop_is_refused", setup, attack) {
        assert!(kib < 8 << 10, "{kib} KiB");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
