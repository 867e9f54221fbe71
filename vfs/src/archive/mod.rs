//! [`Archive`]: a tar (plain or gzip-compressed) or zip archive served in place, read-only.
//!
//! The archive is indexed once, when it is opened: every entry's name, type, size and
//! modification time, directories implied by the names, hard links sharing their target's
//! inode. Reads of a tar's files, and of a zip's stored entries, are copies out of the buffer
//! the archive came in (no other copy is made); a gzip-compressed tar is unpacked once when it
//! is opened; a zip's compressed entries are unpacked on their first open and kept in a bounded
//! cache.
//!
//! # Limits and hostile archives
//! Opening an archive fails with an [`io::Error`] of kind [`io::ErrorKind::InvalidData`] and a
//! message naming the entry when the archive is malformed or truncated, when a name is absolute
//! or holds a `..` component, when a name is used both as a file and as a directory, when a
//! hard link names a missing entry or a directory, when a zip entry is encrypted or compressed
//! with a method other than deflate, and when it passes a limit of [`ArchiveBuilder`]: the
//! number of entries, the unpacked size of a gzip-compressed tar, the size of one zip entry.
//! Symbolic links are served as stored; the resolver that walks them keeps every path inside
//! the archive and ends link loops with `ELOOP`. Entries of other types (devices, FIFOs) are
//! left out.
//!
//! Unpacked zip entries — kept by the cache or by open files — together hold at most
//! [`ArchiveBuilder::max_unpacked_in_memory`] bytes: an open that would pass it answers
//! [`Errno::Nomem`]. A zip entry that unpacks to other than its declared size, or whose checksum
//! does not match, answers [`Errno::Io`].
//!
//! # What the guest sees
//! Every change answers [`Errno::Rofs`] as on a read-only mount (the archive is served through
//! [`RestrictedDir::read_only`]). `ino` is the entry's position in the index (the root is 1),
//! `dev` is distinct per archive, `nlink` counts a file's names (a directory's is 2 plus its
//! subdirectories), and the three times are the stored modification time. Listings are sorted
//! by name; the entry at position `i` has cookie `i + 1`.

mod index;
mod tar;
mod zip;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::perms::RestrictedDir;
use crate::{Dir, DirEntry, Errno, File, FileSystem, FileType, Node, OpenOptions, Result, Stat};

use index::{Index, Kind};

/// The formats an [`Archive`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// A tar archive (POSIX ustar, pax and GNU long names).
    Tar,
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`).
    TarGz,
    /// A zip archive (entries stored or deflated; zip64 included).
    Zip,
}

impl ArchiveFormat {
    /// The format of `bytes`, from their first bytes: the gzip magic, a zip local header or
    /// end of central directory, or a tar header's `ustar` magic (or a valid tar checksum).
    ///
    /// ```
    /// use hammertime_vfs::archive::ArchiveFormat;
    /// assert_eq!(ArchiveFormat::detect(b"\x1f\x8b\x08..."), Some(ArchiveFormat::TarGz));
    /// assert_eq!(ArchiveFormat::detect(b"PK\x03\x04..."), Some(ArchiveFormat::Zip));
    /// assert_eq!(ArchiveFormat::detect(b"hello"), None);
    /// ```
    pub fn detect(bytes: &[u8]) -> Option<ArchiveFormat> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveFormat::TarGz)
        } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(ArchiveFormat::Zip)
        } else if tar::looks_like_tar(bytes) {
            Some(ArchiveFormat::Tar)
        } else {
            None
        }
    }
}

/// The bytes of an archive, shared by the index and every open file.
#[derive(Clone)]
pub(crate) struct Bytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

/// Configures the limits of an [`Archive`]; made by [`Archive::builder`].
///
/// ```
/// use hammertime_vfs::archive::Archive;
/// let builder = Archive::builder().max_entries(1000).max_unpacked_size(16 << 20);
/// # let _ = builder;
/// ```
#[derive(Clone, Debug)]
pub struct ArchiveBuilder {
    pub(crate) max_entries: usize,
    pub(crate) max_unpacked_size: u64,
    pub(crate) max_unpacked_in_memory: u64,
}

impl Default for ArchiveBuilder {
    fn default() -> ArchiveBuilder {
        ArchiveBuilder { max_entries: 1 << 20, max_unpacked_size: 1 << 30, max_unpacked_in_memory: 256 << 20 }
    }
}

impl ArchiveBuilder {
    /// At most `n` entries (headers of a tar, central-directory records of a zip). Default:
    /// 1,048,576.
    pub fn max_entries(mut self, n: usize) -> ArchiveBuilder {
        self.max_entries = n;
        self
    }

    /// At most `bytes` unpacked: the whole tar inside a gzip stream, or one zip entry (its
    /// declared size, and what it really unpacks to). Default: 1 GiB.
    pub fn max_unpacked_size(mut self, bytes: u64) -> ArchiveBuilder {
        self.max_unpacked_size = bytes;
        self
    }

    /// At most `bytes` of unpacked zip entries in memory at once, cached or held by open files;
    /// past it an open answers [`Errno::Nomem`]. Default: 256 MiB.
    pub fn max_unpacked_in_memory(mut self, bytes: u64) -> ArchiveBuilder {
        self.max_unpacked_in_memory = bytes;
        self
    }

