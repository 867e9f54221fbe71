//! Error paths (and the success values next to them) of every non-filesystem WASI call, made
//! by real wasm guests written in WAT. Each case asserts the exact errno of the witx numbering.

mod support;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hammertime::clocks::{FixedClock, ManualClock};
use hammertime::p1::FUNCTIONS;
use hammertime::p1::abi::types::{eventtype, fdflags, riflags, rights, sdflags, subclockflags};
use hammertime::random::{RandomSource, SeededRandom};
use hammertime::stdio::OutputBuffer;
use hammertime::{Errno, I32Exit, WasiCtx};
use support::{Guest, I32, I64, call, call_ctx, signature};

// errno values of `wasi_snapshot_preview1` (witx).
const SUCCESS: i32 = 0;
const AGAIN: i32 = 6;
const BADF: i32 = 8;
const FAULT: i32 = 21;
const INVAL: i32 = 28;
const NOSPC: i32 = 51;
const NOSYS: i32 = 52;
const NOTCONN: i32 = 53;
const NOTDIR: i32 = 54;
const NOTSOCK: i32 = 57;
const NOTSUP: i32 = 58;
const PIPE: i32 = 64;
const SPIPE: i32 = 70;
const NOTCAPABLE: i32 = 76;

// filetype values.
const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_SOCKET_STREAM: u8 = 6;

/// One page of guest memory: the first address past its end.
const PAGE: u32 = 65536;
/// Where results are written.
const RES: u32 = 0x10;
const RES2: u32 = 0x20;
/// Where iovec arrays go.
const IOVS: u32 = 0x100;
/// Where data buffers go.
const BUF: u32 = 0x200;
/// A value no call writes, to tell "untouched" from "written".
const SENTINEL: u32 = 0xDEAD_BEEF;

fn ctx() -> WasiCtx {
    WasiCtx::builder().build().unwrap()
}

/// A guest importing all 46 functions, each re-exported under its own name.
fn guest(ctx: WasiCtx) -> Guest {
    Guest::new(ctx, &FUNCTIONS)
}

/// A context with captured stdout/stderr and the given stdin.
fn stdio_ctx(stdin: &[u8]) -> (WasiCtx, OutputBuffer, OutputBuffer) {
    let (out, err) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = WasiCtx::builder().stdin_bytes(stdin).stdout(out.clone()).stderr(err.clone()).build().unwrap();
    (ctx, out, err)
}

/// `fd_write(fd, [data])` with the data at `BUF`, the iovec at `IOVS` and nwritten at `RES`
/// (preset to `SENTINEL`). Returns (errno, nwritten).
fn write(g: &mut Guest, fd: u32, data: &[u8]) -> (i32, u32) {
    g.write(BUF, data);
    g.write_iovecs(IOVS, &[(BUF, data.len() as u32)]);
    g.write_u32(RES, SENTINEL);
    let e = g.call("fd_write", &[I32(fd), I32(IOVS), I32(1), I32(RES)]);
    (e, g.u32(RES))
}

/// `fd_read(fd, [BUF; len])`; returns (errno, nread, the bytes read).
fn read(g: &mut Guest, fd: u32, len: u32) -> (i32, u32, Vec<u8>) {
    g.write(BUF, &vec![0; len as usize]);
    g.write_iovecs(IOVS, &[(BUF, len)]);
    g.write_u32(RES, SENTINEL);
    let e = g.call("fd_read", &[I32(fd), I32(IOVS), I32(1), I32(RES)]);
    let n = g.u32(RES);
    let bytes = if e == SUCCESS { g.read(BUF, n) } else { Vec::new() };
    (e, n, bytes)
}

/// `fd_fdstat_get(fd)`: (errno, filetype, flags, base, inheriting).
fn fdstat(g: &mut Guest, fd: u32) -> (i32, u8, u16, u64, u64) {
    g.write(RES, &[0xFF; 24]);
    let e = g.call("fd_fdstat_get", &[I32(fd), I32(RES)]);
    (e, g.u8(RES), g.u16(RES + 2), g.u64(RES + 8), g.u64(RES + 16))
}

#[test]
fn errno_constants_are_the_witx_numbers() {
    let pairs = [
        (Errno::Again, AGAIN),
        (Errno::Badf, BADF),
        (Errno::Fault, FAULT),
        (Errno::Inval, INVAL),
        (Errno::Nospc, NOSPC),
        (Errno::Nosys, NOSYS),
        (Errno::Notconn, NOTCONN),
        (Errno::Notdir, NOTDIR),
        (Errno::Notsock, NOTSOCK),
        (Errno::Notsup, NOTSUP),
        (Errno::Pipe, PIPE),
        (Errno::Spipe, SPIPE),
        (Errno::Notcapable, NOTCAPABLE),
    ];
    for (errno, n) in pairs {
        assert_eq!(i32::from(errno.raw()), n, "{errno:?}");
    }
}

#[test]
fn all_46_functions_link_with_their_witx_signatures() {
    assert_eq!(FUNCTIONS.len(), 46);
    let mut g = guest(ctx());
    for name in FUNCTIONS {
        assert!(g.instance.get_func(&mut g.store, name).is_some(), "{name}");
    }
    // A wrong signature is a link error, not a silent mismatch.
    let wat = r#"(module (import "wasi_snapshot_preview1" "fd_close" (func (param i64) (result i32))))"#;
    let module = wasmtime::Module::new(support::engine(), wat).unwrap();
    let mut linker = wasmtime::Linker::new(support::engine());
    hammertime::add_to_linker(&mut linker, |s: &mut WasiCtx| s).unwrap();
    let mut store = wasmtime::Store::new(support::engine(), ctx());
    assert!(linker.instantiate(&mut store, &module).is_err());
}

// ---------------------------------------------------------------------------------------------
// args_* and environ_*

const ARGS: [&str; 4] = ["prog", "first", "the \"second\" arg", "3"];
const ENV: [(&str, &str); 3] = [("a", "text"), ("b", "escap \" ing"), ("c", "new\nline")];

fn args_ctx() -> WasiCtx {
    WasiCtx::builder().args(ARGS).build().unwrap()
}

fn env_ctx() -> WasiCtx {
    WasiCtx::builder().envs(ENV).build().unwrap()
}

/// NUL-terminated strings, back to back.
fn nul_joined<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    items.into_iter().flat_map(|s| s.bytes().chain([0])).collect()
}

