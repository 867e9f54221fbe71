//! [`SimpleFs`]: a three-method read-only filesystem trait, and [`SimpleFsAdapter`], which
//! serves any implementation as a [`FileSystem`].
//!
//! [`SimpleFs`] is as easy to implement as Go's `fs.FS`: metadata, a directory listing, and
//! opening a file for positioned reads, all by '/'-separated relative path. The adapter does
//! everything else: handles, `stat` numbers, cookies, errnos, and refusing every change with
//! [`Errno::Rofs`]. Paths are built by the adapter from single components, so an
//! implementation never sees `.`, `..`, an empty component or a leading `/`.
//!
//! Ready-made implementations: [`HashMap`] and [`BTreeMap`] from file paths to contents
//! (directories are implied by the paths), and `Arc<T>` of any implementation.
//!
//! ```
//! use std::collections::HashMap;
//! use hammertime_vfs::{FileSystem, Node, OpenOptions, SimpleFsAdapter};
//!
//! let mut assets: HashMap<String, Vec<u8>> = HashMap::new();
//! assets.insert("index.html".into(), b"<h1>hi</h1>".to_vec());
//! assets.insert("css/site.css".into(), b"h1 { color: red }".to_vec());
//! let fs = SimpleFsAdapter::new(assets);
//!
//! let root = fs.root()?;
//! let css = match root.open_at("css", OpenOptions::new().read(true).directory(true))? {
//!     Node::Dir(dir) => dir,
//!     Node::File(_) => unreachable!("css is a directory"),
//! };
//! let site = match css.open_at("site.css", OpenOptions::new().read(true))? {
//!     Node::File(file) => file,
//!     Node::Dir(_) => unreachable!("site.css is a file"),
//! };
//! let mut buf = [0u8; 64];
//! let n = site.read_at(&mut buf, 0)?;
//! assert_eq!(&buf[..n], b"h1 { color: red }");
//! # Ok::<(), hammertime_vfs::Errno>(())
//! ```

use std::any::Any;
use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::perms::RestrictedDir;
use crate::{Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, Stat};

/// A read-only filesystem in three methods, served to guests by [`SimpleFsAdapter`].
///
/// Every `path` is `""` for the root or a '/'-separated relative path such as `css/site.css`,
/// never with a leading or trailing `/`, an empty component, `.` or `..`. Errors are
/// [`io::Error`]s, turned into errnos with [`Errno::from`]: [`io::ErrorKind::NotFound`]
/// becomes [`Errno::Noent`], [`io::ErrorKind::NotADirectory`] [`Errno::Notdir`], and so on.
///
/// There are no symbolic links: every entry is a directory or a regular file.
///
/// ```
/// use std::io;
/// use hammertime_vfs::simple::{SimpleFile, SimpleMetadata};
/// use hammertime_vfs::{Errno, FileSystem, SimpleFs, SimpleFsAdapter};
///
/// // A root directory holding one file, `version`.
/// struct Version;
///
/// impl SimpleFs for Version {
///     fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
///         match path {
///             "" => Ok(SimpleMetadata::dir()),
///             "version" => Ok(SimpleMetadata::file(5)),
///             _ => Err(io::ErrorKind::NotFound.into()),
///         }
///     }
///     fn read_dir(&self, _dir: &str) -> io::Result<Vec<String>> {
///         Ok(vec!["version".to_string()])
///     }
///     fn open(&self, _file: &str) -> io::Result<Box<dyn SimpleFile>> {
///         Ok(Box::new("1.2.3"))
///     }
/// }
///
/// let root = SimpleFsAdapter::new(Version).root()?;
/// assert_eq!(root.stat_at("version")?.size, 5);
/// assert_eq!(root.stat_at("missing"), Err(Errno::Noent));
/// # Ok::<(), Errno>(())
/// ```
pub trait SimpleFs: Send + Sync + 'static {
    /// Metadata of `path` (`""` is the root, which must be a directory).
    ///
    /// A missing path answers [`io::ErrorKind::NotFound`].
    fn metadata(&self, path: &str) -> io::Result<SimpleMetadata>;

    /// Names of the entries of the directory `path`: single components, in any order (the
    /// adapter sorts them and drops duplicates and names that are not valid components).
    ///
    /// A missing path answers [`io::ErrorKind::NotFound`]; a file
    /// [`io::ErrorKind::NotADirectory`].
    fn read_dir(&self, path: &str) -> io::Result<Vec<String>>;

    /// Opens the regular file `path` for reading (the adapter calls it only for paths whose
    /// [`SimpleFs::metadata`] says they are not directories).
    fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>>;
}

