//! A backend is the embedder's code, and `std::io::Read`/`Write` are safe traits: one that
//! claims to have moved more bytes than the buffer it was given must not make the host panic,
//! over-count to the guest, or move a file position past what was moved. Each ABI (and the
//! overlay's copy-up) counts at most the buffer: a claim past it is taken as "filled" or
//! "taken whole".

mod support;

use std::sync::Arc;

use hammertime::WasiCtx;
use hammertime::p1::FUNCTIONS;
use hammertime::p1::abi::types::rights;
use hammertime::p2::bindings::wasi::cli::stdin::Host as _;
use hammertime::p2::bindings::wasi::filesystem::preopens::Host as _;
use hammertime::p2::bindings::wasi::filesystem::types::{DescriptorFlags, HostDescriptor, OpenFlags, PathFlags};
use hammertime::p2::bindings::wasi::io::streams::{HostInputStream, HostOutputStream};
use hammertime::vfs::{self, Dir, FileSystem, MemFs, Node, OpenOptions};
use support::{Guest, I32, I64};
use wasmtime::component::Resource;

/// How many bytes past the truth every claim of a [`Liar`] goes.
const LIE: usize = 100;

/// A filesystem over a MemFs whose files do each read and write for real, then claim
/// [`LIE`] bytes more than they moved.
struct Liar(MemFs);

struct LiarDir(Arc<dyn Dir>);

struct LiarFile(Arc<dyn vfs::File>);

impl FileSystem for Liar {
    fn root(&self) -> vfs::Result<Arc<dyn Dir>> {
        Ok(Arc::new(LiarDir(self.0.root()?)))
    }
}