fn env_strings() -> Vec<String> {
    ENV.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[test]
fn args_sizes_get_counts_argv0_and_nul_bytes() {
    let (e, g) = call_ctx(args_ctx(), "args_sizes_get", signature("args_sizes_get"), &[I32(RES), I32(RES2)]);
    assert_eq!(e, SUCCESS);
    assert_eq!((g.u32(RES), g.u32(RES2)), (4, 30));

    let (e, g) = call_ctx(ctx(), "args_sizes_get", signature("args_sizes_get"), &[I32(RES), I32(RES2)]);
    assert_eq!(e, SUCCESS);
    assert_eq!((g.u32(RES), g.u32(RES2)), (0, 0));
}

#[test]
fn args_get_writes_pointers_and_nul_terminated_strings() {
    let (e, g) = call_ctx(args_ctx(), "args_get", signature("args_get"), &[I32(IOVS), I32(BUF)]);
    assert_eq!(e, SUCCESS);
    let ptrs: Vec<u32> = (0..4).map(|i| g.u32(IOVS + 4 * i)).collect();
    assert_eq!(ptrs, [BUF, BUF + 5, BUF + 11, BUF + 28]);
    assert_eq!(g.u32(IOVS + 16), 0, "nothing written past argv[3]");
    assert_eq!(g.read(BUF, 31), [nul_joined(ARGS), vec![0]].concat());
    assert_eq!(g.read(BUF + 11, 17), b"the \"second\" arg\0");

    // Each array ending exactly at the end of memory fits.
    let (e, g) = call_ctx(args_ctx(), "args_get", signature("args_get"), &[I32(PAGE - 16), I32(BUF)]);
    assert_eq!(e, SUCCESS);
    assert_eq!(g.u32(PAGE - 4), BUF + 28);
    let (e, g) = call_ctx(args_ctx(), "args_get", signature("args_get"), &[I32(IOVS), I32(PAGE - 30)]);
    assert_eq!(e, SUCCESS);
    assert_eq!(g.u32(IOVS + 12), PAGE - 2);
    assert_eq!(g.read(PAGE - 30, 30), nul_joined(ARGS));

    // No arguments: nothing is written.
    let (e, g) = call_ctx(ctx(), "args_get", signature("args_get"), &[I32(IOVS), I32(BUF)]);
    assert_eq!(e, SUCCESS);
    assert!(g.data().iter().all(|&b| b == 0));
}

#[test]
fn environ_sizes_get_and_environ_get_give_exact_bytes() {
    let (e, g) = call_ctx(env_ctx(), "environ_sizes_get", signature("environ_sizes_get"), &[I32(RES), I32(RES2)]);
    assert_eq!(e, SUCCESS);
    assert_eq!((g.u32(RES), g.u32(RES2)), (3, 32));

    let (e, g) = call_ctx(ctx(), "environ_sizes_get", signature("environ_sizes_get"), &[I32(RES), I32(RES2)]);
    assert_eq!(e, SUCCESS);
    assert_eq!((g.u32(RES), g.u32(RES2)), (0, 0));

    let (e, g) = call_ctx(env_ctx(), "environ_get", signature("environ_get"), &[I32(IOVS), I32(BUF)]);
    assert_eq!(e, SUCCESS);
    let ptrs: Vec<u32> = (0..3).map(|i| g.u32(IOVS + 4 * i)).collect();
    assert_eq!(ptrs, [BUF, BUF + 7, BUF + 21]);
    let strings = env_strings();
    assert_eq!(g.read(BUF, 32), nul_joined(strings.iter().map(String::as_str)));
    assert_eq!(g.read(BUF + 7, 14), b"b=escap \" ing\0");
    assert_eq!(g.read(BUF + 21, 11), b"c=new\nline\0");
    assert_eq!(g.u8(BUF + 32), 0);
}

#[test]
fn list_calls_out_of_bounds_are_fault() {
    // (argv, argv_buf) pairs with at least one range outside the one page.
    let bad_lists = [
        (PAGE - 2, BUF),
        (0xFFFF_FFF0, BUF),
        (PAGE - 11, BUF),
        (IOVS, PAGE - 2),
        (IOVS, 0xFFFF_FFF0),
        (PAGE - 16, PAGE - 29),
        (u32::MAX, u32::MAX),
    ];
    for name in ["args_get", "environ_get"] {
        let make = if name == "args_get" { args_ctx } else { env_ctx };
        for (a, b) in bad_lists {
            let (e, _) = call_ctx(make(), name, signature(name), &[I32(a), I32(b)]);
            assert_eq!(e, FAULT, "{name}({a:#x}, {b:#x})");
        }
    }
    let bad_sizes = [(PAGE - 2, RES2), (0xFFFF_FFF0, RES2), (RES, PAGE - 2), (RES, 0xFFFF_FFF0), (PAGE - 3, PAGE - 3)];
    for name in ["args_sizes_get", "environ_sizes_get"] {
        let make = if name == "args_sizes_get" { args_ctx } else { env_ctx };
        for (a, b) in bad_sizes {
            let (e, g) = call_ctx(make(), name, signature(name), &[I32(a), I32(b)]);
            assert_eq!(e, FAULT, "{name}({a:#x}, {b:#x})");
            if a == RES {
                assert_eq!(g.u32(RES), 0, "{name}: the count is not written when the size pointer is bad");
            }
        }
        let (e, g) = call_ctx(make(), name, signature(name), &[I32(PAGE - 8), I32(PAGE - 4)]);
        assert_eq!(e, SUCCESS, "{name} at the end of memory");
        assert!(g.u32(PAGE - 8) > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// clock_res_get, clock_time_get

#[test]
fn every_clock_id_0_to_3_succeeds() {
    for id in 0..4 {
        let (e, g) = call_ctx(ctx(), "clock_res_get", signature("clock_res_get"), &[I32(id), I32(RES)]);
        assert_eq!(e, SUCCESS, "clock_res_get({id})");
        assert_eq!(g.u64(RES), 1, "resolution of clock {id}");
    }
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut times = Vec::new();
    for id in 0..4 {
        let (e, g) = call_ctx(ctx(), "clock_time_get", signature("clock_time_get"), &[I32(id), I64(1), I32(RES)]);
        assert_eq!(e, SUCCESS, "clock_time_get({id})");
        times.push(g.u64(RES));
    }
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert!(before <= times[0] && times[0] <= after, "realtime {} not in [{before}, {after}]", times[0]);
    assert!(times[1] < 60_000_000_000, "monotonic counts from the context's creation: {}", times[1]);
    assert!(times[2] > 0, "process CPU time");
    assert!(times[3] > 0, "thread CPU time");
}

#[test]
fn unknown_clock_ids_are_inval() {
    for id in [4, 5, 0x7FFF_FFFF, 0xFFFF_FFFF] {
        for (name, args) in
            [("clock_res_get", vec![I32(id), I32(RES)]), ("clock_time_get", vec![I32(id), I64(0), I32(RES)])]
        {
            let (e, g) = call_ctx(ctx(), name, signature(name), &args);
            assert_eq!(e, INVAL, "{name}({id:#x})");
            assert_eq!(g.u64(RES), 0, "{name}({id:#x}) wrote a result");
        }
    }
}

#[test]
fn bad_clock_result_pointers_are_fault() {
    for ptr in [PAGE - 7, PAGE - 4, PAGE, 0xFFFF_FFF0, u32::MAX] {
        for id in [0, 1, 2, 3] {
            assert_eq!(call("clock_res_get", "(param i32 i32) (result i32)", &[I32(id), I32(ptr)]), FAULT);
            assert_eq!(call("clock_time_get", "(param i32 i64 i32) (result i32)", &[I32(id), I64(0), I32(ptr)]), FAULT);
        }
    }
    let (e, g) = call_ctx(ctx(), "clock_time_get", signature("clock_time_get"), &[I32(1), I64(0), I32(PAGE - 8)]);
    assert_eq!(e, SUCCESS, "the last 8 bytes of memory hold a timestamp");
    assert!(g.u64(PAGE - 8) > 0);
}

#[test]
fn realtime_reads_the_fixed_clock_exactly() {
    const T: u64 = 1_700_000_000_123_456_789;
    let ctx = || WasiCtx::builder().wall_clock(FixedClock::new(T)).build().unwrap();
    let (e, g) =
        call_ctx(ctx(), "clock_time_get", signature("clock_time_get"), &[I32(0), I64(1_000_000), I32(PAGE - 8)]);
    assert_eq!(e, SUCCESS);
    assert_eq!(g.u64(PAGE - 8), T);
    let (e, g) = call_ctx(ctx(), "clock_res_get", signature("clock_res_get"), &[I32(0), I32(RES)]);
    assert_eq!(e, SUCCESS);
    assert_eq!(g.u64(RES), 1);
}

#[test]
fn monotonic_follows_the_manual_clock_exactly() {
    let clock = ManualClock::new(5_000);
    let handle = clock.clone();
    let mut g = Guest::new(WasiCtx::builder().monotonic_clock(clock).build().unwrap(), &["clock_time_get"]);
    let now = |g: &mut Guest| {
        assert_eq!(g.call("clock_time_get", &[I32(1), I64(0), I32(RES)]), SUCCESS);
        g.u64(RES)
    };
    assert_eq!(now(&mut g), 5_000);
    assert_eq!(now(&mut g), 5_000);
    handle.advance(Duration::from_nanos(1_234));
    assert_eq!(now(&mut g), 6_234);
    handle.advance(Duration::from_secs(2));
    assert_eq!(now(&mut g), 2_000_006_234);
}

// ---------------------------------------------------------------------------------------------
// random_get

#[test]
fn random_get_zero_length_is_ok_even_at_the_end_of_memory() {
    for ptr in [BUF, PAGE - 1, PAGE] {
        let (e, g) = call_ctx(ctx(), "random_get", signature("random_get"), &[I32(ptr), I32(0)]);
        assert_eq!(e, SUCCESS, "random_get({ptr:#x}, 0)");
        assert!(g.data().iter().all(|&b| b == 0));
    }
}

#[test]
fn random_get_past_the_end_is_fault_and_writes_nothing() {
    for (ptr, len) in [(PAGE - 4, 8), (PAGE, 1), (0xFFFF_FFF0, 32), (0, PAGE + 1), (0, u32::MAX), (u32::MAX, 1)] {
        let ctx = WasiCtx::builder().seeded_random(1).build().unwrap();
        let (e, g) = call_ctx(ctx, "random_get", signature("random_get"), &[I32(ptr), I32(len)]);
        assert_eq!(e, FAULT, "random_get({ptr:#x}, {len})");
        assert!(g.data().iter().all(|&b| b == 0), "random_get({ptr:#x}, {len}) wrote bytes");
    }
    let ctx = WasiCtx::builder().seeded_random(1).build().unwrap();
    let (e, g) = call_ctx(ctx, "random_get", signature("random_get"), &[I32(0), I32(PAGE)]);
    assert_eq!(e, SUCCESS, "the whole page");
    assert!(g.read(PAGE - 8, 8).iter().any(|&b| b != 0));
}

#[test]
fn seeded_random_is_reproducible() {
    let run = |seed: u64| {
        let ctx = WasiCtx::builder().seeded_random(seed).build().unwrap();
        let (e, g) = call_ctx(ctx, "random_get", signature("random_get"), &[I32(BUF), I32(64)]);
        assert_eq!(e, SUCCESS);
        g.read(BUF, 64)
    };
    let a = run(42);
    assert_eq!(a, run(42));
    let mut expected = [0u8; 64];
    SeededRandom::new(42).fill(&mut expected).unwrap();
    assert_eq!(a, expected);
    assert_ne!(a, run(43));

    // Two calls continue one stream.
    let mut g = Guest::new(WasiCtx::builder().seeded_random(42).build().unwrap(), &["random_get"]);
    assert_eq!(g.call("random_get", &[I32(BUF), I32(8)]), SUCCESS);
    assert_eq!(g.call("random_get", &[I32(BUF + 8), I32(8)]), SUCCESS);
    assert_eq!(g.read(BUF, 16), &expected[..16]);
}

// ---------------------------------------------------------------------------------------------
// sched_yield, proc_raise, proc_exit

#[test]
fn sched_yield_succeeds() {
    assert_eq!(call("sched_yield", "(result i32)", &[]), SUCCESS);
}

#[test]
fn proc_raise_is_nosys_for_signals_and_inval_beyond() {
    let mut g = Guest::new(ctx(), &["proc_raise"]);
    assert_eq!(g.call("proc_raise", &[I32(0)]), 0, "proc_raise(0) is a no-op");
    for sig in 1..=30 {
        assert_eq!(g.call("proc_raise", &[I32(sig)]), NOSYS, "proc_raise({sig})");
    }
    for sig in [31, 32, 255, 256, 0x8000_0000, u32::MAX] {
        assert_eq!(g.call("proc_raise", &[I32(sig)]), INVAL, "proc_raise({sig:#x})");
    }
    assert_eq!(call("proc_raise", "(param i32) (result i32)", &[I32(31)]), INVAL);
}

/// A command whose `_start` calls `proc_exit(code)` (or returns, for `None`) and then writes
/// "after" to stdout.
fn exit_command(code: Option<u32>) -> wasmtime::Module {
    let exit = code.map(|c| format!("(call $exit (i32.const {}))", c as i32)).unwrap_or_default();
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "after")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    {exit}
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#
    );
    wasmtime::Module::new(support::engine(), wat).unwrap()
}

#[test]
fn proc_exit_gives_the_exit_status_and_stops_the_guest() {
    for (code, status) in [(Some(7), 7), (Some(0), 0), (Some(33), 33), (Some(u32::MAX), -1)] {
        let out = OutputBuffer::new();
        let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
        let result = hammertime::run(support::engine(), &exit_command(code), ctx);
        assert_eq!(result.unwrap(), status, "proc_exit({code:?})");
        assert_eq!(out.to_string_lossy(), "", "code after proc_exit({code:?}) ran");
    }
    // Returning normally is status 0, and the write after it happens.
    let out = OutputBuffer::new();
    let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
    assert_eq!(hammertime::run(support::engine(), &exit_command(None), ctx).unwrap(), 0);
    assert_eq!(out.to_string_lossy(), "after");
}

#[test]
fn proc_exit_error_downcasts_to_i32exit() {
    let mut g = Guest::new(ctx(), &["proc_exit"]);
    let err = g.try_call("proc_exit", &[I32(7)]).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(7)));
    assert_eq!(hammertime::exit_status(Err(err)).unwrap(), 7);

    let mut g = support::Guest::from_wat(ctx(), &support::wat_for_call("proc_exit", "(param i32)", &[I32(0)]));
    let err = g.try_call("test", &[]).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(0)));
}

