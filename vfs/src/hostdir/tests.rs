//! Tests of [`super::HostDir`] against a temporary host directory.

use std::any::Any;
use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno as HostErrno;

use super::dir::HostDirHandle;
use super::file::HostFile;
use super::{HostDir, cache};
use crate::test_support::{list, names};
use crate::{Advice, Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat};

mod io;
mod listing;
mod mounts;
mod paths;

const RW: OpenOptions =
    OpenOptions { read: true, write: true, create: false, exclusive: false, truncate: false, directory: false };
const RO: OpenOptions =
    OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };
const CREATE: OpenOptions =
    OpenOptions { read: true, write: true, create: true, exclusive: false, truncate: false, directory: false };
const DIRECTORY: OpenOptions =
    OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: true };

/// A temp dir holding `mount/` (served) and `outside/` (must never be touched).
struct Fixture {
    _tmp: tempfile::TempDir,
    mount: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mount = tmp.path().join("mount");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&mount).expect("mkdir mount");
    std::fs::create_dir(&outside).expect("mkdir outside");
    std::fs::write(outside.join("secret"), b"secret").expect("write secret");
    Fixture { _tmp: tmp, mount, outside }
}

fn rw_root(fx: &Fixture) -> Arc<dyn Dir> {
    HostDir::open(&fx.mount).expect("open").root().expect("root")
}

fn file(node: Result<Node>) -> Arc<dyn File> {
    match node.expect("open_at") {
        Node::File(f) => f,
        Node::Dir(_) => panic!("expected a file"),
    }
}

fn dir(node: Result<Node>) -> Arc<dyn Dir> {
    match node.expect("open_at") {
        Node::Dir(d) => d,
        Node::File(_) => panic!("expected a directory"),
    }
}

fn open_err(d: &dyn Dir, name: &str, options: OpenOptions) -> Errno {
    match d.open_at(name, options) {
        Ok(node) => panic!("open_at({name}) succeeded: {node:?}"),
        Err(e) => e,
    }
}