impl Dir for LiarDir {
    fn stat(&self) -> vfs::Result<vfs::Stat> {
        self.0.stat()
    }
    fn stat_at(&self, name: &str) -> vfs::Result<vfs::Stat> {
        self.0.stat_at(name)
    }
    fn open_at(&self, name: &str, options: OpenOptions) -> vfs::Result<Node> {
        Ok(match self.0.open_at(name, options)? {
            Node::File(f) => Node::File(Arc::new(LiarFile(f))),
            Node::Dir(d) => Node::Dir(Arc::new(LiarDir(d))),
        })
    }
    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(vfs::DirEntry) -> bool) -> vfs::Result<()> {
        self.0.read_dir(cookie, sink)
    }
    fn readlink_at(&self, name: &str) -> vfs::Result<String> {
        self.0.readlink_at(name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl vfs::File for LiarFile {
    fn stat(&self) -> vfs::Result<vfs::Stat> {
        self.0.stat()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> vfs::Result<usize> {
        Ok(self.0.read_at(buf, offset)? + LIE)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> vfs::Result<usize> {
        Ok(self.0.write_at(buf, offset)? + LIE)
    }
    fn append(&self, buf: &[u8]) -> vfs::Result<(usize, u64)> {
        let (n, end) = self.0.append(buf)?;
        Ok((n + LIE, end))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A reader that fills the buffer with `x` and claims [`LIE`] bytes more.
struct LyingStdin;

impl std::io::Read for LyingStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(b'x');
        Ok(buf.len() + LIE)
    }
}

/// A MemFs with `f` holding `hello world`, and the liar over it.
fn liar() -> (MemFs, Liar) {
    let fs = MemFs::new();
    fs.write_file("f", b"hello world").unwrap();
    (fs.clone(), Liar(fs))
}

const PATH: u32 = 0x300;
const IOVS: u32 = 0x400;
const BUF: u32 = 0x500;
const RES: u32 = 0x10;

#[test]
fn preview1_counts_at_most_the_buffers_a_lying_backend_was_given() {
    let (fs, liar) = liar();
    let ctx = WasiCtx::builder().preopen(liar, "/").stdin(LyingStdin).build().unwrap();
    let mut g = Guest::new(ctx, &FUNCTIONS);
    g.write(PATH, b"f");
    let base = rights::FD_READ | rights::FD_WRITE | rights::FD_SEEK | rights::FD_TELL;
    let open = [I32(3), I32(0), I32(PATH), I32(1), I32(0), I64(base), I64(0), I32(0), I32(RES)];
    assert_eq!(g.call("path_open", &open), 0);
    let fd = g.u32(RES);
    let tell = |g: &mut Guest| {
        assert_eq!(g.call("fd_tell", &[I32(fd), I32(RES)]), 0);
        g.u64(RES)
    };

    g.write_iovecs(IOVS, &[(BUF, 3)]);
    assert_eq!(g.call("fd_read", &[I32(fd), I32(IOVS), I32(1), I32(RES)]), 0);
    assert_eq!((g.u32(RES), g.read(BUF, 3)), (3, b"hel".to_vec()), "fd_read counts its one buffer");
    assert_eq!(tell(&mut g), 3);
    g.write_iovecs(IOVS, &[(BUF, 2), (BUF + 8, 2)]);
    assert_eq!(g.call("fd_pread", &[I32(fd), I32(IOVS), I32(2), I64(4), I32(RES)]), 0);
    assert_eq!(g.u32(RES), 4, "fd_pread counts its two buffers");

    g.write(BUF, b"XY");
    g.write_iovecs(IOVS, &[(BUF, 2)]);
    assert_eq!(g.call("fd_write", &[I32(fd), I32(IOVS), I32(1), I32(RES)]), 0);
    assert_eq!(g.u32(RES), 2, "fd_write counts what it gave");
    assert_eq!(tell(&mut g), 5);
    g.write_iovecs(IOVS, &[(BUF, 1), (BUF + 1, 1)]);
    assert_eq!(g.call("fd_pwrite", &[I32(fd), I32(IOVS), I32(2), I64(0), I32(RES)]), 0);
    assert_eq!(g.u32(RES), 2, "fd_pwrite counts what it gave");
    assert_eq!(fs.read_file("f").unwrap(), b"XYlXY world");

    g.write_iovecs(IOVS, &[(BUF, 4)]);
    assert_eq!(g.call("fd_read", &[I32(0), I32(IOVS), I32(1), I32(RES)]), 0);
    assert_eq!((g.u32(RES), g.read(BUF, 4)), (4, b"xxxx".to_vec()), "stdin counts its buffer");
}

#[test]
fn wasi_0_2_counts_at_most_the_buffers_a_lying_backend_was_given() {
    let (fs, liar) = liar();
    let mut ctx = WasiCtx::builder().preopen(liar, "/").stdin(LyingStdin).build().unwrap();
    let pre = ctx.get_directories().unwrap()[0].0.rep();
    let flags = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let f = ctx.open_at(Resource::new_borrow(pre), PathFlags::empty(), "f".into(), OpenFlags::empty(), flags);
    let f = f.unwrap().rep();
    let desc = || Resource::<hammertime::p2::filesystem::Descriptor>::new_borrow(f);

    let (data, _) = HostDescriptor::read(&mut ctx, desc(), 4, 0).unwrap();
    assert_eq!(data, b"hell", "read gives what it asked for");
    assert_eq!(HostDescriptor::write(&mut ctx, desc(), b"HE".to_vec(), 0).unwrap(), 2, "write counts what it gave");

    let input = ctx.read_via_stream(desc(), 0).unwrap();
    let borrow = || Resource::<hammertime::p2::io::InputStream>::new_borrow(input.rep());
    assert_eq!(HostInputStream::read(&mut ctx, borrow(), 3).unwrap(), b"HEl");
    assert_eq!(HostInputStream::read(&mut ctx, borrow(), 3).unwrap(), b"lo ", "the stream moved on by what it read");
    HostInputStream::drop(&mut ctx, input).unwrap();

    let output = ctx.write_via_stream(desc(), 6).unwrap();
    let borrow = || Resource::<hammertime::p2::io::OutputStream>::new_borrow(output.rep());
    HostOutputStream::write(&mut ctx, borrow(), b"W".to_vec()).unwrap();
    HostOutputStream::write(&mut ctx, borrow(), b"O".to_vec()).unwrap();
    HostOutputStream::drop(&mut ctx, output).unwrap();
    let output = ctx.append_via_stream(desc()).unwrap();
    let borrow = || Resource::<hammertime::p2::io::OutputStream>::new_borrow(output.rep());
    HostOutputStream::write(&mut ctx, borrow(), b"!".to_vec()).unwrap();
    HostOutputStream::write(&mut ctx, borrow(), b"?".to_vec()).unwrap();
    HostOutputStream::drop(&mut ctx, output).unwrap();
    assert_eq!(fs.read_file("f").unwrap(), b"HEllo WOrld!?", "each stream write landed after the last");

    let stdin = ctx.get_stdin().unwrap();
    let borrow = || Resource::<hammertime::p2::io::InputStream>::new_borrow(stdin.rep());
    assert_eq!(HostInputStream::read(&mut ctx, borrow(), 4).unwrap(), b"xxxx", "stdin gives what it asked for");
}

#[test]
fn overlay_copy_up_copies_only_what_a_lying_lower_layer_has() {
    let (_, lower) = liar();
    let overlay = vfs::Overlay::new(MemFs::new(), lower).unwrap();
    let root = overlay.root().unwrap();
    let Node::File(f) = root.open_at("f", OpenOptions::new().read(true).write(true)).unwrap() else {
        panic!("f is a file");
    };
    f.write_at(b"H", 0).unwrap();
    let mut buf = [0u8; 32];
    let n = f.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"Hello world", "the copy is the lower file's 11 bytes");
    assert_eq!(f.stat().unwrap().size, 11);
}