// ---------------------------------------------------------------------------------------------
// fd_write, fd_read on stdio

#[test]
fn fd_write_concatenates_iovecs() {
    let (ctx, out, err) = stdio_ctx(b"");
    let mut g = guest(ctx);
    g.write(0x200, b"hel");
    g.write(0x300, b"lo ");
    g.write(0x400, b"world\n");
    g.write_iovecs(IOVS, &[(0x200, 3), (0x500, 0), (0x300, 3), (0x400, 6)]);
    assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(4), I32(RES)]), SUCCESS);
    assert_eq!(g.u32(RES), 12);
    assert_eq!(out.to_string_lossy(), "hello world\n");
    assert_eq!(err.to_string_lossy(), "");

    assert_eq!(g.call("fd_write", &[I32(2), I32(IOVS), I32(4), I32(RES2)]), SUCCESS);
    assert_eq!(g.u32(RES2), 12);
    assert_eq!(err.to_string_lossy(), "hello world\n");
    assert_eq!(out.len(), 12);

    // No iovecs: success, nothing written.
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(0), I32(RES)]), SUCCESS);
    assert_eq!(g.u32(RES), 0);
    assert_eq!(out.len(), 12);
}

#[test]
fn fd_read_from_stdin_bytes() {
    let (ctx, _, _) = stdio_ctx(b"hello world");
    let mut g = guest(ctx);
    // One read fills the first non-empty iovec only.
    g.write_iovecs(IOVS, &[(0x200, 3), (0x300, 100)]);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(2), I32(RES)]), SUCCESS);
    assert_eq!(g.u32(RES), 3);
    assert_eq!(g.read(0x200, 3), b"hel");
    assert_eq!(g.u8(0x300), 0);

    g.write_iovecs(IOVS, &[(0x400, 0), (0x500, 100)]);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(2), I32(RES)]), SUCCESS);
    assert_eq!(g.u32(RES), 8);
    assert_eq!(g.read(0x500, 8), b"lo world");

    // End of input.
    assert_eq!(read(&mut g, 0, 16), (SUCCESS, 0, vec![]));
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(0), I32(RES)]), SUCCESS);
    assert_eq!(g.u32(RES), 0);
}

#[test]
fn bad_fds_are_badf_even_with_no_iovecs() {
    let (ctx, out, _) = stdio_ctx(b"input");
    let mut g = guest(ctx);
    for fd in [3, 99, 0xFFFF_85A7, u32::MAX] {
        for name in ["fd_write", "fd_read"] {
            g.write_u32(RES, SENTINEL);
            assert_eq!(g.call(name, &[I32(fd), I32(0), I32(0), I32(RES)]), BADF, "{name}({fd:#x}) with 0 iovecs");
            assert_eq!(g.u32(RES), SENTINEL);
        }
        assert_eq!(write(&mut g, fd, b"x"), (BADF, SENTINEL));
    }
    assert_eq!(call("fd_write", signature("fd_write"), &[I32(0xFFFF_85A7), I32(0), I32(0), I32(RES)]), BADF);
    assert!(out.is_empty());
    assert_eq!(read(&mut g, 0, 16), (SUCCESS, 5, b"input".to_vec()));
}

#[test]
fn fd_write_out_of_bounds_iovecs_are_fault_and_write_nothing() {
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    g.write(BUF, b"hello");
    type Case = (&'static str, Vec<(u32, u32)>, u32, u32);
    let cases: [Case; 7] = [
        ("iovec array past the end", vec![], PAGE - 4, 1),
        ("iovec array at 0xFFFFFFF8", vec![], 0xFFFF_FFF8, 1),
        ("iovec array running past the end", vec![], PAGE - 8 * 1000, 1001),
        ("buffer past the end", vec![(PAGE - 5, 10)], IOVS, 1),
        ("buffer at 0xFFFFFFF0", vec![(0xFFFF_FFF0, 32)], IOVS, 1),
        ("good then bad buffer", vec![(BUF, 5), (PAGE - 1, 2)], IOVS, 2),
        ("good then bad array", vec![(BUF, 5)], PAGE - 8, 2),
    ];
    for (what, iovs, at, count) in cases {
        if at == PAGE - 8 {
            g.write_iovecs(at, &iovs);
        } else {
            g.write(IOVS, &[0; 16]);
            g.write_iovecs(IOVS, &iovs);
        }
        g.write_u32(RES, SENTINEL);
        assert_eq!(g.call("fd_write", &[I32(1), I32(at), I32(count), I32(RES)]), FAULT, "{what}");
        assert_eq!(g.u32(RES), SENTINEL, "{what}: nwritten written");
        assert!(out.is_empty(), "{what}: bytes reached stdout");
    }
    // More iovecs than IOV_MAX: EINVAL before any is read, as Linux answers.
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(0x2000_0000), I32(RES)]), INVAL, "huge iovec count");
    assert_eq!(g.u32(RES), SENTINEL);
    // nwritten outside memory.
    g.write_iovecs(IOVS, &[(BUF, 5)]);
    for ptr in [PAGE - 3, PAGE, 0xFFFF_FFFF] {
        assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(1), I32(ptr)]), FAULT, "nwritten at {ptr:#x}");
        assert!(out.is_empty());
    }
    assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(1), I32(PAGE - 4)]), SUCCESS);
    assert_eq!(g.u32(PAGE - 4), 5);
    assert_eq!(out.to_string_lossy(), "hello");
}

#[test]
fn fd_read_out_of_bounds_is_fault_and_consumes_nothing() {
    let (ctx, _, _) = stdio_ctx(b"hello");
    let mut g = guest(ctx);
    g.write_iovecs(IOVS, &[(BUF, 2), (PAGE - 1, 2)]);
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(2), I32(RES)]), FAULT);
    assert_eq!(g.u32(RES), SENTINEL);
    assert_eq!(g.u8(BUF), 0);
    g.write_iovecs(IOVS, &[(BUF, 8)]);
    assert_eq!(g.call("fd_read", &[I32(0), I32(PAGE - 4), I32(1), I32(RES)]), FAULT);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(1), I32(PAGE - 2)]), FAULT);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(1), I32(u32::MAX)]), FAULT);
    assert_eq!(g.u8(BUF), 0);
    assert_eq!(read(&mut g, 0, 16), (SUCCESS, 5, b"hello".to_vec()));
}

