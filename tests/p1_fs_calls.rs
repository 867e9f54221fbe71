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

/// Only `fd_write` among the rights asked for opens a file for writing, as on Wasmtime (and as
/// `O_WRONLY`/`O_RDWR` do): asked for without it, the rights that change a file are shown but the
/// calls answer as Linux does on a read-only descriptor (`ftruncate`: `EINVAL`; `fallocate`:
/// `EBADF`), and nothing changes.
#[test]
fn only_fd_write_opens_a_file_for_writing() {
    on_each_backend(|backend, g, fs| {
        let (errno, fd) = open(g, "f", 0, rights::FD_FILESTAT_SET_SIZE | rights::FD_ALLOCATE, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_filestat_set_size", &[I32(fd), I64(10)]), e(Errno::Inval), "{backend}");
        assert_eq!(g.call("fd_allocate", &[I32(fd), I64(0), I64(20)]), e(Errno::Badf), "{backend}");
        assert_eq!(size(fs, "f"), 3, "{backend}");

        let (errno, fd) = open(g, "f", 0, rights::FD_WRITE, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_filestat_set_size", &[I32(fd), I64(10)]), 0, "{backend}");
        assert_eq!(size(fs, "f"), 10, "{backend}");
        assert_eq!(g.call("fd_allocate", &[I32(fd), I64(0), I64(20)]), 0, "{backend}");
        assert_eq!(size(fs, "f"), 20, "{backend}");
    });
}

/// A directory whose inheriting rights the guest narrowed without `fd_write` opens nothing for
/// writing (`ENOTCAPABLE`), and still opens for reading; one whose inheriting rights were never
/// narrowed hands on writing whatever they show.
#[test]
fn a_directory_that_cannot_hand_on_writing_opens_nothing_for_writing() {
    on_each_backend(|backend, g, fs| {
        assert_eq!(g.call("fd_fdstat_get", &[I32(3), I32(0x40)]), 0);
        let (base, inheriting) = (g.u64(0x48), g.u64(0x50));
        assert_ne!(inheriting & rights::FD_WRITE, 0);
        let args = [I32(3), I64(base), I64(inheriting & !rights::FD_WRITE)];
        assert_eq!(g.call("fd_fdstat_set_rights", &args), 0);
        assert_eq!(open(g, "f", 0, rights::FD_WRITE | rights::FD_READ, 0).0, e(Errno::Notcapable), "{backend}");
        assert_eq!(open(g, "f", 0, rights::FD_WRITE, 0).0, e(Errno::Notcapable), "{backend}");
        let (errno, fd) = open(g, "f", 0, rights::FD_READ, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_fdstat_get", &[I32(fd), I32(0x40)]), 0);
        assert_eq!(g.u64(0x48) & rights::FD_WRITE, 0, "{backend}: the dropped right is not shown");
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

/// The new descriptor shows the rights that fit what was opened and how (see
/// `hammertime::rights`), whatever was asked for: a file opened for reading shows every file
/// right but `fd_write`; a directory its directory rights; a right the guest dropped from the
/// parent's inheriting rights is not shown.
#[test]
fn a_new_descriptor_shows_the_rights_of_what_it_is() {
    on_each_backend(|backend, g, _| {
        let fdstat_rights = |g: &mut Guest, fd: u32| {
            assert_eq!(g.call("fd_fdstat_get", &[I32(fd), I32(0x40)]), 0);
            (g.u64(0x48), g.u64(0x50))
        };
        let (errno, fd) = open(g, "f", 0, rights::FD_READ | rights::FD_SEEK, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(fdstat_rights(g, fd).0, rights::FILE & !rights::FD_WRITE, "{backend}");
        let (errno, fd) = open(g, "f", 0, rights::FD_WRITE, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(fdstat_rights(g, fd).0, rights::FILE & !rights::FD_READ, "{backend}");
        let (errno, fd) = open(g, ".", 0, 0, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(fdstat_rights(g, fd), (rights::DIRECTORY, rights::ALL), "{backend}");
        let (base, inheriting) = fdstat_rights(g, 3);
        let args = [I32(3), I64(base), I64(inheriting & !rights::FD_SEEK)];
        assert_eq!(g.call("fd_fdstat_set_rights", &args), 0);
        let (errno, fd) = open(g, "f", 0, rights::FD_READ | rights::FD_SEEK, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(fdstat_rights(g, fd).0, rights::FILE & !rights::FD_WRITE & !rights::FD_SEEK, "{backend}");
        assert_eq!(g.call("fd_seek", &[I32(fd), I64(1), I32(0), I32(RES)]), e(Errno::Notcapable), "{backend}");
    });
}

/// `fd_advise` takes the six advice values on a file, refuses others and lengths past
/// `i64::MAX` (`EINVAL`), and takes advice on a directory as a no-op (Linux returns 0).
#[test]
fn fd_advise_takes_every_advice_on_a_file() {
    on_each_backend(|backend, g, _| {
        let (errno, fd) = open(g, "f", 0, rights::FD_READ | rights::FD_ADVISE, 0);
        assert_eq!(errno, 0, "{backend}");
        for advice in 0..=5 {
            assert_eq!(g.call("fd_advise", &[I32(fd), I64(0), I64(3), I32(advice)]), 0, "{backend} {advice}");
        }
        for advice in [6, 255, 256] {
            assert_eq!(g.call("fd_advise", &[I32(fd), I64(0), I64(3), I32(advice)]), e(Errno::Inval), "{backend}");
        }
        // On a directory (the preopen, fd 3) advice does nothing, as on Linux; bad arguments are
        // still refused.
        assert_eq!(g.call("fd_advise", &[I32(3), I64(0), I64(3), I32(0)]), 0, "{backend}");
        assert_eq!(g.call("fd_advise", &[I32(3), I64(0), I64(1 << 63), I32(0)]), e(Errno::Inval), "{backend}");
        assert_eq!(g.call("fd_advise", &[I32(3), I64(0), I64(3), I32(6)]), e(Errno::Inval), "{backend}");
        // A length past `i64::MAX` is negative to `posix_fadvise`: `EINVAL`; any offset is taken.
        assert_eq!(g.call("fd_advise", &[I32(fd), I64(0), I64(1 << 63), I32(1)]), e(Errno::Inval), "{backend}");
        assert_eq!(g.call("fd_advise", &[I32(fd), I64(u64::MAX), I64(0), I32(1)]), 0, "{backend}");
    });
}

/// `fd_sync` and `fd_datasync` of a file and of a directory succeed.
#[test]
fn files_and_directories_can_be_synced() {
    on_each_backend(|backend, g, _| {
        let (errno, fd) = open(g, "f", 0, rights::FD_SYNC | rights::FD_DATASYNC | rights::FD_WRITE, 0);
        assert_eq!(errno, 0, "{backend}");
        for target in [fd, 3] {
            assert_eq!(g.call("fd_sync", &[I32(target)]), 0, "{backend} fd_sync {target}");
            assert_eq!(g.call("fd_datasync", &[I32(target)]), 0, "{backend} fd_datasync {target}");
        }
    });
}

/// The synchronisation flags of a descriptor cannot change (`ENOTSUP`, as `fcntl(F_SETFL)`
/// ignores them), but keeping them while changing `APPEND` is fine.
#[test]
fn synchronisation_flags_stay_as_they_were_opened() {
    use hammertime::p1::abi::types::fdflags;
    on_each_backend(|backend, g, _| {
        let (errno, fd) = open(g, "f", 0, rights::FD_WRITE | rights::FD_FDSTAT_SET_FLAGS, fdflags::SYNC);
        assert_eq!(errno, 0, "{backend}");
        let set = |g: &mut Guest, flags: u16| g.call("fd_fdstat_set_flags", &[I32(fd), I32(flags.into())]);
        assert_eq!(set(g, fdflags::SYNC | fdflags::APPEND), 0, "{backend}");
        assert_eq!(set(g, fdflags::APPEND), e(Errno::Notsup), "{backend}");
        assert_eq!(set(g, fdflags::SYNC | fdflags::DSYNC), e(Errno::Notsup), "{backend}");
        assert_eq!(set(g, fdflags::SYNC), 0, "{backend}");
    });
}

/// Reads and writes over several buffers move every byte, in order: a read fills each buffer
/// before the next and stops at the end of the file; a write of six buffers writes all six.
#[test]
fn several_buffers_move_every_byte_in_order() {
    const IOVS: u32 = 0x1000;
    const BUF: u32 = 0x2000;
    on_each_backend(|backend, g, fs| {
        let (errno, fd) = open(g, "f", 0, rights::FD_READ | rights::FD_WRITE | rights::FD_SEEK, 0);
        assert_eq!(errno, 0, "{backend}");
        let parts: [&[u8]; 6] = [b"0123", b"", b"45", b"6789", b"ab", b"c"];
        let mut at = BUF;
        let mut iovs = Vec::new();
        for part in parts {
            g.write(at, part);
            iovs.push((at, part.len() as u32));
            at += 16;
        }
        g.write_iovecs(IOVS, &iovs);
        assert_eq!(g.call("fd_pwrite", &[I32(fd), I32(IOVS), I32(6), I64(0), I32(RES)]), 0, "{backend}");
        assert_eq!(g.u32(RES), 13, "{backend}");
        assert_eq!(size(fs, "f"), 13, "{backend}");
        // Read back into 4 + 4 + 4 + 4 bytes: 13 of them, the last buffer short.
        g.write(0x3000, &[0xEE; 64]);
        g.write_iovecs(IOVS, &[(0x3000, 4), (0x3010, 4), (0x3020, 4), (0x3030, 4)]);
        assert_eq!(g.call("fd_pread", &[I32(fd), I32(IOVS), I32(4), I64(0), I32(RES)]), 0, "{backend}");
        assert_eq!(g.u32(RES), 13, "{backend}");
        let got: Vec<u8> = [0x3000, 0x3010, 0x3020, 0x3030].iter().flat_map(|&a| g.read(a, 4)).collect();
        assert_eq!(&got[..13], b"0123456789abc", "{backend}");
        assert_eq!(&got[13..], &[0xEE; 3], "{backend}");
    });
}

/// `fd_filestat_set_times` sets a directory's times as a file's.
#[test]
fn a_directory_s_times_can_be_set_through_its_descriptor() {
    use hammertime::p1::abi::types::fstflags;
    on_each_backend(|backend, g, fs| {
        let flags = u32::from(fstflags::ATIM | fstflags::MTIM);
        assert_eq!(g.call("fd_filestat_set_times", &[I32(3), I64(1_000_000_000), I64(2_000_000_000), I32(flags)]), 0);
        let st = fs.root().unwrap().stat().unwrap();
        assert_eq!((st.atim, st.mtim), (1_000_000_000, 2_000_000_000), "{backend}");
    });
}

/// A positioned read needs a descriptor that reads, a positioned write one that writes
/// (`EBADF`, as `pread`/`pwrite` on a descriptor not opened so).
#[test]
fn positioned_calls_need_the_access_of_their_kind() {
    const IOVS: u32 = 0x1000;
    on_each_backend(|backend, g, fs| {
        g.write_iovecs(IOVS, &[(0x2000, 2)]);
        let (errno, w) = open(g, "f", 0, rights::FD_WRITE | rights::FD_SEEK, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_pread", &[I32(w), I32(IOVS), I32(1), I64(0), I32(RES)]), e(Errno::Badf), "{backend}");
        let (errno, r) = open(g, "f", 0, rights::FD_READ | rights::FD_SEEK, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(g.call("fd_pwrite", &[I32(r), I32(IOVS), I32(1), I64(0), I32(RES)]), e(Errno::Badf), "{backend}");
        assert_eq!(size(fs, "f"), 3, "{backend}");
    });
}

/// `fd_filestat_set_size` of a directory is `EINVAL`, as `ftruncate(2)` on Linux (only a
/// regular file open for writing can be truncated): the preopen, and a directory opened only to
/// be listed (asking for the right to truncate would open it for writing: `EISDIR`).
#[test]
fn a_directory_cannot_be_truncated() {
    on_each_backend(|backend, g, fs| {
        fs.root().unwrap().mkdir_at("d").unwrap();
        let (errno, d) = open(g, "d", 0, rights::FD_READDIR, 0);
        assert_eq!(errno, 0, "{backend}");
        for fd in [3, d] {
            assert_eq!(g.call("fd_filestat_set_size", &[I32(fd), I64(0)]), e(Errno::Inval), "{backend} fd {fd}");
        }
    });
}

/// `fd_seek` on a file: with `fd_seek` dropped (`fd_fdstat_set_rights`), `fd_tell` still allows
/// the zero `CUR` seek that asks where the descriptor is, and with both dropped nothing; rights
/// never asked for refuse nothing. The result lands where `lseek(2)` would put it (from the
/// start, the position or the end), and a bad whence or a result before the start or past
/// `i64::MAX` is `EINVAL` with the position unchanged. A directory is `EBADF`.
#[test]
fn fd_seek_needs_its_right_and_lands_where_lseek_puts_it() {
    const SET: u32 = 0;
    const CUR: u32 = 1;
    const END: u32 = 2;
    on_each_backend(|backend, g, _| {
        let seek = |g: &mut Guest, fd: u32, offset: i64, whence: u32| {
            g.write(RES + 8, &[0xAA; 8]);
            let errno = g.call("fd_seek", &[I32(fd), I64(offset as u64), I32(whence), I32(RES + 8)]);
            (errno, if errno == 0 { g.u64(RES + 8) } else { u64::MAX })
        };
        let drop = |g: &mut Guest, fd: u32, dropped: u64| {
            assert_eq!(g.call("fd_fdstat_get", &[I32(fd), I32(0x40)]), 0);
            let args = [I32(fd), I64(g.u64(0x48) & !dropped), I64(g.u64(0x50))];
            assert_eq!(g.call("fd_fdstat_set_rights", &args), 0);
        };
        let (errno, tell_only) = open(g, "f", 0, rights::FD_READ, 0);
        assert_eq!(errno, 0, "{backend}");
        drop(g, tell_only, rights::FD_SEEK);
        assert_eq!(seek(g, tell_only, 0, CUR), (0, 0), "{backend}: where am I, with fd_tell");
        for (offset, whence) in [(1, CUR), (-1, CUR), (0, SET), (1, SET), (0, END)] {
            assert_eq!(seek(g, tell_only, offset, whence).0, e(Errno::Notcapable), "{backend}: {offset} from {whence}");
        }
        drop(g, tell_only, rights::FD_TELL);
        assert_eq!(seek(g, tell_only, 0, CUR).0, e(Errno::Notcapable), "{backend}: no right to either");

        let (errno, fd) = open(g, "f", 0, 0, 0);
        assert_eq!(errno, 0, "{backend}");
        assert_eq!(seek(g, fd, 0, CUR), (0, 0), "{backend}: fd_seek suffices to ask");
        for (offset, whence, to) in [(2, SET, 2), (-1, CUR, 1), (5, CUR, 6), (-1, END, 2), (10, END, 13), (0, SET, 0)] {
            assert_eq!(seek(g, fd, offset, whence), (0, to), "{backend}: {offset} from {whence}");
        }
        assert_eq!(seek(g, fd, 2, SET), (0, 2), "{backend}");
        for (offset, whence) in [(-3, CUR), (-4, END), (-1, SET), (i64::MAX, END), (0, 3), (0, 256 + SET)] {
            assert_eq!(seek(g, fd, offset, whence).0, e(Errno::Inval), "{backend}: {offset} from {whence}");
            assert_eq!(seek(g, fd, 0, CUR), (0, 2), "{backend}: the position after {offset} from {whence}");
        }
        assert_eq!(seek(g, fd, i64::MAX, SET), (0, i64::MAX as u64), "{backend}: the largest offset");
        assert_eq!(seek(g, fd, 1, CUR).0, e(Errno::Inval), "{backend}: one past it");
        assert_eq!(seek(g, 3, 0, SET).0, e(Errno::Badf), "{backend}: a directory");
    });
}
