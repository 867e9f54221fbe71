//! Every [`Limits`] field and the interruptible waits, through real wasm guests (WAT), each
//! linked synchronously and asynchronously (`add_to_linker_async`, calls made with `call_async`)
//! with the same answers: each limit answers with its errno (or short count), a wait ends when
//! the context is interrupted, and waits follow the context's clock. Also the review fixes that go with them (atomic
//! vectored appends, `fd_close` flush errors, the largest offset, `RECV_PEEK` over several buffers, the CPU-time
//! clock, no secret in `BuildError`).

mod support;

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hammertime::clocks::{FixedClock, ManualClock, MonotonicClock};
use hammertime::p1::FUNCTIONS;
use hammertime::p1::abi::types::{fdflags, oflags, riflags, rights};
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{FileSystem, HostDir, MemFs};
use hammertime::{Errno, InterruptHandle, Limits, WasiCtx};
use support::{Guest, I32, I64};

const RES: u32 = 0x10;
const IOVS: u32 = 0x1000;
const BUF: u32 = 0x8000;
const PATH: u32 = 0x4000;
const SUBS: u32 = 0x10000;
const EVENTS: u32 = 0x40000;

fn e(errno: Errno) -> i32 {
    i32::from(errno.raw())
}

fn guest(ctx: WasiCtx) -> Guest {
    // Sixteen pages: room for the subscription and event arrays of the poll tests.
    let mut wat = support::wat_for_imports(&FUNCTIONS);
    wat = wat.replace("(memory (export \"memory\") 1)", "(memory (export \"memory\") 16)");
    Guest::from_wat(ctx, &wat)
}

fn with_limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

fn is_interrupt(err: &wasmtime::Error) -> bool {
    err.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)
}

/// `path_open(fd 3, path, oflags, rights, fdflags)`; returns the errno and the new descriptor.
fn open(g: &mut Guest, path: &str, oflags: u16, rights: u64, fdflags: u16) -> (i32, u32) {
    g.write(PATH, path.as_bytes());
    let args = [I32(3), I32(0), I32(PATH), I32(path.len() as u32), I32(oflags.into())];
    let errno =
        g.call("path_open", &[&args[..], &[I64(rights), I64(rights::ALL), I32(fdflags.into()), I32(RES)]].concat());
    (errno, g.u32(RES))
}

/// Opens a directory.
fn open_dir(g: &mut Guest, path: &str) -> (i32, u32) {
    open(g, path, oflags::DIRECTORY, rights::DIRECTORY, 0)
}

/// Creates or opens a file for writing.
fn open_file(g: &mut Guest, path: &str, fdflags: u16) -> (i32, u32) {
    open(g, path, oflags::CREAT, rights::ALL, fdflags)
}

#[test]
fn descriptors_past_the_limit_are_emfile_and_close_frees_one() {
    support::in_both_linkings(|| {
        // stdio (3) + the preopen + two more.
        let ctx =
            WasiCtx::builder().limits(with_limits(|l| l.descriptors = 6)).preopen(MemFs::new(), "/").build().unwrap();
        let mut g = guest(ctx);
        assert_eq!(open_dir(&mut g, ".").0, 0);
        let (errno, fd) = open_dir(&mut g, ".");
        assert_eq!((errno, fd), (0, 5));
        assert_eq!(open_dir(&mut g, ".").0, e(Errno::Mfile));
        assert_eq!(g.call("fd_close", &[I32(5)]), 0);
        assert_eq!(open_dir(&mut g, ".").0, 0);
        // Preopens that do not fit fail the build, not the guest.
        let too_many = WasiCtx::builder().limits(with_limits(|l| l.descriptors = 3)).preopen(MemFs::new(), "/").build();
        assert!(matches!(too_many, Err(hammertime::BuildError::TooManyDescriptors)));
    });
}

#[test]
fn iovecs_past_the_limit_are_einval() {
    support::in_both_linkings(|| {
        let out = OutputBuffer::new();
        let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
        let mut g = guest(ctx);
        g.write(BUF, b"x");
        let iovs = vec![(BUF, 1); 1025];
        g.write_iovecs(IOVS, &iovs);
        assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(1024), I32(RES)]), 0);
        assert_eq!(g.u32(RES), 1024);
        assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(1025), I32(RES)]), e(Errno::Inval));
        assert_eq!(out.contents().len(), 1024);
        // A smaller limit, on reads too.
        let ctx = WasiCtx::builder().limits(with_limits(|l| l.iovecs = 2)).stdin_bytes("abc").build().unwrap();
        let mut g = guest(ctx);
        g.write_iovecs(IOVS, &[(BUF, 1), (BUF + 1, 1), (BUF + 2, 1)]);
        assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(3), I32(RES)]), e(Errno::Inval));
        assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(2), I32(RES)]), 0);
    });
}