fn host_names(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(path)
        .expect("host read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    v.sort();
    v
}

fn mtime_ns(m: &std::fs::Metadata) -> u64 {
    m.mtime() as u64 * 1_000_000_000 + m.mtime_nsec() as u64
}

fn atime_ns(m: &std::fs::Metadata) -> u64 {
    m.atime() as u64 * 1_000_000_000 + m.atime_nsec() as u64
}

fn assert_stat_matches(stat: &Stat, path: &Path) {
    let m = std::fs::symlink_metadata(path).expect("symlink_metadata");
    assert_eq!(stat.dev, m.dev());
    assert_eq!(stat.ino, m.ino());
    assert_eq!(stat.nlink, m.nlink());
    assert_eq!(stat.size, m.size());
    assert_eq!(stat.mtim, mtime_ns(&m));
    assert_eq!(stat.atim, atime_ns(&m));
    assert_eq!(stat.ctim, m.ctime() as u64 * 1_000_000_000 + m.ctime_nsec() as u64);
}

/// Whether permission bits bind us (false when running with CAP_DAC_OVERRIDE, e.g. root).
fn permissions_apply(fx: &Fixture) -> bool {
    let probe = fx.outside.join("probe");
    std::fs::write(&probe, b"x").expect("probe");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let denied = std::fs::File::open(&probe).is_err();
    std::fs::remove_file(&probe).expect("rm probe");
    denied
}

struct Foreign;
impl Dir for Foreign {
    fn stat(&self) -> Result<Stat> {
        Err(Errno::Nosys)
    }
    fn stat_at(&self, _: &str) -> Result<Stat> {
        Err(Errno::Nosys)
    }
    fn open_at(&self, _: &str, _: OpenOptions) -> Result<Node> {
        Err(Errno::Nosys)
    }
    fn read_dir(&self, _: u64, _: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn mkdir_at(&self, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn rmdir_at(&self, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn unlink_at(&self, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn symlink_at(&self, _: &str, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn readlink_at(&self, _: &str) -> Result<String> {
        Err(Errno::Nosys)
    }
    fn rename_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn link_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
        Err(Errno::Nosys)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<HostDir>();
    fn check_dyn<T: Send + Sync>() {}
    check_dyn::<HostDirHandle>();
    check_dyn::<HostFile>();
}

#[test]
fn open_rejects_non_directories_and_missing_paths() {
    let fx = fixture();
    let err = HostDir::open(fx.outside.join("secret")).expect_err("a file is no mount");
    assert_eq!(err.raw_os_error(), Some(HostErrno::NOTDIR.raw_os_error()));
    let err = HostDir::open(fx.outside.join("missing")).expect_err("missing");
    assert_eq!(err.raw_os_error(), Some(HostErrno::NOENT.raw_os_error()));
    let fd = rfs::open(fx.outside.join("secret"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).expect("open");
    let err = HostDir::from_fd(fd).expect_err("a file fd is no mount");
    assert_eq!(err.raw_os_error(), Some(HostErrno::NOTDIR.raw_os_error()));
    // A FIFO is refused at once: it is never opened as a file (which would wait for a writer).
    rfs::mkfifoat(rfs::CWD, fx.outside.join("fifo"), Mode::from_bits_truncate(0o644)).expect("mkfifo");
    let err = HostDir::open(fx.outside.join("fifo")).expect_err("a FIFO is no mount");
    assert_eq!(err.raw_os_error(), Some(HostErrno::NOTDIR.raw_os_error()));
}

/// Every descriptor HostDir opens is close-on-exec: the root (from a path or reopened from a
/// descriptor), files and directories by name, directories by path.
#[test]
fn every_descriptor_is_close_on_exec() {
    use std::os::fd::AsFd;
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("d/e")).expect("mkdir");
    std::fs::write(fx.mount.join("d/f"), b"x").expect("write");
    let cloexec = |fd: std::os::fd::BorrowedFd<'_>| {
        rustix::io::fcntl_getfd(fd).expect("getfd").contains(rustix::io::FdFlags::CLOEXEC)
    };
    let host_fd = |d: &Arc<dyn Dir>| Arc::clone(&d.as_any().downcast_ref::<HostDirHandle>().expect("HostDirHandle").fd);
    let by_path = HostDir::open(&fx.mount).expect("open");
    let inherited = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
    assert!(!cloexec(inherited.as_fd()));
    let by_fd = HostDir::from_fd(inherited).expect("from_fd");
    for fs in [by_path, by_fd] {
        let root = fs.root().expect("root");
        assert!(cloexec(host_fd(&root).fd.as_fd()));
        let d = dir(root.open_at("d", DIRECTORY));
        assert!(cloexec(host_fd(&d).fd.as_fd()));
        let f = file(d.open_at("f", RW));
        assert!(cloexec(f.as_any().downcast_ref::<HostFile>().expect("HostFile").fd.as_fd()));
        let e = root.open_dir_path("d/e").expect("by path").expect("open");
        assert!(cloexec(host_fd(&e).fd.as_fd()));
    }
}

#[test]
fn debug_shows_the_options() {
    let fx = fixture();
    let fs = HostDir::builder(&fx.mount).read_only(true).open().expect("open");
    let shown = format!("{fs:?}");
    assert!(shown.contains("read_only: true") && shown.contains("same_filesystem: false"), "{shown}");
}

#[test]
fn from_fd_and_cap_std_serve_the_directory() {
    let fx = fixture();
    std::fs::write(fx.mount.join("a"), b"1").expect("write");
    let fd = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open");
    let fs = HostDir::from_fd(fd).expect("from_fd");
    assert!(!fs.is_read_only());
    assert_eq!(names(&*fs.root().expect("root")), ["a"]);
    let fd = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open");
    let fs = HostDir::from_fd_read_only(fd).expect("from_fd_read_only");
    assert!(FileSystem::is_read_only(&fs));
    assert_eq!(fs.root().expect("root").mkdir_at("x"), Err(Errno::Rofs));
    let cap = cap_std::fs::Dir::open_ambient_dir(&fx.mount, cap_std::ambient_authority()).expect("cap");
    let fs = HostDir::from_cap_std(cap).expect("from_cap_std");
    assert_eq!(names(&*fs.root().expect("root")), ["a"]);
}

#[test]
fn root_of_a_removed_directory_is_noent() {
    let fx = fixture();
    let fs = HostDir::open(&fx.mount).expect("open");
    let root = fs.root().expect("root");
    std::fs::remove_dir(&fx.mount).expect("rmdir");
    assert_eq!(fs.root().err(), Some(Errno::Noent));
    // The old handle sees an empty, removed directory and cannot create in it.
    assert_eq!(root.open_at("new", CREATE).err(), Some(Errno::Noent));
    assert_eq!(root.mkdir_at("new"), Err(Errno::Noent));
}

#[test]
fn bad_names_are_refused() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    let root = rw_root(&fx);
    for (name, errno) in [
        ("", Errno::Inval),
        (".", Errno::Inval),
        ("..", Errno::Notcapable),
        ("a/b", Errno::Inval),
        ("/", Errno::Inval),
        ("../outside", Errno::Inval),
        ("f\0", Errno::Inval),
    ] {
        assert_eq!(root.stat_at(name).err(), Some(errno), "stat_at {name:?}");
        assert_eq!(root.open_at(name, CREATE).err(), Some(errno), "open_at {name:?}");
        assert_eq!(root.mkdir_at(name), Err(errno), "mkdir_at {name:?}");
        assert_eq!(root.rmdir_at(name), Err(errno), "rmdir_at {name:?}");
        assert_eq!(root.unlink_at(name), Err(errno), "unlink_at {name:?}");
        assert_eq!(root.symlink_at("t", name), Err(errno), "symlink_at {name:?}");
        assert_eq!(root.readlink_at(name).err(), Some(errno), "readlink_at {name:?}");
        assert_eq!(root.rename_at(name, &*root, "g"), Err(errno), "rename_at {name:?}");
        assert_eq!(root.rename_at("f", &*root, name), Err(errno), "rename_at to {name:?}");
        assert_eq!(root.link_at(name, &*root, "g"), Err(errno), "link_at {name:?}");
        assert_eq!(root.link_at("f", &*root, name), Err(errno), "link_at to {name:?}");
        assert_eq!(root.set_times_at(name, SetTime::Now, SetTime::Now), Err(errno), "set_times_at {name:?}");
    }
    assert_eq!(root.symlink_at("a\0b", "l"), Err(Errno::Inval));
    assert_eq!(host_names(&fx.mount), ["f"]);
    assert_eq!(host_names(&fx.outside), ["secret"]);
}

#[test]
fn stat_matches_the_host() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"hello").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::os::unix::fs::symlink("f", fx.mount.join("l")).expect("symlink");
    let root = rw_root(&fx);

    let st = root.stat_at("f").expect("stat f");
    assert_eq!(st.filetype, FileType::RegularFile);
    assert_eq!(st.size, 5);
    assert_stat_matches(&st, &fx.mount.join("f"));

    let st = root.stat_at("d").expect("stat d");
    assert_eq!(st.filetype, FileType::Directory);
    assert_stat_matches(&st, &fx.mount.join("d"));

    let st = root.stat_at("l").expect("stat l");
    assert_eq!(st.filetype, FileType::SymbolicLink);
    assert_eq!(st.size, 1);
    assert_stat_matches(&st, &fx.mount.join("l"));

    let st = root.stat().expect("stat root");
    assert_eq!(st.filetype, FileType::Directory);
    assert_stat_matches(&st, &fx.mount);

    let f = file(root.open_at("f", RO));
    let st = f.stat().expect("fstat");
    assert_eq!(st.filetype, FileType::RegularFile);
    assert_stat_matches(&st, &fx.mount.join("f"));

    let d = dir(root.open_at("d", DIRECTORY));
    assert_stat_matches(&d.stat().expect("fstat dir"), &fx.mount.join("d"));

    assert_eq!(root.stat_at("missing").err(), Some(Errno::Noent));
    assert_eq!(root.stat_at(&"n".repeat(300)).err(), Some(Errno::Nametoolong));
}

#[test]
fn special_file_types() {
    let fx = fixture();
    let root = rw_root(&fx);
    let host = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
    rfs::mknodat(&host, "fifo", rfs::FileType::Fifo, Mode::from_bits_truncate(0o644), 0).expect("mkfifo");
    let listener = std::os::unix::net::UnixListener::bind(fx.mount.join("sock")).expect("bind");
    assert_eq!(root.stat_at("fifo").expect("stat").filetype, FileType::Unknown);
    assert_eq!(root.stat_at("sock").expect("stat").filetype, FileType::SocketStream);
    let mut listed: Vec<(String, FileType)> = list(&*root).into_iter().map(|e| (e.name, e.filetype)).collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(listed, [("fifo".to_owned(), FileType::Unknown), ("sock".to_owned(), FileType::SocketStream)]);
    // A block device, if the host has one in /dev.
    use std::os::unix::fs::FileTypeExt;
    let block = std::fs::read_dir("/dev").ok().and_then(|entries| {
        entries.flatten().find(|e| e.file_type().is_ok_and(|t| t.is_block_device())).map(|e| e.file_name())
    });
    if let Some(name) = block.and_then(|n| n.into_string().ok()) {
        let dev = HostDir::open_read_only("/dev").expect("open /dev").root().expect("root");
        assert_eq!(dev.stat_at(&name).expect("stat").filetype, FileType::BlockDevice, "/dev/{name}");
    }

    // Opening a FIFO for reading does not wait for a writer, and leaves O_NONBLOCK clear.
    let f = file(root.open_at("fifo", RO));
    let host_file = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
    let flags = rfs::fcntl_getfl(&host_file.fd).expect("getfl");
    assert!(!flags.contains(OFlags::NONBLOCK), "{flags:?}");
    assert_eq!(f.stat().expect("fstat").filetype, FileType::Unknown);
    assert_eq!(f.read_at(&mut [0u8; 4], 0), Err(Errno::Spipe));
    // With a reader present, a writer opens and appends; pwrite is refused.
    let w = file(root.open_at("fifo", OpenOptions { write: true, ..RO }));
    assert_eq!(w.write_at(b"x", 0), Err(Errno::Spipe));
    assert_eq!(w.append(b"abc"), Ok((3, 0)));
    drop(w);
    drop(f);
    // Without a reader, opening for writing fails instead of blocking.
    assert_eq!(open_err(&*root, "fifo", OpenOptions { write: true, read: false, ..RO }), Errno::Nxio);
    // A socket cannot be opened.
    assert_eq!(open_err(&*root, "sock", RO), Errno::Nxio);
    drop(listener);
    // A character device reports its type (through a host directory holding /dev/null).
    let dev = HostDir::open_read_only("/dev").expect("open /dev").root().expect("root");
    assert_eq!(dev.stat_at("null").expect("stat null").filetype, FileType::CharacterDevice);
}

/// `O_NONBLOCK`, set so that opening a FIFO cannot block, is cleared again after the open of a
/// regular file unless the root's filesystem is one that ignores it (then the `fcntl` is saved).
#[test]
fn o_nonblock_is_cleared_unless_the_filesystem_ignores_it() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"x").expect("write");
    let mut fs = HostDir::open(&fx.mount).expect("open");
    #[allow(clippy::unnecessary_cast)] // `f_type`'s type differs between targets
    let f_type = rfs::fstatfs(std::fs::File::open(&fx.mount).expect("open")).expect("fstatfs").f_type as i64;
    assert_eq!(fs.inner.nonblock_inert(), super::sys::nonblock_inert(f_type), "f_type {f_type:#x}");
    for inert in [false, true] {
        Arc::get_mut(&mut fs.inner).expect("sole owner").nonblock_inert = inert.into();
        let f = file(fs.root().expect("root").open_at("f", RO));
        let flags = rfs::fcntl_getfl(&f.as_any().downcast_ref::<HostFile>().expect("HostFile").fd).expect("getfl");
        assert_eq!(flags.contains(OFlags::NONBLOCK), inert, "{flags:?}");
        let mut buf = [0u8; 2];
        assert_eq!(f.read_at(&mut buf, 0), Ok(1));
    }
    // Local disk and memory filesystems ignore it; FUSE, NFS and overlayfs are not assumed to.
    for (f_type, inert) in
        [(0x0102_1994, true), (0xEF53, true), (0x6573_5546, false), (0x6969, false), (0x794C_7630, false)]
    {
        assert_eq!(super::sys::nonblock_inert(f_type), inert, "{f_type:#x}");
    }
}

