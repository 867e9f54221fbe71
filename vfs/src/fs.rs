//! The filesystem abstraction: [`FileSystem`], [`Dir`] and [`File`].
//!
//! # The contract in one paragraph
//! A backend serves *single-component* operations on open directory handles, the way `openat(2)`,
//! `mkdirat(2)`, `unlinkat(2)`… do with `O_NOFOLLOW`. It never sees a path: every `name` argument
//! is one non-empty component that is not `.` or `..` and holds neither `/` nor NUL, and the
//! backend must not follow a symbolic link when it names one (it answers [`Errno::Loop`] where a
//! followed link would be needed, or acts on the link itself where POSIX does). Walking paths —
//! `.`, `..`, symbolic links, trailing slashes, the sandbox boundary — is done once for every
//! backend by [`crate::resolve`], so a backend cannot get it wrong and a guest cannot leave the
//! mount through any backend.
//!
//! Each method lists the errnos it returns and its POSIX counterpart. A backend may return
//! [`Errno::Notsup`] for optional operations (marked *optional*). Every method that changes
//! the filesystem has a default implementation answering [`Errno::Rofs`], so a read-only
//! backend implements only the methods that read.

use std::any::Any;
use std::io::IoSlice;
use std::sync::Arc;

use crate::Errno;

/// The result type of every filesystem method.
///
/// ```
/// use hammertime_vfs::{Errno, FileSystem, MemFs, Result};
///
/// fn file_size(fs: &dyn FileSystem, name: &str) -> Result<u64> {
///     Ok(fs.root()?.stat_at(name)?.size)
/// }
///
/// let fs = MemFs::from_entries([("motd", "hello")])?;
/// assert_eq!(file_size(&fs, "motd"), Ok(5));
/// assert_eq!(file_size(&fs, "missing"), Err(Errno::Noent));
/// # Ok::<(), std::io::Error>(())
/// ```
pub type Result<T, E = Errno> = std::result::Result<T, E>;

/// A WASI file type (`filetype`), as reported by `stat` and `readdir`.
///
/// ```
/// use hammertime_vfs::{FileType, MemFs};
/// let fs = MemFs::from_entries([("docs/a.txt", "abc")])?;
/// fs.symlink("docs/a.txt", "latest")?;
/// assert_eq!(fs.metadata("docs")?.filetype, FileType::Directory);
/// assert_eq!(fs.metadata("docs/a.txt")?.filetype, FileType::RegularFile);
/// assert_eq!(fs.metadata("latest")?.filetype, FileType::SymbolicLink); // not followed
/// assert_eq!(FileType::RegularFile.raw(), 4);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum FileType {
    /// The type is unknown or not one of the others.
    #[default]
    Unknown = 0,
    /// A block device.
    BlockDevice = 1,
    /// A character device (a terminal, `/dev/null`…).
    CharacterDevice = 2,
    /// A directory.
    Directory = 3,
    /// A regular file.
    RegularFile = 4,
    /// A datagram socket.
    SocketDgram = 5,
    /// A stream socket.
    SocketStream = 6,
    /// A symbolic link.
    SymbolicLink = 7,
}

impl FileType {
    /// The WASI `filetype` number.
    pub fn raw(self) -> u8 {
        self as u8
    }
}

/// File attributes, the WASI `filestat` (POSIX `struct stat`). Times are nanoseconds since the
/// Unix epoch.
///
/// Fields may be added: a backend makes one with [`Stat::new`] (or [`Stat::default`]) and sets
/// the fields it knows.
///
/// ```
/// use hammertime_vfs::{FileType, Stat};
/// let mut st = Stat::new(FileType::RegularFile, 42);
/// st.ino = 7;
/// st.mtim = 1_700_000_000_000_000_000;
/// assert_eq!((st.filetype, st.size, st.nlink), (FileType::RegularFile, 42, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stat {
    /// Device ID of the filesystem holding the file.
    pub dev: u64,
    /// File serial number, stable while the file exists.
    pub ino: u64,
    /// The file's type.
    pub filetype: FileType,
    /// Number of hard links to the file.
    pub nlink: u64,
    /// Size in bytes (for a symbolic link, the length of its target).
    pub size: u64,
    /// Last data access time.
    pub atim: u64,
    /// Last data modification time.
    pub mtim: u64,
    /// Last status change time.
    pub ctim: u64,
}

