//! The unit tests of [`super`]: the existing behaviour here, the limits (sparse storage, quota,
//! inodes, clock re-entrancy, vectored writes) in `limits`.

mod limits;
mod snapshot;

use super::*;
use crate::test_support::{dir, file, list, names};
use crate::{Advice, DirEntry, File, FileType};
use std::any::Any;
use std::collections::BTreeSet;

const READ: OpenOptions =
    OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };
const RW: OpenOptions = OpenOptions { write: true, ..READ };
const CREATE: OpenOptions = OpenOptions { create: true, ..RW };
const EXCL: OpenOptions = OpenOptions { exclusive: true, ..CREATE };
const DIR: OpenOptions = OpenOptions { directory: true, ..READ };

struct TestClock(AtomicU64);

impl TestClock {
    fn set(&self, t: u64) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl WallClock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn new_file(d: &dyn Dir, name: &str, contents: &[u8]) -> Arc<dyn File> {
    let f = file(d.open_at(name, EXCL).unwrap());
    assert_eq!(f.write_at(contents, 0), Ok(contents.len()));
    f
}

fn open_dir(d: &dyn Dir, name: &str) -> Arc<dyn Dir> {
    dir(d.open_at(name, DIR).unwrap())
}

fn read_all(f: &dyn File) -> Vec<u8> {
    let size = usize::try_from(f.stat().unwrap().size).unwrap();
    let mut buf = vec![0xAA; size + 8];
    let n = f.read_at(&mut buf, 0).unwrap();
    assert_eq!(n, size);
    buf.truncate(n);
    buf
}

fn open_err(d: &dyn Dir, name: &str, o: OpenOptions) -> Errno {
    d.open_at(name, o).map(|_| ()).unwrap_err()
}

fn assert_send_sync<T: Send + Sync>() {}

/// A directory of another backend, for `Xdev`.
struct Foreign;

impl Dir for Foreign {
    fn stat(&self) -> Result<Stat> {
        Err(Errno::Notsup)
    }
    fn stat_at(&self, _: &str) -> Result<Stat> {
        Err(Errno::Notsup)
    }
    fn open_at(&self, _: &str, _: OpenOptions) -> Result<Node> {
        Err(Errno::Notsup)
    }
    fn read_dir(&self, _: u64, _: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn mkdir_at(&self, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn rmdir_at(&self, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn unlink_at(&self, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn symlink_at(&self, _: &str, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn readlink_at(&self, _: &str) -> Result<String> {
        Err(Errno::Notsup)
    }
    fn rename_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn link_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
        Err(Errno::Notsup)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[test]
fn types_are_send_sync() {
    assert_send_sync::<MemFs>();
    assert_send_sync::<MemFsBuilder>();
    assert_send_sync::<MemDir>();
    assert_send_sync::<MemFile>();
}

#[test]
fn create_write_read_and_stat() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = new_file(&*root, "hello", b"hello world");
    let mut buf = [0u8; 5];
    assert_eq!(f.read_at(&mut buf, 6), Ok(5));
    assert_eq!(&buf, b"world");
    assert_eq!(f.read_at(&mut buf, 11), Ok(0));
    assert_eq!(f.read_at(&mut buf, u64::MAX), Ok(0));
    assert_eq!(f.read_at(&mut buf, 9), Ok(2));
    assert_eq!(&buf[..2], b"ld");
    let st = f.stat().unwrap();
    assert_eq!(st.dev, fs.dev());
    assert_eq!(st.ino, 2);
    assert_eq!(st.filetype, FileType::RegularFile);
    assert_eq!(st.nlink, 1);
    assert_eq!(st.size, 11);
    assert_eq!(root.stat_at("hello").unwrap(), st);
    let rs = root.stat().unwrap();
    assert_eq!((rs.ino, rs.filetype, rs.nlink, rs.dev), (1, FileType::Directory, 2, fs.dev()));
    assert_eq!(f.write_at(b"", 100), Ok(0));
    assert_eq!(f.stat().unwrap().size, 11);
    assert_eq!(f.append(b"!"), Ok((1, 12)));
    assert_eq!(read_all(&*f), b"hello world!");
    assert_eq!(f.advise(0, u64::MAX, Advice::Sequential), Ok(()));
    assert_eq!(f.sync(), Ok(()));
    assert_eq!(f.datasync(), Ok(()));
    assert_eq!(root.sync(), Ok(()));
    assert!(!fs.is_read_only());
    assert_eq!(fs.used_bytes(), 12 + 5, "the data and the name");
}

#[test]
fn open_at_flags_and_errors() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    new_file(&*root, "f", b"data");
    root.mkdir_at("d").unwrap();
    root.symlink_at("f", "lnk").unwrap();
    root.symlink_at("nowhere", "dangling").unwrap();

    assert_eq!(open_err(&*root, "missing", READ), Errno::Noent);
    assert_eq!(open_err(&*root, "missing", DIR), Errno::Noent);
    assert_eq!(open_err(&*root, "f", EXCL), Errno::Exist);
    assert_eq!(open_err(&*root, "d", EXCL), Errno::Exist);
    assert_eq!(open_err(&*root, "lnk", EXCL), Errno::Exist);
    assert_eq!(open_err(&*root, "dangling", EXCL), Errno::Exist);
    assert_eq!(open_err(&*root, "lnk", READ), Errno::Loop);
    assert_eq!(open_err(&*root, "lnk", DIR), Errno::Loop);
    assert_eq!(open_err(&*root, "lnk", CREATE), Errno::Loop);
    assert_eq!(open_err(&*root, "dangling", CREATE), Errno::Loop);
    assert_eq!(open_err(&*root, "f", DIR), Errno::Notdir);
    // O_CREAT | O_DIRECTORY: EINVAL before the name is looked at (Linux 6.4 and later).
    for name in ["f", "new", "d", "lnk"] {
        assert_eq!(open_err(&*root, name, OpenOptions { create: true, ..DIR }), Errno::Inval, "{name}");
    }
    assert_eq!(open_err(&*root, "d", RW), Errno::Isdir);
    assert_eq!(open_err(&*root, "d", OpenOptions { truncate: true, ..READ }), Errno::Isdir);
    assert_eq!(open_err(&*root, "d", OpenOptions { create: true, ..READ }), Errno::Isdir);
    assert_eq!(open_err(&*root, &"x".repeat(256), READ), Errno::Nametoolong);
    assert_eq!(open_err(&*root, &"x".repeat(256), CREATE), Errno::Nametoolong);
    assert_eq!(open_err(&*root, "a/b", READ), Errno::Inval);
    assert_eq!(open_err(&*root, "..", READ), Errno::Inval);
    assert_eq!(open_err(&*root, "", READ), Errno::Noent);
    assert!(!fs.exists("new"));

    // A 255-byte name is fine.
    let long = "y".repeat(255);
    new_file(&*root, &long, b"");
    assert_eq!(root.stat_at(&long).unwrap().size, 0);

    // Directories open as Node::Dir, plain and with `directory`.
    assert!(matches!(root.open_at("d", READ).unwrap(), Node::Dir(_)));
    assert!(matches!(root.open_at("d", DIR).unwrap(), Node::Dir(_)));

    // create without exclusive opens the existing file; truncate empties it.
    let f = file(root.open_at("f", CREATE).unwrap());
    assert_eq!(read_all(&*f), b"data");
    let g = file(root.open_at("f", OpenOptions { truncate: true, ..RW }).unwrap());
    assert_eq!(g.stat().unwrap().size, 0);
    assert_eq!(f.stat().unwrap().size, 0);
    assert_eq!(fs.used_bytes(), 8 + 1 + 1 + 3 + 8 + 255, "the two link targets and the names");
}

#[test]
fn entry_operation_errors() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    new_file(&*root, "f", b"x");
    root.mkdir_at("d").unwrap();
    root.symlink_at("d", "to_d").unwrap();
    root.symlink_at("gone", "dangling").unwrap();
    new_file(&*open_dir(&*root, "d"), "inner", b"");
    let long = "n".repeat(256);

    assert_eq!(root.stat_at("missing"), Err(Errno::Noent));
    assert_eq!(root.stat_at(&long), Err(Errno::Nametoolong));
    let ls = root.stat_at("to_d").unwrap();
    assert_eq!((ls.filetype, ls.size, ls.nlink), (FileType::SymbolicLink, 1, 1));

    for name in ["f", "d", "to_d", "dangling"] {
        assert_eq!(root.mkdir_at(name), Err(Errno::Exist), "{name}");
        assert_eq!(root.symlink_at("t", name), Err(Errno::Exist), "{name}");
    }
    assert_eq!(root.mkdir_at(&long), Err(Errno::Nametoolong));
    assert_eq!(root.symlink_at("t", &long), Err(Errno::Nametoolong));
    assert_eq!(root.symlink_at("", "empty"), Err(Errno::Noent));
    assert_eq!(root.symlink_at(&"t".repeat(SYMLINK_MAX + 1), "big"), Err(Errno::Nametoolong));

    assert_eq!(root.rmdir_at("missing"), Err(Errno::Noent));
    assert_eq!(root.rmdir_at("f"), Err(Errno::Notdir));
    assert_eq!(root.rmdir_at("to_d"), Err(Errno::Notdir));
    assert_eq!(root.rmdir_at("d"), Err(Errno::Notempty));
    assert_eq!(root.rmdir_at(&long), Err(Errno::Nametoolong));

    assert_eq!(root.unlink_at("missing"), Err(Errno::Noent));
    assert_eq!(root.unlink_at("d"), Err(Errno::Isdir));
    assert_eq!(root.unlink_at(&long), Err(Errno::Nametoolong));

    assert_eq!(root.readlink_at("to_d").as_deref(), Ok("d"));
    assert_eq!(root.readlink_at("dangling").as_deref(), Ok("gone"));
    assert_eq!(root.readlink_at("missing"), Err(Errno::Noent));
    assert_eq!(root.readlink_at("f"), Err(Errno::Inval));
    assert_eq!(root.readlink_at("d"), Err(Errno::Inval));

    assert_eq!(root.set_times_at("missing", SetTime::Now, SetTime::Now), Err(Errno::Noent));

    // Unlinking a link removes the link, not its target.
    root.unlink_at("to_d").unwrap();
    assert_eq!(root.stat_at("d").unwrap().filetype, FileType::Directory);
    root.unlink_at("dangling").unwrap();
    open_dir(&*root, "d").unlink_at("inner").unwrap();
    root.rmdir_at("d").unwrap();
    root.unlink_at("f").unwrap();
    assert!(list(&*root).is_empty());
    assert_eq!(root.stat().unwrap().nlink, 2);
}

#[test]
fn nlink_counts_with_dirs_and_hard_links() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    root.mkdir_at("a").unwrap();
    root.mkdir_at("b").unwrap();
    assert_eq!(root.stat().unwrap().nlink, 4);
    let a = open_dir(&*root, "a");
    a.mkdir_at("sub").unwrap();
    assert_eq!(a.stat().unwrap().nlink, 3);
    assert_eq!(root.stat_at("a").unwrap().nlink, 3);
    new_file(&*a, "file", b"");
    assert_eq!(a.stat().unwrap().nlink, 3);

    let f = file(a.open_at("file", READ).unwrap());
    let b = open_dir(&*root, "b");
    a.link_at("file", &*b, "one").unwrap();
    a.link_at("file", &*a, "two").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 3);
    assert_eq!(b.stat_at("one").unwrap().ino, f.stat().unwrap().ino);
    assert_eq!(b.stat().unwrap().nlink, 2);

    assert_eq!(a.link_at("sub", &*b, "x"), Err(Errno::Perm));
    assert_eq!(a.link_at("file", &*b, "one"), Err(Errno::Exist));
    assert_eq!(a.link_at("missing", &*b, "y"), Err(Errno::Noent));
    assert_eq!(a.link_at("file", &*b, &"z".repeat(256)), Err(Errno::Nametoolong));
    assert_eq!(a.link_at("file", &Foreign, "y"), Err(Errno::Xdev));
    let other = MemFs::new();
    assert_eq!(a.link_at("file", &*other.root().unwrap(), "y"), Err(Errno::Xdev));

    // A hard link to a symbolic link links the link.
    a.symlink_at("file", "sl").unwrap();
    a.link_at("sl", &*b, "sl2").unwrap();
    assert_eq!(b.readlink_at("sl2").as_deref(), Ok("file"));
    assert_eq!(a.stat_at("sl").unwrap().nlink, 2);
    assert_eq!(b.stat_at("sl2").unwrap().filetype, FileType::SymbolicLink);
    // Renaming one name of a link onto another name of the same link does nothing (rename(2)
    // on two links to one inode), in one directory and across two.
    a.link_at("sl", &*a, "sl3").unwrap();
    a.rename_at("sl", &*a, "sl3").unwrap();
    a.rename_at("sl3", &*b, "sl2").unwrap();
    assert_eq!(a.stat_at("sl").unwrap().nlink, 3);
    assert_eq!(a.stat_at("sl3").unwrap().nlink, 3);
    a.unlink_at("sl3").unwrap();

    a.unlink_at("file").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 2);
    b.unlink_at("one").unwrap();
    a.unlink_at("two").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 0);

