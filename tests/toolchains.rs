//! What real toolchains' programs do, answered as Wasmtime 48 answers it, on MemFs and HostDir:
//! the preview1 rights sequences of Go's `os.Root`, Zig's `std.fs.Dir` and programs that pass
//! rights of 0 (`guests/src/rights.c`, its output checked line by line against Wasmtime's,
//! `tests/toolchains/rights.wasmtime.txt`, with hammertime's Linux answers where they differ,
//! notes/rights.md), and four smaller differences found the same way.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use hammertime::p1::abi::memory::GuestMemory;
use hammertime::p2::bindings::wasi::cli::stdout::Host as _;
use hammertime::p2::bindings::wasi::filesystem::preopens::Host as _;
use hammertime::p2::bindings::wasi::filesystem::types::{DescriptorFlags, HostDescriptor, OpenFlags, PathFlags};
use hammertime::p2::bindings::wasi::io::streams::{self, Host as _, HostOutputStream};
use hammertime::p2::bindings::wasi::random::insecure_seed::Host as _;
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{FileSystem, HostDir, MemFs};
use hammertime::{WasiCtx, WasiCtxBuilder};

/// Backends by name.
type Backends = [(&'static str, Arc<dyn FileSystem>); 2];

/// A MemFs and a HostDir over a new temporary directory, each empty.
fn backends() -> (tempfile::TempDir, Backends) {
    let tmp = tempfile::tempdir().unwrap();
    let host: Arc<dyn FileSystem> = Arc::new(HostDir::open(tmp.path()).unwrap());
    (tmp, [("memfs", Arc::new(MemFs::new())), ("hostdir", host)])
}

/// Wasmtime 48's output of `rights.wasm` (`ww-run --dir EMPTY::/ guests/rights.wasm`).
const WASMTIME: &str = include_str!("toolchains/rights.wasmtime.txt");

/// The steps where hammertime answers otherwise than Wasmtime 48 (notes/rights.md), each with
/// hammertime's answer.
const LINUX_ANSWERS: &[(&str, &str)] = &[
    // `fd_allocate` is `posix_fallocate(3)` here; Wasmtime has none (`ENOTSUP`).
    ("zero-allocate", "EBADF"),
    ("ro-allocate", "EBADF"),
    ("wo-allocate", "ok"),
    ("ro-created-allocate", "EBADF"),
    // `O_RDONLY | O_CREAT` opens for reading only, as on Linux; Wasmtime opens it for writing too.
    ("ro-created-pwrite", "EBADF"),
    ("ro-created-write", "EBADF"),
    ("ro-created-set-size", "EINVAL"),
    // A right the guest drops stays dropped (the suite's fd_fdstat_set_rights and
    // truncation_rights test it); Wasmtime answers `ENOTSUP` and drops nothing.
    ("drop-set-rights", "ok"),
    ("drop-seek", "ENOTCAPABLE"),
    ("drop-pread", "ENOTCAPABLE"),
    ("drop-pwrite", "ENOTCAPABLE"),
    ("drop-write", "ENOTCAPABLE"),
    ("drop-set-size", "EINVAL"),
    ("drop-allocate", "EBADF"),
    ("drop-widen", "ENOTCAPABLE"),
    ("drop-dir-set-rights", "ok"),
    ("drop-dir-create", "ENOTCAPABLE"),
    ("drop-dir-create-write", "-"),
    // `O_SYNC` is honoured (Wasmtime: `ENOTSUP`), and a hard link made following a dangling
    // symlink is `ENOENT`, as `linkat(AT_SYMLINK_FOLLOW)` (Wasmtime: `EINVAL`).
    ("linux-sync-open", "ok"),
    ("linux-sync-write", "ok"),
    ("linux-link-follow", "ENOENT"),
];

/// The lines hammertime must print: Wasmtime's, with [`LINUX_ANSWERS`] in place of its own
/// (`-`: a step hammertime does not reach).
fn expected() -> String {
    let ours: BTreeMap<&str, &str> = LINUX_ANSWERS.iter().copied().collect();
    let mut out = String::new();
    for line in WASMTIME.lines() {
        let (step, answer) = line.rsplit_once(' ').unwrap_or((line, ""));
        match ours.get(step).copied().unwrap_or(answer) {
            "-" => {}
            answer => out.push_str(&format!("{step} {answer}\n")),
        }
    }
    out
}

#[test]
fn the_rights_sequences_of_go_zig_and_rights_0_programs_run_as_on_wasmtime() {
    let engine = wasmtime::Engine::default();
    let module =
        wasmtime::Module::from_file(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/guests/rights.wasm")).unwrap();
    let (_tmp, backends) = backends();
    for (name, fs) in backends {
        let out = OutputBuffer::new();
        let ctx = WasiCtx::builder().arg("rights").stdout(out.clone()).preopen_shared(fs, "/").build().unwrap();
        assert_eq!(hammertime::run(&engine, &module, ctx).unwrap(), 0, "{name}");
        assert_eq!(out.to_string_lossy(), expected(), "{name}");
    }
}

/// `insecure-seed` is one value per context, as the WIT means it (and Wasmtime gives it), from
/// the context's random source.
#[test]
fn the_insecure_seed_is_one_value_per_context() {
    let mut a = WasiCtx::builder().seeded_random(7).build().unwrap();
    let first = a.insecure_seed().unwrap();
    assert_eq!(a.insecure_seed().unwrap(), first);
    let mut b = WasiCtx::builder().seeded_random(7).build().unwrap();
    assert_eq!(b.insecure_seed().unwrap(), first, "a seeded context is reproducible");
    let mut c = WasiCtx::builder().build().unwrap();
    assert_ne!(c.insecure_seed().unwrap(), first);
}

/// A writer whose reader has gone, as a pipe whose reading end was closed.
struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A write to a stdout whose reader has gone ends the stream (`closed`), as the WIT calls a
/// stream whose other end went away; preview1 answers `EPIPE`, as `write(2)`.
#[test]
fn a_stdout_whose_reader_has_gone_is_closed() {
    let mut ctx = WasiCtx::builder().stdout(BrokenPipe).build().unwrap();
    let out = ctx.get_stdout().unwrap();
    let r = HostOutputStream::blocking_write_and_flush(&mut ctx, out, b"x".to_vec());
    let e = r.expect_err("the write fails");
    assert!(matches!(ctx.convert_stream_error(e).unwrap(), streams::StreamError::Closed));

    let mut ctx = WasiCtx::builder().stdout(BrokenPipe).build().unwrap();
    let mut bytes = vec![0u8; 64];
    bytes[0..4].copy_from_slice(&16u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    let mut mem = GuestMemory::new(&mut bytes);
    assert_eq!(hammertime::p1::fd::fd_write(&mut ctx, &mut mem, 1, 0, 1, 32), Err(hammertime::Errno::Pipe));
}

/// A descriptor opened with no descriptor flags reads (`O_RDONLY` is 0), as on Linux and
/// Wasmtime.
#[test]
fn a_descriptor_opened_with_no_flags_reads() {
    let (_tmp, backends) = backends();
    for (name, fs) in backends {
        let mut ctx = WasiCtx::builder().preopen_shared(fs, "/").build().unwrap();
        let (root, _) = ctx.get_directories().unwrap().remove(0);
        let w = DescriptorFlags::WRITE;
        let f = ctx.open_at(root, PathFlags::empty(), "f".into(), OpenFlags::CREATE, w).unwrap();
        assert_eq!(HostDescriptor::write(&mut ctx, f, b"abc".to_vec(), 0).unwrap(), 3, "{name}");
        let (root, _) = ctx.get_directories().unwrap().remove(0);
        let f = ctx.open_at(root, PathFlags::empty(), "f".into(), OpenFlags::empty(), DescriptorFlags::empty());
        let f = f.unwrap_or_else(|_| panic!("{name}: opens"));
        let flags = ctx.get_flags(wasmtime::component::Resource::new_borrow(f.rep())).unwrap();
        assert!(flags.contains(DescriptorFlags::READ) && !flags.contains(DescriptorFlags::WRITE), "{name}");
        assert_eq!(ctx.read(f, 10, 0).unwrap(), (b"abc".to_vec(), true), "{name}");
    }
}

/// `fd_readdir` from a cookie past the end lists nothing on every backend (HostDir answered
/// `EINVAL` for a cookie above `i64::MAX`), as Linux and Wasmtime.
#[test]
fn fd_readdir_past_the_end_is_an_empty_read() {
    let (_tmp, backends) = backends();
    for (name, fs) in backends {
        fs.root().unwrap().mkdir_at("d").unwrap();
        let mut ctx = WasiCtxBuilder::new().preopen_shared(fs, "/").build().unwrap();
        // The cookie after the last entry (`.`, `..`, `d`; a dirent header is 24 bytes).
        let mut bytes = vec![0u8; 256];
        let mut mem = GuestMemory::new(&mut bytes);
        hammertime::p1::fd::fd_readdir(&mut ctx, &mut mem, 3, 0, 128, 0, 200).unwrap();
        let used = mem.read_u32(200).unwrap();
        let mut at = 0;
        let mut last = 0;
        while at < used {
            last = mem.read_u64(at).unwrap();
            at += 24 + mem.read_u32(at + 16).unwrap();
        }
        for cookie in [last, 1 << 63, u64::MAX] {
            let mut bytes = vec![0xAAu8; 256];
            let mut mem = GuestMemory::new(&mut bytes);
            let r = hammertime::p1::fd::fd_readdir(&mut ctx, &mut mem, 3, 0, 128, cookie, 200);
            assert_eq!(r, Ok(()), "{name}: cookie {cookie}");
            assert_eq!(mem.read_u32(200).unwrap(), 0, "{name}: cookie {cookie}");
        }
    }
}