impl Stat {
    /// An entry of type `filetype` and `size` bytes, with one link; device, inode and times 0.
    pub fn new(filetype: FileType, size: u64) -> Stat {
        Stat { filetype, size, nlink: 1, ..Stat::default() }
    }
}

/// How to change one timestamp in a `set_times` call (POSIX `utimensat` semantics).
///
/// ```
/// use hammertime_vfs::{FileSystem, MemFs, SetTime};
/// let fs = MemFs::from_entries([("a.txt", "x")])?;
/// let root = fs.root()?;
/// root.set_times_at("a.txt", SetTime::At(1_000), SetTime::At(2_000))?;
/// root.set_times_at("a.txt", SetTime::Omit, SetTime::Now)?;
/// let st = root.stat_at("a.txt")?;
/// assert_eq!(st.atim, 1_000); // left as it was
/// assert!(st.mtim > 2_000); // the filesystem clock's now
/// # Ok::<(), hammertime_vfs::Errno>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    /// Leave the timestamp as it is (`UTIME_OMIT`).
    Omit,
    /// Set it to the current time (`UTIME_NOW`).
    Now,
    /// Set it to this many nanoseconds since the Unix epoch.
    At(u64),
}

/// One entry of a directory listing (`readdir`).
///
/// ```
/// use hammertime_vfs::{DirEntry, FileType};
/// let e = DirEntry::new("notes.txt", FileType::RegularFile, 12, 3);
/// assert_eq!((e.name.as_str(), e.ino, e.next), ("notes.txt", 12, 3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The cookie that continues the listing after this entry.
    pub next: u64,
    /// The entry's file serial number.
    pub ino: u64,
    /// The entry's type (a symbolic link is reported as such, not followed).
    pub filetype: FileType,
    /// The entry's name: one path component.
    pub name: String,
}

impl DirEntry {
    /// The entry `name` of type `filetype` and serial number `ino`, followed in the listing by
    /// cookie `next`.
    pub fn new(name: impl Into<String>, filetype: FileType, ino: u64, next: u64) -> DirEntry {
        DirEntry { next, ino, filetype, name: name.into() }
    }
}

/// Flags of [`Dir::open_at`] (the `O_*` flags of `openat(2)` that a backend must honour).
///
/// Made as [`std::fs::OpenOptions`] is: [`OpenOptions::new`] (nothing set) and one method per
/// flag; the fields can be read (and set) one by one, and more may be added.
///
/// ```
/// use hammertime_vfs::OpenOptions;
/// let o = OpenOptions::new().write(true).create(true).truncate(true);
/// assert!(o.write && o.create && o.truncate && !o.read);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Open for reading (`O_RDONLY`/`O_RDWR`).
    pub read: bool,
    /// Open for writing (`O_WRONLY`/`O_RDWR`).
    pub write: bool,
    /// Create a regular file if `name` does not exist (`O_CREAT`).
    pub create: bool,
    /// With `create`: fail with [`Errno::Exist`] if `name` exists (`O_EXCL`).
    pub exclusive: bool,
    /// Truncate an existing regular file to size 0 (`O_TRUNC`).
    pub truncate: bool,
    /// Fail with [`Errno::Notdir`] unless `name` is a directory (`O_DIRECTORY`).
    pub directory: bool,
}

impl OpenOptions {
    /// No flag set (a plain lookup that opens for neither reading nor writing).
    pub const fn new() -> OpenOptions {
        OpenOptions { read: false, write: false, create: false, exclusive: false, truncate: false, directory: false }
    }

    /// Sets [`OpenOptions::read`].
    pub const fn read(mut self, on: bool) -> OpenOptions {
        self.read = on;
        self
    }

    /// Sets [`OpenOptions::write`].
    pub const fn write(mut self, on: bool) -> OpenOptions {
        self.write = on;
        self
    }

    /// Sets [`OpenOptions::create`].
    pub const fn create(mut self, on: bool) -> OpenOptions {
        self.create = on;
        self
    }

    /// Sets [`OpenOptions::exclusive`].
    pub const fn exclusive(mut self, on: bool) -> OpenOptions {
        self.exclusive = on;
        self
    }

