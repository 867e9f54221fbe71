//! The permission views against a spy filesystem that counts every change it is asked for,
//! and over real backends.

use super::*;
use crate::test_support::{dir, file, names};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A writable test filesystem: every mutating call "succeeds" and is counted, so the tests
/// can check that the wrapper never reaches one.
struct Spy {
    changes: Arc<AtomicUsize>,
}

/// What a spy directory holds: `file` ("hello"), `sub/` (holding `inner`, "in"), `link`
/// (a symbolic link to `file`).
#[derive(Clone)]
struct SpyDir {
    changes: Arc<AtomicUsize>,
    sub: bool,
    /// Made by [`Dir::reopen`] (its `stat` then adds 100 to the inode number).
    reopened: bool,
}

struct SpyFile {
    changes: Arc<AtomicUsize>,
    data: &'static [u8],
    ino: u64,
}

fn stat(filetype: FileType, ino: u64, size: u64) -> Stat {
    Stat { dev: 7, ino, filetype, nlink: 1, size, atim: 1, mtim: 2, ctim: 3 }
}

impl FileSystem for Spy {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Arc::new(SpyDir { changes: self.changes.clone(), sub: false, reopened: false }))
    }
}

impl SpyDir {
    fn change(&self) -> Result<()> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn entries(&self) -> Vec<(&'static str, Stat)> {
        if self.sub {
            vec![("inner", stat(FileType::RegularFile, 4, 2))]
        } else {
            vec![
                ("file", stat(FileType::RegularFile, 2, 5)),
                ("link", stat(FileType::SymbolicLink, 5, 4)),
                ("sub", stat(FileType::Directory, 3, 0)),
            ]
        }
    }
}