#[test]
fn bytes_per_call_are_cut_to_a_short_count() {
    support::in_both_linkings(|| {
        let out = OutputBuffer::new();
        let fs = MemFs::new();
        fs.write_file("f", b"0123456789abcdef").unwrap();
        let ctx = WasiCtx::builder()
            .limits(with_limits(|l| l.io_bytes = 10))
            .stdout(out.clone())
            .preopen(fs.clone(), "/")
            .build()
            .unwrap();
        let mut g = guest(ctx);
        g.write(BUF, b"abcdefgh");
        g.write_iovecs(IOVS, &[(BUF, 8), (BUF, 8), (BUF, 8)]);
        assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(3), I32(RES)]), 0);
        assert_eq!(g.u32(RES), 10);
        assert_eq!(out.contents(), b"abcdefghab");
        // A file write and a file read.
        let (errno, fd) = open_file(&mut g, "g", 0);
        assert_eq!(errno, 0);
        assert_eq!(g.call("fd_write", &[I32(fd), I32(IOVS), I32(3), I32(RES)]), 0);
        assert_eq!(g.u32(RES), 10);
        assert_eq!(fs.read_file("g").unwrap(), b"abcdefghab");
        g.write_iovecs(IOVS, &[(BUF, 16)]);
        assert_eq!(g.call("fd_pread", &[I32(fd), I32(IOVS), I32(1), I64(0), I32(RES)]), 0);
        assert_eq!(g.u32(RES), 10);
    });
}

/// The largest offset (`i64::MAX`) bounds positioned reads and writes as on Linux, on every
/// backend: `EINVAL` if the bytes would end past it (an empty call may start there), and below
/// it each file system's own answer (nothing to read; `EFBIG` beyond its largest file).
#[test]
fn positioned_calls_end_by_the_largest_offset() {
    support::in_both_linkings(|| {
        const MAX: u64 = i64::MAX as u64;
        let dir = tempfile::tempdir().unwrap();
        let backends: [Arc<dyn FileSystem>; 2] = [Arc::new(MemFs::new()), Arc::new(HostDir::open(dir.path()).unwrap())];
        for fs in backends {
            let mut g = guest(WasiCtx::builder().preopen(fs, "/").build().unwrap());
            let (errno, fd) = open_file(&mut g, "f", 0);
            assert_eq!(errno, 0);
            g.write(BUF, b"ab");
            for (call, at, len, expected) in [
                ("fd_pread", MAX, 1, Errno::Inval),
                ("fd_pwrite", MAX, 1, Errno::Inval),
                ("fd_pread", MAX - 1, 2, Errno::Inval),
                ("fd_pwrite", MAX - 1, 2, Errno::Inval),
                ("fd_pwrite", MAX - 1, 1, Errno::Fbig),
                ("fd_pwrite", MAX + 1, 0, Errno::Inval),
            ] {
                g.write_iovecs(IOVS, &[(BUF, len)]);
                assert_eq!(
                    g.call(call, &[I32(fd), I32(IOVS), I32(1), I64(at), I32(RES)]),
                    e(expected),
                    "{call} at {at}"
                );
            }
            for (call, at, len) in [("fd_pread", MAX, 0), ("fd_pwrite", MAX, 0), ("fd_pread", MAX - 1, 1)] {
                g.write_iovecs(IOVS, &[(BUF, len)]);
                g.write_u32(RES, 7);
                assert_eq!(g.call(call, &[I32(fd), I32(IOVS), I32(1), I64(at), I32(RES)]), 0, "{call} at {at}");
                assert_eq!(g.u32(RES), 0);
            }
        }
    });
}