    /// Sets [`OpenOptions::truncate`].
    pub const fn truncate(mut self, on: bool) -> OpenOptions {
        self.truncate = on;
        self
    }

    /// Sets [`OpenOptions::directory`].
    pub const fn directory(mut self, on: bool) -> OpenOptions {
        self.directory = on;
        self
    }
}

/// What [`Dir::open_at`] opened.
///
/// ```
/// use hammertime_vfs::{FileSystem, MemFs, Node, OpenOptions};
/// let fs = MemFs::from_entries([("etc/motd", "hi")])?;
/// let read = OpenOptions::new().read(true);
/// let Node::Dir(etc) = fs.root()?.open_at("etc", read)? else { panic!("etc is a directory") };
/// match etc.open_at("motd", read)? {
///     Node::File(motd) => assert_eq!(motd.stat()?.size, 2),
///     Node::Dir(_) => panic!("motd is a file"),
/// }
/// # Ok::<(), hammertime_vfs::Errno>(())
/// ```
#[derive(Clone)]
pub enum Node {
    /// A directory handle.
    Dir(Arc<dyn Dir>),
    /// A file handle (regular file or other non-directory).
    File(Arc<dyn File>),
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Dir(_) => f.write_str("Node::Dir(..)"),
            Node::File(_) => f.write_str("Node::File(..)"),
        }
    }
}

/// A filesystem that can be mounted into a guest.
///
/// Implemented by [`crate::MemFs`], [`crate::HostDir`], [`crate::ReadOnly`] and
/// [`crate::SimpleFs`]; implement it (and [`Dir`], [`File`]) to serve your own.
///
/// ```
/// use std::sync::Arc;
/// use hammertime_vfs::{Dir, Errno, FileSystem, MemFs, Node, OpenOptions, Result};
///
/// // Serves one directory of a `MemFs` as a whole filesystem: nothing above it is reachable.
/// struct Subdir(MemFs, &'static str);
///
/// impl FileSystem for Subdir {
///     fn root(&self) -> Result<Arc<dyn Dir>> {
///         match self.0.root()?.open_at(self.1, OpenOptions::new().directory(true))? {
///             Node::Dir(dir) => Ok(dir),
///             Node::File(_) => Err(Errno::Notdir),
///         }
///     }
/// }
///
/// let fs = Subdir(MemFs::from_entries([("www/index.html", "<h1>hi</h1>")])?, "www");
/// assert_eq!(fs.root()?.stat_at("index.html")?.size, 11);
/// # Ok::<(), Errno>(())
/// ```
pub trait FileSystem: Send + Sync + 'static {
    /// Opens the filesystem's root directory. The handle is the sandbox of the mount: no path
    /// resolved from it leaves it.
    ///
    /// Errors: whatever the backend cannot open its root with (for a host directory that was
    /// removed: [`Errno::Noent`]).
    fn root(&self) -> Result<Arc<dyn Dir>>;

    /// Whether the filesystem refuses every change (it then answers [`Errno::Rofs`]). Default:
    /// `false`.
    fn is_read_only(&self) -> bool {
        false
    }

    /// Called when the filesystem is mounted in a context, with that context's wall clock, for a
    /// backend that stamps file times itself ([`crate::MemFs`]). Default: ignored.
    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        let _ = clock;
    }
}

impl<F: FileSystem + ?Sized> FileSystem for Arc<F> {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        (**self).root()
    }
    fn is_read_only(&self) -> bool {
        (**self).is_read_only()
    }
    fn mounted_with_clock(&self, clock: &Arc<dyn crate::WallClock>) {
        (**self).mounted_with_clock(clock)
    }
}

