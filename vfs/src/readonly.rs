//! [`ReadOnly`]: a read-only view of any [`FileSystem`].
//!
//! Every handle reachable through the wrapper — its root, and every directory and file that
//! [`Dir::open_at`] hands out from there — is itself a wrapper that delegates reads to the
//! wrapped handle and refuses every change with [`Errno::Rofs`], without ever calling the
//! wrapped filesystem's mutating methods.
//!
//! # Errno choices
//! Where POSIX checks something else before the read-only state, the wrapper follows Linux
//! when the answer needs only a lookup, and answers [`Errno::Rofs`] otherwise:
//!
//! - [`Dir::open_at`] with `write` or `truncate` answers [`Errno::Rofs`] for every entry,
//!   directories included (Linux would answer `EISDIR` for a directory; `EROFS` says more).
//! - [`Dir::open_at`] with `create` and without `write`/`truncate` behaves as on a read-only
//!   Linux mount: a missing name is [`Errno::Rofs`]; an existing one with `exclusive` is
//!   [`Errno::Exist`]; an existing directory without `exclusive` is [`Errno::Isdir`]; any
//!   other existing entry opens as if `create` were not given.
//! - `mkdir_at`, `rmdir_at`, `unlink_at`, `symlink_at`, `rename_at`, `link_at`,
//!   `set_times_at` and `set_times` answer [`Errno::Rofs`] before looking at anything (Linux
//!   would answer `EEXIST` for an existing `mkdir` target, `ENOENT` for a missing `unlink`
//!   one…).
//! - On files, `write_at`, `write_vectored_at`, `append`, `append_vectored`, `set_size`,
//!   `set_times` and `allocate` answer [`Errno::Rofs`]; `filetype`, `sync`, `datasync` and
//!   `advise` pass through.
//! - [`Dir::reopen`] passes through, the reopened handle wrapped: a backend that keeps state per
//!   descriptor keeps it under the wrapper too.

use std::any::Any;
use std::fmt;
use std::io::IoSlice;
use std::sync::Arc;

use crate::{Advice, Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, Stat};

/// A read-only view of the filesystem `F`.
///
/// [`FileSystem::is_read_only`] is `true`, and every change made through any handle it hands
/// out fails with [`Errno::Rofs`] (see the [module docs](crate::readonly) for the exact errnos).
///
/// ```
/// use hammertime_vfs::{FileSystem, ReadOnly};
/// # use std::collections::HashMap;
/// # use hammertime_vfs::SimpleFsAdapter;
/// # let writable = SimpleFsAdapter::new(HashMap::<String, Vec<u8>>::new());
/// let fs = ReadOnly::new(writable);
/// assert!(fs.is_read_only());
/// assert_eq!(fs.root().unwrap().mkdir_at("new"), Err(hammertime_vfs::Errno::Rofs));
/// ```
#[derive(Clone, Default)]
pub struct ReadOnly<F> {
    inner: F,
}

impl<F> ReadOnly<F> {
    /// Wraps `fs`.
    pub fn new(fs: F) -> ReadOnly<F> {
        ReadOnly { inner: fs }
    }

    /// The wrapped filesystem.
    pub fn get_ref(&self) -> &F {
        &self.inner
    }

    /// Unwraps the filesystem.
    pub fn into_inner(self) -> F {
        self.inner
    }
}

impl<F: fmt::Debug> fmt::Debug for ReadOnly<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadOnly").field(&self.inner).finish()
    }
}

impl<F: FileSystem> FileSystem for ReadOnly<F> {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Arc::new(ReadOnlyDir::new(self.inner.root()?)))
    }

    fn is_read_only(&self) -> bool {
        true
    }

    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        self.inner.mounted_with_clock(clock)
    }
}

/// Wraps a node so that it stays read-only.
fn wrap(node: Node) -> Node {
    match node {
        Node::Dir(dir) => Node::Dir(Arc::new(ReadOnlyDir::new(dir))),
        Node::File(file) => Node::File(Arc::new(ReadOnlyFile::new(file))),
    }
}

/// A read-only directory handle: delegates reads to the wrapped handle, refuses every change
/// with [`Errno::Rofs`], and wraps every handle it opens.
///
/// [`ReadOnly`] hands these out; build one yourself to make a single directory handle
/// read-only. The wrapped handle cannot be taken back out.
pub struct ReadOnlyDir {
    inner: Arc<dyn Dir>,
}

impl ReadOnlyDir {
    /// Wraps the directory handle `dir`.
    pub fn new(dir: Arc<dyn Dir>) -> ReadOnlyDir {
        ReadOnlyDir { inner: dir }
    }
}

impl fmt::Debug for ReadOnlyDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadOnlyDir(..)")
    }
}

impl Dir for ReadOnlyDir {
    fn stat(&self) -> Result<Stat> {
        self.inner.stat()
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        self.inner.stat_at(name)
    }