    a.rmdir_at("sub").unwrap();
    assert_eq!(a.stat().unwrap().nlink, 2);
    // Moving a directory moves its contribution to the parent's count.
    root.rename_at("b", &*a, "b").unwrap();
    assert_eq!(root.stat().unwrap().nlink, 3);
    assert_eq!(a.stat().unwrap().nlink, 3);
}

#[test]
fn unlinked_open_file_stays_usable() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = new_file(&*root, "tmp", b"abc");
    let ino = f.stat().unwrap().ino;
    root.unlink_at("tmp").unwrap();
    assert_eq!(root.stat_at("tmp"), Err(Errno::Noent));
    assert_eq!(f.stat().unwrap().nlink, 0);
    assert_eq!(f.write_at(b"def", 3), Ok(3));
    assert_eq!(read_all(&*f), b"abcdef");
    assert_eq!(fs.used_bytes(), 6);
    // Linking a file with no name left is refused.
    // (Its inode number is never reused.)
    let g = new_file(&*root, "tmp", b"");
    assert!(g.stat().unwrap().ino > ino);
    drop(f);
    assert_eq!(fs.used_bytes(), 3, "the new name");
}

#[test]
fn removed_directory_handle() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    root.mkdir_at("d").unwrap();
    let d = open_dir(&*root, "d");
    root.rmdir_at("d").unwrap();
    assert_eq!(d.stat().unwrap().nlink, 0);
    assert_eq!(d.stat_at("x"), Err(Errno::Noent));
    assert_eq!(open_err(&*d, "x", READ), Errno::Noent);
    assert_eq!(open_err(&*d, "x", CREATE), Errno::Noent);
    assert_eq!(d.mkdir_at("x"), Err(Errno::Noent));
    assert_eq!(d.symlink_at("t", "x"), Err(Errno::Noent));
    assert_eq!(d.rmdir_at("x"), Err(Errno::Noent));
    assert_eq!(d.unlink_at("x"), Err(Errno::Noent));
    assert_eq!(d.readlink_at("x"), Err(Errno::Noent));
    assert!(list(&*d).is_empty());
    new_file(&*root, "f", b"");
    assert_eq!(root.link_at("f", &*d, "x"), Err(Errno::Noent));
    assert_eq!(root.rename_at("f", &*d, "x"), Err(Errno::Noent));
    assert_eq!(d.set_times(SetTime::At(5), SetTime::At(6)), Ok(()));
    assert_eq!(d.stat().unwrap().mtim, 6);
    assert_eq!(root.stat().unwrap().nlink, 2);
}