/// An open directory.
///
/// Every `name` is a single component, never `.` or `..`, with no `/` or NUL (see the module
/// docs); methods never follow a symbolic link named by `name`.
///
/// ```
/// use hammertime_vfs::{Errno, FileSystem, MemFs, OpenOptions};
/// let fs = MemFs::new();
/// let root = fs.root()?;
/// root.mkdir_at("docs")?;
/// root.symlink_at("docs", "link")?;
/// assert_eq!(root.readlink_at("link")?, "docs");
/// assert!(matches!(root.open_at("link", OpenOptions::new().read(true)), Err(Errno::Loop)));
/// let mut names = Vec::new();
/// root.read_dir(0, &mut |entry| {
///     names.push(entry.name);
///     true // keep listing
/// })?;
/// assert_eq!(names, ["docs", "link"]);
/// # Ok::<(), Errno>(())
/// ```
pub trait Dir: Send + Sync + 'static {
    /// Attributes of this directory. POSIX `fstat`.
    ///
    /// Errors: [`Errno::Io`] and host errors.
    fn stat(&self) -> Result<Stat>;

    /// Attributes of the entry `name`, not following a symbolic link. POSIX
    /// `fstatat(AT_SYMLINK_NOFOLLOW)`.
    ///
    /// Errors: [`Errno::Noent`] no such entry; [`Errno::Nametoolong`].
    fn stat_at(&self, name: &str) -> Result<Stat>;

    /// Opens the entry `name`. POSIX `openat(O_NOFOLLOW)`.
    ///
    /// A directory opens as [`Node::Dir`] (read-only; `write` or `truncate` on it:
    /// [`Errno::Isdir`]); anything else as [`Node::File`].
    ///
    /// Errors: [`Errno::Noent`] no entry and no `create`; [`Errno::Exist`] `create` +
    /// `exclusive` and the entry exists (also when it is a symbolic link); [`Errno::Loop`] the
    /// entry is a symbolic link; [`Errno::Notdir`] `directory` and the entry is not a directory;
    /// [`Errno::Isdir`] `create`, `write` or `truncate` on a directory; [`Errno::Acces`]
    /// the entry's permissions forbid it; [`Errno::Rofs`] a change on a read-only filesystem;
    /// [`Errno::Nospc`] no room for a new entry.
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node>;

    /// Lists entries, starting at `cookie` (0: the start). `sink` receives entries in order and
    /// returns `false` to stop early; the listing then continues later from the last entry's
    /// [`DirEntry::next`]. POSIX `readdir`/`seekdir`.
    ///
    /// `.` and `..` are not listed (the descriptor layer adds them). Cookies must stay valid
    /// while entries are added or removed: a removed entry is not listed again, an entry is never
    /// listed twice, and an unchanged entry is never skipped. Cookies are backend-defined; a
    /// cookie past the last entry lists nothing (every backend answers so: the empty read
    /// `fd_readdir` gives past the end on Linux and Wasmtime), and another cookie the backend
    /// never issued may answer [`Errno::Inval`].
    ///
    /// Errors: [`Errno::Inval`] a cookie the backend never issued; host errors.
    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()>;

    /// Creates the directory `name`. POSIX `mkdirat`.
    ///
    /// Errors: [`Errno::Exist`] an entry (of any type, a dangling link too) exists;
    /// [`Errno::Rofs`]; [`Errno::Nospc`]; [`Errno::Acces`].
    fn mkdir_at(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(Errno::Rofs)
    }

    /// Removes the empty directory `name`. POSIX `unlinkat(AT_REMOVEDIR)`.
    ///
    /// Errors: [`Errno::Noent`]; [`Errno::Notdir`] not a directory (a link to one too);
    /// [`Errno::Notempty`]; [`Errno::Rofs`]; [`Errno::Busy`] the directory is a mount root.
    fn rmdir_at(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(Errno::Rofs)
    }

    /// Removes the non-directory entry `name` (a link removes the link). POSIX `unlinkat`.
    ///
    /// Errors: [`Errno::Noent`]; [`Errno::Isdir`] a directory (Linux answers `EISDIR`);
    /// [`Errno::Rofs`].
    fn unlink_at(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(Errno::Rofs)
    }

    /// Creates the symbolic link `name` whose content is `target` (stored verbatim, never
    /// resolved here). POSIX `symlinkat`.
    ///
    /// Errors: [`Errno::Exist`]; [`Errno::Rofs`]; [`Errno::Nospc`]; [`Errno::Notsup`] *optional*.
    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        let _ = (target, name);
        Err(Errno::Rofs)
    }

    /// The content of the symbolic link `name`. POSIX `readlinkat`.
    ///
    /// Errors: [`Errno::Noent`]; [`Errno::Inval`] not a symbolic link.
    fn readlink_at(&self, name: &str) -> Result<String>;

    /// Renames `name` to `new_name` in `new_dir` (which may be `self`). POSIX `renameat`:
    /// replaces an existing target atomically when the types agree.
    ///
    /// Errors: [`Errno::Noent`] no `name`; [`Errno::Xdev`] `new_dir` belongs to another
    /// filesystem (another backend, or another instance); [`Errno::Notdir`] a directory onto a
    /// non-directory; [`Errno::Isdir`] a non-directory onto a directory; [`Errno::Notempty`]
    /// onto a non-empty directory; [`Errno::Inval`] a directory into itself or its own
    /// subdirectory; [`Errno::Rofs`].
    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        let _ = (name, new_dir, new_name);
        Err(Errno::Rofs)
    }

    /// Creates the hard link `new_name` in `new_dir` to the entry `name` (a link links the link
    /// itself). POSIX `linkat` without `AT_SYMLINK_FOLLOW`.
    ///
    /// Errors: [`Errno::Noent`]; [`Errno::Exist`] `new_name` exists; [`Errno::Perm`] `name` is a
    /// directory; [`Errno::Xdev`] another filesystem; [`Errno::Rofs`]; [`Errno::Notsup`]
    /// *optional*.
    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        let _ = (name, new_dir, new_name);
        Err(Errno::Rofs)
    }

    /// Sets the access and modification times of the entry `name`, not following a link.
    /// POSIX `utimensat(AT_SYMLINK_NOFOLLOW)`.
    ///
    /// Errors: [`Errno::Noent`]; [`Errno::Rofs`].
    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        let _ = (name, atime, mtime);
        Err(Errno::Rofs)
    }

    /// Sets this directory's own access and modification times. POSIX `futimens`.
    ///
    /// Errors: [`Errno::Rofs`].
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        let _ = (atime, mtime);
        Err(Errno::Rofs)
    }

    /// Opens the directory at `path` below this one in one step, when the backend can do so
    /// with exactly the result of the walk [`crate::resolve`] would make: `path` is one or more
    /// plain names joined by single `/`s (never `.`, `..`, an empty name, a leading or trailing
    /// `/`), no symbolic link may be followed anywhere on it, and none of its entries is created.
    /// Like `openat2(path, O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`.
    ///
    /// Returns `None` where the backend cannot decide (the default; also a link on the path, or
    /// any error the walk might answer differently): the resolver then walks `path` one
    /// component at a time. `Some(Err(_))` only with an errno the walk would give for certain:
    /// [`Errno::Noent`], [`Errno::Acces`] (an entry is missing or not searchable).
    fn open_dir_path(&self, path: &str) -> Option<Result<Arc<dyn Dir>>> {
        let _ = path;
        None
    }

    /// Opens the entry at `path` below this one in one step, when the backend can do so with
    /// exactly the result of [`crate::resolve::open`] without following links: `path` as for
    /// [`Dir::open_dir_path`] (the last name is the entry to open, possibly created); the last
    /// name's link is not followed, as with [`Dir::open_at`]. POSIX `openat2(path, flags |
    /// O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`.
    ///
    /// Returns `None` where the backend cannot decide (the default; a link anywhere on the path,
    /// [`Errno::Notdir`] for a `directory` open, or any errno the walk might answer
    /// differently); `Some(result)` is what `open` would give.
    fn open_path(&self, path: &str, options: OpenOptions) -> Option<Result<Node>> {
        let _ = (path, options);
        None
    }

    /// Another handle on this same directory, for a descriptor of its own (`path_open` of `.`),
    /// when a handle keeps per-descriptor state such as a listing snapshot. Default: `None`,
    /// the handle is shared.
    fn reopen(&self) -> Option<Arc<dyn Dir>> {
        None
    }

    /// Flushes the directory to storage. POSIX `fsync` on a directory. Default: nothing to do.
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// The handle as [`Any`], so that [`Dir::rename_at`] and [`Dir::link_at`] can recognise a
    /// `new_dir` of their own type.
    fn as_any(&self) -> &dyn Any;
}

