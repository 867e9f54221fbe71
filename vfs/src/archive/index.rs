//! The index of an archive: its tree of entries, built once, and the bytes behind each file.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::{ArchiveBuilder, Bytes, invalid};
use crate::{Errno, FileType, Result, Stat};

/// Source of the `dev` numbers that tell archives apart (the high bits spell "ARC").
static NEXT_DEV: AtomicU64 = AtomicU64::new(0x4152_4300_0000_0001);

/// The longest symbolic-link target served (POSIX `PATH_MAX`).
pub(crate) const SYMLINK_MAX: usize = 4096;

/// Where a file's bytes are.
#[derive(Clone, Debug)]
pub(crate) enum Data {
    /// `len` bytes at `start` of the index's bytes.
    Range { start: usize, len: usize },
    /// A zip entry to unpack: its number in the archive and its declared size.
    Zip { entry: usize, size: u64 },
}

/// What an entry is.
pub(crate) enum Kind {
    /// A directory: its entries, sorted by name.
    Dir(Vec<(String, usize)>),
    File(Data),
    Symlink(String),
}

pub(crate) struct Entry {
    pub(crate) kind: Kind,
    /// Modification time, nanoseconds since the Unix epoch.
    pub(crate) mtime: u64,
    pub(crate) nlink: u64,
}

/// An archive's index, shared by every handle.
pub(crate) struct Index {
    pub(crate) dev: u64,
    /// The bytes that [`Data::Range`]s refer to: the archive's, or a gzip-compressed tar's
    /// unpacked tar.
    pub(crate) bytes: Bytes,
    pub(crate) nodes: Vec<Entry>,
    /// The zip archive, for unpacking its compressed entries.
    pub(crate) zip: Option<Mutex<::zip::ZipArchive<io::Cursor<Bytes>>>>,
    pub(crate) unpacked: Unpacked,
}

/// The unpacked zip entries: a small cache, and the count of bytes alive.
pub(crate) struct Unpacked {
    /// Bytes of unpacked entries alive (cached or held by open files).
    live: Arc<AtomicU64>,
    max_live: u64,
    /// Recently unpacked entries, most recent last.
    cache: Mutex<Vec<(usize, Arc<Chunk>)>>,
}

/// The bytes of one unpacked zip entry; counted in [`Unpacked::live`] while it exists.
pub(crate) struct Chunk {
    data: Vec<u8>,
    live: Arc<AtomicU64>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.live.fetch_sub(self.data.len() as u64, Ordering::Relaxed);
    }
}

/// An open file's bytes.
pub(crate) enum FileBytes {
    Range { start: usize, len: usize },
    Unpacked(Arc<Chunk>),
}

impl FileBytes {
    pub(crate) fn bytes<'a>(&'a self, index: &'a Index) -> &'a [u8] {
        match self {
            FileBytes::Range { start, len } => index.bytes.as_ref().get(*start..*start + *len).unwrap_or_default(),
            FileBytes::Unpacked(chunk) => &chunk.data,
        }
    }
}

/// How many unpacked entries the cache keeps at most.
const CACHE_ENTRIES: usize = 64;

impl Index {
    pub(crate) fn ino(node: usize) -> u64 {
        node as u64 + 1
    }

    pub(crate) fn filetype(&self, node: usize) -> FileType {
        match self.nodes[node].kind {
            Kind::Dir(_) => FileType::Directory,
            Kind::File(_) => FileType::RegularFile,
            Kind::Symlink(_) => FileType::SymbolicLink,
        }
    }

    pub(crate) fn stat(&self, node: usize) -> Stat {
        let entry = &self.nodes[node];
        let size = match &entry.kind {
            Kind::Dir(_) => 0,
            Kind::File(Data::Range { len, .. }) => *len as u64,
            Kind::File(Data::Zip { size, .. }) => *size,
            Kind::Symlink(target) => target.len() as u64,
        };
        let mut st = Stat::new(self.filetype(node), size);
        st.dev = self.dev;
        st.ino = Index::ino(node);
        st.nlink = entry.nlink;
        (st.atim, st.mtim, st.ctim) = (entry.mtime, entry.mtime, entry.mtime);
        st
    }

    /// The bytes of a file being opened: a range of the archive, or its unpacked entry.
    pub(crate) fn file_data(&self, data: &Data) -> Result<FileBytes> {
        match *data {
            Data::Range { start, len } => Ok(FileBytes::Range { start, len }),
            Data::Zip { entry, size } => Ok(FileBytes::Unpacked(self.unpack(entry, size)?)),
        }
    }