#[test]
fn directory_handle_survives_rename() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    root.mkdir_at("a").unwrap();
    root.mkdir_at("p").unwrap();
    let a = open_dir(&*root, "a");
    root.rename_at("a", &*open_dir(&*root, "p"), "b").unwrap();
    new_file(&*a, "x", b"moved");
    assert_eq!(fs.read_file("p/b/x").unwrap(), b"moved");
    assert!(!fs.exists("a"));
}

#[test]
fn rename_edge_cases() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for d in ["a", "a/b", "a/b/c", "empty", "full", "full/x"] {
        fs.create_dir_all(d).unwrap();
    }
    fs.write_file("f", "file f").unwrap();
    fs.write_file("g", "file g").unwrap();
    fs.write_file("a/b/file", "deep").unwrap();
    let a = open_dir(&*root, "a");
    let b = open_dir(&*a, "b");
    let c = open_dir(&*b, "c");

    // Into itself or its own subdirectory.
    assert_eq!(root.rename_at("a", &*a, "a2"), Err(Errno::Inval));
    assert_eq!(root.rename_at("a", &*c, "a2"), Err(Errno::Inval));
    assert_eq!(a.rename_at("b", &*c, "b2"), Err(Errno::Inval));
    // Onto a directory that holds the source.
    fs.create_dir_all("a/b/c/d").unwrap();
    assert_eq!(c.rename_at("d", &*root, "a"), Err(Errno::Notempty));
    assert_eq!(c.rename_at("d", &*a, "b"), Err(Errno::Notempty));
    assert_eq!(b.rename_at("file", &*root, "a"), Err(Errno::Notempty));
    // Type mismatches and non-empty targets.
    assert_eq!(root.rename_at("a", &*root, "full"), Err(Errno::Notempty));
    assert_eq!(root.rename_at("empty", &*root, "f"), Err(Errno::Notdir));
    assert_eq!(root.rename_at("f", &*root, "empty"), Err(Errno::Isdir));
    assert_eq!(root.rename_at("empty", &*b, "file"), Err(Errno::Notdir));
    assert_eq!(b.rename_at("file", &*root, "empty"), Err(Errno::Isdir));
    assert_eq!(root.rename_at("missing", &*root, "x"), Err(Errno::Noent));
    assert_eq!(root.rename_at("missing", &*a, "x"), Err(Errno::Noent));
    assert_eq!(root.rename_at("f", &*root, &"n".repeat(256)), Err(Errno::Nametoolong));
    // Another backend or another instance.
    assert_eq!(root.rename_at("f", &Foreign, "x"), Err(Errno::Xdev));
    let other = MemFs::new();
    assert_eq!(root.rename_at("f", &*other.root().unwrap(), "x"), Err(Errno::Xdev));
    // Nothing above changed anything.
    assert_eq!(names(&*root), ["a", "empty", "f", "full", "g"]);
    assert_eq!(names(&*b), ["c", "file"]);

    // Onto itself: same name, or another name of the same inode.
    root.rename_at("f", &*root, "f").unwrap();
    root.link_at("f", &*a, "f_link").unwrap();
    root.rename_at("f", &*a, "f_link").unwrap();
    a.rename_at("f_link", &*root, "f").unwrap();
    root.rename_at("a", &*root, "a").unwrap();
    assert_eq!(root.stat_at("f").unwrap().nlink, 2);
    assert_eq!(a.stat_at("f_link").unwrap().ino, root.stat_at("f").unwrap().ino);
    assert_eq!(names(&*root), ["a", "empty", "f", "full", "g"]);

    // File over file: the old target loses its name but stays open.
    let g = file(root.open_at("g", READ).unwrap());
    root.rename_at("f", &*root, "g").unwrap();
    assert_eq!(g.stat().unwrap().nlink, 0);
    assert_eq!(read_all(&*g), b"file g");
    assert_eq!(fs.read_file("g").unwrap(), b"file f");
    assert_eq!(root.stat_at("g").unwrap().nlink, 2);
    drop(g);
    // The data of f and a/b/file, and the names a, b, c, d, file, f_link, empty, full, x, g.
    assert_eq!(fs.used_bytes(), 6 + 4 + (1 + 1 + 1 + 1 + 4 + 6 + 5 + 4 + 1 + 1));

    // Directory over an empty directory, within and across directories.
    let empty = open_dir(&*root, "empty");
    root.mkdir_at("e2").unwrap();
    root.rename_at("e2", &*root, "empty").unwrap();
    assert_eq!(empty.stat().unwrap().nlink, 0);
    assert_eq!(empty.mkdir_at("x"), Err(Errno::Noent));
    assert_eq!(root.stat().unwrap().nlink, 5);
    c.rmdir_at("d").unwrap();
    root.rename_at("empty", &*c, "d").unwrap();
    assert_eq!(root.stat().unwrap().nlink, 4);
    assert_eq!(c.stat().unwrap().nlink, 3);
    fs.create_dir_all("moved").unwrap();
    c.rename_at("d", &*root, "moved").unwrap();
    assert_eq!(c.stat().unwrap().nlink, 2);
    assert_eq!(names(&*root), ["a", "full", "g", "moved"]);

    // A file across directories, over an existing file.
    fs.write_file("full/x/victim", "v").unwrap();
    b.rename_at("file", &*open_dir(&*open_dir(&*root, "full"), "x"), "victim").unwrap();
    assert_eq!(fs.read_file("full/x/victim").unwrap(), b"deep");
    assert_eq!(names(&*b), ["c"]);
    // Symbolic links are renamed, not followed.
    root.symlink_at("g", "sl").unwrap();
    root.rename_at("sl", &*c, "sl").unwrap();
    assert_eq!(c.readlink_at("sl").as_deref(), Ok("g"));
    // A moved directory can be moved back up (its parent pointer follows it).
    root.rename_at("a", &*open_dir(&*root, "moved"), "a").unwrap();
    assert_eq!(root.rename_at("moved", &*c, "m"), Err(Errno::Inval));
    c.rename_at("sl", &*root, "sl").unwrap();
    fs.remove("moved/a/b/c").unwrap();
    assert_eq!(fs.read_dir("moved/a/b").unwrap(), Vec::<String>::new());
}