/// A file opened by [`SimpleFs::open`]: positioned reads only.
///
/// Implemented for in-memory contents (`Vec<u8>`, `Box<[u8]>`, `Arc<[u8]>`, `&'static [u8]`,
/// `String`, `&'static str`, `Cow<'static, [u8]>`) and for [`std::fs::File`].
///
/// ```
/// use std::io;
/// use hammertime_vfs::simple::SimpleFile;
///
/// // `len` zero bytes, made on the fly.
/// struct Zeros(u64);
///
/// impl SimpleFile for Zeros {
///     fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
///         let n = self.0.saturating_sub(offset).min(buf.len() as u64) as usize;
///         buf[..n].fill(0);
///         Ok(n)
///     }
/// }
///
/// let mut buf = [1u8; 8];
/// assert_eq!(Zeros(10).read_at(&mut buf, 4)?, 6);
/// assert_eq!(Zeros(10).read_at(&mut buf, 10)?, 0); // at the end
/// assert_eq!("hello".read_at(&mut buf, 1)?, 4); // a ready-made implementation
/// assert_eq!(&buf[..4], b"ello");
/// # Ok::<(), io::Error>(())
/// ```
pub trait SimpleFile: Send + Sync + 'static {
    /// Reads up to `buf.len()` bytes at `offset` into `buf`; returns how many, 0 at or past the
    /// end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl fmt::Debug for dyn SimpleFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimpleFile(..)")
    }
}

/// What [`SimpleFs::metadata`] tells about a path. Made with [`SimpleMetadata::file`] or
/// [`SimpleMetadata::dir`] (fields may be added).
///
/// ```
/// use hammertime_vfs::simple::SimpleMetadata;
/// let m = SimpleMetadata::file(3).with_modified(std::time::SystemTime::UNIX_EPOCH);
/// assert!(!m.is_dir && m.len == 3 && m.modified.is_some());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SimpleMetadata {
    /// Whether the path is a directory (otherwise it is a regular file).
    pub is_dir: bool,
    /// Size in bytes (0 is fine for a directory).
    pub len: u64,
    /// Last modification time, reported as every timestamp of the entry; `None` reports the
    /// Unix epoch (0).
    pub modified: Option<SystemTime>,
}

impl SimpleMetadata {
    /// A directory with no modification time.
    pub fn dir() -> SimpleMetadata {
        SimpleMetadata { is_dir: true, len: 0, modified: None }
    }

    /// A regular file of `len` bytes with no modification time.
    pub fn file(len: u64) -> SimpleMetadata {
        SimpleMetadata { is_dir: false, len, modified: None }
    }

    /// The same metadata with the modification time `modified`.
    pub fn with_modified(self, modified: SystemTime) -> SimpleMetadata {
        SimpleMetadata { modified: Some(modified), ..self }
    }
}

/// Copies `data[offset..]` into `buf`.
fn read_slice(data: &[u8], buf: &mut [u8], offset: u64) -> usize {
    let Ok(start) = usize::try_from(offset) else {
        return 0;
    };
    let Some(rest) = data.get(start..) else {
        return 0;
    };
    let n = rest.len().min(buf.len());
    buf[..n].copy_from_slice(&rest[..n]);
    n
}

macro_rules! simple_file_for_bytes {
    ($($ty:ty),* $(,)?) => {$(
        impl SimpleFile for $ty {
            /// Reads from the in-memory contents.
            fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
                let data: &[u8] = self.as_ref();
                Ok(read_slice(data, buf, offset))
            }
        }
    )*};
}

simple_file_for_bytes!(Vec<u8>, Box<[u8]>, Arc<[u8]>, &'static [u8], String, &'static str, Cow<'static, [u8]>);

#[cfg(unix)]
impl SimpleFile for std::fs::File {
    /// `pread(2)`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

#[cfg(windows)]
impl SimpleFile for std::fs::File {
    /// `ReadFile` at an offset (moves the file cursor, which nothing else uses).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }
}

impl<T: SimpleFs + ?Sized> SimpleFs for Arc<T> {
    fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
        (**self).metadata(path)
    }
    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        (**self).read_dir(path)
    }
    fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>> {
        (**self).open(path)
    }
}

impl<T: SimpleFs + ?Sized> SimpleFs for Box<T> {
    fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
        (**self).metadata(path)
    }
    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        (**self).read_dir(path)
    }
    fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>> {
        (**self).open(path)
    }
}

// ---------------------------------------------------------------------------------------------
// Maps of assets.

/// Shared contents of a map value, opened as a [`SimpleFile`].
struct Contents<V>(V);

impl<V: AsRef<[u8]> + Send + Sync + 'static> SimpleFile for Contents<V> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        Ok(read_slice(self.0.as_ref(), buf, offset))
    }
}

/// The components of a map key: `/`-separated, empty and `.` components dropped. `None` for a
/// key that names nothing servable (the root itself, or a `..` or NUL anywhere).
fn key_components(key: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = key.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.is_empty() || parts.iter().any(|c| *c == ".." || c.contains('\0')) {
        return None;
    }
    Some(parts)
}