    /// Indexes `bytes` in the format [`ArchiveFormat::detect`] finds; an unknown format is an
    /// error of kind [`io::ErrorKind::InvalidData`].
    pub fn open(self, bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> io::Result<Archive> {
        let bytes = Bytes(Arc::new(bytes));
        let Some(format) = ArchiveFormat::detect(bytes.as_ref()) else {
            return Err(invalid("not a tar, tar.gz or zip archive"));
        };
        self.open_as(format, bytes)
    }

    /// Indexes `bytes` as an archive of `format`.
    pub fn open_format(
        self,
        format: ArchiveFormat,
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
    ) -> io::Result<Archive> {
        self.open_as(format, Bytes(Arc::new(bytes)))
    }

    fn open_as(self, format: ArchiveFormat, bytes: Bytes) -> io::Result<Archive> {
        let index = match format {
            ArchiveFormat::Tar => tar::index(&self, bytes)?,
            ArchiveFormat::TarGz => tar::index_gz(&self, bytes)?,
            ArchiveFormat::Zip => zip::index(&self, bytes)?,
        };
        Ok(Archive { index: Arc::new(index), format })
    }
}

/// An error of an archive that cannot be served.
pub(crate) fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// A tar, tar.gz or zip archive served read-only, in place (see the [module docs](self)).
///
/// A cheap handle: clones share the index and the bytes.
///
/// ```
/// use hammertime_vfs::{FileSystem, Node, OpenOptions, archive::Archive, resolve};
/// # let tar = {
/// #     let mut b = tar::Builder::new(Vec::new());
/// #     let mut h = tar::Header::new_ustar();
/// #     h.set_size(6); h.set_mode(0o644); h.set_cksum();
/// #     b.append_data(&mut h, "www/index.html", &b"hello\n"[..]).unwrap();
/// #     b.into_inner().unwrap()
/// # };
/// // `tar` holds www/index.html ("hello\n"); `include_bytes!("site.tar")` works the same way.
/// let fs = Archive::open(tar)?;
/// let root = fs.root()?;
/// let Node::File(page) = resolve::open(&root, "www/index.html", true, OpenOptions::new().read(true))? else {
///     unreachable!()
/// };
/// let mut buf = [0u8; 16];
/// let n = page.read_at(&mut buf, 0)?;
/// assert_eq!(&buf[..n], b"hello\n");
/// assert!(fs.is_read_only());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Archive {
    index: Arc<Index>,
    format: ArchiveFormat,
}

impl Archive {
    /// Indexes `bytes` (a `&'static [u8]` from `include_bytes!`, a `Vec<u8>`, a memory map…)
    /// with the default limits, in the format [`ArchiveFormat::detect`] finds.
    pub fn open(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> io::Result<Archive> {
        ArchiveBuilder::default().open(bytes)
    }

    /// A builder to set the limits first.
    pub fn builder() -> ArchiveBuilder {
        ArchiveBuilder::default()
    }

    /// The archive's format.
    pub fn format(&self) -> ArchiveFormat {
        self.format
    }

    /// The number of files, directories and links served (the root included; a hard link's
    /// names count once).
    pub fn len(&self) -> usize {
        self.index.nodes.len()
    }

    /// Whether the archive holds nothing but its root.
    pub fn is_empty(&self) -> bool {
        self.index.nodes.len() <= 1
    }
}

impl fmt::Debug for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive").field("format", &self.format).field("entries", &self.len()).finish()
    }
}

impl FileSystem for Archive {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        let root: Arc<dyn Dir> = Arc::new(ArchiveDir { index: self.index.clone(), node: 0 });
        Ok(Arc::new(RestrictedDir::read_only(root)))
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

/// A directory of the archive.
struct ArchiveDir {
    index: Arc<Index>,
    node: usize,
}

impl ArchiveDir {
    fn children(&self) -> &[(String, usize)] {
        match &self.index.nodes[self.node].kind {
            Kind::Dir(children) => children,
            _ => &[],
        }
    }

    /// The node `name` names in this directory.
    fn lookup(&self, name: &str) -> Result<usize> {
        crate::resolve::check_name(name)?;
        let children = self.children();
        match children.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => Ok(children[i].1),
            Err(_) => Err(Errno::Noent),
        }
    }
}

impl Dir for ArchiveDir {
    fn stat(&self) -> Result<Stat> {
        Ok(self.index.stat(self.node))
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        Ok(self.index.stat(self.lookup(name)?))
    }

    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        let node = self.lookup(name)?;
        match &self.index.nodes[node].kind {
            Kind::Dir(_) => Ok(Node::Dir(Arc::new(ArchiveDir { index: self.index.clone(), node }))),
            Kind::Symlink(_) => Err(Errno::Loop),
            Kind::File(_) if options.directory => Err(Errno::Notdir),
            Kind::File(data) => {
                let data = self.index.file_data(data)?;
                Ok(Node::File(Arc::new(ArchiveFile { index: self.index.clone(), node, data })))
            }
        }
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        let children = self.children();
        let start = usize::try_from(cookie).unwrap_or(usize::MAX).min(children.len());
        for (i, (name, node)) in children.iter().enumerate().skip(start) {
            let entry = DirEntry::new(name.clone(), self.index.filetype(*node), Index::ino(*node), i as u64 + 1);
            if !sink(entry) {
                break;
            }
        }
        Ok(())
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        match &self.index.nodes[self.lookup(name)?].kind {
            Kind::Symlink(target) => Ok(target.clone()),
            _ => Err(Errno::Inval),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A file of the archive: its bytes, a range of the archive's or an unpacked entry.
struct ArchiveFile {
    index: Arc<Index>,
    node: usize,
    data: index::FileBytes,
}

impl File for ArchiveFile {
    fn stat(&self) -> Result<Stat> {
        Ok(self.index.stat(self.node))
    }

    fn filetype(&self) -> Result<FileType> {
        Ok(FileType::RegularFile)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let data = self.data.bytes(&self.index);
        let Some(rest) = usize::try_from(offset).ok().and_then(|start| data.get(start..)) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