/// The alias loop: 1024 iovecs over one 16 MiB buffer ask for 16 GiB in one call; the call
/// moves `MAX_RW_COUNT` bytes and says so (the count fits the guest's `size_t`).
#[test]
fn aliased_iovecs_move_at_most_max_rw_count() {
    support::in_both_linkings(|| {
        let mut wat = support::wat_for_imports(&["fd_write"]);
        wat = wat.replace("(memory (export \"memory\") 1)", "(memory (export \"memory\") 257)");
        let mut g = Guest::from_wat(WasiCtx::builder().build().unwrap(), &wat);
        g.write_iovecs(IOVS, &vec![(BUF, 16 << 20); 1024]);
        let start = Instant::now();
        assert_eq!(g.call("fd_write", &[I32(1), I32(IOVS), I32(1024), I32(RES)]), 0);
        assert_eq!(g.u32(RES), hammertime::limits::MAX_RW_COUNT);
        assert!(start.elapsed() < Duration::from_secs(30));
    });
}

#[test]
fn poll_subscriptions_past_the_limit_are_einval() {
    support::in_both_linkings(|| {
        let ctx = WasiCtx::builder().limits(with_limits(|l| l.poll_subscriptions = 4)).build().unwrap();
        let mut g = guest(ctx);
        for i in 0..5 {
            sub_clock(&mut g, i, i.into(), 1, 0);
        }
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(5), I32(RES)]), e(Errno::Inval));
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(4), I32(RES)]), 0);
        assert_eq!(g.u32(RES), 4);
    });
}

#[test]
fn random_bytes_past_the_limit_are_einval() {
    support::in_both_linkings(|| {
        let ctx = WasiCtx::builder().limits(with_limits(|l| l.random_bytes = 16)).build().unwrap();
        let mut g = guest(ctx);
        assert_eq!(g.call("random_get", &[I32(BUF), I32(16)]), 0);
        assert_eq!(g.call("random_get", &[I32(BUF), I32(17)]), e(Errno::Inval));
    });
}

#[test]
fn paths_past_the_limits_are_enametoolong() {
    support::in_both_linkings(|| {
        let fs = MemFs::new();
        fs.create_dir_all("a/b/c").unwrap();
        let ctx = WasiCtx::builder()
            .limits(with_limits(|l| {
                l.path_bytes = 16;
                l.path_components = 3;
            }))
            .preopen(fs, "/")
            .build()
            .unwrap();
        let mut g = guest(ctx);
        assert_eq!(open_dir(&mut g, "a/b/c").0, 0);
        assert_eq!(open_dir(&mut g, "a/b/c/.").0, e(Errno::Nametoolong));
        assert_eq!(open_dir(&mut g, "a/./b/../b/c").0, e(Errno::Nametoolong));
        assert_eq!(open_dir(&mut g, &"x".repeat(17)).0, e(Errno::Nametoolong));
        // The default allows PATH_MAX.
        let mut g = guest(WasiCtx::builder().preopen(MemFs::new(), "/").build().unwrap());
        assert_eq!(open_dir(&mut g, &"./".repeat(2048)).0, 0);
        assert_eq!(open_dir(&mut g, &"./".repeat(2049)).0, e(Errno::Nametoolong));
    });
}

fn sub_clock(g: &mut Guest, i: u32, userdata: u64, id: u32, timeout: u64) {
    support::write_clock_subscription(g, SUBS + 48 * i, userdata, id, timeout, 0);
}

const HOUR: u64 = 3_600_000_000_000;

#[test]
fn a_sleep_past_max_sleep_ends_with_eintr() {
    support::in_both_linkings(|| {
        let ctx = WasiCtx::builder().limits(with_limits(|l| l.max_sleep = Duration::from_millis(50))).build().unwrap();
        let mut g = guest(ctx);
        sub_clock(&mut g, 0, 1, 1, HOUR);
        let start = Instant::now();
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]), e(Errno::Intr));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50) && took < Duration::from_secs(30), "{took:?}");
        // Shorter sleeps are untouched.
        sub_clock(&mut g, 0, 1, 1, 1_000_000);
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]), 0);
    });
}

/// Interrupts `handle` after `after`, from another thread.
fn interrupt_later(handle: InterruptHandle, after: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        handle.interrupt();
    })
}