/// The components of an adapter path (`""` is the root: no components).
fn path_components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

/// The contents of the key naming exactly `path`, if any.
fn map_file<'a, K: AsRef<str> + 'a, V: 'a>(
    exact: Option<&'a V>,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    path: &str,
) -> Option<&'a V> {
    if exact.is_some() {
        return exact;
    }
    let want = path_components(path);
    if want.is_empty() {
        return None;
    }
    entries.filter(|(k, _)| key_components(k.as_ref()).is_some_and(|c| c == want)).map(|(_, v)| v).next()
}

fn map_metadata<'a, K: AsRef<str> + 'a, V: AsRef<[u8]> + 'a>(
    exact: Option<&'a V>,
    entries: impl Iterator<Item = (&'a K, &'a V)> + Clone,
    path: &str,
) -> io::Result<SimpleMetadata> {
    let want = path_components(path);
    if want.is_empty() {
        return Ok(SimpleMetadata::dir());
    }
    if let Some(v) = map_file(exact, entries.clone(), path) {
        return Ok(SimpleMetadata::file(v.as_ref().len() as u64));
    }
    let is_dir = entries
        .filter_map(|(k, _)| key_components(k.as_ref()))
        .any(|c| c.len() > want.len() && c[..want.len()] == want[..]);
    if is_dir { Ok(SimpleMetadata::dir()) } else { Err(io::ErrorKind::NotFound.into()) }
}

fn map_read_dir<'a, K: AsRef<str> + 'a, V: AsRef<[u8]> + 'a>(
    exact: Option<&'a V>,
    entries: impl Iterator<Item = (&'a K, &'a V)> + Clone,
    path: &str,
) -> io::Result<Vec<String>> {
    if map_metadata(exact, entries.clone(), path)?.is_dir {
        let want = path_components(path);
        let names: BTreeSet<&str> = entries
            .filter_map(|(k, _)| key_components(k.as_ref()))
            .filter(|c| c.len() > want.len() && c[..want.len()] == want[..])
            .map(|c| c[want.len()])
            .collect();
        Ok(names.into_iter().map(String::from).collect())
    } else {
        Err(io::ErrorKind::NotADirectory.into())
    }
}

fn map_open<V: AsRef<[u8]> + Clone + Send + Sync + 'static>(file: Option<&V>) -> io::Result<Box<dyn SimpleFile>> {
    match file {
        Some(v) => Ok(Box::new(Contents(v.clone()))),
        None => Err(io::ErrorKind::NotFound.into()),
    }
}

/// A map from file paths to file contents, such as `HashMap<String, Vec<u8>>`.
///
/// Keys are '/'-separated file paths (`index.html`, `css/site.css`); directories are implied
/// by them (`css`). Empty and `.` components and a leading `/` are ignored; keys naming the
/// root or holding a `..` component are not served. When a key names a file that another key
/// uses as a directory (`a` and `a/b`), the file wins. Opening a file clones its value: use
/// `Arc<[u8]>` or `&'static [u8]` values to share large contents.
impl<K, V, S> SimpleFs for HashMap<K, V, S>
where
    K: Borrow<str> + AsRef<str> + Eq + Hash + Send + Sync + 'static,
    V: AsRef<[u8]> + Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
        map_metadata(self.get(path), self.iter(), path)
    }

    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        map_read_dir(self.get(path), self.iter(), path)
    }

    fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>> {
        map_open(map_file(self.get(path), self.iter(), path))
    }
}

/// A sorted map from file paths to file contents, such as `BTreeMap<String, Vec<u8>>`; the
/// keys are read as for [`HashMap`].
impl<K, V> SimpleFs for BTreeMap<K, V>
where
    K: Borrow<str> + AsRef<str> + Ord + Send + Sync + 'static,
    V: AsRef<[u8]> + Clone + Send + Sync + 'static,
{
    fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
        map_metadata(self.get(path), self.iter(), path)
    }

    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        map_read_dir(self.get(path), self.iter(), path)
    }

    fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>> {
        map_open(map_file(self.get(path), self.iter(), path))
    }
}

// ---------------------------------------------------------------------------------------------
// The adapter.

