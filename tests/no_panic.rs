//! No host panic, whatever the guest passes: every call made tens of thousands of times with
//! arguments drawn from edge values and pointers into a memory laid out with paths, iovecs and
//! garbage, on each backend, in a one-page memory and in a 4 GiB one (pointers and lengths that
//! end at exactly 4 GiB). Each call must return an errno of the witx set (or, for `proc_exit`,
//! the exit error); a panic in a host function would fail the test. `poll_oneoff` is among them:
//! `Limits::max_sleep` of 1 ms bounds the years of sleep random subscriptions ask for.

mod support;

use hammertime::random::SeededRandom;
use hammertime::vfs::{HostDir, MemFs, ReadOnly};
use hammertime::{I32Exit, Limits, WasiCtx, WasiCtxBuilder};
use support::{Arg, Guest, signature};

/// A builder whose sleeps end after 1 ms (with `EINTR`), so random clock subscriptions are quick.
fn builder() -> WasiCtxBuilder {
    let mut limits = Limits::default();
    limits.max_sleep = std::time::Duration::from_millis(1);
    let mut b = WasiCtx::builder();
    b.limits(limits);
    b
}

/// Offsets of the prepared memory (one 64 KiB page).
const PATHS: u32 = 1024;
const IOVECS: u32 = 2048;
const SCRATCH: u32 = 4096;

const PATH_TEXTS: [&str; 12] = ["a", "dir", "dir/f", ".", "..", "../x", "dir/../a", "l", "dir/", "/abs", "a\0b", "f"];

fn prepare(g: &mut Guest) {
    let mut at = PATHS;
    for p in PATH_TEXTS {
        g.write(at, p.as_bytes());
        at += 64;
    }
    // Iovecs: some valid, one past the end, one huge.
    let iovs = [(SCRATCH, 16), (SCRATCH + 100, 0), (SCRATCH + 200, 4000), (65530, 16), (0, u32::MAX)];
    g.write_iovecs(IOVECS, &iovs);
    // Garbage with a few 0xFF bytes (not UTF-8).
    let junk: Vec<u8> = (0..512u32).map(|i| (i.wrapping_mul(37) % 256) as u8).collect();
    g.write(8192, &junk);
}

fn arg_i32(r: &mut SeededRandom, big: bool) -> u32 {
    let pick = r.next_u64();
    if big && pick.is_multiple_of(4) {
        // The last bytes of a 4 GiB memory: `ptr + len` is exactly 4 GiB or just past it.
        return 0u32.wrapping_sub((r.next_u64() % 64) as u32);
    }
    match pick % 16 {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        5 => PATHS + 64 * (r.next_u64() % PATH_TEXTS.len() as u64) as u32,
        6 => IOVECS,
        7 => (r.next_u64() % 5) as u32,
        8 => SCRATCH + (r.next_u64() % 512) as u32,
        9 => 65536 - (r.next_u64() % 16) as u32,
        10 => u32::MAX,
        11 => 0x8000_0000,
        12 => (r.next_u64() % 70) as u32,
        13 => 65536,
        14 => (r.next_u64() % 8) as u32,
        _ => r.next_u64() as u32,
    }
}

fn arg_i64(r: &mut SeededRandom) -> u64 {
    match r.next_u64() % 8 {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => i64::MAX as u64,
        4 => 1 << 40,
        5 => r.next_u64() % 4096,
        6 => (r.next_u64() % 64) << 30,
        _ => r.next_u64(),
    }
}

fn hammer(ctx: WasiCtx, seed: u64, calls: usize) {
    hammer_in(ctx, seed, calls, 1)
}

fn hammer_in(ctx: WasiCtx, seed: u64, calls: usize, pages: u32) {
    let names: Vec<&str> = hammertime::p1::FUNCTIONS.to_vec();
    let wat = support::wat_for_imports(&names)
        .replace("(memory (export \"memory\") 1)", &format!("(memory (export \"memory\") {pages})"));
    let mut g = Guest::from_wat(ctx, &wat);
    let big = pages == 65536;
    prepare(&mut g);
    let mut r = SeededRandom::new(seed);
    let mut seen = std::collections::BTreeMap::<i32, usize>::new();
    for _ in 0..calls {
        let name = names[(r.next_u64() % names.len() as u64) as usize];
        let sig = signature(name);
        let types: Vec<&str> =
            sig.split("(param").skip(1).flat_map(|p| p.split(')').next().unwrap_or("").split_whitespace()).collect();
        let args: Vec<Arg> = types
            .iter()
            .map(|t| if *t == "i64" { Arg::I64(arg_i64(&mut r)) } else { Arg::I32(arg_i32(&mut r, big)) })
            .collect();
        match g.try_call(name, &args) {
            Ok(errno) => {
                assert!((0..=76).contains(&errno), "{name}{args:?} returned {errno}");
                *seen.entry(errno).or_default() += 1;
            }
            Err(e) => {
                assert_eq!(name, "proc_exit", "{name}{args:?} failed: {e:?}");
                assert!(e.downcast_ref::<I32Exit>().is_some(), "{e:?}");
            }
        }
    }
    // The calls reached real work and many different error paths, not one early refusal.
    assert!(seen.get(&0).copied().unwrap_or(0) > calls / 50, "too few successes: {seen:?}");
    assert!(seen.len() >= 8, "too few distinct errnos: {seen:?}");
}

#[test]
fn memfs_survives_random_calls() {
    let fs = MemFs::new();
    fs.create_dir_all("dir").unwrap();
    fs.write_file("dir/f", b"data").unwrap();
    fs.symlink("dir", "l").unwrap();
    for seed in 0..4 {
        let ctx = builder().preopen(fs.clone(), "/").preopen(ReadOnly::new(fs.clone()), "/ro").build().unwrap();
        hammer(ctx, seed, 20_000);
    }
}

#[test]
fn hostdir_survives_random_calls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dir")).unwrap();
    std::fs::write(dir.path().join("dir/f"), b"data").unwrap();
    std::os::unix::fs::symlink("dir", dir.path().join("l")).unwrap();
    for seed in 10..13 {
        let ctx = builder()
            .preopen(HostDir::open(dir.path()).unwrap(), "/")
            .preopen(HostDir::open_read_only(dir.path()).unwrap(), "/ro")
            .build()
            .unwrap();
        hammer(ctx, seed, 20_000);
    }
}

#[test]
fn no_preopens_survive_random_calls() {
    hammer(builder().args(["x", "y"]).env("K", "V").stdin_bytes("input").build().unwrap(), 99, 20_000);
}

#[test]
fn a_4_gib_memory_survives_random_calls() {
    let fs = MemFs::new();
    fs.create_dir_all("dir").unwrap();
    fs.write_file("dir/f", b"data").unwrap();
    fs.symlink("dir", "l").unwrap();
    for seed in 20..22 {
        hammer_in(builder().preopen(fs.clone(), "/").build().unwrap(), seed, 10_000, 65536);
    }
}