#[test]
fn an_interrupted_sleep_traps_at_once_and_clear_lets_it_wait_again() {
    support::in_both_linkings(|| {
        let ctx = WasiCtx::builder().build().unwrap();
        let handle = ctx.interrupt_handle();
        let mut g = guest(ctx);
        sub_clock(&mut g, 0, 1, 1, HOUR);
        let t = interrupt_later(handle.clone(), Duration::from_millis(50));
        let start = Instant::now();
        let err = g.try_call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]).unwrap_err();
        assert!(is_interrupt(&err), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(30));
        t.join().unwrap();
        // Still interrupted: a wait traps at once; calls that do not wait work.
        assert_eq!(g.call("random_get", &[I32(BUF), I32(4)]), 0);
        assert!(g.try_call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]).is_err());
        handle.clear();
        sub_clock(&mut g, 0, 1, 1, 1_000);
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]), 0);
    });
}

#[test]
fn blocking_socket_accept_and_recv_are_interruptible() {
    support::in_both_linkings(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let ctx = WasiCtx::builder().preopen_socket(listener).build().unwrap();
        let handle = ctx.interrupt_handle();
        let mut g = guest(ctx);
        let t = interrupt_later(handle.clone(), Duration::from_millis(50));
        let err = g.try_call("sock_accept", &[I32(3), I32(0), I32(RES)]).unwrap_err();
        assert!(is_interrupt(&err), "{err:?}");
        t.join().unwrap();
        handle.clear();
        let peer = TcpStream::connect(addr).unwrap();
        assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(RES)]), 0);
        let fd = g.u32(RES);
        g.write_iovecs(IOVS, &[(BUF, 8)]);
        let t = interrupt_later(handle.clone(), Duration::from_millis(50));
        let err = g.try_call("sock_recv", &[I32(fd), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES + 4)]).unwrap_err();
        assert!(is_interrupt(&err), "{err:?}");
        t.join().unwrap();
        // `fd_read` on the connection waits the same way; made non-blocking, it does not wait.
        handle.clear();
        let t = interrupt_later(handle.clone(), Duration::from_millis(50));
        let err = g.try_call("fd_read", &[I32(fd), I32(IOVS), I32(1), I32(RES)]).unwrap_err();
        assert!(is_interrupt(&err), "{err:?}");
        t.join().unwrap();
        handle.clear();
        assert_eq!(g.call("fd_fdstat_set_flags", &[I32(fd), I32(fdflags::NONBLOCK.into())]), 0);
        assert_eq!(g.call("fd_read", &[I32(fd), I32(IOVS), I32(1), I32(RES)]), e(Errno::Again));
        drop(peer);
    });
}

#[test]
fn sleeping_on_a_manual_clock_takes_no_real_time_and_moves_it() {
    support::in_both_linkings(|| {
        let mono = ManualClock::new(1_000);
        let ctx = WasiCtx::builder().monotonic_clock(mono.clone()).build().unwrap();
        let mut g = guest(ctx);
        sub_clock(&mut g, 0, 7, 1, 10 * 60_000_000_000);
        let start = Instant::now();
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]), 0);
        assert_eq!((g.u32(RES), g.u64(EVENTS), g.u16(EVENTS + 8)), (1, 7, 0));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(MonotonicClock::now(&mono), 1_000 + 10 * 60_000_000_000);
        // A fixed clock: the wait takes no time either, and the clock does not move.
        let ctx = WasiCtx::builder().monotonic_clock(FixedClock::new(5)).build().unwrap();
        let mut g = guest(ctx);
        sub_clock(&mut g, 0, 8, 1, HOUR);
        assert_eq!(g.call("poll_oneoff", &[I32(SUBS), I32(EVENTS), I32(1), I32(RES)]), 0);
        assert_eq!((g.u32(RES), g.u64(EVENTS)), (1, 8));
    });
}