/// Serves a [`SimpleFs`] as a read-only [`FileSystem`].
///
/// - Directory handles carry their path; `stat_at` and `open_at` join the name to it.
/// - `read_dir` lists the names sorted, without duplicates; the entry at index `i` has
///   cookie `next = i + 1` (cookie 0 is the start, a cookie past the end lists nothing).
/// - [`Stat`]: `dev` is a constant of the adapter (distinct adapters get distinct values),
///   `ino` a stable nonzero hash of the path, `nlink` 1 (2 for a directory), `size` the
///   metadata's `len`, and all three times its `modified` (0 when `None`).
/// - Every change answers [`Errno::Rofs`]: `open_at` with `write` or `truncate` (on any
///   entry), `create` on a missing name, and every mutating method. `create` on an existing
///   entry answers as on a read-only Linux mount: [`Errno::Exist`] with `exclusive`, else
///   [`Errno::Isdir`] for a directory, else it opens the file.
/// - There are no symbolic links: `readlink_at` answers [`Errno::Inval`] for an existing
///   entry, else the lookup's error ([`Errno::Noent`]).
/// - [`io::Error`]s become errnos with [`Errno::from`].
///
/// ```
/// use std::collections::BTreeMap;
/// use hammertime_vfs::{Errno, FileSystem, OpenOptions, SimpleFsAdapter};
///
/// let assets = BTreeMap::from([("img/logo.svg", "<svg/>"), ("robots.txt", "")]);
/// let fs = SimpleFsAdapter::new(assets);
/// let root = fs.root()?;
/// let mut listing = Vec::new();
/// root.read_dir(0, &mut |e| {
///     listing.push((e.name, e.next));
///     true
/// })?;
/// assert_eq!(listing, [("img".to_string(), 1), ("robots.txt".to_string(), 2)]);
/// assert_eq!(root.stat_at("robots.txt")?.dev, fs.dev());
/// assert!(fs.is_read_only());
/// assert_eq!(root.mkdir_at("tmp"), Err(Errno::Rofs));
/// assert!(matches!(root.open_at("robots.txt", OpenOptions::new().write(true)), Err(Errno::Rofs)));
/// # Ok::<(), Errno>(())
/// ```
pub struct SimpleFsAdapter<T: ?Sized> {
    dev: u64,
    fs: Arc<T>,
}

/// The next adapter's `dev`.
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x5349_4d50_0000_0001);

impl<T: SimpleFs> SimpleFsAdapter<T> {
    /// Serves `fs`.
    pub fn new(fs: T) -> SimpleFsAdapter<T> {
        SimpleFsAdapter::from_arc(Arc::new(fs))
    }
}

impl<T: SimpleFs + ?Sized> SimpleFsAdapter<T> {
    /// Serves the shared `fs`.
    pub fn from_arc(fs: Arc<T>) -> SimpleFsAdapter<T> {
        SimpleFsAdapter { dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed), fs }
    }

    /// The served filesystem.
    pub fn get_ref(&self) -> &T {
        &self.fs
    }

    /// The `dev` every [`Stat`] of this adapter reports.
    pub fn dev(&self) -> u64 {
        self.dev
    }
}

impl<T: ?Sized> Clone for SimpleFsAdapter<T> {
    /// Another handle on the same adapter (same `dev`, same filesystem).
    fn clone(&self) -> Self {
        SimpleFsAdapter { dev: self.dev, fs: self.fs.clone() }
    }
}

impl<T: ?Sized> fmt::Debug for SimpleFsAdapter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleFsAdapter").field("dev", &self.dev).finish_non_exhaustive()
    }
}

impl<T: SimpleFs + ?Sized> FileSystem for SimpleFsAdapter<T> {
    /// The root directory; fails with the error of `metadata("")`, or [`Errno::Notdir`] if
    /// the root is not a directory.
    fn root(&self) -> Result<Arc<dyn Dir>> {
        let meta = self.fs.metadata("").map_err(Errno::from)?;
        if !meta.is_dir {
            return Err(Errno::Notdir);
        }
        // The read-only view decides every change's errno, as for any read-only mount.
        let root: Arc<dyn Dir> = Arc::new(SimpleDir { fs: self.fs.clone(), dev: self.dev, path: String::new() });
        Ok(Arc::new(RestrictedDir::read_only(root)))
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

/// A stable, nonzero serial number for `path` (64-bit FNV-1a).
fn ino_of(path: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    if hash == 0 { 1 } else { hash }
}

fn nanos(time: Option<SystemTime>) -> u64 {
    match time.map(|t| t.duration_since(UNIX_EPOCH)) {
        Some(Ok(d)) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        _ => 0,
    }
}

fn to_stat(dev: u64, path: &str, meta: &SimpleMetadata) -> Stat {
    let time = nanos(meta.modified);
    Stat {
        dev,
        ino: ino_of(path),
        filetype: if meta.is_dir { FileType::Directory } else { FileType::RegularFile },
        nlink: if meta.is_dir { 2 } else { 1 },
        size: meta.len,
        atim: time,
        mtim: time,
        ctim: time,
    }
}

/// Whether `name` is a single path component the adapter may join.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !crate::resolve::has_slash_or_nul(name)
}

/// An adapter directory handle.
struct SimpleDir<T: ?Sized> {
    fs: Arc<T>,
    dev: u64,
    path: String,
}

impl<T: SimpleFs + ?Sized> SimpleDir<T> {
    /// The path of `name` in this directory ([`Errno::Inval`] for a malformed name).
    fn join(&self, name: &str) -> Result<String> {
        if !valid_name(name) {
            return Err(Errno::Inval);
        }
        Ok(if self.path.is_empty() { name.to_owned() } else { format!("{}/{}", self.path, name) })
    }