#[test]
fn readdir_cookies_survive_changes() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for i in 0..6 {
        new_file(&*root, &format!("e{i}"), b"");
    }
    let mut seen = Vec::new();
    let mut cookie = 0;
    root.read_dir(0, &mut |e| {
        cookie = e.next;
        seen.push(e.name);
        seen.len() < 2
    })
    .unwrap();
    assert_eq!(seen, ["e0", "e1"]);
    // Mid-listing: remove a seen and an unseen entry, add new ones.
    root.unlink_at("e0").unwrap();
    root.unlink_at("e3").unwrap();
    new_file(&*root, "n1", b"");
    root.mkdir_at("n2").unwrap();
    root.read_dir(cookie, &mut |e| {
        seen.push(e.name);
        true
    })
    .unwrap();
    assert_eq!(seen, ["e0", "e1", "e2", "e4", "e5", "n1", "n2"]);

    let all = list(&*root);
    let got: Vec<(&str, u64, FileType)> = all.iter().map(|e| (e.name.as_str(), e.next, e.filetype)).collect();
    assert_eq!(
        got,
        [
            ("e1", 2, FileType::RegularFile),
            ("e2", 3, FileType::RegularFile),
            ("e4", 5, FileType::RegularFile),
            ("e5", 6, FileType::RegularFile),
            ("n1", 7, FileType::RegularFile),
            ("n2", 8, FileType::Directory),
        ]
    );
    assert_eq!(all[5].ino, root.stat_at("n2").unwrap().ino);
    // A cookie of a removed entry still resumes right after it.
    root.unlink_at("e4").unwrap();
    let mut rest = Vec::new();
    root.read_dir(5, &mut |e| {
        rest.push(e.name);
        true
    })
    .unwrap();
    assert_eq!(rest, ["e5", "n1", "n2"]);
    // Past the end: nothing.
    let mut none = 0;
    root.read_dir(u64::MAX, &mut |_| {
        none += 1;
        true
    })
    .unwrap();
    assert_eq!(none, 0);
    // A sink may call back into the filesystem.
    root.read_dir(0, &mut |e| {
        root.stat_at(&e.name).unwrap();
        new_file(&*root, &format!("cb_{}", e.name), b"");
        !e.name.starts_with("cb_")
    })
    .unwrap();
    assert_eq!(list(&*root).len(), 10);
}