#[test]
fn open_at_creates_reads_writes_and_truncates() {
    let fx = fixture();
    let root = rw_root(&fx);
    assert_eq!(open_err(&*root, "f", RW), Errno::Noent);
    let f = file(root.open_at("f", CREATE));
    assert_eq!(f.write_at(b"hello", 0), Ok(5));
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"hello");
    let mode = std::fs::metadata(fx.mount.join("f")).expect("meta").mode() & 0o777;
    assert_eq!(mode & !0o666, 0, "mode {mode:o}");

    // create without exclusive opens the existing file unchanged.
    let g = file(root.open_at("f", CREATE));
    let mut buf = [0u8; 8];
    assert_eq!(g.read_at(&mut buf, 0), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(open_err(&*root, "f", OpenOptions { exclusive: true, ..CREATE }), Errno::Exist);

    // truncate empties it.
    let t = file(root.open_at("f", OpenOptions { truncate: true, ..RW }));
    assert_eq!(t.stat().expect("stat").size, 0);
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"");

    // Access modes are honoured.
    let r = file(root.open_at("f", RO));
    assert_eq!(r.write_at(b"x", 0), Err(Errno::Badf));
    let w = file(root.open_at("f", OpenOptions { read: false, write: true, ..RO }));
    assert_eq!(w.read_at(&mut buf, 0), Err(Errno::Badf));
    let flags = rfs::fcntl_getfl(&w.as_any().downcast_ref::<HostFile>().expect("HostFile").fd).expect("getfl");
    assert!(!flags.contains(OFlags::APPEND), "{flags:?}");

    // Exclusive creation of a new file.
    let e = file(root.open_at("new", OpenOptions { exclusive: true, ..CREATE }));
    assert_eq!(e.stat().expect("stat").size, 0);
    assert!(fx.mount.join("new").is_file());
    assert_eq!(host_names(&fx.outside), ["secret"]);
}