    fn metadata(&self, path: &str) -> Result<SimpleMetadata> {
        self.fs.metadata(path).map_err(Errno::from)
    }
}

impl<T: SimpleFs + ?Sized> Dir for SimpleDir<T> {
    fn stat(&self) -> Result<Stat> {
        Ok(to_stat(self.dev, &self.path, &self.metadata(&self.path)?))
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        let path = self.join(name)?;
        Ok(to_stat(self.dev, &path, &self.metadata(&path)?))
    }

    /// Opens `name` for reading: [`RestrictedDir::read_only`], the only way to this handle, has
    /// already refused or dropped `write`, `truncate` and `create`.
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        let path = self.join(name)?;
        let meta = self.metadata(&path)?;
        if meta.is_dir {
            return Ok(Node::Dir(Arc::new(SimpleDir { fs: self.fs.clone(), dev: self.dev, path })));
        }
        if options.directory {
            return Err(Errno::Notdir);
        }
        let file = self.fs.open(&path).map_err(Errno::from)?;
        let stat = to_stat(self.dev, &path, &meta);
        Ok(Node::File(Arc::new(SimpleFileHandle { fs: self.fs.clone(), dev: self.dev, path, stat, file })))
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        let mut names = self.fs.read_dir(&self.path).map_err(Errno::from)?;
        names.retain(|n| valid_name(n));
        names.sort_unstable();
        names.dedup();
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (index, name) in names.into_iter().enumerate().skip(start) {
            let path = self.join(&name)?;
            let filetype = match self.metadata(&path) {
                Ok(meta) if meta.is_dir => FileType::Directory,
                Ok(_) => FileType::RegularFile,
                // Gone since the listing: not listed.
                Err(Errno::Noent) => continue,
                Err(_) => FileType::Unknown,
            };
            let entry = DirEntry { next: index as u64 + 1, ino: ino_of(&path), filetype, name };
            if !sink(entry) {
                break;
            }
        }
        Ok(())
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        let path = self.join(name)?;
        self.metadata(&path)?;
        Err(Errno::Inval)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An adapter file handle.
struct SimpleFileHandle<T: ?Sized> {
    fs: Arc<T>,
    dev: u64,
    path: String,
    /// The attributes at open time, reported if the path has gone since.
    stat: Stat,
    file: Box<dyn SimpleFile>,
}

impl<T: SimpleFs + ?Sized> File for SimpleFileHandle<T> {
    fn allocate(&self, _offset: u64, _len: u64) -> Result<()> {
        Err(Errno::Rofs)
    }

    fn stat(&self) -> Result<Stat> {
        match self.fs.metadata(&self.path) {
            Ok(meta) if !meta.is_dir => Ok(to_stat(self.dev, &self.path, &meta)),
            _ => Ok(self.stat),
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                // A misbehaving implementation cannot claim more than it was given room for.
                Ok(n) => return Ok(n.min(buf.len())),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Errno::from(e)),
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SetTime;
    use crate::test_support::{dir, file};
    use std::time::Duration;

    const READ: OpenOptions =
        OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };
    const DIR: OpenOptions = OpenOptions { directory: true, ..READ };

    fn assets() -> HashMap<String, Vec<u8>> {
        let mut m = HashMap::new();
        m.insert("index.html".to_string(), b"<h1>hi</h1>".to_vec());
        m.insert("css/site.css".to_string(), b"h1{}".to_vec());
        m.insert("css/print.css".to_string(), b"".to_vec());
        m.insert("js/app/main.js".to_string(), b"main()".to_vec());
        m
    }