/// An open non-directory file.
///
/// The descriptor layer keeps the file position; the backend only does positioned I/O, so one
/// handle may serve several descriptors.
///
/// ```
/// use hammertime_vfs::{FileSystem, MemFs, Node, OpenOptions};
/// let fs = MemFs::new();
/// let options = OpenOptions::new().read(true).write(true).create(true);
/// let Node::File(file) = fs.root()?.open_at("data", options)? else { unreachable!() };
/// assert_eq!(file.write_at(b"hello", 2)?, 5); // after a two-byte hole
/// assert_eq!(file.append(b"!")?, (1, 8));
/// let mut buf = [0xff; 16];
/// let n = file.read_at(&mut buf, 0)?;
/// assert_eq!(&buf[..n], b"\0\0hello!");
/// file.set_size(4)?;
/// assert_eq!(file.stat()?.size, 4);
/// # Ok::<(), hammertime_vfs::Errno>(())
/// ```
pub trait File: Send + Sync + 'static {
    /// Attributes of the file. POSIX `fstat`.
    fn stat(&self) -> Result<Stat>;

    /// The file's type, which cannot change while it is open. Default: from [`File::stat`]; a
    /// backend that knows it already answers without a system call.
    fn filetype(&self) -> Result<FileType> {
        Ok(self.stat()?.filetype)
    }

    /// Reads up to `buf.len()` bytes at `offset`; 0 at or past the end. POSIX `pread`.
    ///
    /// Errors: [`Errno::Isdir`]; [`Errno::Spipe`] not seekable; host errors.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize>;

    /// Writes `buf` at `offset`, growing the file (with a zero-filled gap past the end).
    /// Returns the bytes written, which is less than `buf.len()` only if the backend ran out
    /// of room part-way; with no room at all it fails. POSIX `pwrite`.
    ///
    /// Errors: [`Errno::Nospc`] no room; [`Errno::Fbig`] beyond the maximum file size;
    /// [`Errno::Rofs`]; host errors.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        let _ = (buf, offset);
        Err(Errno::Rofs)
    }

    /// Writes `buf` at the current end of the file, atomically with respect to other appends.
    /// Returns the bytes written and the file size after the write (with other writers at work,
    /// the size seen just after it: at least this write's end, possibly including theirs).
    /// POSIX `write` with `O_APPEND`.
    ///
    /// Errors: as [`File::write_at`].
    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let _ = buf;
        Err(Errno::Rofs)
    }

    /// Writes the buffers, in order, at `offset` as one write: no other write or append to the
    /// file lands between two of them, so records made of several buffers (a line and its
    /// newline) never interleave with another writer's. Returns the bytes written, short only if
    /// the backend ran out of room part-way. POSIX `pwritev`.
    ///
    /// Default: one [`File::write_at`] of the buffers joined (a copy), so it is as atomic as
    /// `write_at`; a backend overrides it to write without the copy.
    ///
    /// Errors: as [`File::write_at`].
    fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        match bufs {
            [one] => self.write_at(one, offset),
            _ => self.write_at(&join(bufs), offset),
        }
    }

    /// Writes the buffers, in order, at the current end of the file as one append (atomic with
    /// respect to other appends and writes). Returns the bytes written and the file size after
    /// the write. POSIX `writev` with `O_APPEND`.
    ///
    /// Default: one [`File::append`] of the buffers joined.
    ///
    /// Errors: as [`File::write_at`].
    fn append_vectored(&self, bufs: &[IoSlice<'_>]) -> Result<(usize, u64)> {
        match bufs {
            [one] => self.append(one),
            _ => self.append(&join(bufs)),
        }
    }

    /// Truncates or extends (with zeros) the file to `size` bytes. POSIX `ftruncate`.
    ///
    /// Errors: [`Errno::Fbig`] too large; [`Errno::Rofs`]; [`Errno::Nospc`].
    fn set_size(&self, size: u64) -> Result<()> {
        let _ = size;
        Err(Errno::Rofs)
    }

    /// Sets the access and modification times. POSIX `futimens`.
    ///
    /// Errors: [`Errno::Rofs`].
    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        let _ = (atime, mtime);
        Err(Errno::Rofs)
    }

    /// Flushes data and metadata to storage. POSIX `fsync`. Default: nothing to do.
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// Flushes data to storage. POSIX `fdatasync`. Default: [`File::sync`].
    fn datasync(&self) -> Result<()> {
        self.sync()
    }

    /// Ensures that `offset..offset+len` is allocated, growing the file if needed. POSIX
    /// `posix_fallocate`. *Optional*: the default answers [`Errno::Notsup`].
    fn allocate(&self, offset: u64, len: u64) -> Result<()> {
        let _ = (offset, len);
        Err(Errno::Notsup)
    }

    /// A hint about future access. POSIX `posix_fadvise`. Default: ignored (success).
    fn advise(&self, offset: u64, len: u64, advice: Advice) -> Result<()> {
        let _ = (offset, len, advice);
        Ok(())
    }

    /// The handle as [`Any`].
    fn as_any(&self) -> &dyn Any;
}