#[test]
fn open_at_directories() {
    let fx = fixture();
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::fs::write(fx.mount.join("d/inner"), b"in").expect("write");
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    let root = rw_root(&fx);
    // Opened with or without `directory`, a directory is a Node::Dir.
    let d = dir(root.open_at("d", DIRECTORY));
    assert_eq!(names(&*d), ["inner"]);
    let d2 = dir(root.open_at("d", RO));
    assert_eq!(d2.stat_at("inner").expect("stat").size, 2);
    assert_eq!(open_err(&*root, "d", RW), Errno::Isdir);
    assert_eq!(open_err(&*root, "d", OpenOptions { truncate: true, ..RO }), Errno::Isdir);
    assert_eq!(open_err(&*root, "d", CREATE), Errno::Isdir);
    assert_eq!(open_err(&*root, "d", OpenOptions { read: true, write: false, ..CREATE }), Errno::Isdir);
    assert_eq!(open_err(&*root, "f", DIRECTORY), Errno::Notdir);
    assert_eq!(open_err(&*root, "missing", DIRECTORY), Errno::Noent);
    // Operations through a subdirectory handle act inside it.
    d.mkdir_at("sub").expect("mkdir");
    assert!(fx.mount.join("d/sub").is_dir());
}

#[test]
fn open_at_permission_denied() {
    let fx = fixture();
    if !permissions_apply(&fx) {
        eprintln!("skipped: running with permission override");
        return;
    }
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    std::fs::set_permissions(fx.mount.join("f"), std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let root = rw_root(&fx);
    assert_eq!(open_err(&*root, "f", RO), Errno::Acces);
}

#[test]
fn symlinks_are_never_followed() {
    let fx = fixture();
    let secret = fx.outside.join("secret");
    std::os::unix::fs::symlink(&secret, fx.mount.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../outside/secret", fx.mount.join("rel")).expect("symlink");
    std::os::unix::fs::symlink("../../../../../../../../etc", fx.mount.join("up")).expect("symlink");
    std::os::unix::fs::symlink(&fx.outside, fx.mount.join("absdir")).expect("symlink");
    std::os::unix::fs::symlink("../outside/missing", fx.mount.join("dangling")).expect("symlink");
    let before = std::fs::metadata(&secret).expect("meta");
    let root = rw_root(&fx);

    for name in ["abs", "rel", "up", "absdir", "dangling"] {
        assert_eq!(open_err(&*root, name, RO), Errno::Loop, "{name}");
        assert_eq!(open_err(&*root, name, RW), Errno::Loop, "{name}");
        assert_eq!(open_err(&*root, name, DIRECTORY), Errno::Loop, "{name}");
        assert_eq!(open_err(&*root, name, CREATE), Errno::Loop, "{name}");
        assert_eq!(open_err(&*root, name, OpenOptions { truncate: true, ..RW }), Errno::Loop, "{name}");
        assert_eq!(open_err(&*root, name, OpenOptions { exclusive: true, ..CREATE }), Errno::Exist, "{name}");
        let st = root.stat_at(name).expect("stat");
        assert_eq!(st.filetype, FileType::SymbolicLink, "{name}");
        assert_stat_matches(&st, &fx.mount.join(name));
        assert_eq!(root.mkdir_at(name), Err(Errno::Exist), "{name}");
        assert_eq!(root.rmdir_at(name), Err(Errno::Notdir), "{name}");
    }
    assert_eq!(root.readlink_at("rel").expect("readlink"), "../outside/secret");
    assert_eq!(root.readlink_at("abs").expect("readlink"), secret.to_str().expect("utf8"));

    // set_times_at changes the link itself.
    root.set_times_at("abs", SetTime::At(1_000_000_123), SetTime::At(2_000_000_456)).expect("utimes");
    let link = std::fs::symlink_metadata(fx.mount.join("abs")).expect("meta");
    assert_eq!(mtime_ns(&link), 2_000_000_456);
    assert_eq!(atime_ns(&link), 1_000_000_123);
    // link_at links the link itself.
    root.link_at("rel", &*root, "rel2").expect("link");
    assert_eq!(root.readlink_at("rel2").expect("readlink"), "../outside/secret");
    assert_eq!(root.stat_at("rel2").expect("stat").nlink, 2);
    // unlink_at removes the link only; rename_at moves the link only.
    root.unlink_at("rel2").expect("unlink");
    root.rename_at("abs", &*root, "abs2").expect("rename");
    assert_eq!(root.stat_at("abs2").expect("stat").filetype, FileType::SymbolicLink);

    let after = std::fs::metadata(&secret).expect("meta");
    assert_eq!(after.nlink(), 1);
    assert_eq!(mtime_ns(&after), mtime_ns(&before));
    assert_eq!(atime_ns(&after), atime_ns(&before));
    assert_eq!(std::fs::read(&secret).expect("read"), b"secret");
    assert_eq!(host_names(&fx.outside), ["secret"]);
}

#[test]
fn directory_swapped_for_a_symlink_is_not_followed() {
    let fx = fixture();
    std::fs::create_dir(fx.mount.join("sub")).expect("mkdir");
    let root = rw_root(&fx);
    let sub = dir(root.open_at("sub", DIRECTORY));
    // The host swaps the directory for a link pointing outside.
    std::fs::rename(fx.mount.join("sub"), fx.mount.join("old")).expect("rename");
    std::os::unix::fs::symlink(&fx.outside, fx.mount.join("sub")).expect("symlink");
    assert_eq!(open_err(&*root, "sub", DIRECTORY), Errno::Loop);
    assert_eq!(open_err(&*root, "sub", RO), Errno::Loop);
    assert_eq!(root.stat_at("sub").expect("stat").filetype, FileType::SymbolicLink);
    // Relative swap too.
    std::fs::remove_file(fx.mount.join("sub")).expect("rm");
    std::os::unix::fs::symlink("../outside", fx.mount.join("sub")).expect("symlink");
    assert_eq!(open_err(&*root, "sub", DIRECTORY), Errno::Loop);
    // The handle opened before the swap still refers to the moved directory (inside).
    sub.mkdir_at("made").expect("mkdir");
    assert!(fx.mount.join("old/made").is_dir());
    assert_eq!(host_names(&fx.outside), ["secret"]);
}

/// While the host swaps a name between a symbolic link and a directory, opening it as a
/// directory gives the directory or `ELOOP` (the link), never `ENOTDIR`: a link seen by the open
/// but a directory by the look that follows is opened again.
#[test]
fn a_name_flipping_between_link_and_directory_is_a_directory_or_a_link() {
    use std::sync::atomic::AtomicBool;
    let fx = fixture();
    std::fs::create_dir(fx.mount.join("name")).expect("mkdir");
    std::os::unix::fs::symlink("name", fx.mount.join("other")).expect("symlink");
    let root = rw_root(&fx);
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, mount) = (Arc::clone(&stop), fx.mount.clone());
        std::thread::spawn(move || {
            let host = rfs::open(&mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
            while !stop.load(Ordering::Relaxed) {
                rfs::renameat_with(&host, "name", &host, "other", rfs::RenameFlags::EXCHANGE).expect("exchange");
            }
        })
    };
    let (mut dirs, mut links) = (0, 0);
    for _ in 0..20_000 {
        match root.open_at("name", DIRECTORY) {
            Ok(Node::Dir(_)) => dirs += 1,
            Err(Errno::Loop) => links += 1,
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().expect("flipper");
    assert!(dirs > 0 && links > 0, "{dirs} directories, {links} links");
}

#[test]
fn mkdir_rmdir_unlink() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    std::fs::create_dir(fx.mount.join("full")).expect("mkdir");
    std::fs::write(fx.mount.join("full/x"), b"").expect("write");
    std::os::unix::fs::symlink("full", fx.mount.join("ldir")).expect("symlink");
    let root = rw_root(&fx);

    root.mkdir_at("d").expect("mkdir");
    assert!(fx.mount.join("d").is_dir());
    assert_eq!(root.mkdir_at("d"), Err(Errno::Exist));
    assert_eq!(root.mkdir_at("f"), Err(Errno::Exist));
    assert_eq!(root.mkdir_at("ldir"), Err(Errno::Exist));

    assert_eq!(root.rmdir_at("missing"), Err(Errno::Noent));
    assert_eq!(root.rmdir_at("f"), Err(Errno::Notdir));
    assert_eq!(root.rmdir_at("ldir"), Err(Errno::Notdir));
    assert_eq!(root.rmdir_at("full"), Err(Errno::Notempty));
    root.rmdir_at("d").expect("rmdir");
    assert!(!fx.mount.join("d").exists());

    assert_eq!(root.unlink_at("full"), Err(Errno::Isdir));
    assert_eq!(root.unlink_at("missing"), Err(Errno::Noent));
    root.unlink_at("ldir").expect("unlink link");
    assert!(fx.mount.join("full/x").exists());
    root.unlink_at("f").expect("unlink");
    assert_eq!(host_names(&fx.mount), ["full"]);
}

#[test]
fn symlink_and_readlink() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    let root = rw_root(&fx);
    root.symlink_at("../../somewhere/else", "l").expect("symlink");
    assert_eq!(std::fs::read_link(fx.mount.join("l")).expect("readlink"), Path::new("../../somewhere/else"));
    assert_eq!(root.readlink_at("l").expect("readlink"), "../../somewhere/else");
    assert_eq!(root.symlink_at("x", "l"), Err(Errno::Exist));
    assert_eq!(root.symlink_at("x", "f"), Err(Errno::Exist));
    assert_eq!(root.readlink_at("f").err(), Some(Errno::Inval));
    assert_eq!(root.readlink_at("missing").err(), Some(Errno::Noent));
    assert_eq!(host_names(&fx.outside), ["secret"]);
}

#[test]
fn rename() {
    let fx = fixture();
    std::fs::write(fx.mount.join("a"), b"A").expect("write");
    std::fs::write(fx.mount.join("b"), b"B").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::fs::create_dir(fx.mount.join("e")).expect("mkdir");
    std::fs::create_dir(fx.mount.join("full")).expect("mkdir");
    std::fs::write(fx.mount.join("full/x"), b"").expect("write");
    let root = rw_root(&fx);
    let d = dir(root.open_at("d", DIRECTORY));

    root.rename_at("a", &*root, "a2").expect("rename");
    assert_eq!(std::fs::read(fx.mount.join("a2")).expect("read"), b"A");
    root.rename_at("a2", &*root, "b").expect("replace");
    assert_eq!(std::fs::read(fx.mount.join("b")).expect("read"), b"A");
    root.rename_at("b", &*d, "moved").expect("across");
    assert_eq!(std::fs::read(fx.mount.join("d/moved")).expect("read"), b"A");
    d.rename_at("moved", &*root, "back").expect("back");
    assert!(fx.mount.join("back").is_file());

    assert_eq!(root.rename_at("missing", &*root, "x"), Err(Errno::Noent));
    assert_eq!(root.rename_at("e", &*root, "back"), Err(Errno::Notdir));
    assert_eq!(root.rename_at("back", &*root, "e"), Err(Errno::Isdir));
    assert_eq!(root.rename_at("e", &*root, "full"), Err(Errno::Notempty));
    assert_eq!(root.rename_at("d", &*d, "inside"), Err(Errno::Inval));
    root.rename_at("e", &*root, "d").expect("dir onto empty dir");
    assert!(!fx.mount.join("e").exists());

    // Another instance or another backend: Xdev, nothing changes.
    let other = HostDir::open(&fx.mount).expect("open").root().expect("root");
    assert_eq!(root.rename_at("back", &*other, "x"), Err(Errno::Xdev));
    assert_eq!(root.rename_at("back", &Foreign, "x"), Err(Errno::Xdev));
    // A clone of the same instance is the same filesystem.
    let fs = HostDir::open(&fx.mount).expect("open");
    let (r1, r2) = (fs.root().expect("root"), fs.clone().root().expect("root"));
    r1.rename_at("back", &*r2, "again").expect("same instance");
    assert_eq!(host_names(&fx.mount), ["again", "d", "full"]);
}

#[test]
fn hard_links() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"F").expect("write");
    std::fs::write(fx.mount.join("g"), b"G").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    let root = rw_root(&fx);
    let d = dir(root.open_at("d", DIRECTORY));
    root.link_at("f", &*d, "f2").expect("link");
    assert_eq!(root.stat_at("f").expect("stat").nlink, 2);
    assert_eq!(d.stat_at("f2").expect("stat").ino, root.stat_at("f").expect("stat").ino);
    assert_eq!(std::fs::read(fx.mount.join("d/f2")).expect("read"), b"F");
    assert_eq!(root.link_at("f", &*root, "g"), Err(Errno::Exist));
    assert_eq!(root.link_at("missing", &*root, "x"), Err(Errno::Noent));
    assert_eq!(root.link_at("d", &*root, "d2"), Err(Errno::Perm));
    let other = HostDir::open(&fx.mount).expect("open").root().expect("root");
    assert_eq!(root.link_at("f", &*other, "x"), Err(Errno::Xdev));
    assert_eq!(root.link_at("f", &Foreign, "x"), Err(Errno::Xdev));
    assert_eq!(host_names(&fx.mount), ["d", "f", "g"]);
}

