//! Views with fewer permissions: [`ReadOnly`] (no change at all) and [`Restricted`] (the
//! directory and file permissions of [`DirPerms`] and [`FilePerms`], as wasmtime-wasi's
//! preopens have them), over any [`FileSystem`].
//!
//! Every handle reachable through a view — its root, and every directory and file that
//! [`Dir::open_at`] hands out from there — is itself a wrapper ([`RestrictedDir`],
//! [`RestrictedFile`]) with the same permissions, which delegates what they allow to the wrapped
//! handle and refuses the rest without calling the wrapped filesystem's mutating methods.
//!
//! # Errno choices
//! A refused change answers [`Errno::Rofs`] on a view that allows no change at all (neither
//! [`DirPerms::MUTATE`] nor [`FilePerms::WRITE`]: a read-only mount), and [`Errno::Acces`] on a
//! view that allows some (as for a directory or file whose mode denies the guest). A refused
//! read ([`DirPerms::READ`] or [`FilePerms::READ`] missing) is [`Errno::Acces`]. Where POSIX
//! checks something else first, the view follows Linux when the answer needs only a lookup:
//!
//! - [`Dir::open_at`] with `write` or `truncate` and without [`FilePerms::WRITE`] is refused
//!   for every entry, directories included (Linux would answer `EISDIR` for a directory).
//! - [`Dir::open_at`] with `create` and without [`DirPerms::MUTATE`] behaves as on a read-only
//!   Linux mount: a missing name is refused; an existing one with `exclusive` is
//!   [`Errno::Exist`]; an existing directory without `exclusive` is [`Errno::Isdir`]; any other
//!   existing entry opens as if `create` were not given.
//! - [`Dir::open_at`] with `read` of a file without [`FilePerms::READ`] is [`Errno::Acces`], and
//!   so is creating a missing file for reading; directories open as usual.
//! - Without [`DirPerms::READ`], `stat_at`, `open_at`, `read_dir` and `readlink_at` answer
//!   [`Errno::Acces`]: nothing below the directory can be reached or listed.
//! - Without [`DirPerms::MUTATE`], `mkdir_at`, `rmdir_at`, `unlink_at`, `symlink_at`,
//!   `rename_at`, `link_at` and the directory's `set_times` are refused before looking at
//!   anything (Linux would answer `EEXIST` for an existing `mkdir` target, `ENOENT` for a
//!   missing `unlink` one…); `rename_at` and `link_at` need it on both directories.
//!   `set_times_at` looks the name up first, as `utimensat(2)` does: a missing name is
//!   [`Errno::Noent`].
//! - On files without [`FilePerms::WRITE`], `write_at`, `write_vectored_at`, `append`,
//!   `append_vectored`, `set_size`, `set_times` and `allocate` are refused; `stat`, `filetype`,
//!   `sync`, `datasync` and `advise` pass through; `read_at` needs [`FilePerms::READ`].
//! - [`Dir::reopen`] passes through, the reopened handle wrapped: a backend that keeps state per
//!   descriptor keeps it under the wrapper too.

use std::any::Any;
use std::fmt;
use std::io::IoSlice;
use std::sync::Arc;