/// The access pattern announced by [`File::advise`] (WASI `advice`).
///
/// ```
/// use hammertime_vfs::{Advice, FileSystem, MemFs, Node, OpenOptions};
/// let fs = MemFs::from_entries([("big.log", vec![b'.'; 4096])])?;
/// let root = fs.root()?;
/// let Node::File(log) = root.open_at("big.log", OpenOptions::new().read(true))? else {
///     unreachable!()
/// };
/// // Only a hint: a backend may ignore it (MemFs does), and it changes no data.
/// log.advise(0, 4096, Advice::Sequential)?;
/// assert_eq!(log.stat()?.size, 4096);
/// # Ok::<(), hammertime_vfs::Errno>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// No advice.
    Normal,
    /// Sequential access.
    Sequential,
    /// Random access.
    Random,
    /// Will be needed soon.
    WillNeed,
    /// Will not be needed soon.
    DontNeed,
    /// Accessed once.
    NoReuse,
}

/// What [`Dir::open_at`] answers, in Linux's order, for an *existing* entry of type `filetype`
/// before opening it: [`Errno::Exist`] for `create` + `exclusive`, [`Errno::Loop`] for a symbolic
/// link, [`Errno::Isdir`] for a directory with `create`, `write` or `truncate`, [`Errno::Notdir`]
/// for a non-directory with `directory`.
pub(crate) fn check_open_existing(filetype: FileType, options: OpenOptions) -> Result<()> {
    if options.create && options.exclusive {
        return Err(Errno::Exist);
    }
    match filetype {
        FileType::SymbolicLink => Err(Errno::Loop),
        FileType::Directory if options.create || options.write || options.truncate => Err(Errno::Isdir),
        FileType::Directory => Ok(()),
        _ if options.directory => Err(Errno::Notdir),
        _ => Ok(()),
    }
}