#[test]
fn readdir_with_renames_mid_listing() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for name in ["a", "b", "c"] {
        new_file(&*root, name, name.as_bytes());
    }
    root.mkdir_at("other").unwrap();
    new_file(&*open_dir(&*root, "other"), "o", b"");
    // Renaming every entry while listing meets each entry once (no endless renaming).
    let mut seen = Vec::new();
    root.read_dir(0, &mut |e| {
        if e.filetype == FileType::RegularFile {
            root.rename_at(&e.name, &*root, &format!("{}.bak", e.name)).unwrap();
        }
        seen.push((e.name, e.next));
        true
    })
    .unwrap();
    assert_eq!(seen, [("a".into(), 1), ("b".into(), 2), ("c".into(), 3), ("other".to_string(), 4)]);
    // The renamed entries kept their cookies; a rename over an existing name keeps the
    // source's cookie and drops the target's.
    root.rename_at("c.bak", &*root, "a.bak").unwrap();
    let got: Vec<(String, u64)> = list(&*root).into_iter().map(|e| (e.name, e.next)).collect();
    assert_eq!(got, [("b.bak".into(), 2), ("a.bak".into(), 3), ("other".to_string(), 4)]);
    assert_eq!(fs.read_file("a.bak").unwrap(), b"c");
    // An entry moved in from another directory is a new insertion, listed after the rest.
    open_dir(&*root, "other").rename_at("o", &*root, "a").unwrap();
    let got: Vec<(String, u64)> = list(&*root).into_iter().map(|e| (e.name, e.next)).collect();
    assert_eq!(got.last(), Some(&("a".to_string(), 5)));
}

#[test]
fn readdir_ten_thousand_entries_three_at_a_time() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for i in 0..10_000 {
        new_file(&*root, &format!("file{i:05}"), b"");
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cookie = 0;
    let mut calls = 0;
    loop {
        let mut got = 0;
        root.read_dir(cookie, &mut |e| {
            cookie = e.next;
            seen.push(e.name);
            got += 1;
            got < 3
        })
        .unwrap();
        calls += 1;
        if got == 0 {
            break;
        }
    }
    assert_eq!(calls, 3335);
    assert_eq!(seen.len(), 10_000);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 10_000);
    assert_eq!(seen.first().map(String::as_str), Some("file00000"));
    assert_eq!(seen.last().map(String::as_str), Some("file09999"));
}

#[test]
fn timestamps_follow_posix() {
    let clock = Arc::new(TestClock(AtomicU64::new(100)));
    let fs = MemFs::with_clock(clock.clone());
    let root = fs.root().unwrap();
    let times = |s: Stat| (s.atim, s.mtim, s.ctim);
    assert_eq!(times(root.stat().unwrap()), (100, 100, 100));

    clock.set(200);
    let f = file(root.open_at("f", CREATE).unwrap());
    assert_eq!(times(f.stat().unwrap()), (200, 200, 200));
    assert_eq!(times(root.stat().unwrap()), (100, 200, 200));

    clock.set(300);
    f.write_at(b"data", 0).unwrap();
    assert_eq!(times(f.stat().unwrap()), (200, 300, 300));
    clock.set(350);
    f.write_at(b"", 0).unwrap();
    assert_eq!(times(f.stat().unwrap()), (200, 300, 300));

    clock.set(400);
    let mut buf = [0u8; 4];
    f.read_at(&mut buf, 0).unwrap();
    list(&*root);
    assert_eq!(times(f.stat().unwrap()), (200, 300, 300));
    assert_eq!(times(root.stat().unwrap()), (100, 200, 200));

    clock.set(500);
    root.link_at("f", &*root, "g").unwrap();
    assert_eq!(times(f.stat().unwrap()), (200, 300, 500));
    assert_eq!(times(root.stat().unwrap()), (100, 500, 500));

    clock.set(600);
    f.set_times(SetTime::At(7), SetTime::Omit).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 300, 600));
    clock.set(650);
    f.set_times(SetTime::Omit, SetTime::Omit).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 300, 600));

    clock.set(700);
    root.set_times_at("g", SetTime::Omit, SetTime::Now).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 700, 700));

    clock.set(800);
    root.mkdir_at("sub").unwrap();
    let sub = open_dir(&*root, "sub");
    assert_eq!(times(sub.stat().unwrap()), (800, 800, 800));
    assert_eq!(times(root.stat().unwrap()), (100, 800, 800));

    clock.set(900);
    root.rename_at("f", &*sub, "h").unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 700, 900));
    assert_eq!(times(root.stat().unwrap()), (100, 900, 900));
    assert_eq!(times(sub.stat().unwrap()), (800, 900, 900));

    clock.set(1000);
    root.unlink_at("g").unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 700, 1000));
    assert_eq!(times(root.stat().unwrap()), (100, 1000, 1000));
    assert_eq!(times(sub.stat().unwrap()), (800, 900, 900));

    clock.set(1100);
    f.set_size(1).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 1100, 1100));
    clock.set(1200);
    f.append(b"x").unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 1200, 1200));
    clock.set(1300);
    file(sub.open_at("h", OpenOptions { truncate: true, ..RW }).unwrap());
    assert_eq!(times(f.stat().unwrap()), (7, 1300, 1300));
    clock.set(1400);
    f.allocate(0, 9).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 1400, 1400));
    clock.set(1450);
    f.allocate(0, 1).unwrap();
    assert_eq!(times(f.stat().unwrap()), (7, 1400, 1400), "no growth, no change");

    clock.set(1500);
    sub.set_times(SetTime::Now, SetTime::At(3)).unwrap();
    assert_eq!(times(sub.stat().unwrap()), (1500, 3, 1500));
    clock.set(1600);
    root.symlink_at("t", "l").unwrap();
    assert_eq!(times(root.stat_at("l").unwrap()), (1600, 1600, 1600));
    root.set_times_at("l", SetTime::At(1), SetTime::At(2)).unwrap();
    assert_eq!(times(root.stat_at("l").unwrap()), (1, 2, 1600));
    clock.set(1700);
    sub.unlink_at("h").unwrap();
    root.rmdir_at("sub").unwrap();
    assert_eq!(times(root.stat().unwrap()), (100, 1700, 1700));
}