use crate::{Advice, Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// Defines a permission set: a `Copy` bit set with two named permissions, `empty`, `all`,
/// `contains`, `|` and a `Debug` listing the names.
macro_rules! perm_set {
    ($(#[$doc:meta])* $ty:ident { $(#[$adoc:meta])* $a:ident, $(#[$bdoc:meta])* $b:ident }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $ty(u8);

        impl $ty {
            $(#[$adoc])*
            pub const $a: $ty = $ty(1);
            $(#[$bdoc])*
            pub const $b: $ty = $ty(2);

            /// No permission.
            pub const fn empty() -> $ty {
                $ty(0)
            }

            #[doc = concat!("[`", stringify!($ty), "::", stringify!($a), "`] and [`", stringify!($ty), "::", stringify!($b), "`].")]
            pub const fn all() -> $ty {
                $ty(3)
            }

            /// Whether every permission of `other` is in `self`.
            pub const fn contains(self, other: $ty) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl std::ops::BitOr for $ty {
            type Output = $ty;
            fn bitor(self, other: $ty) -> $ty {
                $ty(self.0 | other.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($ty))?;
                let names = [($ty::$a, stringify!($a)), ($ty::$b, stringify!($b))];
                for (i, (_, name)) in names.iter().filter(|(p, _)| self.contains(*p)).enumerate() {
                    write!(f, "{}{name}", if i == 0 { "" } else { " | " })?;
                }
                f.write_str(")")
            }
        }
    };
}

perm_set! {
    /// What a guest may do with the directories of a view ([`Restricted`]): combine with `|`.
    ///
    /// ```
    /// use hammertime_vfs::DirPerms;
    /// let perms = DirPerms::READ | DirPerms::MUTATE;
    /// assert_eq!(perms, DirPerms::all());
    /// assert!(perms.contains(DirPerms::MUTATE) && !DirPerms::READ.contains(DirPerms::MUTATE));
    /// assert_eq!(format!("{perms:?}"), "DirPerms(READ | MUTATE)");
    /// ```
    DirPerms {
        /// Look up, open and list entries (`stat_at`, `open_at`, `read_dir`, `readlink_at`).
        READ,
        /// Create, remove, rename and link entries, and set their times.
        MUTATE
    }
}

perm_set! {
    /// What a guest may do with the files of a view ([`Restricted`]): combine with `|`.
    ///
    /// ```
    /// use hammertime_vfs::FilePerms;
    /// assert_eq!(FilePerms::READ | FilePerms::WRITE, FilePerms::all());
    /// assert_eq!(format!("{:?}", FilePerms::READ), "FilePerms(READ)");
    /// assert_eq!(format!("{:?}", FilePerms::empty()), "FilePerms()");
    /// ```
    FilePerms {
        /// Open files for reading, and read them.
        READ,
        /// Open files for writing or truncation, write them, change their size and times.
        WRITE
    }
}

/// The permissions of one view, shared by all its handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Perms {
    dir: DirPerms,
    file: FilePerms,
}

impl Perms {
    const READ_ONLY: Perms = Perms { dir: DirPerms::READ, file: FilePerms::READ };

    /// Whether the view allows no change at all.
    fn read_only(self) -> bool {
        !self.dir.contains(DirPerms::MUTATE) && !self.file.contains(FilePerms::WRITE)
    }

    /// The errno of a refused change: `EROFS` on a view that allows none, else `EACCES`.
    fn refused(self) -> Errno {
        if self.read_only() { Errno::Rofs } else { Errno::Acces }
    }

    /// `Ok` if directories may be read.
    fn dir_read(self) -> Result<()> {
        if self.dir.contains(DirPerms::READ) { Ok(()) } else { Err(Errno::Acces) }
    }

    /// `Ok` if directories may change.
    fn dir_mutate(self) -> Result<()> {
        if self.dir.contains(DirPerms::MUTATE) { Ok(()) } else { Err(self.refused()) }
    }

    /// `Ok` if files may be written.
    fn file_write(self) -> Result<()> {
        if self.file.contains(FilePerms::WRITE) { Ok(()) } else { Err(self.refused()) }
    }

    /// Wraps a node so that it keeps these permissions.
    fn wrap(self, node: Node) -> Node {
        match node {
            Node::Dir(dir) => Node::Dir(Arc::new(RestrictedDir { inner: dir, perms: self })),
            Node::File(file) => Node::File(Arc::new(RestrictedFile { inner: file, perms: self })),
        }
    }
}

/// A read-only view of the filesystem `F`.
///
/// [`FileSystem::is_read_only`] is `true`, and every change made through any handle it hands
/// out fails with [`Errno::Rofs`] (see the [module docs](crate::perms) for the exact errnos).
/// The same as a [`Restricted`] view with [`DirPerms::READ`] and [`FilePerms::READ`].
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
        Ok(Arc::new(RestrictedDir::read_only(self.inner.root()?)))
    }

    fn is_read_only(&self) -> bool {
        true
    }

    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        self.inner.mounted_with_clock(clock)
    }
}

/// A view of the filesystem `F` with the directory and file permissions given (see the
/// [module docs](crate::perms) for what each allows and the errnos of what it refuses).
///
/// ```
/// use hammertime_vfs::{DirPerms, Errno, FilePerms, FileSystem, MemFs, OpenOptions, Restricted};
/// let mem = MemFs::new();
/// mem.root()?.open_at("log", OpenOptions::new().write(true).create(true))?;
/// // Existing files may be written; no entry may be created, removed or renamed.
/// let fs = Restricted::new(mem, DirPerms::READ, FilePerms::all());
/// let root = fs.root()?;
/// assert!(root.open_at("log", OpenOptions::new().write(true)).is_ok());
/// assert_eq!(root.mkdir_at("new"), Err(Errno::Acces));
/// # Ok::<(), Errno>(())
/// ```
#[derive(Clone)]
pub struct Restricted<F> {
    inner: F,
    perms: Perms,
}

impl<F> Restricted<F> {
    /// Wraps `fs` with these permissions.
    pub fn new(fs: F, dir: DirPerms, file: FilePerms) -> Restricted<F> {
        Restricted { inner: fs, perms: Perms { dir, file } }
    }

    /// The directory permissions.
    pub fn dir_perms(&self) -> DirPerms {
        self.perms.dir
    }

    /// The file permissions.
    pub fn file_perms(&self) -> FilePerms {
        self.perms.file
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

impl<F: fmt::Debug> fmt::Debug for Restricted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restricted")
            .field("inner", &self.inner)
            .field("dir", &self.perms.dir)
            .field("file", &self.perms.file)
            .finish()
    }
}

impl<F: FileSystem> FileSystem for Restricted<F> {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Arc::new(RestrictedDir::new(self.inner.root()?, self.perms.dir, self.perms.file)))
    }

    /// `true` when the view allows no change (neither [`DirPerms::MUTATE`] nor
    /// [`FilePerms::WRITE`]).
    fn is_read_only(&self) -> bool {
        self.perms.read_only()
    }

    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        self.inner.mounted_with_clock(clock)
    }
}