    fn list(d: &dyn Dir, cookie: u64) -> Vec<(String, u64, FileType)> {
        let mut out = Vec::new();
        d.read_dir(cookie, &mut |e| {
            out.push((e.name, e.next, e.filetype));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn simple_stat_and_read() {
        let fs = SimpleFsAdapter::new(assets());
        assert!(fs.is_read_only());
        let root = fs.root().unwrap();
        let st = root.stat().unwrap();
        assert_eq!(
            st,
            Stat { dev: fs.dev(), ino: ino_of(""), filetype: FileType::Directory, nlink: 2, ..Stat::default() }
        );
        assert_ne!(st.ino, 0);

        let st = root.stat_at("index.html").unwrap();
        assert_eq!(
            st,
            Stat {
                dev: fs.dev(),
                ino: ino_of("index.html"),
                filetype: FileType::RegularFile,
                nlink: 1,
                size: 11,
                ..Stat::default()
            }
        );
        assert_eq!(root.stat_at("css").unwrap().filetype, FileType::Directory);
        assert_eq!(root.stat_at("css").unwrap().nlink, 2);
        assert_eq!(root.stat_at("missing"), Err(Errno::Noent));
        assert_eq!(root.stat_at("a/b"), Err(Errno::Inval));
        assert_eq!(root.stat_at(".."), Err(Errno::Inval));

        let f = file(root.open_at("index.html", READ).unwrap());
        assert_eq!(f.stat().unwrap(), root.stat_at("index.html").unwrap());
        let mut buf = [0u8; 4];
        assert_eq!(f.read_at(&mut buf, 0), Ok(4));
        assert_eq!(&buf, b"<h1>");
        assert_eq!(f.read_at(&mut buf, 9), Ok(2));
        assert_eq!(&buf[..2], b"1>");
        assert_eq!(f.read_at(&mut buf, 11), Ok(0));
        assert_eq!(f.read_at(&mut buf, 1000), Ok(0));
        assert_eq!(f.read_at(&mut buf, u64::MAX), Ok(0));
        assert_eq!(f.read_at(&mut [], 0), Ok(0));

        let css = dir(root.open_at("css", DIR).unwrap());
        let site = file(css.open_at("site.css", READ).unwrap());
        let mut buf = [0u8; 16];
        assert_eq!(site.read_at(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"h1{}");
        assert_eq!(site.stat().unwrap().ino, ino_of("css/site.css"));
        assert_eq!(css.stat().unwrap().ino, ino_of("css"));
        assert_ne!(ino_of("css"), ino_of("css/site.css"));

        let main = dir(dir(root.open_at("js", READ).unwrap()).open_at("app", DIR).unwrap());
        assert_eq!(main.stat_at("main.js").unwrap().size, 6);
    }

    #[test]
    fn simple_open_errors() {
        let fs = SimpleFsAdapter::new(assets());
        let root = fs.root().unwrap();
        assert_eq!(root.open_at("missing", READ).map(|_| ()), Err(Errno::Noent));
        assert_eq!(root.open_at("missing", DIR).map(|_| ()), Err(Errno::Noent));
        assert_eq!(root.open_at("index.html", DIR).map(|_| ()), Err(Errno::Notdir));
        let css = dir(root.open_at("css", DIR).unwrap());
        assert_eq!(css.open_at("nope.css", READ).map(|_| ()), Err(Errno::Noent));
        assert_eq!(css.open_at("", READ).map(|_| ()), Err(Errno::Inval));
        // Write requests are refused on every entry, existing or not.
        for name in ["index.html", "css", "missing"] {
            for o in [
                OpenOptions { write: true, ..READ },
                OpenOptions { truncate: true, ..READ },
                OpenOptions { write: true, create: true, ..READ },
                OpenOptions { write: true, create: true, exclusive: true, truncate: true, ..READ },
            ] {
                assert_eq!(root.open_at(name, o).map(|_| ()), Err(Errno::Rofs), "{name} {o:?}");
            }
        }
        let create = OpenOptions { create: true, ..READ };
        let excl = OpenOptions { create: true, exclusive: true, ..READ };
        assert_eq!(root.open_at("missing", create).map(|_| ()), Err(Errno::Rofs));
        assert_eq!(root.open_at("missing", excl).map(|_| ()), Err(Errno::Rofs));
        assert_eq!(root.open_at("index.html", excl).map(|_| ()), Err(Errno::Exist));
        assert_eq!(root.open_at("css", excl).map(|_| ()), Err(Errno::Exist));
        assert_eq!(root.open_at("css", create).map(|_| ()), Err(Errno::Isdir));
        assert!(root.open_at("index.html", create).is_ok());
    }

    #[test]
    fn simple_read_dir_cookies() {
        let fs = SimpleFsAdapter::new(assets());
        let root = fs.root().unwrap();
        assert_eq!(
            list(&*root, 0),
            vec![
                ("css".to_string(), 1, FileType::Directory),
                ("index.html".to_string(), 2, FileType::RegularFile),
                ("js".to_string(), 3, FileType::Directory),
            ]
        );
        assert_eq!(list(&*root, 2), vec![("js".to_string(), 3, FileType::Directory)]);
        assert_eq!(list(&*root, 3), vec![]);
        assert_eq!(list(&*root, u64::MAX), vec![]);

        // Early stop, then continue from the last entry's cookie.
        let mut seen = Vec::new();
        root.read_dir(0, &mut |e| {
            seen.push(e.clone());
            false
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![DirEntry { next: 1, ino: ino_of("css"), filetype: FileType::Directory, name: "css".into() }]
        );
        let mut seen = Vec::new();
        root.read_dir(1, &mut |e| {
            seen.push(e.name);
            false
        })
        .unwrap();
        assert_eq!(seen, vec!["index.html".to_string()]);

        let css = dir(root.open_at("css", DIR).unwrap());
        assert_eq!(
            list(&*css, 0),
            vec![
                ("print.css".to_string(), 1, FileType::RegularFile),
                ("site.css".to_string(), 2, FileType::RegularFile)
            ]
        );
    }

    #[test]
    fn simple_refuses_changes() {
        let fs = SimpleFsAdapter::new(assets());
        let root = fs.root().unwrap();
        let css = dir(root.open_at("css", DIR).unwrap());
        assert_eq!(root.mkdir_at("new"), Err(Errno::Rofs));
        assert_eq!(root.mkdir_at("css"), Err(Errno::Rofs));
        assert_eq!(root.rmdir_at("css"), Err(Errno::Rofs));
        assert_eq!(root.unlink_at("index.html"), Err(Errno::Rofs));
        assert_eq!(root.symlink_at("index.html", "l"), Err(Errno::Rofs));
        assert_eq!(root.rename_at("index.html", &*css, "x"), Err(Errno::Rofs));
        assert_eq!(root.link_at("index.html", &*root, "x"), Err(Errno::Rofs));
        assert_eq!(root.set_times_at("index.html", SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(root.set_times(SetTime::Omit, SetTime::At(1)), Err(Errno::Rofs));
        assert_eq!(root.sync(), Ok(()));
        let f = file(root.open_at("index.html", READ).unwrap());
        assert_eq!(f.write_at(b"x", 0), Err(Errno::Rofs));
        assert_eq!(f.append(b"x"), Err(Errno::Rofs));
        assert_eq!(f.set_size(0), Err(Errno::Rofs));
        assert_eq!(f.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
        assert_eq!(f.allocate(0, 1), Err(Errno::Rofs));
        assert_eq!(f.sync(), Ok(()));
        assert_eq!(f.datasync(), Ok(()));
        let mut buf = [0u8; 16];
        assert_eq!(f.read_at(&mut buf, 0), Ok(11));
        assert_eq!(&buf[..11], b"<h1>hi</h1>");
    }

    #[test]
    fn simple_readlink() {
        let fs = SimpleFsAdapter::new(assets());
        let root = fs.root().unwrap();
        assert_eq!(root.readlink_at("index.html"), Err(Errno::Inval));
        assert_eq!(root.readlink_at("css"), Err(Errno::Inval));
        assert_eq!(root.readlink_at("missing"), Err(Errno::Noent));
    }

    #[test]
    fn simple_map_keys() {
        let mut m: BTreeMap<&'static str, &'static [u8]> = BTreeMap::new();
        m.insert("/a//b/./c.txt", b"abc");
        m.insert("a", b"shadow");
        m.insert("x/../y", b"never");
        m.insert("", b"root");
        m.insert("d/e", b"e");
        assert_eq!(m.metadata("").unwrap(), SimpleMetadata::dir());
        assert_eq!(m.read_dir("").unwrap(), vec!["a".to_string(), "d".to_string()]);
        // "a" is a file key and a directory prefix: the file wins.
        assert_eq!(m.metadata("a").unwrap(), SimpleMetadata::file(6));
        assert_eq!(m.read_dir("a").unwrap_err().kind(), io::ErrorKind::NotADirectory);
        assert_eq!(m.metadata("d").unwrap(), SimpleMetadata::dir());
        assert_eq!(m.read_dir("d").unwrap(), vec!["e".to_string()]);
        assert_eq!(m.metadata("x").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(m.read_dir("x").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(m.open("d").unwrap_err().kind(), io::ErrorKind::NotFound);
        let mut buf = [0u8; 8];
        assert_eq!(m.open("d/e").unwrap().read_at(&mut buf, 0).unwrap(), 1);

        let mut h: HashMap<String, Arc<[u8]>> = HashMap::new();
        h.insert("/top.txt".into(), Arc::from(&b"top"[..]));
        h.insert("sub/inner.txt".into(), Arc::from(&b"inner"[..]));
        let fs = SimpleFsAdapter::new(h);
        let root = fs.root().unwrap();
        assert_eq!(root.stat_at("top.txt").unwrap().size, 3);
        let sub = dir(root.open_at("sub", DIR).unwrap());
        let f = file(sub.open_at("inner.txt", READ).unwrap());
        assert_eq!(f.read_at(&mut buf, 2), Ok(3));
        assert_eq!(&buf[..3], b"ner");
        assert_eq!(list(&*sub, 0), vec![("inner.txt".to_string(), 1, FileType::RegularFile)]);
    }

    /// A hand-written implementation with times, a broken entry and a lying file.
    struct Custom;

    struct Liar;

    impl SimpleFile for Liar {
        fn read_at(&self, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
            Ok(usize::MAX)
        }
    }

    impl SimpleFs for Custom {
        fn metadata(&self, path: &str) -> io::Result<SimpleMetadata> {
            let t = UNIX_EPOCH + Duration::new(5, 7);
            match path {
                "" => Ok(SimpleMetadata::dir().with_modified(t)),
                "f" | "liar" => Ok(SimpleMetadata::file(3).with_modified(t)),
                "old" => Ok(SimpleMetadata::file(1).with_modified(UNIX_EPOCH - Duration::from_secs(1))),
                "denied" => Err(io::ErrorKind::PermissionDenied.into()),
                _ => Err(io::ErrorKind::NotFound.into()),
            }
        }
        fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
            match path {
                "" => Ok(["f", "ghost", "f", "../up", "denied", "", "liar", "old"].map(String::from).to_vec()),
                _ => Err(io::ErrorKind::NotADirectory.into()),
            }
        }
        fn open(&self, path: &str) -> io::Result<Box<dyn SimpleFile>> {
            match path {
                "f" => Ok(Box::new(&b"abc"[..])),
                "liar" => Ok(Box::new(Liar)),
                _ => Err(io::Error::other("broken")),
            }
        }
    }

    #[test]
    fn simple_custom_impl() {
        let fs = SimpleFsAdapter::new(Custom);
        let other = SimpleFsAdapter::new(Custom);
        assert_ne!(fs.dev(), other.dev());
        assert_eq!(fs.clone().dev(), fs.dev());
        let root = fs.root().unwrap();
        let t = 5_000_000_007;
        assert_eq!(
            root.stat().unwrap(),
            Stat {
                dev: fs.dev(),
                ino: ino_of(""),
                filetype: FileType::Directory,
                nlink: 2,
                size: 0,
                atim: t,
                mtim: t,
                ctim: t
            }
        );
        assert_eq!(root.stat_at("old").unwrap().mtim, 0);
        assert_eq!(root.stat_at("denied"), Err(Errno::Acces));
        assert_eq!(root.open_at("denied", READ).map(|_| ()), Err(Errno::Acces));
        assert_eq!(root.open_at("old", READ).map(|_| ()), Err(Errno::Io));
        // Names sorted, deduplicated, malformed dropped, vanished skipped, unreadable Unknown.
        assert_eq!(
            list(&*root, 0),
            vec![
                ("denied".to_string(), 1, FileType::Unknown),
                ("f".to_string(), 2, FileType::RegularFile),
                // "ghost" (index 2) has no metadata: skipped.
                ("liar".to_string(), 4, FileType::RegularFile),
                ("old".to_string(), 5, FileType::RegularFile),
            ]
        );
        let liar = file(root.open_at("liar", READ).unwrap());
        let mut buf = [0u8; 4];
        assert_eq!(liar.read_at(&mut buf, 0), Ok(4));
        let f = file(root.open_at("f", READ).unwrap());
        assert_eq!(f.read_at(&mut buf, 1), Ok(2));
        assert_eq!(&buf[..2], b"bc");
        assert_eq!(f.stat().unwrap().mtim, t);
        // A root that is not a directory, or is missing, cannot be opened.
        let empty: HashMap<String, Vec<u8>> = HashMap::new();
        assert_eq!(SimpleFsAdapter::new(empty).root().unwrap().stat().unwrap().filetype, FileType::Directory);
        struct NoRoot;
        impl SimpleFs for NoRoot {
            fn metadata(&self, _: &str) -> io::Result<SimpleMetadata> {
                Err(io::ErrorKind::NotFound.into())
            }
            fn read_dir(&self, _: &str) -> io::Result<Vec<String>> {
                Ok(Vec::new())
            }
            fn open(&self, _: &str) -> io::Result<Box<dyn SimpleFile>> {
                Err(io::ErrorKind::NotFound.into())
            }
        }
        assert_eq!(SimpleFsAdapter::new(NoRoot).root().map(|_| ()), Err(Errno::Noent));
        let shared: Arc<dyn SimpleFs> = Arc::new(Custom);
        assert_eq!(SimpleFsAdapter::from_arc(shared).root().unwrap().stat_at("f").unwrap().size, 3);
    }

    #[test]
    fn simple_file_impls() {
        let mut buf = [0u8; 3];
        assert_eq!(SimpleFile::read_at(&b"hello".to_vec(), &mut buf, 1).unwrap(), 3);
        assert_eq!(&buf, b"ell");
        assert_eq!(SimpleFile::read_at(&Arc::<[u8]>::from(&b"hello"[..]), &mut buf, 4).unwrap(), 1);
        assert_eq!(SimpleFile::read_at(&"hello", &mut buf, 5).unwrap(), 0);
        assert_eq!(SimpleFile::read_at(&String::from("hello"), &mut buf, 6).unwrap(), 0);
        assert_eq!(SimpleFile::read_at(&Cow::Borrowed(&b"hi"[..]), &mut buf, 0).unwrap(), 2);
        assert_eq!(SimpleFile::read_at(&Box::<[u8]>::from(&b"hi"[..]), &mut buf, u64::MAX).unwrap(), 0);
    }
}