#[test]
fn stdio_directions_are_enforced() {
    let (ctx, out, err) = stdio_ctx(b"in");
    let mut g = guest(ctx);
    assert_eq!(write(&mut g, 0, b"x"), (BADF, SENTINEL));
    assert_eq!(read(&mut g, 1, 4).0, BADF);
    assert_eq!(read(&mut g, 2, 4).0, BADF);
    assert!(out.is_empty() && err.is_empty());
    assert_eq!(read(&mut g, 0, 4), (SUCCESS, 2, b"in".to_vec()));
}

#[test]
fn limited_output_is_short_write_then_nospc() {
    let out = OutputBuffer::with_limit(4);
    let mut g = guest(WasiCtx::builder().stdout(out.clone()).build().unwrap());
    assert_eq!(write(&mut g, 1, b"0123456789"), (SUCCESS, 4));
    assert_eq!(out.contents(), b"0123");
    assert_eq!(write(&mut g, 1, b"abc"), (NOSPC, SENTINEL));
    assert_eq!(out.contents(), b"0123");
    assert_eq!(write(&mut g, 1, b""), (SUCCESS, 0));
}

struct FailingWriter {
    accept: usize,
    error: io::ErrorKind,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.accept == usize::MAX {
            return Ok(0);
        }
        if self.accept == 0 {
            return Err(io::Error::from(self.error));
        }
        let n = self.accept.min(buf.len());
        self.accept -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn failing_writers_give_their_errno_or_a_short_count() {
    let with = |w: FailingWriter| guest(WasiCtx::builder().stdout(w).build().unwrap());
    let mut g = with(FailingWriter { accept: 0, error: io::ErrorKind::BrokenPipe });
    assert_eq!(write(&mut g, 1, b"hello"), (PIPE, SENTINEL));
    let mut g = with(FailingWriter { accept: usize::MAX, error: io::ErrorKind::Other });
    assert_eq!(write(&mut g, 1, b"hello"), (NOSPC, SENTINEL), "a writer accepting 0 bytes");
    let mut g = with(FailingWriter { accept: 2, error: io::ErrorKind::BrokenPipe });
    assert_eq!(write(&mut g, 1, b"hello"), (SUCCESS, 2), "bytes accepted before the failure");
    assert_eq!(write(&mut g, 1, b"hello"), (PIPE, SENTINEL));
}

/// A writer refusing its first call with `Interrupted`, then taking everything.
struct InterruptedOnce(bool);

impl Write for InterruptedOnce {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if std::mem::replace(&mut self.0, false) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Several buffers to a writer give the answers one buffer does: the errno when nothing was
/// taken, the count of what was; an interrupted write is tried again; empty buffers write
/// nothing and succeed.
#[test]
fn failing_writers_of_several_buffers_give_their_errno_or_a_short_count() {
    let two = |g: &mut Guest, lens: (u32, u32)| {
        g.write(BUF, b"helloworld");
        g.write_iovecs(IOVS, &[(BUF, lens.0), (BUF + 5, lens.1)]);
        g.write_u32(RES, SENTINEL);
        let e = g.call("fd_write", &[I32(1), I32(IOVS), I32(2), I32(RES)]);
        (e, g.u32(RES))
    };
    let with = |w: FailingWriter| guest(WasiCtx::builder().stdout(w).build().unwrap());
    let mut g = with(FailingWriter { accept: 0, error: io::ErrorKind::BrokenPipe });
    assert_eq!(two(&mut g, (5, 5)), (PIPE, SENTINEL));
    let mut g = with(FailingWriter { accept: 7, error: io::ErrorKind::BrokenPipe });
    assert_eq!(two(&mut g, (5, 5)), (SUCCESS, 7), "bytes accepted before the failure");
    assert_eq!(two(&mut g, (5, 5)), (PIPE, SENTINEL));
    let mut g = guest(WasiCtx::builder().stdout(InterruptedOnce(true)).build().unwrap());
    assert_eq!(two(&mut g, (5, 5)), (SUCCESS, 10));
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    assert_eq!(two(&mut g, (0, 0)), (SUCCESS, 0));
    assert_eq!(out.contents(), b"");
}

/// A writer taking every byte whose `flush` fails.
struct FlushFails;

impl Write for FlushFails {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
}

/// A writer claiming 100 bytes more than it was given, even for nothing.
struct Overclaims;

impl Write for Overclaims {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len() + 100)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A failing flush after bytes were taken leaves the count of them (the bytes are the sink's);
/// with nothing taken it is the errno. A writer claiming more than it was given counts as
/// having taken all of it, over several buffers too, and makes no host panic or endless loop.
#[test]
fn flush_failures_and_overclaiming_writers_give_what_was_taken() {
    let writev = |g: &mut Guest, lens: &[(u32, u32)]| {
        g.write(BUF, b"helloworld");
        g.write_iovecs(IOVS, lens);
        g.write_u32(RES, SENTINEL);
        let e = g.call("fd_write", &[I32(1), I32(IOVS), I32(lens.len() as u32), I32(RES)]);
        (e, g.u32(RES))
    };
    let mut g = guest(WasiCtx::builder().stdout(FlushFails).build().unwrap());
    assert_eq!(writev(&mut g, &[(BUF, 5)]), (SUCCESS, 5));
    assert_eq!(writev(&mut g, &[(BUF, 5), (BUF + 5, 5)]), (SUCCESS, 10));
    assert_eq!(writev(&mut g, &[(BUF, 0)]), (PIPE, SENTINEL), "nothing taken: the flush's errno");
    let mut g = guest(WasiCtx::builder().stdout(Overclaims).build().unwrap());
    assert_eq!(writev(&mut g, &[(BUF, 5)]), (SUCCESS, 5));
    assert_eq!(writev(&mut g, &[(BUF, 5), (BUF + 5, 5)]), (SUCCESS, 10));
    assert_eq!(writev(&mut g, &[(BUF, 2), (BUF + 2, 3), (BUF + 5, 5)]), (SUCCESS, 10));
}

/// A reader failing its first `read` (with `Interrupted`: tried again; with another error: the
/// errno), then giving `data`.
struct FirstReadFails(Option<io::ErrorKind>, &'static [u8]);

impl Read for FirstReadFails {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = self.0.take() {
            return Err(kind.into());
        }
        let n = self.1.len().min(buf.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1 = &self.1[n..];
        Ok(n)
    }
}

#[test]
fn an_interrupted_stdin_read_is_tried_again_and_other_errors_are_the_errno() {
    let with = |r: FirstReadFails| guest(WasiCtx::builder().stdin(r).build().unwrap());
    let mut g = with(FirstReadFails(Some(io::ErrorKind::Interrupted), b"data"));
    assert_eq!(read(&mut g, 0, 8), (SUCCESS, 4, b"data".to_vec()));
    let mut g = with(FirstReadFails(Some(io::ErrorKind::BrokenPipe), b"data"));
    assert_eq!(read(&mut g, 0, 8).0, PIPE);
    assert_eq!(read(&mut g, 0, 8), (SUCCESS, 4, b"data".to_vec()));
}

/// A read-only filesystem of one 8-byte file, `f`, whose reads fail (`EIO`) from offset 4 on.
struct FailsPastFour;

struct FailsPastFourFile;

impl hammertime::vfs::simple::SimpleFile for FailsPastFourFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= 4 {
            return Err(io::Error::other("bad sector"));
        }
        let n = buf.len().min(4 - offset as usize);
        buf[..n].fill(b'x');
        Ok(n)
    }
}

impl hammertime::vfs::SimpleFs for FailsPastFour {
    fn metadata(&self, path: &str) -> io::Result<hammertime::vfs::simple::SimpleMetadata> {
        match path {
            "" => Ok(hammertime::vfs::simple::SimpleMetadata::dir()),
            "f" => Ok(hammertime::vfs::simple::SimpleMetadata::file(8)),
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }
    fn read_dir(&self, _path: &str) -> io::Result<Vec<String>> {
        Ok(vec!["f".into()])
    }
    fn open(&self, _path: &str) -> io::Result<Box<dyn hammertime::vfs::simple::SimpleFile>> {
        Ok(Box::new(FailsPastFourFile))
    }
}

/// A backend read that fails before any byte is the errno; one that fails after some bytes of
/// a several-buffer `fd_read` ends it short with those bytes (as `readv(2)` reports a partial
/// transfer), and the file position moves past them only.
#[test]
fn a_file_read_failing_after_some_bytes_is_a_short_count() {
    let fs = hammertime::vfs::SimpleFsAdapter::new(FailsPastFour);
    let mut g = guest(WasiCtx::builder().preopen(fs, "/").build().unwrap());
    g.write(0x300, b"f");
    let open = [I32(3), I32(0), I32(0x300), I32(1), I32(0), I64(rights::FD_READ | rights::FD_SEEK | rights::FD_TELL)];
    assert_eq!(g.call("path_open", &[&open[..], &[I64(0), I32(0), I32(RES)]].concat()), SUCCESS);
    let fd = g.u32(RES);
    let readv = |g: &mut Guest, lens: &[u32]| {
        let starts = lens.iter().scan(BUF, |at, &len| Some(std::mem::replace(at, *at + len)));
        let iovs: Vec<(u32, u32)> = starts.zip(lens.iter().copied()).collect();
        g.write(BUF, &[0; 16]);
        g.write_iovecs(IOVS, &iovs);
        g.write_u32(RES, SENTINEL);
        let e = g.call("fd_read", &[I32(fd), I32(IOVS), I32(iovs.len() as u32), I32(RES)]);
        (e, g.u32(RES), g.read(BUF, 8))
    };
    let tell = |g: &mut Guest| {
        assert_eq!(g.call("fd_tell", &[I32(fd), I32(RES2)]), SUCCESS);
        g.u64(RES2)
    };
    // The first buffer takes the four good bytes, the second fails: a short read of four.
    assert_eq!(readv(&mut g, &[4, 4]), (SUCCESS, 4, b"xxxx\0\0\0\0".to_vec()));
    assert_eq!(tell(&mut g), 4);
    // Now the first read fails: the errno, nothing stored, the position unchanged.
    let (e, n, _) = readv(&mut g, &[4, 4]);
    assert_eq!((e, n), (i32::from(Errno::Io.raw()), SENTINEL));
    assert_eq!(tell(&mut g), 4);
}

// ---------------------------------------------------------------------------------------------
// fd_seek, fd_tell, fdstat, filestat, flags, rights, close, renumber, prestat on stdio

#[test]
fn seek_and_tell_on_stdio_are_spipe() {
    let (ctx, _, _) = stdio_ctx(b"abc");
    let mut g = guest(ctx);
    for fd in 0..3 {
        for (offset, whence) in [(0, 1), (5, 0), (0, 2), ((-1i64) as u64, 1), (0, 3)] {
            g.write_u64(RES, u64::MAX);
            let e = g.call("fd_seek", &[I32(fd), I64(offset), I32(whence), I32(RES)]);
            assert_eq!(e, SPIPE, "fd_seek({fd}, {offset}, {whence})");
            assert_eq!(g.u64(RES), u64::MAX);
        }
        assert_eq!(g.call("fd_tell", &[I32(fd), I32(RES)]), SPIPE, "fd_tell({fd})");
        assert_eq!(g.u64(RES), u64::MAX);
    }
    assert_eq!(g.call("fd_seek", &[I32(99), I64(0), I32(0), I32(RES)]), BADF);
    assert_eq!(g.call("fd_tell", &[I32(99), I32(RES)]), BADF);
    assert_eq!(g.call("fd_seek", &[I32(1), I64(0), I32(1), I32(PAGE - 4)]), FAULT);
    // The stream was not disturbed.
    assert_eq!(read(&mut g, 0, 8), (SUCCESS, 3, b"abc".to_vec()));
}

#[test]
fn fdstat_of_stdio_buffers() {
    let (ctx, _, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    for fd in 0..3u32 {
        let (e, filetype, flags, base, inheriting) = fdstat(&mut g, fd);
        assert_eq!(e, SUCCESS, "fd {fd}");
        assert_eq!(filetype, FILETYPE_UNKNOWN, "fd {fd}: a buffer is not a tty");
        assert_eq!(flags, 0, "fd {fd}");
        assert_eq!(inheriting, 0, "fd {fd}");
        assert_eq!(g.u8(RES + 1), 0, "fd {fd}: padding");
        assert_eq!(g.u32(RES + 4), 0, "fd {fd}: padding");
        let (has, lacks) =
            if fd == 0 { (rights::FD_READ, rights::FD_WRITE) } else { (rights::FD_WRITE, rights::FD_READ) };
        assert_eq!(base & has, has, "fd {fd} base {base:#x}");
        assert_eq!(base & lacks, 0, "fd {fd} base {base:#x}");
        let always = rights::POLL_FD_READWRITE | rights::FD_FDSTAT_SET_FLAGS | rights::FD_FILESTAT_GET;
        assert_eq!(base & always, always, "fd {fd} base {base:#x}");
        assert_eq!(base & (rights::FD_SEEK | rights::FD_TELL), 0, "fd {fd} base {base:#x}");
        assert_eq!(base & !rights::ALL, 0, "fd {fd}: unknown right bits");
    }
    assert_eq!(fdstat(&mut g, 3).0, BADF);
    assert_eq!(fdstat(&mut g, 0xFFFF_FFFF).0, BADF);
    assert_eq!(g.call("fd_fdstat_get", &[I32(1), I32(PAGE - 23)]), FAULT);
    assert_eq!(g.call("fd_fdstat_get", &[I32(1), I32(PAGE - 24)]), SUCCESS);
}

#[test]
fn filestat_of_stdio() {
    let (ctx, _, _) = stdio_ctx(b"abc");
    let mut g = guest(ctx);
    for fd in 0..3 {
        g.write(RES, &[0xFF; 64]);
        assert_eq!(g.call("fd_filestat_get", &[I32(fd), I32(RES)]), SUCCESS, "fd {fd}");
        let fields: Vec<u64> = [0, 8, 24, 32, 40, 48, 56].iter().map(|o| g.u64(RES + o)).collect();
        assert_eq!(fields, [0, 0, 1, 0, 0, 0, 0], "fd {fd}: dev ino nlink size atim mtim ctim");
        assert_eq!(g.read(RES + 16, 8), [FILETYPE_UNKNOWN, 0, 0, 0, 0, 0, 0, 0], "fd {fd}: filetype and padding");
    }
    assert_eq!(g.call("fd_filestat_get", &[I32(3), I32(RES)]), BADF);
    assert_eq!(g.call("fd_filestat_get", &[I32(1), I32(PAGE - 63)]), FAULT);
    assert_eq!(g.call("fd_filestat_get", &[I32(1), I32(PAGE - 64)]), SUCCESS);
}

#[test]
fn fdstat_set_flags_on_stdout() {
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    let set = |g: &mut Guest, fd: u32, flags: u32| g.call("fd_fdstat_set_flags", &[I32(fd), I32(flags)]);
    assert_eq!(set(&mut g, 1, fdflags::NONBLOCK.into()), SUCCESS);
    assert_eq!(fdstat(&mut g, 1).2, fdflags::NONBLOCK);
    assert_eq!(set(&mut g, 1, (fdflags::NONBLOCK | fdflags::APPEND).into()), SUCCESS);
    assert_eq!(fdstat(&mut g, 1).2, fdflags::NONBLOCK | fdflags::APPEND);
    for bad in [0x20, 0x8000, 0x1_0000, 0x1_0004, u32::MAX] {
        assert_eq!(set(&mut g, 1, bad), INVAL, "flags {bad:#x}");
    }
    for sync in [fdflags::DSYNC, fdflags::RSYNC, fdflags::SYNC] {
        assert_eq!(set(&mut g, 1, sync.into()), NOTSUP, "flags {sync:#x}");
    }
    assert_eq!(fdstat(&mut g, 1).2, fdflags::NONBLOCK | fdflags::APPEND, "failed calls changed nothing");
    assert_eq!(set(&mut g, 1, 0), SUCCESS);
    assert_eq!(fdstat(&mut g, 1).2, 0);
    assert_eq!(set(&mut g, 99, 0), BADF);
    assert_eq!(fdstat(&mut g, 2).2, 0, "stderr's flags are its own");
    assert_eq!(write(&mut g, 1, b"ok"), (SUCCESS, 2));
    assert_eq!(out.to_string_lossy(), "ok");
}

#[test]
fn fdstat_set_rights_only_drops() {
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    let base = fdstat(&mut g, 1).3;
    let set = |g: &mut Guest, fd: u32, b: u64, i: u64| g.call("fd_fdstat_set_rights", &[I32(fd), I64(b), I64(i)]);
    assert_eq!(set(&mut g, 1, base | rights::FD_SEEK, 0), NOTCAPABLE);
    assert_eq!(set(&mut g, 1, base, rights::FD_READ), NOTCAPABLE, "inheriting rights cannot grow either");
    assert_eq!(fdstat(&mut g, 1).3, base);
    assert_eq!(set(&mut g, 1, base, 0), SUCCESS, "the same rights");
    assert_eq!(set(&mut g, 1, base & !rights::FD_WRITE, 0), SUCCESS);
    assert_eq!(fdstat(&mut g, 1).3, base & !rights::FD_WRITE);
    assert_eq!(write(&mut g, 1, b"x"), (NOTCAPABLE, SENTINEL), "a right the guest dropped is refused");
    assert!(out.is_empty());
    assert_eq!(set(&mut g, 1, base, 0), NOTCAPABLE, "a dropped right does not come back");
    assert_eq!(set(&mut g, 99, 0, 0), BADF);

    // With no rights at all, fdstat still works; the other calls are refused.
    assert_eq!(set(&mut g, 2, 0, 0), SUCCESS);
    assert_eq!(fdstat(&mut g, 2), (SUCCESS, FILETYPE_UNKNOWN, 0, 0, 0));
    assert_eq!(g.call("fd_fdstat_set_flags", &[I32(2), I32(0)]), NOTCAPABLE);
    assert_eq!(g.call("fd_filestat_get", &[I32(2), I32(RES)]), NOTCAPABLE);
    assert_eq!(write(&mut g, 2, b"x"), (NOTCAPABLE, SENTINEL));
}

#[test]
fn fd_close_then_use_is_badf() {
    let (ctx, out, err) = stdio_ctx(b"");
    let mut g = guest(ctx);
    assert_eq!(g.call("fd_close", &[I32(1)]), SUCCESS);
    assert_eq!(write(&mut g, 1, b"x"), (BADF, SENTINEL));
    assert_eq!(g.call("fd_close", &[I32(1)]), BADF);
    assert_eq!(fdstat(&mut g, 1).0, BADF);
    assert_eq!(g.call("fd_close", &[I32(99)]), BADF);
    assert_eq!(g.call("fd_close", &[I32(u32::MAX)]), BADF);
    assert!(out.is_empty());
    assert_eq!(write(&mut g, 2, b"e"), (SUCCESS, 1));
    assert_eq!(err.to_string_lossy(), "e");
}

#[test]
fn fd_renumber_moves_stdout() {
    let (ctx, out, err) = stdio_ctx(b"");
    let mut g = guest(ctx);
    let base1 = fdstat(&mut g, 1).3;
    assert_eq!(g.call("fd_renumber", &[I32(1), I32(2)]), SUCCESS);
    assert_eq!(write(&mut g, 2, b"to fd 2"), (SUCCESS, 7));
    assert_eq!(out.to_string_lossy(), "to fd 2");
    assert_eq!(err.to_string_lossy(), "");
    assert_eq!(write(&mut g, 1, b"x"), (BADF, SENTINEL));
    assert_eq!(fdstat(&mut g, 1).0, BADF);
    assert_eq!(fdstat(&mut g, 2).3, base1);
}

#[test]
fn fd_renumber_needs_both_fds_open() {
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    let renumber = |g: &mut Guest, a: u32, b: u32| g.call("fd_renumber", &[I32(a), I32(b)]);
    assert_eq!(renumber(&mut g, 1, 7), BADF);
    assert_eq!(renumber(&mut g, 7, 1), BADF);
    assert_eq!(renumber(&mut g, 7, 7), BADF);
    assert_eq!(write(&mut g, 1, b"a"), (SUCCESS, 1));
    assert_eq!(g.call("fd_close", &[I32(2)]), SUCCESS);
    assert_eq!(renumber(&mut g, 1, 2), BADF);
    assert_eq!(renumber(&mut g, 1, 1), SUCCESS);
    assert_eq!(write(&mut g, 1, b"b"), (SUCCESS, 1));
    assert_eq!(out.to_string_lossy(), "ab");
}

#[test]
fn prestat_of_non_preopens_is_badf() {
    let mut g = guest(ctx());
    for fd in [0, 1, 2, 3, 4, 99] {
        g.write_u64(RES, u64::MAX);
        assert_eq!(g.call("fd_prestat_get", &[I32(fd), I32(RES)]), BADF, "fd_prestat_get({fd})");
        assert_eq!(g.u64(RES), u64::MAX);
        assert_eq!(g.call("fd_prestat_dir_name", &[I32(fd), I32(BUF), I32(64)]), BADF, "fd_prestat_dir_name({fd})");
    }
    assert_eq!(call("fd_prestat_get", signature("fd_prestat_get"), &[I32(3), I32(RES)]), BADF);
}

#[test]
fn other_fd_calls_on_stdio() {
    let (ctx, out, _) = stdio_ctx(b"");
    let mut g = guest(ctx);
    g.write_iovecs(IOVS, &[(BUF, 4)]);
    let cases: Vec<(&str, Vec<support::Arg>, i32)> = vec![
        ("fd_advise", vec![I32(1), I64(0), I64(0), I32(0)], SPIPE),
        ("fd_advise", vec![I32(0), I64(0), I64(10), I32(1)], SPIPE),
        ("fd_advise", vec![I32(1), I64(0), I64(0), I32(6)], INVAL),
        ("fd_advise", vec![I32(99), I64(0), I64(0), I32(0)], BADF),
        ("fd_allocate", vec![I32(1), I64(0), I64(10)], SPIPE),
        ("fd_allocate", vec![I32(99), I64(0), I64(10)], BADF),
        ("fd_pread", vec![I32(0), I32(IOVS), I32(1), I64(0), I32(RES)], SPIPE),
        ("fd_pwrite", vec![I32(1), I32(IOVS), I32(1), I64(0), I32(RES)], SPIPE),
        ("fd_pwrite", vec![I32(99), I32(IOVS), I32(1), I64(0), I32(RES)], BADF),
        ("fd_readdir", vec![I32(1), I32(BUF), I32(64), I64(0), I32(RES)], NOTDIR),
        ("fd_readdir", vec![I32(99), I32(BUF), I32(64), I64(0), I32(RES)], BADF),
        ("fd_datasync", vec![I32(1)], SUCCESS),
        ("fd_sync", vec![I32(2)], SUCCESS),
        ("fd_sync", vec![I32(0)], INVAL),
        ("fd_datasync", vec![I32(0)], INVAL),
        ("fd_sync", vec![I32(99)], BADF),
        ("fd_filestat_set_times", vec![I32(1), I64(0), I64(0), I32(0)], NOTSUP),
        ("fd_filestat_set_times", vec![I32(1), I64(0), I64(0), I32(0xFF)], INVAL),
        ("fd_filestat_set_times", vec![I32(99), I64(0), I64(0), I32(0)], BADF),
        ("fd_filestat_set_size", vec![I32(99), I64(0)], BADF),
    ];
    for (name, args, want) in cases {
        g.write_u32(RES, SENTINEL);
        assert_eq!(g.call(name, &args), want, "{name}{args:?}");
        assert_eq!(g.u32(RES), SENTINEL, "{name}{args:?} wrote a result");
    }
    assert!(out.is_empty());
}

#[test]
fn fd_filestat_set_size_on_a_stream_is_inval() {
    let mut g = guest(ctx());
    for fd in 0..3 {
        assert_eq!(g.call("fd_filestat_set_size", &[I32(fd), I64(0)]), INVAL, "fd {fd}");
    }
}

// ---------------------------------------------------------------------------------------------
// poll_oneoff

const SUBS: u32 = 0x1000;
const EVENTS: u32 = 0x2000;

fn sub_clock(g: &mut Guest, i: u32, userdata: u64, id: u32, timeout: u64, flags: u16) {
    support::write_clock_subscription(g, SUBS + 48 * i, userdata, id, timeout, flags);
}

fn sub_fd(g: &mut Guest, i: u32, userdata: u64, tag: u8, fd: u32) {
    let at = SUBS + 48 * i;
    g.write(at, &[0; 48]);
    g.write_u64(at, userdata);
    g.write(at + 8, &[tag]);
    g.write_u32(at + 16, fd);
}

/// `poll_oneoff(SUBS, EVENTS, n, RES)` with the event area preset to 0xFF; returns the errno
/// and the events as (userdata, error, type, nbytes, flags).
type EventRecord = (u64, u16, u8, u64, u16);

fn poll(g: &mut Guest, n: u32) -> (i32, Vec<EventRecord>) {
    g.write(EVENTS, &vec![0xFF; 32 * n as usize]);
    g.write_u32(RES, SENTINEL);
    let e = g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(n), I32(RES)]);
    if e != SUCCESS {
        assert_eq!(g.u32(RES), SENTINEL, "nevents written on error {e}");
        return (e, vec![]);
    }
    let count = g.u32(RES);
    assert!(count <= n, "{count} events for {n} subscriptions");
    let events = (0..count)
        .map(|i| {
            let at = EVENTS + 32 * i;
            (g.u64(at), g.u16(at + 8), g.u8(at + 10), g.u64(at + 16), g.u16(at + 24))
        })
        .collect();
    (e, events)
}

const CLOCK: u8 = eventtype::CLOCK;
const FD_READ: u8 = eventtype::FD_READ;
const FD_WRITE: u8 = eventtype::FD_WRITE;

#[test]
fn poll_with_no_subscriptions_is_inval() {
    let mut g = guest(ctx());
    assert_eq!(poll(&mut g, 0).0, INVAL);
}

#[test]
fn poll_relative_clock_fires_after_its_timeout() {
    let mut g = guest(ctx());
    sub_clock(&mut g, 0, 0x1122_3344_5566_7788, 1, 1_000_000, 0);
    let start = Instant::now();
    let (e, events) = poll(&mut g, 1);
    assert_eq!(e, SUCCESS);
    assert_eq!(events, [(0x1122_3344_5566_7788, 0, CLOCK, 0, 0)]);
    assert!(start.elapsed() >= Duration::from_millis(1), "returned after {:?}", start.elapsed());
    // Realtime too.
    sub_clock(&mut g, 0, 9, 0, 1_000_000, 0);
    assert_eq!(poll(&mut g, 1), (SUCCESS, vec![(9, 0, CLOCK, 0, 0)]));
}

#[test]
fn poll_absolute_clock_in_the_past_fires_at_once() {
    const NOW: u64 = 1_000_000_000_000;
    let mono = ManualClock::new(10_000_000_000);
    let ctx = WasiCtx::builder().wall_clock(FixedClock::new(NOW)).monotonic_clock(mono).build().unwrap();
    let mut g = guest(ctx);
    let start = Instant::now();
    for (id, past, future) in
        [(0, NOW - 1, NOW + 10_000_000_000), (0, NOW, NOW + 10_000_000_000), (1, 5_000_000_000, 20_000_000_000)]
    {
        sub_clock(&mut g, 0, 1, id, future, subclockflags::ABSTIME);
        sub_clock(&mut g, 1, 2, id, past, subclockflags::ABSTIME);
        assert_eq!(poll(&mut g, 2), (SUCCESS, vec![(2, 0, CLOCK, 0, 0)]), "clock {id} at {past}");
    }
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[test]
fn poll_returns_ready_fds_without_waiting_for_clocks() {
    let (ctx, _, _) = stdio_ctx(b"abc");
    let mut g = guest(ctx);
    let start = Instant::now();
    sub_clock(&mut g, 0, 1, 1, 10_000_000_000, 0);
    sub_fd(&mut g, 1, 2, FD_WRITE, 1);
    assert_eq!(poll(&mut g, 2), (SUCCESS, vec![(2, 0, FD_WRITE, 0, 0)]));

    sub_fd(&mut g, 0, 3, FD_READ, 0);
    assert_eq!(poll(&mut g, 1), (SUCCESS, vec![(3, 0, FD_READ, 0, 0)]));

    sub_fd(&mut g, 0, 4, FD_READ, 0);
    sub_clock(&mut g, 1, 5, 1, 10_000_000_000, 0);
    sub_fd(&mut g, 2, 6, FD_WRITE, 2);
    assert_eq!(poll(&mut g, 3), (SUCCESS, vec![(4, 0, FD_READ, 0, 0), (6, 0, FD_WRITE, 0, 0)]));
    assert!(start.elapsed() < Duration::from_secs(5), "waited for the clock: {:?}", start.elapsed());
}

#[test]
fn poll_reports_subscription_errors_in_events() {
    let mut g = guest(ctx());
    let cases: [(u8, u32, i32); 5] = [
        (FD_READ, 99, BADF),
        (FD_WRITE, 0xFFFF_FFFF, BADF),
        (FD_WRITE, 0, BADF),
        (FD_READ, 1, BADF),
        (FD_READ, 2, BADF),
    ];
    for (tag, fd, want) in cases {
        sub_fd(&mut g, 0, 77, tag, fd);
        assert_eq!(poll(&mut g, 1), (SUCCESS, vec![(77, want as u16, tag, 0, 0)]), "tag {tag} fd {fd:#x}");
    }
    for (id, flags, want) in [(4, 0, INVAL), (0xFFFF_FFFF, 0, INVAL), (2, 0, NOTSUP), (3, 0, NOTSUP), (1, 2, INVAL)] {
        sub_clock(&mut g, 0, 88, id, 1_000, flags);
        assert_eq!(poll(&mut g, 1), (SUCCESS, vec![(88, want as u16, CLOCK, 0, 0)]), "clock {id:#x} flags {flags}");
    }
    // Without POLL_FD_READWRITE.
    let base = fdstat(&mut g, 1).3;
    assert_eq!(g.call("fd_fdstat_set_rights", &[I32(1), I64(base & !rights::POLL_FD_READWRITE), I64(0)]), SUCCESS);
    sub_fd(&mut g, 0, 5, FD_WRITE, 1);
    assert_eq!(poll(&mut g, 1), (SUCCESS, vec![(5, NOTCAPABLE as u16, FD_WRITE, 0, 0)]));
}

#[test]
fn poll_unknown_subscription_tag_is_inval() {
    let mut g = guest(ctx());
    for tag in [3u8, 4, 0xFF] {
        sub_fd(&mut g, 0, 1, tag, 1);
        assert_eq!(poll(&mut g, 1).0, INVAL, "tag {tag}");
        // Also after a valid subscription.
        sub_fd(&mut g, 0, 1, FD_WRITE, 1);
        sub_fd(&mut g, 1, 2, tag, 1);
        assert_eq!(poll(&mut g, 2).0, INVAL, "tag {tag} second");
    }
}

#[test]
fn poll_out_of_bounds_is_fault() {
    let mut g = guest(ctx());
    let call = |g: &mut Guest, subs: u32, events: u32, n: u32, nevents: u32| {
        g.call("poll_oneoff", &[I32(subs), I32(events), I32(n), I32(nevents)])
    };
    sub_fd(&mut g, 0, 1, FD_WRITE, 1);
    g.write_u32(RES, SENTINEL);
    assert_eq!(call(&mut g, PAGE - 40, EVENTS, 1, RES), FAULT, "in past the end");
    assert_eq!(call(&mut g, 0xFFFF_FFF0, EVENTS, 1, RES), FAULT, "in at 0xFFFFFFF0");
    assert_eq!(call(&mut g, SUBS, PAGE - 16, 1, RES), FAULT, "out past the end");
    assert_eq!(call(&mut g, SUBS, u32::MAX, 1, RES), FAULT, "out at u32::MAX");
    assert_eq!(call(&mut g, SUBS, EVENTS, 1, PAGE - 2), FAULT, "nevents past the end");
    assert_eq!(call(&mut g, SUBS, EVENTS, 2000, RES), FAULT, "2000 subscriptions do not fit");
    // More than `Limits::poll_subscriptions`: EINVAL before the array is read (Linux's poll past
    // RLIMIT_NOFILE).
    assert_eq!(call(&mut g, SUBS, EVENTS, 0x1000_0000, RES), INVAL, "size overflows");
    assert_eq!(g.u32(RES), SENTINEL);
    assert_eq!(g.u64(EVENTS), 0, "no event written");
    // Exactly at the end is fine.
    let sub = g.read(SUBS, 48);
    g.write(PAGE - 48, &sub);
    assert_eq!(call(&mut g, PAGE - 48, PAGE - 80, 1, PAGE - 4), SUCCESS);
    assert_eq!((g.u32(PAGE - 4), g.u64(PAGE - 80), g.u8(PAGE - 70)), (1, 1, FD_WRITE));
}

// ---------------------------------------------------------------------------------------------
// sock_*

#[test]
fn socket_calls_on_non_sockets() {
    let (ctx, out, _) = stdio_ctx(b"data");
    let mut g = guest(ctx);
    g.write(BUF, b"data");
    g.write_iovecs(IOVS, &[(BUF, 4)]);
    let cases: Vec<(&str, Vec<support::Arg>, i32)> = vec![
        ("sock_shutdown", vec![I32(3), I32(1)], BADF),
        ("sock_shutdown", vec![I32(1), I32(1)], NOTSOCK),
        ("sock_shutdown", vec![I32(0), I32(3)], NOTSOCK),
        ("sock_accept", vec![I32(1), I32(0), I32(RES)], NOTSOCK),
        ("sock_accept", vec![I32(3), I32(0), I32(RES)], BADF),
        ("sock_recv", vec![I32(0), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES2)], NOTSOCK),
        ("sock_recv", vec![I32(1), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES2)], NOTSOCK),
        ("sock_recv", vec![I32(3), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES2)], BADF),
        ("sock_send", vec![I32(1), I32(IOVS), I32(1), I32(0), I32(RES)], NOTSOCK),
        ("sock_send", vec![I32(3), I32(IOVS), I32(1), I32(0), I32(RES)], BADF),
    ];
    for (name, args, want) in cases {
        g.write_u32(RES, SENTINEL);
        assert_eq!(g.call(name, &args), want, "{name}{args:?}");
        assert_eq!(g.u32(RES), SENTINEL, "{name}{args:?} wrote a result");
    }
    assert!(out.is_empty());
    assert_eq!(call("sock_shutdown", signature("sock_shutdown"), &[I32(3), I32(sdflags::RD.into())]), BADF);
    assert_eq!(read(&mut g, 0, 8), (SUCCESS, 4, b"data".to_vec()), "stdin not consumed");
}