/// A directory handle with fewer permissions: delegates what they allow to the wrapped handle,
/// refuses the rest, and wraps every handle it opens with the same permissions.
///
/// [`ReadOnly`] and [`Restricted`] hand these out; build one yourself to restrict a single
/// directory handle. The wrapped handle cannot be taken back out.
///
/// ```
/// use hammertime_vfs::{Errno, FileSystem, MemFs, perms::RestrictedDir};
/// let dir = RestrictedDir::read_only(MemFs::new().root()?);
/// assert_eq!(hammertime_vfs::Dir::mkdir_at(&dir, "x"), Err(Errno::Rofs));
/// # Ok::<(), Errno>(())
/// ```
pub struct RestrictedDir {
    inner: Arc<dyn Dir>,
    perms: Perms,
}

impl RestrictedDir {
    /// Wraps the directory handle `dir` with these permissions.
    pub fn new(dir: Arc<dyn Dir>, dir_perms: DirPerms, file_perms: FilePerms) -> RestrictedDir {
        RestrictedDir { inner: dir, perms: Perms { dir: dir_perms, file: file_perms } }
    }

    /// Wraps the directory handle `dir` read-only (as [`ReadOnly`] does).
    pub fn read_only(dir: Arc<dyn Dir>) -> RestrictedDir {
        RestrictedDir { inner: dir, perms: Perms::READ_ONLY }
    }

    /// `dir` wrapped read-only, unless it is a view that allows no change already (then `dir`
    /// itself: one wrapper, not two, on every handle opened through it).
    pub(crate) fn read_only_view(dir: Arc<dyn Dir>) -> Arc<dyn Dir> {
        match dir.as_any().downcast_ref::<RestrictedDir>() {
            Some(view) if view.perms.read_only() => dir,
            _ => Arc::new(RestrictedDir::read_only(dir)),
        }
    }

    /// The wrapped handle of another directory given to `rename_at` or `link_at`, if that
    /// directory may change; a directory of no view is passed as it is.
    fn target<'a>(&self, other: &'a dyn Dir) -> Result<&'a dyn Dir> {
        match other.as_any().downcast_ref::<RestrictedDir>() {
            Some(view) => {
                view.perms.dir_mutate()?;
                Ok(&*view.inner)
            }
            None => Ok(other),
        }
    }

    /// Whether opening `name` with `options` would read a file the view may not read.
    fn denies_file_read(&self, name: &str, options: OpenOptions) -> Result<()> {
        if !options.read || options.directory || self.perms.file.contains(FilePerms::READ) {
            return Ok(());
        }
        match self.inner.stat_at(name) {
            Ok(st) if st.filetype == FileType::Directory => Ok(()),
            Ok(st) if st.filetype == FileType::SymbolicLink => Ok(()), // open_at answers ELOOP
            Ok(_) => Err(Errno::Acces),
            Err(Errno::Noent) if options.create => Err(Errno::Acces),
            Err(_) => Ok(()), // open_at gives the lookup's own errno
        }
    }
}

impl fmt::Debug for RestrictedDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RestrictedDir({:?}, {:?}, ..)", self.perms.dir, self.perms.file)
    }
}

impl Dir for RestrictedDir {
    fn stat(&self) -> Result<Stat> {
        self.inner.stat()
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        self.perms.dir_read()?;
        self.inner.stat_at(name)
    }