#[test]
fn dev_and_inode_numbers() {
    let a = MemFs::new();
    let b = MemFs::new();
    assert_ne!(a.dev(), b.dev());
    assert_eq!(a.clone().dev(), a.dev());
    let root = a.root().unwrap();
    assert_eq!(root.stat().unwrap().dev, a.dev());
    root.mkdir_at("d").unwrap();
    new_file(&*root, "f", b"");
    root.symlink_at("f", "l").unwrap();
    assert_eq!(root.stat_at("d").unwrap().ino, 2);
    assert_eq!(root.stat_at("f").unwrap().ino, 3);
    assert_eq!(root.stat_at("l").unwrap().ino, 4);
    root.unlink_at("f").unwrap();
    new_file(&*root, "f", b"");
    assert_eq!(root.stat_at("f").unwrap().ino, 5);
    root.rename_at("f", &*open_dir(&*root, "d"), "f").unwrap();
    assert_eq!(a.metadata("d/f").unwrap().ino, 5);
    // Clones share the tree.
    assert!(a.clone().exists("d/f"));
    assert!(!b.exists("d/f"));
}

#[test]
fn append_is_atomic_across_threads() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("log", CREATE).unwrap());
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let f = Arc::clone(&f);
            s.spawn(move || {
                for _ in 0..500 {
                    let (n, _) = f.append(&[b'a' + t; 7]).unwrap();
                    assert_eq!(n, 7);
                }
            });
        }
    });
    let data = read_all(&*f);
    assert_eq!(data.len(), 4 * 500 * 7);
    for chunk in data.chunks(7) {
        assert!(chunk.iter().all(|&b| b == chunk[0]), "interleaved append");
    }
}