impl Dir for SpyDir {
    fn stat(&self) -> Result<Stat> {
        let ino = if self.sub { 3 } else { 1 } + if self.reopened { 100 } else { 0 };
        Ok(stat(FileType::Directory, ino, 0))
    }
    fn stat_at(&self, name: &str) -> Result<Stat> {
        self.entries().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).ok_or(Errno::Noent)
    }
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        if options.create || options.write || options.truncate {
            self.change()?;
        }
        let found = match self.stat_at(name) {
            Ok(s) => s,
            Err(Errno::Noent) if options.create => stat(FileType::RegularFile, 9, 0),
            Err(e) => return Err(e),
        };
        match found.filetype {
            FileType::Directory => {
                Ok(Node::Dir(Arc::new(SpyDir { changes: self.changes.clone(), sub: true, reopened: false })))
            }
            FileType::SymbolicLink => Err(Errno::Loop),
            _ if options.directory => Err(Errno::Notdir),
            _ => {
                let data: &'static [u8] = if name == "inner" { b"in" } else { b"hello" };
                Ok(Node::File(Arc::new(SpyFile { changes: self.changes.clone(), data, ino: found.ino })))
            }
        }
    }
    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        for (i, (name, s)) in self.entries().into_iter().enumerate().skip(cookie as usize) {
            let entry = DirEntry { next: i as u64 + 1, ino: s.ino, filetype: s.filetype, name: name.into() };
            if !sink(entry) {
                break;
            }
        }
        Ok(())
    }
    fn mkdir_at(&self, _: &str) -> Result<()> {
        self.change()
    }
    fn rmdir_at(&self, _: &str) -> Result<()> {
        self.change()
    }
    fn unlink_at(&self, _: &str) -> Result<()> {
        self.change()
    }
    fn symlink_at(&self, _: &str, _: &str) -> Result<()> {
        self.change()
    }
    fn readlink_at(&self, name: &str) -> Result<String> {
        match self.stat_at(name)?.filetype {
            FileType::SymbolicLink => Ok("file".into()),
            _ => Err(Errno::Inval),
        }
    }
    fn rename_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        self.change()
    }
    fn link_at(&self, _: &str, _: &dyn Dir, _: &str) -> Result<()> {
        self.change()
    }
    fn set_times_at(&self, _: &str, _: SetTime, _: SetTime) -> Result<()> {
        self.change()
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
        self.change()
    }
    fn reopen(&self) -> Option<Arc<dyn Dir>> {
        Some(Arc::new(SpyDir { reopened: true, ..self.clone() }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for SpyFile {
    fn stat(&self) -> Result<Stat> {
        Ok(stat(FileType::RegularFile, self.ino, self.data.len() as u64))
    }
    /// Not what `stat` says, so that a wrapper answering from `stat` is caught.
    fn filetype(&self) -> Result<FileType> {
        Ok(FileType::CharacterDevice)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }
    fn write_at(&self, buf: &[u8], _: u64) -> Result<usize> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(buf.len())
    }
    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok((buf.len(), 0))
    }
    fn set_size(&self, _: u64) -> Result<()> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn set_times(&self, _: SetTime, _: SetTime) -> Result<()> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn allocate(&self, _: u64, _: u64) -> Result<()> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn setup() -> (ReadOnly<Spy>, Arc<AtomicUsize>) {
    let changes = Arc::new(AtomicUsize::new(0));
    (ReadOnly::new(Spy { changes: changes.clone() }), changes)
}

const READ: OpenOptions =
    OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };

fn assert_dir_refuses(d: &dyn Dir, other: &dyn Dir) {
    assert_eq!(d.mkdir_at("new"), Err(Errno::Rofs));
    assert_eq!(d.mkdir_at("file"), Err(Errno::Rofs));
    assert_eq!(d.rmdir_at("sub"), Err(Errno::Rofs));
    assert_eq!(d.rmdir_at("missing"), Err(Errno::Rofs));
    assert_eq!(d.unlink_at("file"), Err(Errno::Rofs));
    assert_eq!(d.symlink_at("file", "new"), Err(Errno::Rofs));
    assert_eq!(d.rename_at("file", other, "new"), Err(Errno::Rofs));
    assert_eq!(d.rename_at("file", d, "new"), Err(Errno::Rofs));
    assert_eq!(d.link_at("file", other, "new"), Err(Errno::Rofs));
    // `utimensat` looks the name up first: EROFS for an entry, ENOENT for a missing one.
    let entry = if d.stat_at("file").is_ok() { "file" } else { "inner" };
    assert_eq!(d.set_times_at(entry, SetTime::Now, SetTime::At(5)), Err(Errno::Rofs));
    assert_eq!(d.set_times_at("missing", SetTime::Now, SetTime::At(5)), Err(Errno::Noent));
    assert_eq!(d.set_times(SetTime::Now, SetTime::Omit), Err(Errno::Rofs));
    for (write, create, exclusive, truncate) in
        [(true, false, false, false), (false, false, false, true), (true, true, false, false), (true, true, true, true)]
    {
        let o = OpenOptions { write, create, exclusive, truncate, ..READ };
        for name in ["file", "sub", "missing", "link"] {
            assert_eq!(d.open_at(name, o).map(|_| ()), Err(Errno::Rofs), "{name} {o:?}");
        }
    }
}

fn assert_file_refuses(f: &dyn File) {
    assert_eq!(f.write_at(b"x", 0), Err(Errno::Rofs));
    assert_eq!(f.append(b"x"), Err(Errno::Rofs));
    let bufs = [IoSlice::new(b"x"), IoSlice::new(b"y")];
    assert_eq!(f.write_vectored_at(&bufs, 0), Err(Errno::Rofs));
    assert_eq!(f.append_vectored(&bufs), Err(Errno::Rofs));
    assert_eq!(f.set_size(0), Err(Errno::Rofs));
    assert_eq!(f.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(f.allocate(0, 10), Err(Errno::Rofs));
    assert_eq!(f.sync(), Ok(()));
    assert_eq!(f.datasync(), Ok(()));
    assert_eq!(f.advise(0, 5, Advice::Sequential), Ok(()));
}

#[test]
fn readonly_reports_read_only() {
    let (fs, _) = setup();
    assert!(fs.is_read_only());
    assert!(!Spy { changes: Arc::new(AtomicUsize::new(0)) }.is_read_only());
    assert!(ReadOnly::new(Arc::new(Spy { changes: Arc::new(AtomicUsize::new(0)) })).is_read_only());
}

#[test]
fn readonly_root_refuses_every_change() {
    let (fs, changes) = setup();
    let root = fs.root().unwrap();
    let other = Spy { changes: changes.clone() }.root().unwrap();
    assert_dir_refuses(&*root, &*other);
    assert_eq!(changes.load(Ordering::SeqCst), 0);
    assert!(root.as_any().is::<RestrictedDir>());
}

#[test]
fn readonly_reads_pass_through() {
    let (fs, changes) = setup();
    let root = fs.root().unwrap();
    assert_eq!(root.stat().unwrap(), stat(FileType::Directory, 1, 0));
    assert_eq!(root.stat_at("file").unwrap(), stat(FileType::RegularFile, 2, 5));
    assert_eq!(root.stat_at("missing"), Err(Errno::Noent));
    assert_eq!(root.readlink_at("link").unwrap(), "file");
    assert_eq!(root.readlink_at("file"), Err(Errno::Inval));
    assert_eq!(root.sync(), Ok(()));

    let mut names = Vec::new();
    root.read_dir(0, &mut |e| {
        names.push((e.name, e.next, e.filetype));
        true
    })
    .unwrap();
    assert_eq!(
        names,
        vec![
            ("file".to_string(), 1, FileType::RegularFile),
            ("link".to_string(), 2, FileType::SymbolicLink),
            ("sub".to_string(), 3, FileType::Directory),
        ]
    );
    let mut names = Vec::new();
    root.read_dir(1, &mut |e| {
        names.push(e.name);
        false
    })
    .unwrap();
    assert_eq!(names, vec!["link".to_string()]);

    let f = file(root.open_at("file", READ).unwrap());
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(&mut buf, 0), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(f.read_at(&mut buf, 3), Ok(2));
    assert_eq!(&buf[..2], b"lo");
    assert_eq!(f.read_at(&mut buf, 99), Ok(0));
    assert_eq!(f.stat().unwrap(), stat(FileType::RegularFile, 2, 5));
    assert_eq!(root.open_at("missing", READ).map(|_| ()), Err(Errno::Noent));
    assert_eq!(root.open_at("link", READ).map(|_| ()), Err(Errno::Loop));
    assert_eq!(root.open_at("file", OpenOptions { directory: true, ..READ }).map(|_| ()), Err(Errno::Notdir));
    assert_eq!(changes.load(Ordering::SeqCst), 0);
}

#[test]
fn readonly_create_follows_posix_order() {
    let (fs, changes) = setup();
    let root = fs.root().unwrap();
    let create = OpenOptions { create: true, ..READ };
    let excl = OpenOptions { create: true, exclusive: true, ..READ };
    assert_eq!(root.open_at("missing", create).map(|_| ()), Err(Errno::Rofs));
    assert_eq!(root.open_at("missing", excl).map(|_| ()), Err(Errno::Rofs));
    assert_eq!(root.open_at("file", excl).map(|_| ()), Err(Errno::Exist));
    assert_eq!(root.open_at("sub", excl).map(|_| ()), Err(Errno::Exist));
    assert_eq!(root.open_at("link", excl).map(|_| ()), Err(Errno::Exist));
    assert_eq!(root.open_at("sub", create).map(|_| ()), Err(Errno::Isdir));
    assert_eq!(root.open_at("link", create).map(|_| ()), Err(Errno::Loop));
    let f = file(root.open_at("file", create).unwrap());
    assert!(f.as_any().is::<RestrictedFile>());
    assert_file_refuses(&*f);
    assert_eq!(changes.load(Ordering::SeqCst), 0);
}

#[test]
fn readonly_handles_from_open_at_stay_read_only() {
    let (fs, changes) = setup();
    let root = fs.root().unwrap();
    let f = file(root.open_at("file", READ).unwrap());
    assert!(f.as_any().is::<RestrictedFile>());
    assert_file_refuses(&*f);

    let sub = dir(root.open_at("sub", OpenOptions { directory: true, ..READ }).unwrap());
    assert!(sub.as_any().is::<RestrictedDir>());
    assert_eq!(sub.stat().unwrap().ino, 3);
    assert_dir_refuses(&*sub, &*root);
    let inner = file(sub.open_at("inner", READ).unwrap());
    assert!(inner.as_any().is::<RestrictedFile>());
    let mut buf = [0u8; 4];
    assert_eq!(inner.read_at(&mut buf, 0), Ok(2));
    assert_eq!(&buf[..2], b"in");
    assert_file_refuses(&*inner);

    // A directory opened without `directory` is wrapped too.
    let sub2 = dir(root.open_at("sub", READ).unwrap());
    assert!(sub2.as_any().is::<RestrictedDir>());
    assert_eq!(sub2.mkdir_at("x"), Err(Errno::Rofs));
    assert_eq!(changes.load(Ordering::SeqCst), 0);
}

#[test]
fn readonly_single_handles() {
    let changes = Arc::new(AtomicUsize::new(0));
    let d = RestrictedDir::read_only(Spy { changes: changes.clone() }.root().unwrap());
    assert_eq!(d.unlink_at("file"), Err(Errno::Rofs));
    assert_eq!(format!("{d:?}"), "RestrictedDir(DirPerms(READ), FilePerms(READ), ..)");
    let f = RestrictedFile::read_only(Arc::new(SpyFile { changes: changes.clone(), data: b"abc", ino: 1 }));
    assert_file_refuses(&f);
    assert_eq!(changes.load(Ordering::SeqCst), 0);
    let fs = ReadOnly::new(Spy { changes });
    assert_eq!(fs.get_ref().changes.load(Ordering::SeqCst), 0);
    let _spy: Spy = fs.into_inner();
}

#[test]
fn readonly_forwards_reopen_and_filetype() {
    let (fs, changes) = setup();
    let root = fs.root().unwrap();
    let again = root.reopen().expect("the spy reopens");
    assert!(again.as_any().is::<RestrictedDir>());
    assert_eq!(again.stat().unwrap().ino, 101, "the inner handle's reopen");
    assert_dir_refuses(&*again, &*root);
    let sub = dir(root.open_at("sub", READ).unwrap());
    assert_eq!(sub.reopen().expect("reopen").stat().unwrap().ino, 103);

    let f = file(root.open_at("file", READ).unwrap());
    assert_eq!(f.filetype(), Ok(FileType::CharacterDevice), "from the inner handle, not its stat");
    assert_eq!(changes.load(Ordering::SeqCst), 0);
}

#[test]
fn readonly_host_dir_descriptors_of_one_directory_list_independently() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..20 {
        std::fs::write(tmp.path().join(format!("f{i:02}")), b"").unwrap();
    }
    let root = ReadOnly::new(crate::HostDir::open(tmp.path()).unwrap()).root().unwrap();
    let open_dot = || dir(crate::resolve::open(&root, ".", false, READ).unwrap());
    let (a, b) = (open_dot(), open_dot());
    let (mut seen_a, mut seen_b, mut cookie_a, mut cookie_b) = (Vec::new(), Vec::new(), 0, 0);
    loop {
        let mut got = 0;
        for (d, seen, cookie, n) in [(&a, &mut seen_a, &mut cookie_a, 2), (&b, &mut seen_b, &mut cookie_b, 3)] {
            let mut taken = 0;
            d.read_dir(*cookie, &mut |e| {
                *cookie = e.next;
                seen.push(e.name);
                taken += 1;
                taken < n
            })
            .unwrap();
            got += taken;
        }
        if got == 0 {
            break;
        }
    }
    let expected: Vec<String> = (0..20).map(|i| format!("f{i:02}")).collect();
    for seen in [&mut seen_a, &mut seen_b] {
        seen.sort();
        assert_eq!(*seen, expected);
    }
    let f = file(root.open_at("f00", READ).unwrap());
    assert_eq!(f.filetype(), Ok(FileType::RegularFile));
}

// ---- Restricted over real backends ----

const WRITE: OpenOptions = OpenOptions::new().write(true);
const CREATE_WRITE: OpenOptions = OpenOptions::new().write(true).create(true);

/// A MemFs holding `f` ("data"), `d/` (holding `g`) and `l` (a link to `f`).
fn memfs() -> crate::MemFs {
    let fs = crate::MemFs::new();
    let root = fs.root().unwrap();
    file(root.open_at("f", CREATE_WRITE).unwrap()).write_at(b"data", 0).unwrap();
    root.mkdir_at("d").unwrap();
    let d = dir(root.open_at("d", OpenOptions::new().directory(true)).unwrap());
    d.open_at("g", CREATE_WRITE).unwrap();
    root.symlink_at("f", "l").unwrap();
    fs
}

fn restricted(d: DirPerms, f: FilePerms) -> (crate::MemFs, Arc<dyn Dir>) {
    let fs = memfs();
    let root = Restricted::new(fs.clone(), d, f).root().unwrap();
    (fs, root)
}

#[test]
fn read_only_perms_are_read_only_with_erofs() {
    let fs = Restricted::new(memfs(), DirPerms::READ, FilePerms::READ);
    assert!(fs.is_read_only());
    let root = fs.root().unwrap();
    assert_eq!(root.mkdir_at("x"), Err(Errno::Rofs));
    assert_eq!(root.open_at("f", WRITE).map(|_| ()), Err(Errno::Rofs));
    assert_eq!(root.open_at("new", CREATE_WRITE).map(|_| ()), Err(Errno::Rofs));
    assert_eq!(file(root.open_at("f", READ).unwrap()).write_at(b"x", 0), Err(Errno::Rofs));
    assert_eq!(format!("{:?}", fs.dir_perms()), "DirPerms(READ)");
}

#[test]
fn files_writable_in_a_fixed_tree() {
    let (fs, root) = restricted(DirPerms::READ, FilePerms::all());
    assert!(!Restricted::new(memfs(), DirPerms::READ, FilePerms::all()).is_read_only());
    // Existing files: opened for writing (create without exclusive too), written, truncated.
    let f = file(root.open_at("f", WRITE).unwrap());
    assert_eq!(f.write_at(b"DA", 0), Ok(2));
    assert_eq!(file(root.open_at("f", CREATE_WRITE).unwrap()).set_size(3), Ok(()));
    assert_eq!(root.open_at("f", CREATE_WRITE.exclusive(true)).map(|_| ()), Err(Errno::Exist));
    // No entry created, removed, renamed or linked; changes of the tree are EACCES.
    assert_eq!(root.open_at("new", CREATE_WRITE).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("new", CREATE_WRITE.exclusive(true)).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("d", OpenOptions::new().create(true)).map(|_| ()), Err(Errno::Isdir));
    assert_eq!(root.mkdir_at("x"), Err(Errno::Acces));
    assert_eq!(root.unlink_at("f"), Err(Errno::Acces));
    assert_eq!(root.rmdir_at("d"), Err(Errno::Acces));
    assert_eq!(root.symlink_at("f", "s"), Err(Errno::Acces));
    assert_eq!(root.rename_at("f", &*root, "h"), Err(Errno::Acces));
    assert_eq!(root.link_at("f", &*root, "h"), Err(Errno::Acces));
    assert_eq!(root.set_times_at("f", SetTime::Now, SetTime::Now), Err(Errno::Acces));
    let mut buf = [0u8; 8];
    let plain = fs.root().unwrap();
    assert_eq!(file(plain.open_at("f", READ).unwrap()).read_at(&mut buf, 0), Ok(3));
    assert_eq!(&buf[..3], b"DAt");
    assert_eq!(names(&*plain), ["d", "f", "l"]);
}

#[test]
fn tree_mutable_files_read_only() {
    let (fs, root) = restricted(DirPerms::all(), FilePerms::READ);
    assert_eq!(root.open_at("f", WRITE).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("f", OpenOptions::new().truncate(true)).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("new", CREATE_WRITE).map(|_| ()), Err(Errno::Acces));
    let f = file(root.open_at("f", READ).unwrap());
    assert_eq!(f.write_at(b"x", 0), Err(Errno::Acces));
    assert_eq!(f.append(b"x").map(|_| ()), Err(Errno::Acces));
    assert_eq!(f.set_size(0), Err(Errno::Acces));
    assert_eq!(f.set_times(SetTime::Now, SetTime::Now), Err(Errno::Acces));
    // Creating for reading, and every change of the tree, reach the backend.
    assert!(root.open_at("empty", READ.create(true)).is_ok());
    root.mkdir_at("x").unwrap();
    root.symlink_at("f", "s").unwrap();
    root.link_at("f", &*root, "hard").unwrap();
    let d = dir(root.open_at("d", READ.directory(true)).unwrap());
    // A rename between two directories of the view reaches the backend's own handles.
    root.rename_at("f", &*d, "moved").unwrap();
    d.rename_at("moved", &*root, "f").unwrap();
    root.unlink_at("hard").unwrap();
    root.rmdir_at("x").unwrap();
    root.set_times_at("f", SetTime::At(5), SetTime::At(6)).unwrap();
    assert_eq!(names(&*fs.root().unwrap()), ["d", "empty", "f", "l", "s"]);
    assert_eq!(fs.root().unwrap().stat_at("f").unwrap().mtim, 6);
}

#[test]
fn rename_and_link_need_mutate_on_both_directories() {
    let fs = memfs();
    let rw = Restricted::new(fs.clone(), DirPerms::all(), FilePerms::all()).root().unwrap();
    let ro = Restricted::new(fs.clone(), DirPerms::READ, FilePerms::READ).root().unwrap();
    let fixed = Restricted::new(fs.clone(), DirPerms::READ, FilePerms::all()).root().unwrap();
    assert_eq!(rw.rename_at("f", &*ro, "h"), Err(Errno::Rofs), "the target's errno");
    assert_eq!(rw.link_at("f", &*fixed, "h"), Err(Errno::Acces));
    assert_eq!(ro.rename_at("f", &*rw, "h"), Err(Errno::Rofs));
    // Into a plain handle of the same backend: allowed.
    rw.rename_at("f", &*fs.root().unwrap(), "h").unwrap();
    assert_eq!(names(&*fs.root().unwrap()), ["d", "h", "l"]);
}

#[test]
fn file_read_permission() {
    let (_fs, root) = restricted(DirPerms::all(), FilePerms::WRITE);
    // Files cannot be opened for reading; directories can, and so can files write-only.
    assert_eq!(root.open_at("f", READ).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("missing", READ.create(true)).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.open_at("missing", READ).map(|_| ()), Err(Errno::Noent));
    assert_eq!(root.open_at("l", READ).map(|_| ()), Err(Errno::Loop));
    let d = dir(root.open_at("d", READ).unwrap());
    assert_eq!(names(&*d), ["g"]);
    let f = file(root.open_at("f", WRITE).unwrap());
    assert_eq!(f.write_at(b"x", 0), Ok(1));
    assert_eq!(f.read_at(&mut [0u8; 4], 0), Err(Errno::Acces));
    assert!(root.open_at("new", CREATE_WRITE).is_ok(), "a new file, write-only");
}

#[test]
fn dir_read_permission() {
    let (fs, root) = restricted(DirPerms::MUTATE, FilePerms::all());
    assert!(root.stat().is_ok());
    assert_eq!(root.stat_at("f"), Err(Errno::Acces));
    assert_eq!(root.open_at("f", READ).map(|_| ()), Err(Errno::Acces));
    assert_eq!(root.readlink_at("l"), Err(Errno::Acces));
    assert_eq!(root.read_dir(0, &mut |_| true), Err(Errno::Acces));
    assert_eq!(crate::resolve::stat(&root, "d/g", false), Err(Errno::Acces));
    root.mkdir_at("made").unwrap();
    assert!(fs.root().unwrap().stat_at("made").is_ok());
}

#[test]
fn paths_through_the_resolver_keep_the_permissions_on_host_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    std::fs::write(tmp.path().join("a/b/f"), b"host").unwrap();
    let host = || crate::HostDir::open(tmp.path()).unwrap();
    // The multi-name paths take HostDir's one-call open; the view must still decide.
    let fixed = Restricted::new(host(), DirPerms::READ, FilePerms::all()).root().unwrap();
    let f = file(crate::resolve::open(&fixed, "a/b/f", false, WRITE).unwrap());
    assert!(f.as_any().is::<RestrictedFile>());
    assert_eq!(f.write_at(b"H", 0), Ok(1));
    assert_eq!(crate::resolve::open(&fixed, "a/b/new", false, CREATE_WRITE).map(|_| ()), Err(Errno::Acces));
    assert_eq!(crate::resolve::mkdir(&fixed, "a/b/x"), Err(Errno::Acces));
    assert_eq!(crate::resolve::unlink(&fixed, "a/b/f"), Err(Errno::Acces));
    let sub = dir(crate::resolve::open(&fixed, "a/b", false, READ.directory(true)).unwrap());
    assert!(sub.as_any().is::<RestrictedDir>());
    assert_eq!(sub.mkdir_at("y"), Err(Errno::Acces));

    let readable = Restricted::new(host(), DirPerms::all(), FilePerms::READ).root().unwrap();
    assert_eq!(crate::resolve::open(&readable, "a/b/f", false, WRITE).map(|_| ()), Err(Errno::Acces));
    let f = file(crate::resolve::open(&readable, "a/b/f", false, READ).unwrap());
    assert_eq!(f.write_at(b"x", 0), Err(Errno::Acces));
    crate::resolve::mkdir(&readable, "a/b/z").unwrap();

    let blind = Restricted::new(host(), DirPerms::MUTATE, FilePerms::all()).root().unwrap();
    assert_eq!(crate::resolve::open(&blind, "a/b/f", false, READ).map(|_| ()), Err(Errno::Acces));

    assert_eq!(std::fs::read(tmp.path().join("a/b/f")).unwrap(), b"Host");
    let mut left: Vec<_> = std::fs::read_dir(tmp.path().join("a/b"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["f", "z"]);
}