    /// Opens `name` as the permissions allow; see the [module docs](crate::perms) for the
    /// errnos of `write`, `truncate`, `create` and `read`.
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        let perms = self.perms;
        perms.dir_read()?;
        if options.write || options.truncate {
            perms.file_write()?;
        }
        self.denies_file_read(name, options)?;
        if options.create && perms.dir_mutate().is_err() {
            return crate::fs::open_without_creating(&*self.inner, name, options, perms.refused())
                .map(|node| perms.wrap(node));
        }
        self.inner.open_at(name, options).map(|node| perms.wrap(node))
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.perms.dir_read()?;
        self.inner.read_dir(cookie, sink)
    }

    fn mkdir_at(&self, name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.mkdir_at(name)
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.rmdir_at(name)
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.unlink_at(name)
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.symlink_at(target, name)
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        self.perms.dir_read()?;
        self.inner.readlink_at(name)
    }

    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.rename_at(name, self.target(new_dir)?, new_name)
    }

    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.link_at(name, self.target(new_dir)?, new_name)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        crate::fs::refused_after_lookup(self.perms.dir_mutate(), &*self.inner, name)?;
        self.inner.set_times_at(name, atime, mtime)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.perms.dir_mutate()?;
        self.inner.set_times(atime, mtime)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    /// The wrapped handle's [`Dir::reopen`], wrapped.
    fn reopen(&self) -> Option<Arc<dyn Dir>> {
        let dir: Arc<dyn Dir> = Arc::new(RestrictedDir { inner: self.inner.reopen()?, perms: self.perms });
        Some(dir)
    }

    fn open_dir_path(&self, path: &str) -> Option<Result<Arc<dyn Dir>>> {
        self.perms.dir_read().ok()?;
        let dir: Result<Arc<dyn Dir>> = match self.inner.open_dir_path(path)? {
            Ok(dir) => Ok(Arc::new(RestrictedDir { inner: dir, perms: self.perms })),
            Err(err) => Err(err),
        };
        Some(dir)
    }

    /// Opens that when the permissions allow everything asked; anything they might refuse is
    /// left to the walk and [`RestrictedDir::open_at`], which decide its errno.
    fn open_path(&self, path: &str, options: OpenOptions) -> Option<Result<Node>> {
        let perms = self.perms;
        perms.dir_read().ok()?;
        if (options.write || options.truncate) && perms.file_write().is_err()
            || options.create && perms.dir_mutate().is_err()
            || options.read && !perms.file.contains(FilePerms::READ)
        {
            return None;
        }
        Some(self.inner.open_path(path, options)?.map(|node| perms.wrap(node)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A file handle with fewer permissions: delegates what they allow to the wrapped handle
/// (`stat`, `filetype`, `sync`, `datasync` and `advise` always) and refuses the rest.
///
/// [`ReadOnly`] and [`Restricted`] hand these out; build one yourself to restrict a single file
/// handle. The wrapped handle cannot be taken back out.
///
/// ```
/// use hammertime_vfs::{Errno, File, FileSystem, MemFs, Node, OpenOptions, perms::RestrictedFile};
/// let Node::File(file) = MemFs::new().root()?.open_at("f", OpenOptions::new().write(true).create(true))? else {
///     unreachable!()
/// };
/// assert_eq!(RestrictedFile::read_only(file).write_at(b"x", 0), Err(Errno::Rofs));
/// # Ok::<(), Errno>(())
/// ```
pub struct RestrictedFile {
    inner: Arc<dyn File>,
    perms: Perms,
}

impl RestrictedFile {
    /// Wraps the file handle `file` with these file permissions.
    pub fn new(file: Arc<dyn File>, perms: FilePerms) -> RestrictedFile {
        RestrictedFile { inner: file, perms: Perms { dir: DirPerms::READ, file: perms } }
    }

    /// Wraps the file handle `file` read-only (as [`ReadOnly`] does).
    pub fn read_only(file: Arc<dyn File>) -> RestrictedFile {
        RestrictedFile { inner: file, perms: Perms::READ_ONLY }
    }
}

impl fmt::Debug for RestrictedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RestrictedFile({:?}, ..)", self.perms.file)
    }
}

impl File for RestrictedFile {
    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        self.perms.file_write()?;
        self.inner.allocate(offset, len)
    }

    fn stat(&self) -> Result<Stat> {
        self.inner.stat()
    }

    fn filetype(&self) -> Result<FileType> {
        self.inner.filetype()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if !self.perms.file.contains(FilePerms::READ) {
            return Err(Errno::Acces);
        }
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.perms.file_write()?;
        self.inner.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.perms.file_write()?;
        self.inner.append(buf)
    }

    fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        self.perms.file_write()?;
        self.inner.write_vectored_at(bufs, offset)
    }

    fn append_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        self.perms.file_write()?;
        self.inner.append_vectored(bufs)
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.perms.file_write()?;
        self.inner.set_size(size)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.perms.file_write()?;
        self.inner.set_times(atime, mtime)
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
mod tests;