/// One `fd_write` of several iovecs is one append: four guests on four threads append records
/// of two iovecs to one file, and every line comes out whole.
fn concurrent_appends(fs: Arc<dyn FileSystem>, read: impl Fn() -> Vec<u8>) {
    const RECORDS: u32 = 500;
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                let mut g = guest(WasiCtx::builder().preopen_shared(fs, "/").build().unwrap());
                let (errno, fd) = open_file(&mut g, "log", fdflags::APPEND);
                assert_eq!(errno, 0);
                let head = format!("thread {t} record ");
                let tail = format!("{}\n", "x".repeat(40 + t as usize));
                g.write(BUF, head.as_bytes());
                g.write(BUF + 256, tail.as_bytes());
                g.write_iovecs(IOVS, &[(BUF, head.len() as u32), (BUF + 256, tail.len() as u32)]);
                for _ in 0..RECORDS {
                    assert_eq!(g.call("fd_write", &[I32(fd), I32(IOVS), I32(2), I32(RES)]), 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = String::from_utf8(read()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4 * RECORDS as usize);
    for line in lines {
        let t: usize = line.strip_prefix("thread ").and_then(|r| r.get(..1)).and_then(|d| d.parse().ok()).unwrap();
        assert_eq!(line, format!("thread {t} record {}", "x".repeat(40 + t)), "an interleaved record");
    }
}

#[test]
fn vectored_appends_never_interleave_on_memfs() {
    let fs = MemFs::new();
    let reader = fs.clone();
    concurrent_appends(Arc::new(fs), move || reader.read_file("log").unwrap());
}

#[test]
fn vectored_appends_never_interleave_on_hostdir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    concurrent_appends(Arc::new(HostDir::open(dir.path()).unwrap()), move || std::fs::read(&path).unwrap());
}

struct FailingFlush;

impl Write for FailingFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::StorageFull))
    }
}

#[test]
fn fd_close_reports_the_flush_error_and_closes_anyway() {
    let mut g = guest(WasiCtx::builder().stdout(FailingFlush).build().unwrap());
    assert_eq!(g.call("fd_close", &[I32(1)]), e(Errno::Nospc));
    assert_eq!(g.call("fd_close", &[I32(1)]), e(Errno::Badf));
}

#[test]
fn recv_peek_spreads_the_bytes_over_the_buffers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let ctx = WasiCtx::builder().preopen_socket(listener).build().unwrap();
    let mut g = guest(ctx);
    assert_eq!(g.call("sock_accept", &[I32(3), I32(0), I32(RES)]), 0);
    let fd = g.u32(RES);
    peer.write_all(b"abcdef").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    g.write_iovecs(IOVS, &[(BUF, 2), (BUF + 16, 3)]);
    let peek = u32::from(riflags::RECV_PEEK);
    assert_eq!(g.call("sock_recv", &[I32(fd), I32(IOVS), I32(2), I32(peek), I32(RES), I32(RES + 4)]), 0);
    assert_eq!(g.u32(RES), 5);
    assert_eq!((g.read(BUF, 2), g.read(BUF + 16, 3)), (b"ab".to_vec(), b"cde".to_vec()));
    // Still queued: a plain read gets the same bytes.
    g.write_iovecs(IOVS, &[(BUF + 32, 6)]);
    assert_eq!(g.call("sock_recv", &[I32(fd), I32(IOVS), I32(1), I32(0), I32(RES), I32(RES + 4)]), 0);
    assert_eq!(g.read(BUF + 32, g.u32(RES)), b"abcdef");
}

#[test]
fn process_cpu_time_is_the_guest_threads_not_the_processes() {
    let mut g = guest(WasiCtx::builder().build().unwrap());
    assert_eq!(g.call("clock_time_get", &[I32(2), I64(1), I32(RES)]), 0);
    let before = g.u64(RES);
    // Another thread of the host process burns CPU while the guest's thread sleeps...
    let burner = std::thread::spawn(|| {
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(400) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    });
    burner.join().unwrap();
    assert_eq!(g.call("clock_time_get", &[I32(2), I64(1), I32(RES)]), 0);
    // ...which the guest must not see.
    let seen = Duration::from_nanos(g.u64(RES) - before);
    assert!(seen < Duration::from_millis(200), "the guest saw {seen:?} of CPU time pass");
}

#[test]
fn build_errors_never_print_an_environment_value() {
    let err = WasiCtx::builder().env("TOKEN", "s3cr3t\0").build().unwrap_err().to_string();
    assert!(err.contains("TOKEN") && !err.contains("s3cr3t"), "{err}");
    let err = WasiCtx::builder().arg("ok").arg("bad\0arg").build().unwrap_err().to_string();
    assert!(err.contains("argument 1") && !err.contains("bad"), "{err}");
}

/// A file that counts `sync` and `datasync` calls (over a MemFs file).
struct CountingFs {
    inner: MemFs,
    syncs: Arc<std::sync::atomic::AtomicUsize>,
    datasyncs: Arc<std::sync::atomic::AtomicUsize>,
}

