//! What real toolchains' programs do, answered as Wasmtime 48 answers it, on MemFs and HostDir:
//! four smaller differences found running programs no one here wrote.

use std::io::Write;
use std::sync::Arc;

use hammertime::p1::abi::memory::GuestMemory;
use hammertime::p2::bindings::wasi::cli::stdout::Host as _;
use hammertime::p2::bindings::wasi::filesystem::preopens::Host as _;
use hammertime::p2::bindings::wasi::filesystem::types::{DescriptorFlags, HostDescriptor, OpenFlags, PathFlags};
use hammertime::p2::bindings::wasi::io::streams::{self, Host as _, HostOutputStream};
use hammertime::p2::bindings::wasi::random::insecure_seed::Host as _;
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
