//! The preview1 filesystem calls made by real wasm guests (WAT) on each backend, for what the
//! official suite leaves open: which rights open a file for writing, and the like. Each case
//! asserts the exact errno of the witx numbering and the state on the host side. (Many of these
//! cases were written to kill the survivors of `cargo-mutants` on `src/p1/`: notes/mutants.md.)

mod support;

use std::sync::Arc;

use hammertime::p1::FUNCTIONS;
use hammertime::p1::abi::types::rights;
use hammertime::vfs::{FileSystem, HostDir, MemFs, Node, OpenOptions};
use hammertime::{Errno, WasiCtx};
use support::{Guest, I32, I64};

/// Where results are written.
const RES: u32 = 0x10;
/// Where paths go.
const PATH: u32 = 0x100;

fn e(errno: Errno) -> i32 {
    i32::from(errno.raw())
}

/// Each backend in turn, holding a file `f` of three bytes, with a guest whose fd 3 is its
/// root; `check` runs with the guest and the filesystem.
fn on_each_backend(check: impl Fn(&str, &mut Guest, &dyn FileSystem)) {
    let tmp = tempfile::tempdir().unwrap();
    let backends: [(&str, Arc<dyn FileSystem>); 2] =
        [("memfs", Arc::new(MemFs::new())), ("hostdir", Arc::new(HostDir::open(tmp.path()).unwrap()))];
    for (name, fs) in backends {
        match fs.root().unwrap().open_at("f", OpenOptions::new().write(true).create(true)).unwrap() {
            Node::File(f) => assert_eq!(f.write_at(b"abc", 0), Ok(3)),
            Node::Dir(_) => unreachable!(),
        }
        let mut g = Guest::new(WasiCtx::builder().preopen(Arc::clone(&fs), "/").build().unwrap(), &FUNCTIONS);
        check(name, &mut g, &*fs);
    }
}

/// The size of `path` in `fs`.
fn size(fs: &dyn FileSystem, path: &str) -> u64 {
    fs.root().unwrap().stat_at(path).unwrap().size
}

/// `path_open(3, follow, path, oflags, base, ALL, fdflags)`: the errno and the new descriptor.
fn open(g: &mut Guest, path: &str, oflags: u16, base: u64, fdflags: u16) -> (i32, u32) {
    g.write(PATH, path.as_bytes());
    let args = [I32(3), I32(1), I32(PATH), I32(path.len() as u32), I32(oflags.into()), I64(base), I64(rights::ALL)];
    let errno = g.call("path_open", &[&args[..], &[I32(fdflags.into()), I32(RES)]].concat());
    (errno, g.u32(RES))
}

/// Asking for any right that changes a file's data or size opens it for writing, so that the
/// call the right allows works, even without `fd_write` among the rights.
#[test]
fn rights_that_change_a_file_open_it_for_writing() {
    on_each_backend(|backend, g, fs| {
        let (errno, fd) = open(g, "f", 0, rights::FD_FILESTAT_SET_SIZE, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_filestat_set_size", &[I32(fd), I64(10)]), 0, "{backend}");
        assert_eq!(size(fs, "f"), 10, "{backend}");

        let (errno, fd) = open(g, "f", 0, rights::FD_ALLOCATE, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_allocate", &[I32(fd), I64(0), I64(20)]), 0, "{backend}");
        assert_eq!(size(fs, "f"), 20, "{backend}");
    });
}

/// Flag bits that witx does not define are `EINVAL`, in either flags argument alone, before the
/// path is looked at.
#[test]
fn unknown_open_flags_are_einval() {
    on_each_backend(|backend, g, _| {
        for (oflags, fdflags) in [(1 << 4, 0), (0, 1 << 5), (1 << 15, 1 << 15)] {
            assert_eq!(open(g, "f", oflags, rights::FD_READ, fdflags).0, e(Errno::Inval), "{backend}");
            assert_eq!(open(g, "missing", oflags, rights::FD_READ, fdflags).0, e(Errno::Inval), "{backend}");
        }
        assert_eq!(open(g, "f", 0, rights::FD_READ, 0).0, 0, "{backend}");
    });
}

/// A directory whose inheriting rights exclude `fd_write` opens nothing for writing, whichever
/// right asks for it (`ENOTCAPABLE`), and still opens for reading.
#[test]
fn a_directory_that_cannot_hand_on_writing_opens_nothing_for_writing() {
    on_each_backend(|backend, g, fs| {
        assert_eq!(g.call("fd_fdstat_get", &[I32(3), I32(0x40)]), 0);
        let (base, inheriting) = (g.u64(0x48), g.u64(0x50));
        assert_ne!(inheriting & rights::FD_WRITE, 0);
        let args = [I32(3), I64(base), I64(inheriting & !rights::FD_WRITE)];
        assert_eq!(g.call("fd_fdstat_set_rights", &args), 0);
        for base in [rights::FD_WRITE, rights::FD_ALLOCATE, rights::FD_FILESTAT_SET_SIZE] {
            assert_eq!(open(g, "f", 0, base | rights::FD_READ, 0).0, e(Errno::Notcapable), "{backend} {base:#x}");
        }
        assert_eq!(open(g, "f", 0, rights::FD_READ, 0).0, 0, "{backend}");
        assert_eq!(size(fs, "f"), 3);
    });
}

/// A descriptor asking only for rights that write is opened write-only: a FIFO nobody reads
/// cannot be opened so (`ENXIO`, as a non-blocking `open(O_WRONLY)`), but can with `fd_read` too.
#[test]
fn write_rights_alone_open_write_only() {
    let tmp = tempfile::tempdir().unwrap();
    rustix::fs::mkfifoat(rustix::fs::CWD, tmp.path().join("fifo"), rustix::fs::Mode::from_bits_truncate(0o644))
        .unwrap();
    let fs = Arc::new(HostDir::open(tmp.path()).unwrap());
    let mut g = Guest::new(WasiCtx::builder().preopen(fs, "/").build().unwrap(), &FUNCTIONS);
    assert_eq!(open(&mut g, "fifo", 0, rights::FD_WRITE, 0).0, e(Errno::Nxio));
    assert_eq!(open(&mut g, "fifo", 0, rights::FD_WRITE | rights::FD_READ, 0).0, 0);
}

/// The new descriptor has the rights asked for that the directory may hand on and that fit what
/// was opened: no more (whatever the directory could give), and none that write when it was
/// not opened for writing.
#[test]
fn a_new_descriptor_has_the_rights_asked_for() {
    on_each_backend(|backend, g, _| {
        let fdstat_rights = |g: &mut Guest, fd: u32| {
            assert_eq!(g.call("fd_fdstat_get", &[I32(fd), I32(0x40)]), 0);
            (g.u64(0x48), g.u64(0x50))
        };
        let asked = rights::FD_READ | rights::FD_SEEK | rights::FD_FILESTAT_GET;
        let (errno, fd) = open(g, "f", 0, asked, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(fdstat_rights(g, fd).0, asked, "{backend}");
        // A directory's rights for a file are dropped; its own directory rights stay.
        let (errno, fd) = open(g, ".", 0, asked | rights::PATH_OPEN | rights::FD_READDIR, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(
            fdstat_rights(g, fd).0,
            rights::FD_FILESTAT_GET | rights::PATH_OPEN | rights::FD_READDIR,
            "{backend}"
        );
    });
}