#[test]
fn set_times() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    let root = rw_root(&fx);
    root.set_times_at("f", SetTime::At(5_000_000_001), SetTime::At(7_000_000_002)).expect("utimes");
    let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
    assert_eq!((atime_ns(&m), mtime_ns(&m)), (5_000_000_001, 7_000_000_002));
    root.set_times_at("f", SetTime::Omit, SetTime::At(9_000_000_003)).expect("utimes");
    let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
    assert_eq!((atime_ns(&m), mtime_ns(&m)), (5_000_000_001, 9_000_000_003));
    root.set_times_at("f", SetTime::Now, SetTime::Omit).expect("utimes");
    let m = std::fs::metadata(fx.mount.join("f")).expect("meta");
    assert!(atime_ns(&m) > 1_600_000_000_000_000_000);
    assert_eq!(mtime_ns(&m), 9_000_000_003);
    assert_eq!(root.set_times_at("missing", SetTime::Now, SetTime::Now), Err(Errno::Noent));

    let d = dir(root.open_at("d", DIRECTORY));
    d.set_times(SetTime::At(11), SetTime::At(12)).expect("futimens dir");
    let m = std::fs::metadata(fx.mount.join("d")).expect("meta");
    assert_eq!((atime_ns(&m), mtime_ns(&m)), (11, 12));
    assert_eq!(d.stat().expect("stat").mtim, 12);

    let f = file(root.open_at("f", RW));
    f.set_times(SetTime::At(21), SetTime::At(22)).expect("futimens");
    let st = f.stat().expect("stat");
    assert_eq!((st.atim, st.mtim), (21, 22));
    f.set_times(SetTime::Omit, SetTime::Now).expect("futimens");
    assert!(f.stat().expect("stat").mtim > 1_600_000_000_000_000_000);
    assert_eq!(f.stat().expect("stat").atim, 21);
}