    /// Zip entry `entry`, unpacked (from the cache, or now).
    fn unpack(&self, entry: usize, size: u64) -> Result<Arc<Chunk>> {
        let u = &self.unpacked;
        {
            let mut cache = u.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = cache.iter().position(|(e, _)| *e == entry) {
                let hit = cache.remove(i);
                let chunk = hit.1.clone();
                cache.push(hit);
                return Ok(chunk);
            }
            // Room for `size` more bytes: drop cached entries, oldest first, while over.
            while u.live.load(Ordering::Relaxed).saturating_add(size) > u.max_live && !cache.is_empty() {
                cache.remove(0);
            }
            if u.live.load(Ordering::Relaxed).saturating_add(size) > u.max_live {
                return Err(Errno::Nomem);
            }
            // Counted before unpacking, so racing opens cannot pass the limit together.
            u.live.fetch_add(size, Ordering::Relaxed);
        }
        let data = match self.read_zip_entry(entry, size) {
            Ok(data) => data,
            Err(e) => {
                u.live.fetch_sub(size, Ordering::Relaxed);
                return Err(e);
            }
        };
        // The reservation becomes the chunk's count (it unpacked to exactly `size` bytes), which
        // its drop gives back.
        let chunk = Arc::new(Chunk { data, live: u.live.clone() });
        let mut cache = u.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_ENTRIES {
            cache.remove(0);
        }
        cache.push((entry, chunk.clone()));
        Ok(chunk)
    }

    /// Unpacks zip entry `entry`, which must give exactly `size` bytes and a matching checksum.
    fn read_zip_entry(&self, entry: usize, size: u64) -> Result<Vec<u8>> {
        let Some(zip) = &self.zip else { return Err(Errno::Io) };
        // `size` is at most the builder's `max_unpacked_size`: the index refused larger entries.
        let mut zip = zip.lock().unwrap_or_else(PoisonError::into_inner);
        let file = zip.by_index(entry).map_err(|_| Errno::Io)?;
        let mut data = Vec::with_capacity(usize::try_from(size).map_err(|_| Errno::Nomem)?);
        // One byte more than declared shows an entry that unpacks to more.
        let read = file.take(size + 1).read_to_end(&mut data);
        if read.is_err() || data.len() as u64 != size {
            return Err(Errno::Io);
        }
        Ok(data)
    }
}

/// Builds an [`Index`] from the entries of an archive, in their order.
pub(crate) struct Tree {
    nodes: Vec<Entry>,
    /// Each directory's entries while building, by name.
    dirs: Vec<Option<BTreeMap<String, usize>>>,
    max_entries: usize,
    entries: usize,
}

/// What one archive entry adds.
pub(crate) enum Add {
    Dir,
    File(Data),
    Symlink(String),
    /// A hard link to the entry of this path.
    Link(String),
}

impl Tree {
    pub(crate) fn new(limits: &ArchiveBuilder) -> Tree {
        let root = Entry { kind: Kind::Dir(Vec::new()), mtime: 0, nlink: 2 };
        Tree { nodes: vec![root], dirs: vec![Some(BTreeMap::new())], max_entries: limits.max_entries, entries: 0 }
    }