/// [`Dir::open_at`] with `create` (and neither `write` nor `truncate`) in a directory that may
/// not change, answering `refusal` where an entry would have to be made, as a read-only Linux
/// mount does: a missing name is refused; an existing one with `exclusive` is
/// [`Errno::Exist`]; an existing directory is [`Errno::Isdir`]; any other existing entry opens
/// as if `create` were not given.
pub(crate) fn open_without_creating(dir: &dyn Dir, name: &str, options: OpenOptions, refusal: Errno) -> Result<Node> {
    if options.exclusive {
        return match dir.stat_at(name) {
            Ok(_) => Err(Errno::Exist),
            Err(Errno::Noent) => Err(refusal),
            Err(e) => Err(e),
        };
    }
    match dir.open_at(name, OpenOptions { create: false, ..options }) {
        Ok(Node::Dir(_)) => Err(Errno::Isdir),
        Err(Errno::Noent) => Err(refusal),
        other => other,
    }
}

/// What a change to the existing entry `name` of `dir` answers when `refusal` (a read-only
/// filesystem, missing rights) forbids it: the entry is looked up first, as `utimensat(2)`
/// looks up the whole path before it asks for write access, so a missing name is
/// [`Errno::Noent`] and an existing one the refusal.
pub(crate) fn refused_after_lookup(refusal: Result<()>, dir: &dyn Dir, name: &str) -> Result<()> {
    if refusal.is_err() {
        dir.stat_at(name)?;
    }
    refusal
}

/// The buffers of a vectored write joined into one.
pub(crate) fn join(bufs: &[IoSlice<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len())));
    for b in bufs {
        out.extend_from_slice(b);
    }
    out
}