struct CountingDir(
    Arc<dyn hammertime::vfs::Dir>,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<std::sync::atomic::AtomicUsize>,
);
struct CountingFile(
    Arc<dyn hammertime::vfs::File>,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<std::sync::atomic::AtomicUsize>,
);

impl FileSystem for CountingFs {
    fn root(&self) -> hammertime::vfs::Result<Arc<dyn hammertime::vfs::Dir>> {
        Ok(Arc::new(CountingDir(self.inner.root()?, self.syncs.clone(), self.datasyncs.clone())))
    }
}

impl hammertime::vfs::Dir for CountingDir {
    fn stat(&self) -> hammertime::vfs::Result<hammertime::vfs::Stat> {
        self.0.stat()
    }
    fn stat_at(&self, name: &str) -> hammertime::vfs::Result<hammertime::vfs::Stat> {
        self.0.stat_at(name)
    }
    fn open_at(
        &self,
        name: &str,
        options: hammertime::vfs::OpenOptions,
    ) -> hammertime::vfs::Result<hammertime::vfs::Node> {
        use hammertime::vfs::Node;
        Ok(match self.0.open_at(name, options)? {
            Node::File(f) => Node::File(Arc::new(CountingFile(f, self.1.clone(), self.2.clone()))),
            dir => dir,
        })
    }
    fn read_dir(
        &self,
        cookie: u64,
        sink: &mut dyn FnMut(hammertime::vfs::DirEntry) -> bool,
    ) -> hammertime::vfs::Result<()> {
        self.0.read_dir(cookie, sink)
    }
    fn readlink_at(&self, name: &str) -> hammertime::vfs::Result<String> {
        self.0.readlink_at(name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl hammertime::vfs::File for CountingFile {
    fn stat(&self) -> hammertime::vfs::Result<hammertime::vfs::Stat> {
        self.0.stat()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> hammertime::vfs::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> hammertime::vfs::Result<usize> {
        self.0.write_at(buf, offset)
    }
    fn sync(&self) -> hammertime::vfs::Result<()> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn datasync(&self) -> hammertime::vfs::Result<()> {
        self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn sync_and_dsync_descriptors_sync_after_every_write() {
    let syncs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let datasyncs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let fs = CountingFs { inner: MemFs::new(), syncs: syncs.clone(), datasyncs: datasyncs.clone() };
    let mut g = guest(WasiCtx::builder().preopen(fs, "/").build().unwrap());
    let count =
        || (syncs.load(std::sync::atomic::Ordering::SeqCst), datasyncs.load(std::sync::atomic::Ordering::SeqCst));
    g.write(BUF, b"data");
    g.write_iovecs(IOVS, &[(BUF, 4)]);
    for (flags, after) in [(0, (0, 0)), (fdflags::DSYNC, (0, 2)), (fdflags::SYNC, (2, 2))] {
        let (errno, fd) = open_file(&mut g, "f", flags);
        assert_eq!(errno, 0);
        assert_eq!(g.call("fd_write", &[I32(fd), I32(IOVS), I32(1), I32(RES)]), 0);
        assert_eq!(g.call("fd_pwrite", &[I32(fd), I32(IOVS), I32(1), I64(0), I32(RES)]), 0);
        assert_eq!(count(), after, "after the writes with fdflags {flags:#x}");
    }
}

/// `fd_readdir` into a buffer that ends exactly at the end of a 4 GiB memory (where
/// `buf + used` reaches 2^32).
#[test]
fn fd_readdir_into_the_last_bytes_of_a_4_gib_memory() {
    let fs = MemFs::new();
    fs.write_file("some-file", b"").unwrap();
    let wat = support::wat_for_imports(&FUNCTIONS)
        .replace("(memory (export \"memory\") 1)", "(memory (export \"memory\") 65536)");
    let mut g = Guest::from_wat(WasiCtx::builder().preopen(fs, "/").build().unwrap(), &wat);
    for len in [1u32, 24, 25, 40, 100] {
        let buf = 0u32.wrapping_sub(len);
        assert_eq!(g.call("fd_readdir", &[I32(3), I32(buf), I32(len), I64(0), I32(RES)]), 0, "{len}-byte buffer");
        // ".", ".." and "some-file": 25 + 26 + 33 bytes.
        assert_eq!(g.u32(RES), len.min(84), "{len}-byte buffer filled");
    }
}