    /// Counts one entry of the archive against the limit.
    pub(crate) fn count(&mut self) -> io::Result<()> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(invalid(format!("more than {} entries", self.max_entries)));
        }
        Ok(())
    }

    /// The components of an entry's name: `/`-separated, empty and `.` components skipped.
    fn components(name: &str) -> io::Result<Vec<&str>> {
        if name.starts_with('/') {
            return Err(invalid(format!("entry {name:?}: an absolute name")));
        }
        if name.contains('\0') {
            return Err(invalid(format!("entry {name:?}: a NUL in the name")));
        }
        let parts: Vec<&str> = name.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        if parts.contains(&"..") {
            return Err(invalid(format!("entry {name:?}: a `..` component")));
        }
        if let Some(long) = parts.iter().find(|c| c.len() > 255) {
            return Err(invalid(format!("entry {name:?}: a name of {} bytes (255 at most)", long.len())));
        }
        Ok(parts)
    }

    /// The directory at `parts`, made (as implied) where missing.
    fn dir(&mut self, name: &str, parts: &[&str]) -> io::Result<usize> {
        let mut at = 0;
        for part in parts {
            let existing = self.dirs[at].as_ref().and_then(|d| d.get(*part).copied());
            at = match existing {
                Some(node) if self.dirs[node].is_some() => node,
                Some(_) => return Err(invalid(format!("entry {name:?}: {part:?} is not a directory"))),
                None => {
                    let node = self.new_node(Kind::Dir(Vec::new()), 0);
                    self.link(at, part, node);
                    node
                }
            };
        }
        Ok(at)
    }

    /// A new node (a directory gets its table of entries), not yet named.
    fn new_node(&mut self, kind: Kind, mtime: u64) -> usize {
        let dir = matches!(kind, Kind::Dir(_));
        self.nodes.push(Entry { kind, mtime, nlink: if dir { 2 } else { 0 } });
        self.dirs.push(dir.then(BTreeMap::new));
        self.nodes.len() - 1
    }

    /// Names `node` `part` in directory `dir`, replacing a non-directory of that name.
    fn link(&mut self, dir: usize, part: &str, node: usize) {
        let old = self.dirs[dir].as_mut().and_then(|d| d.insert(part.to_owned(), node));
        if let Some(old) = old {
            self.nodes[old].nlink = self.nodes[old].nlink.saturating_sub(1);
        }
        if self.dirs.get(node).is_some_and(Option::is_some) {
            self.nodes[dir].nlink += 1;
        } else {
            self.nodes[node].nlink += 1;
        }
    }

    /// Adds the entry `name` (modified at `mtime` ns).
    pub(crate) fn add(&mut self, name: &str, add: Add, mtime: u64) -> io::Result<()> {
        let parts = Tree::components(name)?;
        let Some((last, parents)) = parts.split_last() else {
            // The root itself ("./"): its time, if a directory.
            return match add {
                Add::Dir => {
                    self.nodes[0].mtime = mtime;
                    Ok(())
                }
                _ => Err(invalid(format!("entry {name:?}: a file named as the root"))),
            };
        };
        let dir = self.dir(name, parents)?;
        let existing = self.dirs[dir].as_ref().and_then(|d| d.get(*last).copied());
        let existing_dir = existing.filter(|n| self.dirs[*n].is_some());
        match (add, existing_dir) {
            (Add::Dir, Some(node)) => {
                self.nodes[node].mtime = mtime;
                Ok(())
            }
            (Add::Dir, None) => {
                let node = self.new_node(Kind::Dir(Vec::new()), mtime);
                self.link(dir, last, node);
                Ok(())
            }
            (_, Some(_)) => Err(invalid(format!("entry {name:?}: a directory of that name exists"))),
            (Add::Link(target), None) => {
                let node = self.find(&target).map_err(|e| invalid(format!("hard link {name:?}: {e}")))?;
                if self.dirs[node].is_some() {
                    return Err(invalid(format!("hard link {name:?}: {target:?} is a directory")));
                }
                if existing == Some(node) {
                    return Ok(());
                }
                self.link(dir, last, node);
                Ok(())
            }
            (Add::File(data), None) => {
                let node = self.new_node(Kind::File(data), mtime);
                self.link(dir, last, node);
                Ok(())
            }
            (Add::Symlink(target), None) => {
                if target.len() > SYMLINK_MAX || target.is_empty() || target.contains('\0') {
                    return Err(invalid(format!("symbolic link {name:?}: a target of {} bytes", target.len())));
                }
                let node = self.new_node(Kind::Symlink(target), mtime);
                self.link(dir, last, node);
                Ok(())
            }
        }
    }

    /// The node at path `name`, following no link.
    fn find(&self, name: &str) -> io::Result<usize> {
        let mut at = 0;
        for part in Tree::components(name)? {
            at = self.dirs[at]
                .as_ref()
                .and_then(|d| d.get(part).copied())
                .ok_or_else(|| invalid(format!("{name:?} is not in the archive")))?;
        }
        Ok(at)
    }

    /// The finished index over `bytes`.
    pub(crate) fn finish(
        mut self,
        bytes: Bytes,
        zip: Option<::zip::ZipArchive<io::Cursor<Bytes>>>,
        limits: &ArchiveBuilder,
    ) -> Index {
        for (node, dir) in self.dirs.iter_mut().enumerate() {
            if let Some(dir) = dir.take() {
                self.nodes[node].kind = Kind::Dir(dir.into_iter().collect());
            }
        }
        // Entries replaced by later ones of the same name stay in the index, unreachable.
        Index {
            dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
            bytes,
            nodes: self.nodes,
            zip: zip.map(Mutex::new),
            unpacked: Unpacked {
                live: Arc::new(AtomicU64::new(0)),
                max_live: limits.max_unpacked_in_memory,
                cache: Mutex::new(Vec::new()),
            },
        }
    }
}