#[test]
fn concurrent_use_from_eight_threads() {
    const ROUNDS: usize = 300;
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for d in 0..4 {
        root.mkdir_at(&format!("d{d}")).unwrap();
    }
    file(root.open_at("log", CREATE).unwrap());
    std::thread::scope(|s| {
        for t in 0..8usize {
            let fs = fs.clone();
            s.spawn(move || {
                let root = fs.root().unwrap();
                let dirs: Vec<Arc<dyn Dir>> = (0..4).map(|d| open_dir(&*root, &format!("d{d}"))).collect();
                let log = file(root.open_at("log", RW).unwrap());
                let mine = format!("t{t}");
                root.mkdir_at(&mine).unwrap();
                for i in 0..ROUNDS {
                    let a = &dirs[(t + i) % 4];
                    let b = &dirs[(t + i + 1) % 4];
                    let body = format!("{t}:{i}");
                    let f = new_file(&**a, &format!("f{t}_{i}"), body.as_bytes());
                    a.rename_at(&format!("f{t}_{i}"), &**b, &format!("g{t}_{i}")).unwrap();
                    if i % 3 == 0 {
                        b.link_at(&format!("g{t}_{i}"), &**a, &format!("h{t}_{i}")).unwrap();
                    }
                    if i % 2 == 0 {
                        b.unlink_at(&format!("g{t}_{i}")).unwrap();
                    }
                    assert_eq!(read_all(&*f), body.as_bytes());
                    log.append(b"0123456789").unwrap();
                    // Move this thread's directory between the root and a shared one,
                    // while others list and create there.
                    let home = &dirs[t % 4];
                    if i % 2 == 0 {
                        root.rename_at(&mine, &**home, &mine).unwrap();
                        home.rename_at(&mine, &**home, &format!("{mine}x")).unwrap();
                        home.rename_at(&format!("{mine}x"), &**home, &mine).unwrap();
                    } else {
                        home.rename_at(&mine, &*root, &mine).unwrap();
                    }
                    // The same insertion is never listed twice: cookies only grow.
                    let mut last = 0;
                    a.read_dir(0, &mut |e| {
                        assert!(e.next > last, "listed twice");
                        last = e.next;
                        true
                    })
                    .unwrap();
                }
            });
        }
    });

    let mut expected: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 4];
    let mut bytes = 0u64;
    for t in 0..8 {
        for i in 0..ROUNDS {
            let body = format!("{t}:{i}");
            let g = i % 2 != 0;
            let h = i % 3 == 0;
            if g {
                expected[(t + i + 1) % 4].insert(format!("g{t}_{i}"));
                assert_eq!(fs.read_file(&format!("d{}/g{t}_{i}", (t + i + 1) % 4)).unwrap(), body.as_bytes());
                let nlink = fs.metadata(&format!("d{}/g{t}_{i}", (t + i + 1) % 4)).unwrap().nlink;
                assert_eq!(nlink, if h { 2 } else { 1 });
            }
            if h {
                expected[(t + i) % 4].insert(format!("h{t}_{i}"));
                assert_eq!(fs.read_file(&format!("d{}/h{t}_{i}", (t + i) % 4)).unwrap(), body.as_bytes());
                let nlink = fs.metadata(&format!("d{}/h{t}_{i}", (t + i) % 4)).unwrap().nlink;
                assert_eq!(nlink, if g { 2 } else { 1 });
            }
            if g || h {
                bytes += len64(body.len());
            }
            // The names.
            bytes += if g { len64(format!("g{t}_{i}").len()) } else { 0 };
            bytes += if h { len64(format!("h{t}_{i}").len()) } else { 0 };
        }
    }
    for (d, want) in expected.iter().enumerate() {
        let got: BTreeSet<String> = fs.read_dir(&format!("d{d}")).unwrap().into_iter().collect();
        assert_eq!(&got, want, "d{d}");
        assert_eq!(fs.metadata(&format!("d{d}")).unwrap().nlink, 2);
    }
    let mut top = fs.read_dir("").unwrap();
    top.sort();
    assert_eq!(top, ["d0", "d1", "d2", "d3", "log", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
    assert_eq!(root.stat().unwrap().nlink, 2 + 4 + 8);
    assert_eq!(fs.metadata("log").unwrap().size, 8 * ROUNDS as u64 * 10);
    // The data, the names of those files, and d0..d3, log, t0..t7.
    assert_eq!(fs.used_bytes(), bytes + 8 * ROUNDS as u64 * 10 + 4 * 2 + 3 + 8 * 2);
}

#[test]
fn host_helpers() {
    let fs = MemFs::new();
    fs.write_file("/a/b/c.txt", "abc").unwrap();
    fs.write_file("a//./b/d.bin", vec![1u8, 2, 3]).unwrap();
    fs.write_file("a/b/c.txt", b"replaced").unwrap();
    assert_eq!(fs.read_file("a/b/c.txt").unwrap(), b"replaced");
    assert_eq!(fs.read_file("/a/b/d.bin").unwrap(), [1, 2, 3]);
    fs.create_dir_all("a/b/e/f").unwrap();
    fs.create_dir_all("a/b/e").unwrap();
    fs.symlink("c.txt", "a/b/link").unwrap();
    fs.symlink("../elsewhere", "x/y/dangling").unwrap();
    assert_eq!(fs.read_dir("a/b").unwrap(), ["c.txt", "d.bin", "e", "link"]);
    assert_eq!(fs.read_dir("").unwrap(), ["a", "x"]);
    assert_eq!(fs.read_dir("/").unwrap(), ["a", "x"]);
    let st = fs.metadata("a/b/link").unwrap();
    assert_eq!((st.filetype, st.size), (FileType::SymbolicLink, 5));
    assert_eq!(fs.metadata("").unwrap().filetype, FileType::Directory);
    assert_eq!(fs.metadata("a/b/e").unwrap().nlink, 3);
    assert!(fs.exists("x/y/dangling"));
    assert!(fs.exists("/"));
    assert!(!fs.exists("a/nope"));

    let kind = |r: io::Result<()>| r.unwrap_err().kind();
    let errno = |e: io::Error| e.get_ref().and_then(|e| e.downcast_ref::<Errno>()).copied();
    // Symbolic links are never followed.
    assert_eq!(errno(fs.read_file("a/b/link").unwrap_err()), Some(Errno::Loop));
    assert_eq!(errno(fs.read_file("x/y/dangling/z").unwrap_err()), Some(Errno::Loop));
    fs.symlink("b", "a/lb").unwrap();
    assert_eq!(errno(fs.read_dir("a/lb").unwrap_err()), Some(Errno::Loop));
    assert_eq!(errno(fs.write_file("a/lb/new", "x").unwrap_err()), Some(Errno::Loop));
    assert_eq!(errno(fs.write_file("a/b/link", "x").unwrap_err()), Some(Errno::Loop));
    // `..` is refused.
    assert_eq!(kind(fs.write_file("a/../etc", "x")), io::ErrorKind::InvalidInput);
    assert_eq!(fs.read_file("a/b/../b/c.txt").unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert!(!fs.exists("a/.."));
    // Other errors.
    assert_eq!(fs.read_file("a/b/nope").unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(fs.read_file("a/b").unwrap_err().kind(), io::ErrorKind::IsADirectory);
    assert_eq!(fs.read_file("a/b/c.txt/x").unwrap_err().kind(), io::ErrorKind::NotADirectory);
    assert_eq!(kind(fs.write_file("a/b", "x")), io::ErrorKind::IsADirectory);
    assert_eq!(kind(fs.write_file("", "x")), io::ErrorKind::IsADirectory);
    assert_eq!(kind(fs.write_file("a/b/c.txt/x", "x")), io::ErrorKind::NotADirectory);
    assert_eq!(kind(fs.create_dir_all("a/b/c.txt")), io::ErrorKind::NotADirectory);
    assert_eq!(kind(fs.symlink("t", "a/b/link")), io::ErrorKind::AlreadyExists);
    assert_eq!(kind(fs.write_file(&"n".repeat(256), "x")), io::ErrorKind::InvalidFilename);
    assert_eq!(kind(fs.remove("a/b")), io::ErrorKind::DirectoryNotEmpty);
    assert_eq!(kind(fs.remove("a/nope")), io::ErrorKind::NotFound);
    assert_eq!(kind(fs.remove("")), io::ErrorKind::ResourceBusy);
    // Removal of a file, a link (not its target) and an empty directory.
    fs.remove("a/b/link").unwrap();
    assert!(fs.exists("a/b/c.txt"));
    fs.remove("a/b/e/f").unwrap();
    fs.remove("/a/b/c.txt").unwrap();
    assert_eq!(fs.read_dir("a/b").unwrap(), ["d.bin", "e"]);
    // The data of d.bin, the link targets, and the names a, b, d.bin, e, x, y, dangling, lb.
    assert_eq!(fs.used_bytes(), 3 + 12 + 1 + (1 + 1 + 5 + 1 + 1 + 1 + 8 + 2));
}

#[test]
fn from_entries_accepts_any_bytes() {
    let fs = MemFs::from_entries([("etc/motd", &b"hi"[..]), ("/etc/issue", &b"there"[..])]).unwrap();
    assert_eq!(fs.read_file("etc/motd").unwrap(), b"hi");
    assert_eq!(fs.read_dir("etc").unwrap(), ["issue", "motd"]);
    static BLOB: &[u8] = include_bytes!("../lib.rs");
    let fs = MemFs::from_entries([("src/lib.rs", BLOB)]).unwrap();
    assert_eq!(fs.read_file("src/lib.rs").unwrap(), BLOB);
    let fs = MemFs::from_entries(vec![(String::from("v"), vec![1u8, 2])]).unwrap();
    assert_eq!(fs.read_file("v").unwrap(), [1, 2]);
    let fs = MemFs::from_entries([("s", "text")]).unwrap();
    assert_eq!(fs.read_file("s").unwrap(), b"text");
    let err = MemFs::from_entries([("a", "x"), ("a/b", "y")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
    assert!(MemFs::from_entries([("../up", "x")]).is_err());
}

#[cfg(unix)]
#[test]
fn from_host_dir_copies_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path();
    std::fs::create_dir_all(host.join("sub/deeper")).unwrap();
    std::fs::write(host.join("top.txt"), b"top").unwrap();
    std::fs::write(host.join("sub/deeper/leaf"), b"leaf bytes").unwrap();
    std::fs::create_dir(host.join("emptydir")).unwrap();
    std::os::unix::fs::symlink("sub/deeper/leaf", host.join("link")).unwrap();
    std::os::unix::fs::symlink("/does/not/exist", host.join("sub/dangling")).unwrap();
    let when = UNIX_EPOCH + std::time::Duration::new(1_000_000, 5);
    std::fs::File::options().write(true).open(host.join("top.txt")).unwrap().set_modified(when).unwrap();
    let before = std::fs::metadata(host.join("top.txt")).unwrap().modified().unwrap();

    let fs = MemFs::from_host_dir(host).unwrap();
    assert_eq!(fs.read_dir("").unwrap(), ["emptydir", "link", "sub", "top.txt"]);
    assert_eq!(fs.read_file("top.txt").unwrap(), b"top");
    assert_eq!(fs.read_file("sub/deeper/leaf").unwrap(), b"leaf bytes");
    assert_eq!(fs.read_dir("emptydir").unwrap(), Vec::<String>::new());
    let root = fs.root().unwrap();
    assert_eq!(root.readlink_at("link").as_deref(), Ok("sub/deeper/leaf"));
    let sub = open_dir(&*root, "sub");
    assert_eq!(sub.readlink_at("dangling").as_deref(), Ok("/does/not/exist"));
    assert_eq!(fs.metadata("top.txt").unwrap().mtim, 1_000_000_000_000_005);
    assert_eq!(fs.metadata("sub").unwrap().nlink, 3);
    // The data, the link targets, and the names emptydir, link, sub, top.txt, deeper, leaf,
    // dangling.
    assert_eq!(fs.used_bytes(), 3 + 10 + 15 + 15 + (8 + 4 + 3 + 7 + 6 + 4 + 8));
    // The host is untouched.
    assert_eq!(std::fs::read(host.join("top.txt")).unwrap(), b"top");
    assert_eq!(std::fs::metadata(host.join("top.txt")).unwrap().modified().unwrap(), before);
    let mut host_names: Vec<String> =
        std::fs::read_dir(host).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    host_names.sort();
    assert_eq!(host_names, ["emptydir", "link", "sub", "top.txt"]);

    // Into a subdirectory of an existing filesystem, with a quota that is too small (it holds
    // the names `mnt` and `here`, and 2 bytes more).
    let small = MemFs::builder().quota(3 + 4 + 2).build();
    let err = small.copy_from_host_dir(host, "mnt/here").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert!(small.exists("mnt/here"));
    // Not a directory.
    assert!(MemFs::from_host_dir(host.join("top.txt")).is_err());
    assert!(MemFs::from_host_dir(host.join("missing")).is_err());
}

#[test]
fn deep_tree_drops_without_recursion() {
    let fs = MemFs::new();
    let mut d = fs.root().unwrap();
    let mut middle = None;
    for depth in 0..100_000 {
        d.mkdir_at("d").unwrap();
        d = open_dir(&*d, "d");
        if depth == 50_000 {
            middle = Some(Arc::clone(&d));
        }
    }
    let bottom = new_file(&*d, "f", b"bottom");
    drop(d);
    assert_eq!(fs.used_bytes(), 6 + 100_000 + 1, "the data and the names");
    // Dropping the filesystem frees the upper half; the open middle directory keeps the
    // lower half alive, and the open file outlives everything.
    drop(fs);
    assert_eq!(read_all(&*bottom), b"bottom");
    let middle = middle.unwrap();
    assert_eq!(middle.stat().unwrap().nlink, 3);
    drop(middle);
    assert_eq!(read_all(&*bottom), b"bottom");
}

#[test]
fn bad_names_are_refused() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    for name in [".", "..", "a/b", "nul\0"] {
        assert_eq!(root.mkdir_at(name), Err(Errno::Inval), "{name:?}");
        assert_eq!(open_err(&*root, name, CREATE), Errno::Inval, "{name:?}");
    }
    assert_eq!(root.symlink_at("a\0b", "l"), Err(Errno::Inval));
    assert!(list(&*root).is_empty());
}

/// A clock that ticks once per reading.
struct Ticking(AtomicU64);

impl WallClock for Ticking {
    fn now(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

#[test]
fn path_helpers_replace_contents_touch_times_and_map_errors() {
    let clock = Arc::new(Ticking(AtomicU64::new(0)));
    let fs = MemFs::builder().clock(clock.clone()).quota(200).build();
    // A shorter rewrite leaves nothing of the old contents.
    fs.write_file("f", b"long contents").unwrap();
    fs.write_file("f", b"x").unwrap();
    assert_eq!(fs.read_file("f").unwrap(), b"x");
    // The data is written after the open: the modification time is the later reading.
    let before = clock.0.load(Ordering::SeqCst);
    fs.write_file("g", b"data").unwrap();
    assert_eq!(fs.metadata("g").unwrap().mtim, before + 2, "the open reads the clock once, the write once more");
    // Errors keep their kinds.
    use std::io::ErrorKind as K;
    let small = MemFs::builder().max_file_size(10).build();
    assert_eq!(small.write_file("big", [1u8; 15]).unwrap_err().kind(), K::FileTooLarge);
    assert_eq!(fs.read_file("a\0b").unwrap_err().kind(), K::InvalidInput);
    // A full quota: an error, not a loop; a file left empty keeps the time of its creation.
    fs.write_file("fill", vec![2u8; 200 - fs.used_bytes() as usize - 8]).unwrap();
    let before = clock.0.load(Ordering::SeqCst);
    assert_eq!(fs.write_file("none", b"more").unwrap_err().kind(), K::StorageFull);
    assert_eq!(fs.metadata("none").map(|s| s.mtim).ok(), Some(before + 1));
    // Debug shows the limits and the usage.
    let shown = format!("{:?} {:?}", MemFs::builder().quota(5), fs);
    assert!(shown.contains("quota: Some(5)") && shown.contains("used_bytes: "), "{shown}");
}

#[test]
fn a_memfs_without_a_clock_takes_the_context_s() {
    let fs = MemFs::new();
    let stopped: Arc<dyn WallClock> = Arc::new(TestClock(AtomicU64::new(7_000)));
    fs.mounted_with_clock(&stopped);
    fs.write_file("f", b"").unwrap();
    assert_eq!(fs.metadata("f").unwrap().mtim, 7_000);
}