#[test]
fn read_only_refuses_every_change() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"data").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::fs::write(fx.mount.join("d/x"), b"").expect("write");
    std::fs::create_dir(fx.mount.join("empty")).expect("mkdir");
    std::os::unix::fs::symlink("f", fx.mount.join("l")).expect("symlink");
    let snapshot = |fx: &Fixture| {
        let mut v: Vec<(String, u64, u64, u64)> = Vec::new();
        for sub in ["", "d", "empty"] {
            for name in host_names(&fx.mount.join(sub)) {
                let m = std::fs::symlink_metadata(fx.mount.join(sub).join(&name)).expect("meta");
                v.push((format!("{sub}/{name}"), m.size(), mtime_ns(&m), m.nlink()));
            }
        }
        (v, std::fs::read(fx.mount.join("f")).expect("read"))
    };
    let before = snapshot(&fx);

    let fs = HostDir::open_read_only(&fx.mount).expect("open");
    assert!(fs.is_read_only());
    assert!(FileSystem::is_read_only(&fs));
    let root = fs.root().expect("root");
    let d = dir(root.open_at("d", DIRECTORY));

    for options in [
        RW,
        CREATE,
        OpenOptions { exclusive: true, ..CREATE },
        OpenOptions { truncate: true, ..RO },
        OpenOptions { read: false, write: true, ..RO },
    ] {
        assert_eq!(open_err(&*root, "f", options), Errno::Rofs, "{options:?}");
        assert_eq!(open_err(&*root, "new", options), Errno::Rofs, "{options:?}");
    }
    assert_eq!(root.mkdir_at("new"), Err(Errno::Rofs));
    assert_eq!(root.rmdir_at("empty"), Err(Errno::Rofs));
    assert_eq!(root.unlink_at("f"), Err(Errno::Rofs));
    assert_eq!(root.symlink_at("f", "l2"), Err(Errno::Rofs));
    assert_eq!(root.rename_at("f", &*root, "g"), Err(Errno::Rofs));
    assert_eq!(root.rename_at("f", &*d, "g"), Err(Errno::Rofs));
    assert_eq!(root.link_at("f", &*root, "g"), Err(Errno::Rofs));
    assert_eq!(root.set_times_at("f", SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(root.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(d.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(d.unlink_at("x"), Err(Errno::Rofs));

    let f = file(root.open_at("f", RO));
    let host = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
    assert_eq!(rfs::fcntl_getfl(&host.fd).expect("getfl") & OFlags::RWMODE, OFlags::RDONLY);
    assert_eq!(f.write_at(b"x", 0), Err(Errno::Rofs));
    assert_eq!(f.append(b"x"), Err(Errno::Rofs));
    assert_eq!(f.set_size(0), Err(Errno::Rofs));
    assert_eq!(f.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(f.allocate(0, 100), Err(Errno::Rofs));

    // Reading still works.
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(&mut buf, 0), Ok(4));
    assert_eq!(&buf[..4], b"data");
    f.advise(0, 4, Advice::Sequential).expect("advise");
    f.sync().expect("sync");
    assert_eq!(names(&*root), ["d", "empty", "f", "l"]);
    assert_eq!(root.readlink_at("l").expect("readlink"), "f");
    assert_eq!(root.stat_at("f").expect("stat").size, 4);

    assert_eq!(snapshot(&fx), before);
}