#[test]
fn tcp_accept_recv_send_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (sent_tx, sent_rx) = mpsc::channel();
    let client = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"ping")?;
        let _ = sent_tx.send(());
        let mut got = Vec::new();
        s.read_to_end(&mut got)?; // ends at the guest's shutdown(WR)
        Ok(got)
    });
    sent_rx.recv_timeout(Duration::from_secs(10)).expect("the client did not connect");

    let mut g = guest(WasiCtx::builder().preopen_socket(listener).build().unwrap());
    let (e, filetype, _, base, _) = fdstat(&mut g, 3);
    assert_eq!((e, filetype), (SUCCESS, FILETYPE_SOCKET_STREAM));
    assert_eq!(base & rights::SOCK_ACCEPT, rights::SOCK_ACCEPT);
    assert_eq!(g.call("fd_prestat_get", &[I32(3), I32(RES)]), BADF, "a socket is not a preopened dir");

    // Accept.
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("sock_accept", &[I32(3), I32(fdflags::APPEND.into()), I32(RES)]), INVAL);
    assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(PAGE - 2)]), FAULT);
    assert_eq!(g.u32(RES), SENTINEL);
    assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(RES)]), SUCCESS);
    let fd = g.u32(RES);
    assert_eq!(fd, 4);
    let (e, filetype, flags, base, inheriting) = fdstat(&mut g, fd);
    assert_eq!((e, filetype, flags, inheriting), (SUCCESS, FILETYPE_SOCKET_STREAM, 0, 0));
    let want = rights::FD_READ | rights::FD_WRITE | rights::SOCK_SHUTDOWN | rights::POLL_FD_READWRITE;
    assert_eq!(base & want, want);
    assert_eq!(base & rights::SOCK_ACCEPT, 0);
    assert_eq!(g.call("sock_accept", &[I32(fd), I32(0), I32(RES)]), INVAL, "a connection is not a listener");

    // A non-blocking listener with nothing pending answers EAGAIN. If it blocked instead, a
    // rescue connection after 10 s unblocks it (and the assertion fails).
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let rescuer = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
    });
    assert_eq!(g.call("fd_fdstat_set_flags", &[I32(3), I32(fdflags::NONBLOCK.into())]), SUCCESS);
    assert_eq!(fdstat(&mut g, 3).2, fdflags::NONBLOCK);
    g.write_u32(RES, SENTINEL);
    assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(RES)]), AGAIN);
    assert_eq!(g.u32(RES), SENTINEL);
    let _ = done_tx.send(());
    rescuer.join().unwrap();

    // The listener is not connected.
    g.write_iovecs(IOVS, &[(BUF, 16)]);
    assert_eq!(g.call("sock_recv", &[I32(3), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES2)]), NOTCONN);
    assert_eq!(g.call("sock_send", &[I32(3), I32(IOVS), I32(1), I32(0), I32(RES)]), NOTCONN);
    assert_eq!(g.call("sock_shutdown", &[I32(3), I32(sdflags::WR.into())]), NOTCONN);

    // Receive "ping".
    let recv = |g: &mut Guest, flags: u32| {
        g.write_u32(RES, SENTINEL);
        g.write_u16(RES2, 0xFFFF);
        g.call("sock_recv", &[I32(fd), I32(IOVS), I32(1), I32(flags), I32(RES), I32(RES2)])
    };
    assert_eq!(recv(&mut g, 4), INVAL, "unknown riflags");
    g.write_iovecs(IOVS, &[(PAGE - 4, 16)]);
    assert_eq!(recv(&mut g, 0), FAULT);
    g.write_iovecs(IOVS, &[(BUF, 16)]);
    assert_eq!(recv(&mut g, riflags::RECV_PEEK.into()), SUCCESS);
    assert_eq!((g.u32(RES), g.u16(RES2)), (4, 0));
    assert_eq!(g.read(BUF, 4), b"ping");
    g.write(BUF, &[0; 4]);
    assert_eq!(recv(&mut g, 0), SUCCESS, "the peeked bytes are still queued");
    assert_eq!((g.u32(RES), g.u16(RES2)), (4, 0));
    assert_eq!(g.read(BUF, 4), b"ping");

    // Nothing more queued: a non-blocking socket answers EAGAIN.
    assert_eq!(g.call("fd_fdstat_set_flags", &[I32(fd), I32(fdflags::NONBLOCK.into())]), SUCCESS);
    assert_eq!(recv(&mut g, 0), AGAIN);
    assert_eq!(g.u32(RES), SENTINEL);
    assert_eq!(g.call("fd_fdstat_set_flags", &[I32(fd), I32(0)]), SUCCESS);

    // A connected socket is writable (a 5 s clock bounds the wait).
    sub_fd(&mut g, 0, 10, FD_WRITE, fd);
    sub_clock(&mut g, 1, 11, 1, 5_000_000_000, 0);
    let (e, events) = poll(&mut g, 2);
    assert_eq!(e, SUCCESS);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].0, events[0].1, events[0].2), (10, 0, FD_WRITE));

    // Send "pong".
    g.write(0x300, b"pong");
    g.write_iovecs(0x180, &[(0x300, 4)]);
    let send = |g: &mut Guest, flags: u32| {
        g.write_u32(RES, SENTINEL);
        g.call("sock_send", &[I32(fd), I32(0x180), I32(1), I32(flags), I32(RES)])
    };
    assert_eq!(send(&mut g, 1), INVAL, "si_flags must be 0");
    assert_eq!(g.u32(RES), SENTINEL);
    assert_eq!(send(&mut g, 0), SUCCESS);
    assert_eq!(g.u32(RES), 4);

    // Shut down writing.
    for how in [0, 4, 7, 0x102, u32::MAX] {
        assert_eq!(g.call("sock_shutdown", &[I32(fd), I32(how)]), INVAL, "how {how:#x}");
    }
    assert_eq!(g.call("sock_shutdown", &[I32(fd), I32(sdflags::WR.into())]), SUCCESS);
    assert_eq!(send(&mut g, 0), PIPE, "send after shutdown(WR)");

    // The client got "pong" and then end of stream while the guest still holds the socket.
    let got = client.join().expect("client thread").expect("client I/O");
    assert_eq!(got, b"pong");
    assert_eq!(fdstat(&mut g, fd).0, SUCCESS);
}