    /// Opens `name` read-only; see the [module docs](crate::readonly) for the errnos of `write`,
    /// `truncate` and `create`.
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        if options.write || options.truncate {
            return Err(Errno::Rofs);
        }
        if options.create {
            if options.exclusive {
                // O_CREAT|O_EXCL: an existing entry (a link too) is EEXIST, a missing one
                // would have to be created.
                return match self.inner.stat_at(name) {
                    Ok(_) => Err(Errno::Exist),
                    Err(Errno::Noent) => Err(Errno::Rofs),
                    Err(e) => Err(e),
                };
            }
            let plain = OpenOptions { create: false, exclusive: false, ..options };
            return match self.inner.open_at(name, plain) {
                Ok(Node::Dir(_)) => Err(Errno::Isdir),
                Ok(node) => Ok(wrap(node)),
                Err(Errno::Noent) => Err(Errno::Rofs),
                Err(e) => Err(e),
            };
        }
        self.inner.open_at(name, options).map(wrap)
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.inner.read_dir(cookie, sink)
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        self.inner.readlink_at(name)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    /// The wrapped handle's [`Dir::reopen`], wrapped.
    fn reopen(&self) -> Option<Arc<dyn Dir>> {
        let dir: Arc<dyn Dir> = Arc::new(ReadOnlyDir::new(self.inner.reopen()?));
        Some(dir)
    }

    fn open_dir_path(&self, path: &str) -> Option<Result<Arc<dyn Dir>>> {
        let dir: Result<Arc<dyn Dir>> = match self.inner.open_dir_path(path)? {
            Ok(dir) => Ok(Arc::new(ReadOnlyDir::new(dir))),
            Err(err) => Err(err),
        };
        Some(dir)
    }

    /// Opens that read only; a change (`write`, `truncate`, `create`) is left to the walk and
    /// [`ReadOnlyDir::open_at`], which decide its errno.
    fn open_path(&self, path: &str, options: OpenOptions) -> Option<Result<Node>> {
        if options.write || options.truncate || options.create {
            return None;
        }
        Some(self.inner.open_path(path, options)?.map(wrap))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A read-only file handle: delegates reads, `sync`, `datasync` and `advise` to the wrapped
/// handle and refuses every change with [`Errno::Rofs`].
///
/// [`ReadOnly`] hands these out; build one yourself to make a single file handle read-only.
/// The wrapped handle cannot be taken back out.
pub struct ReadOnlyFile {
    inner: Arc<dyn File>,
}

impl ReadOnlyFile {
    /// Wraps the file handle `file`.
    pub fn new(file: Arc<dyn File>) -> ReadOnlyFile {
        ReadOnlyFile { inner: file }
    }
}

impl fmt::Debug for ReadOnlyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadOnlyFile(..)")
    }
}

impl File for ReadOnlyFile {
    fn allocate(&self, _offset: u64, _len: u64) -> Result<()> {
        Err(Errno::Rofs)
    }

    fn stat(&self) -> Result<Stat> {
        self.inner.stat()
    }

    fn filetype(&self) -> Result<FileType> {
        self.inner.filetype()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_vectored_at(&self, _bufs: &[IoSlice<'_>], _offset: u64) -> Result<usize> {
        Err(Errno::Rofs)
    }

    fn append_vectored(&self, _bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        Err(Errno::Rofs)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    fn datasync(&self) -> Result<()> {
        self.inner.datasync()
    }

    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        self.inner.advise(offset, len, advice)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SetTime;
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

    fn file(node: Node) -> Arc<dyn File> {
        match node {
            Node::File(f) => f,
            Node::Dir(_) => panic!("expected a file"),
        }
    }

    fn dir(node: Node) -> Arc<dyn Dir> {
        match node {
            Node::Dir(d) => d,
            Node::File(_) => panic!("expected a directory"),
        }
    }

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
        assert_eq!(d.set_times_at("file", SetTime::Now, SetTime::At(5)), Err(Errno::Rofs));
        assert_eq!(d.set_times(SetTime::Now, SetTime::Omit), Err(Errno::Rofs));
        for (write, create, exclusive, truncate) in [
            (true, false, false, false),
            (false, false, false, true),
            (true, true, false, false),
            (true, true, true, true),
        ] {
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
        assert!(root.as_any().is::<ReadOnlyDir>());
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
        assert!(f.as_any().is::<ReadOnlyFile>());
        assert_file_refuses(&*f);
        assert_eq!(changes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn readonly_handles_from_open_at_stay_read_only() {
        let (fs, changes) = setup();
        let root = fs.root().unwrap();
        let f = file(root.open_at("file", READ).unwrap());
        assert!(f.as_any().is::<ReadOnlyFile>());
        assert_file_refuses(&*f);

        let sub = dir(root.open_at("sub", OpenOptions { directory: true, ..READ }).unwrap());
        assert!(sub.as_any().is::<ReadOnlyDir>());
        assert_eq!(sub.stat().unwrap().ino, 3);
        assert_dir_refuses(&*sub, &*root);
        let inner = file(sub.open_at("inner", READ).unwrap());
        assert!(inner.as_any().is::<ReadOnlyFile>());
        let mut buf = [0u8; 4];
        assert_eq!(inner.read_at(&mut buf, 0), Ok(2));
        assert_eq!(&buf[..2], b"in");
        assert_file_refuses(&*inner);

        // A directory opened without `directory` is wrapped too.
        let sub2 = dir(root.open_at("sub", READ).unwrap());
        assert!(sub2.as_any().is::<ReadOnlyDir>());
        assert_eq!(sub2.mkdir_at("x"), Err(Errno::Rofs));
        assert_eq!(changes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn readonly_single_handles() {
        let changes = Arc::new(AtomicUsize::new(0));
        let d = ReadOnlyDir::new(Spy { changes: changes.clone() }.root().unwrap());
        assert_eq!(d.unlink_at("file"), Err(Errno::Rofs));
        assert_eq!(format!("{d:?}"), "ReadOnlyDir(..)");
        let f = ReadOnlyFile::new(Arc::new(SpyFile { changes: changes.clone(), data: b"abc", ino: 1 }));
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
        assert!(again.as_any().is::<ReadOnlyDir>());
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
}