// ---------------------------------------------------------------------------------------------
// modules without memory

#[test]
fn a_call_needing_memory_traps_without_an_exported_memory() {
    for memory in ["", "(memory (export \"mem\") 1)", "(memory 1)"] {
        let wat = format!(
            r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  {memory}
  (func (export "test") (result i32)
    (call $w (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))"#
        );
        let out = OutputBuffer::new();
        let mut g = Guest::from_wat(WasiCtx::builder().stdout(out.clone()).build().unwrap(), &wat);
        let err = g.try_call("test", &[]).expect_err("the call should trap");
        let msg = format!("{err:?}");
        assert!(msg.contains("exports no memory named `memory`"), "{memory:?}: {msg}");
        assert!(err.downcast_ref::<I32Exit>().is_none());
        assert!(out.is_empty());
    }
}

#[test]
fn calls_without_memory_work_without_an_exported_memory() {
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
  (import "wasi_snapshot_preview1" "proc_raise" (func $r (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $c (param i32) (result i32)))
  (func (export "yield") (result i32) (call $y))
  (func (export "raise") (param i32) (result i32) (call $r (local.get 0)))
  (func (export "close") (param i32) (result i32) (call $c (local.get 0))))"#;
    let mut g = Guest::from_wat(ctx(), wat);
    assert!(g.memory.is_none());
    assert_eq!(g.call("yield", &[]), SUCCESS);
    assert_eq!(g.call("raise", &[I32(31)]), INVAL);
    assert_eq!(g.call("close", &[I32(1)]), SUCCESS);
    assert_eq!(g.call("close", &[I32(1)]), BADF);
}

/// Clearing `NONBLOCK` makes a listener and a connection block again: the accept waits for a
/// connection made 200 ms later, the receive for bytes sent 200 ms after that.
#[test]
fn clearing_nonblock_makes_sockets_block_again() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut g = guest(WasiCtx::builder().preopen_socket(listener).build().unwrap());
    let set = |g: &mut Guest, fd: u32, flags: u16| g.call("fd_fdstat_set_flags", &[I32(fd), I32(flags.into())]);
    assert_eq!(set(&mut g, 3, fdflags::NONBLOCK), SUCCESS);
    assert_eq!(set(&mut g, 3, 0), SUCCESS);
    let client = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        s.write_all(b"late").unwrap();
        s
    });
    assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(RES)]), SUCCESS);
    let fd = g.u32(RES);
    assert_eq!(set(&mut g, fd, fdflags::NONBLOCK), SUCCESS);
    assert_eq!(set(&mut g, fd, 0), SUCCESS);
    g.write_iovecs(IOVS, &[(BUF, 16)]);
    assert_eq!(g.call("sock_recv", &[I32(fd), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES2)]), SUCCESS);
    assert_eq!(g.u32(RES), 4);
    drop(client.join().unwrap());
}

#[test]
fn fd_read_on_a_listener_is_notconn() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut g = guest(WasiCtx::builder().preopen_socket(listener).build().unwrap());
    let base = fdstat(&mut g, 3).3;
    assert_eq!(base & rights::FD_READ, rights::FD_READ, "the listener is open for reading");
    assert_eq!(read(&mut g, 3, 4).0, NOTCONN);
}
