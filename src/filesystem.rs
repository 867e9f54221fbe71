//! The descriptors of the component ABIs (a WASI 0.2 or 0.3 `wasi:filesystem/types.descriptor`):
//! an open file or directory and its flags, and every operation on one, as core state that
//! `p2::filesystem` and `p3::filesystem` translate to their WIT.
//!
//! Every path goes through the one resolver ([`crate::vfs::resolve`]) that preview1 uses, so the
//! sandbox is the same: no path leaves the descriptor it starts from. Errors are the POSIX ones
//! of the backend and the resolver.
//!
//! Descriptor flags are enforced as preview1 enforces rights: reading needs `read`, writing
//! `write`, and changing a directory's entries (create, remove, rename, link, symlink, set
//! times, opening with `create`, `truncate` or `write`) `mutate-directory`, which every directory
//! opened below a descriptor that has it inherits (and none other gets). Preopens get `read` and
//! `mutate-directory`; a read-only mount then answers every change with `EROFS`, as a read-only
//! POSIX mount does. The `file-integrity-sync` and `data-integrity-sync` flags are honoured: each
//! write through such a descriptor is synced before it returns.

use std::sync::Arc;

use wasmtime::component::ResourceTableError;

use crate::Limits;
use crate::backend::{self, WriteSync};
use crate::random::{GOLDEN_GAMMA, mix64};
use crate::vfs::{self, Dir, Errno, File, FileType, Node, OpenOptions, SetTime, Stat, resolve};

/// A `wasi:filesystem/types.descriptor` (WASI 0.2 and 0.3): an open file or directory, the
/// flags it was opened with, and whether its entries may change.
pub struct Descriptor {
    node: Node,
    /// What `get-flags` reports: the flags asked for (and granted).
    flags: DescFlags,
    /// The directory's entries may change: a preopen's right, inherited by every directory
    /// opened below it whatever flags the open asked for (the right belongs to the tree, as a
    /// subdirectory of a writable POSIX directory is writable).
    mutate: bool,
}

/// The error of a filesystem function: an `error-code`, or a trap.
#[derive(Debug)]
pub enum FsError {
    /// The POSIX error, given to the guest as its `error-code`.
    Code(Errno),
    /// The guest misused the interface (a handle that is not its own); the instance traps.
    Trap(wasmtime::Error),
}

impl From<Errno> for FsError {
    fn from(e: Errno) -> Self {
        FsError::Code(e)
    }
}

impl From<ResourceTableError> for FsError {
    fn from(e: ResourceTableError) -> Self {
        match e {
            // Too many open resources: the guest's own limit, an error it can handle.
            ResourceTableError::Full => FsError::Code(Errno::Nfile),
            other => FsError::Trap(other.into()),
        }
    }
}

pub(crate) type FsResult<T> = Result<T, FsError>;

/// The flags of a descriptor, as both WITs name them (`descriptor-flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DescFlags(u8);

impl DescFlags {
    pub const READ: DescFlags = DescFlags(1);
    pub const WRITE: DescFlags = DescFlags(1 << 1);
    pub const FILE_INTEGRITY_SYNC: DescFlags = DescFlags(1 << 2);
    pub const DATA_INTEGRITY_SYNC: DescFlags = DescFlags(1 << 3);
    pub const REQUESTED_WRITE_SYNC: DescFlags = DescFlags(1 << 4);
    pub const MUTATE_DIRECTORY: DescFlags = DescFlags(1 << 5);

    /// Every flag of `other` is set.
    pub fn contains(self, other: DescFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Some flag of `other` is set.
    pub fn intersects(self, other: DescFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for DescFlags {
    type Output = DescFlags;
    fn bitor(self, other: DescFlags) -> DescFlags {
        DescFlags(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for DescFlags {
    fn bitor_assign(&mut self, other: DescFlags) {
        self.0 |= other.0;
    }
}

impl std::ops::Not for DescFlags {
    type Output = DescFlags;
    fn not(self) -> DescFlags {
        DescFlags(!self.0)
    }
}

impl std::ops::BitAnd for DescFlags {
    type Output = DescFlags;
    fn bitand(self, other: DescFlags) -> DescFlags {
        DescFlags(self.0 & other.0)
    }
}

/// The `error-code` of a POSIX error, for an ABI's generated `error-code` enum: the name the
/// WIT gives it (`ENOTCAPABLE` is `not-permitted`, running out of descriptors
/// `insufficient-memory`, anything else `io`); `$again` is what `EAGAIN` becomes (WASI 0.2 has
/// `would-block`, 0.3 not).
macro_rules! error_code_of {
    ($e:expr, $C:ident, $again:expr) => {
        match $e {
            Errno::Acces => $C::Access,
            Errno::Again => $again,
            Errno::Already => $C::Already,
            Errno::Badf => $C::BadDescriptor,
            Errno::Busy => $C::Busy,
            Errno::Deadlk => $C::Deadlock,
            Errno::Dquot => $C::Quota,
            Errno::Exist => $C::Exist,
            Errno::Fbig => $C::FileTooLarge,
            Errno::Ilseq => $C::IllegalByteSequence,
            Errno::Inprogress => $C::InProgress,
            Errno::Intr => $C::Interrupted,
            Errno::Inval => $C::Invalid,
            Errno::Isdir => $C::IsDirectory,
            Errno::Loop => $C::Loop,
            Errno::Mlink => $C::TooManyLinks,
            Errno::Msgsize => $C::MessageSize,
            Errno::Nametoolong => $C::NameTooLong,
            Errno::Nodev => $C::NoDevice,
            Errno::Noent => $C::NoEntry,
            Errno::Nolck => $C::NoLock,
            Errno::Nomem | Errno::Mfile | Errno::Nfile => $C::InsufficientMemory,
            Errno::Nospc => $C::InsufficientSpace,
            Errno::Notdir => $C::NotDirectory,
            Errno::Notempty => $C::NotEmpty,
            Errno::Notrecoverable => $C::NotRecoverable,
            Errno::Notsup => $C::Unsupported,
            Errno::Notty => $C::NoTty,
            Errno::Nxio => $C::NoSuchDevice,
            Errno::Overflow => $C::Overflow,
            Errno::Perm | Errno::Notcapable => $C::NotPermitted,
            Errno::Pipe => $C::Pipe,
            Errno::Rofs => $C::ReadOnly,
            Errno::Spipe => $C::InvalidSeek,
            Errno::Txtbsy => $C::TextFileBusy,
            Errno::Xdev => $C::CrossDevice,
            _ => $C::Io,
        }
    };
}
pub(crate) use error_code_of;

/// `flags_in` and `flags_out`: an ABI's generated `descriptor-flags` type as the core's
/// [`DescFlags`], and back (both WITs name the same six flags).
macro_rules! desc_flags_conversions {
    ($F:ident) => {
        const FLAGS: [($F, DescFlags); 6] = [
            ($F::READ, DescFlags::READ),
            ($F::WRITE, DescFlags::WRITE),
            ($F::FILE_INTEGRITY_SYNC, DescFlags::FILE_INTEGRITY_SYNC),
            ($F::DATA_INTEGRITY_SYNC, DescFlags::DATA_INTEGRITY_SYNC),
            ($F::REQUESTED_WRITE_SYNC, DescFlags::REQUESTED_WRITE_SYNC),
            ($F::MUTATE_DIRECTORY, DescFlags::MUTATE_DIRECTORY),
        ];

        fn flags_in(f: $F) -> DescFlags {
            FLAGS.iter().filter(|(wit, _)| f.contains(*wit)).fold(DescFlags::default(), |acc, (_, core)| acc | *core)
        }

        fn flags_out(f: DescFlags) -> $F {
            FLAGS.iter().filter(|(_, core)| f.contains(*core)).fold($F::empty(), |acc, (wit, _)| acc | *wit)
        }
    };
}
pub(crate) use desc_flags_conversions;

/// The `open-flags` of an `open-at`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OpenHow {
    pub create: bool,
    pub directory: bool,
    pub exclusive: bool,
    pub truncate: bool,
}

/// A WIT timestamp (`seconds`, `nanoseconds`) as a time to set: `EINVAL` for nanoseconds past a
/// second or a time past `u64` nanoseconds.
pub(crate) fn set_time_at(seconds: u64, nanoseconds: u32) -> Result<SetTime, Errno> {
    if nanoseconds >= 1_000_000_000 {
        return Err(Errno::Inval);
    }
    let ns = seconds.checked_mul(1_000_000_000).and_then(|s| s.checked_add(u64::from(nanoseconds)));
    Ok(SetTime::At(ns.ok_or(Errno::Inval)?))
}

/// A hash of a file's identity (device and inode) as `(lower, upper)`: equal for the same object,
/// and never equal for different ones, because each half is a bijection of its input: `upper`
/// mixes the device, `lower` the inode with `upper`, so the pair determines both. (The preview1
/// adapter shows `lower` to a guest as the inode number; preview1 shows the real one, so nothing
/// is hidden here.)
pub(crate) fn metadata_hash(st: &Stat) -> (u64, u64) {
    let upper = mix64(st.dev ^ GOLDEN_GAMMA);
    (mix64(st.ino ^ upper), upper)
}

impl Descriptor {
    /// A descriptor of a preopened directory: `read` and `mutate-directory`.
    pub(crate) fn preopen(dir: Arc<dyn Dir>) -> Self {
        Descriptor { node: Node::Dir(dir), flags: DescFlags::READ | DescFlags::MUTATE_DIRECTORY, mutate: true }
    }

    pub(crate) fn flags(&self) -> DescFlags {
        self.flags
    }

    pub(crate) fn stat(&self) -> vfs::Result<Stat> {
        match &self.node {
            Node::Dir(d) => d.stat(),
            Node::File(f) => f.stat(),
        }
    }

    /// What each write through this descriptor must reach before it returns.
    pub(crate) fn syncs(&self) -> WriteSync {
        if self.flags.contains(DescFlags::FILE_INTEGRITY_SYNC) {
            WriteSync::All
        } else if self.flags.contains(DescFlags::DATA_INTEGRITY_SYNC) {
            WriteSync::Data
        } else {
            WriteSync::No
        }
    }

    /// The directory: `ENOTDIR` for a file; `EPERM` if `mutate` is asked and the descriptor
    /// lacks `mutate-directory`.
    pub(crate) fn dir(&self, mutate: bool) -> Result<Arc<dyn Dir>, Errno> {
        let Node::Dir(dir) = &self.node else {
            return Err(Errno::Notdir);
        };
        if mutate && !self.mutate {
            return Err(Errno::Perm);
        }
        Ok(dir.clone())
    }

    /// The file, when the descriptor holds `flag` (`EBADF` otherwise); a directory is `EISDIR`.
    pub(crate) fn file(&self, flag: DescFlags) -> Result<Arc<dyn File>, Errno> {
        let Node::File(file) = &self.node else {
            return Err(Errno::Isdir);
        };
        if !self.flags.contains(flag) {
            return Err(Errno::Badf);
        }
        Ok(file.clone())
    }

    /// `advise`: a hint; on a directory nothing, as `posix_fadvise(2)` on a Linux directory.
    pub(crate) fn advise(&self, offset: u64, len: u64, advice: vfs::Advice) -> Result<(), Errno> {
        backend::signed(len)?;
        match &self.node {
            Node::File(file) => file.advise(offset, len, advice),
            Node::Dir(_) => Ok(()),
        }
    }

    /// `sync-data`: `fdatasync(2)`.
    pub(crate) fn sync_data(&self) -> Result<(), Errno> {
        match &self.node {
            Node::File(f) => f.datasync(),
            Node::Dir(d) => d.sync(),
        }
    }

    /// `sync`: `fsync(2)`.
    pub(crate) fn sync(&self) -> Result<(), Errno> {
        match &self.node {
            Node::File(f) => f.sync(),
            Node::Dir(d) => d.sync(),
        }
    }

    /// The type of what the descriptor is open on.
    pub(crate) fn file_type(&self) -> Result<FileType, Errno> {
        match &self.node {
            Node::Dir(_) => Ok(FileType::Directory),
            Node::File(f) => f.filetype(),
        }
    }

    /// `set-size`: `ftruncate(2)`, `EINVAL` for anything but a regular file open for writing.
    pub(crate) fn set_size(&self, size: u64) -> Result<(), Errno> {
        let Node::File(file) = &self.node else {
            return Err(Errno::Inval);
        };
        if !self.flags.contains(DescFlags::WRITE) {
            return Err(Errno::Inval);
        }
        backend::signed(size)?;
        file.set_size(size)
    }

    /// `set-times`: `futimens(2)`.
    pub(crate) fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<(), Errno> {
        match &self.node {
            Node::File(f) => f.set_times(atime, mtime),
            Node::Dir(d) => d.set_times(atime, mtime),
        }
    }

    /// Reads at `offset` until `buf` is full or the file ends; the bytes read.
    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let file = self.file(DescFlags::READ)?;
        backend::range(offset, buf.len() as u64)?;
        let mut filled = 0;
        while filled < buf.len() {
            // Within `i64::MAX`: `range` checked the whole buffer.
            let n = backend::read_at(file.as_ref(), &mut buf[filled..], offset + filled as u64)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }

    /// Writes `buf` at `offset` (as much as the backend takes), then syncs as the descriptor's
    /// flags ask; a write of which nothing was taken is `ENOSPC`.
    pub(crate) fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        let file = self.file(DescFlags::WRITE)?;
        backend::range(offset, buf.len() as u64)?;
        let mut written = 0;
        while written < buf.len() {
            // Within `i64::MAX`: `range` checked the whole buffer.
            match backend::write_at(file.as_ref(), &buf[written..], offset + written as u64) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if written == 0 && !buf.is_empty() {
            return Err(Errno::Nospc);
        }
        backend::sync_after_write(file.as_ref(), self.syncs())?;
        Ok(written)
    }

    /// `open-at`: opens `path` below this directory (`follow`: a last component that is a link
    /// is followed). Changing the tree (create, truncate, write, mutate-directory) needs this
    /// directory's right to change entries. The new descriptor reports the flags asked for,
    /// `read` included unless only writing was asked (`O_RDONLY` is 0, as on Linux and Wasmtime);
    /// a directory inherits this one's right to change entries (the right belongs to the tree,
    /// not to the request), and reports `mutate-directory` when asked for.
    pub(crate) fn open_at(
        &self,
        limits: &Limits,
        path: &str,
        follow: bool,
        how: OpenHow,
        flags: DescFlags,
    ) -> Result<Descriptor, Errno> {
        limits.check_path(path)?;
        let Node::Dir(dir) = &self.node else {
            return Err(Errno::Notdir);
        };
        let parent_mutates = self.mutate;
        let changes = how.create || how.truncate || flags.intersects(DescFlags::WRITE | DescFlags::MUTATE_DIRECTORY);
        if changes && !parent_mutates {
            return Err(Errno::Perm);
        }
        let write = flags.contains(DescFlags::WRITE);
        let options = OpenOptions::new()
            .read(flags.contains(DescFlags::READ) || !write)
            .write(write)
            .create(how.create)
            .exclusive(how.exclusive)
            .truncate(how.truncate)
            .directory(how.directory);
        let node = resolve::open(dir, path, follow, options)?;
        let is_dir = matches!(node, Node::Dir(_));
        let mut new_flags = flags
            & (DescFlags::READ
                | DescFlags::WRITE
                | DescFlags::FILE_INTEGRITY_SYNC
                | DescFlags::DATA_INTEGRITY_SYNC
                | DescFlags::REQUESTED_WRITE_SYNC
                | DescFlags::MUTATE_DIRECTORY);
        if !write {
            new_flags |= DescFlags::READ;
        }
        if !is_dir {
            new_flags = new_flags & !DescFlags::MUTATE_DIRECTORY;
        }
        Ok(Descriptor { node, flags: new_flags, mutate: is_dir && parent_mutates })
    }

    /// A handle of its own on this directory, so that a listing's state is independent of
    /// other listings.
    pub(crate) fn listing(&self) -> Result<Arc<dyn Dir>, Errno> {
        let dir = self.dir(false)?;
        Ok(dir.reopen().unwrap_or(dir))
    }

    /// `create-directory-at`: `mkdirat(2)`.
    pub(crate) fn create_directory_at(&self, limits: &Limits, path: &str) -> Result<(), Errno> {
        limits.check_path(path)?;
        resolve::mkdir(&self.dir(true)?, path)
    }

    /// `stat-at`: `fstatat(2)`.
    pub(crate) fn stat_at(&self, limits: &Limits, path: &str, follow: bool) -> Result<Stat, Errno> {
        limits.check_path(path)?;
        resolve::stat(&self.dir(false)?, path, follow)
    }

    /// `set-times-at`: `utimensat(2)`.
    pub(crate) fn set_times_at(
        &self,
        limits: &Limits,
        path: &str,
        follow: bool,
        atime: SetTime,
        mtime: SetTime,
    ) -> Result<(), Errno> {
        limits.check_path(path)?;
        resolve::set_times(&self.dir(true)?, path, follow, atime, mtime)
    }

    /// `link-at`: `linkat(2)` of `old_path` below this directory to `new_path` below `new`.
    pub(crate) fn link_at(
        &self,
        limits: &Limits,
        follow: bool,
        old_path: &str,
        new: &Descriptor,
        new_path: &str,
    ) -> Result<(), Errno> {
        limits.check_path(old_path)?;
        limits.check_path(new_path)?;
        resolve::link(&self.dir(false)?, old_path, follow, &new.dir(true)?, new_path)
    }

    /// `readlink-at`: `readlinkat(2)`.
    pub(crate) fn readlink_at(&self, limits: &Limits, path: &str) -> Result<String, Errno> {
        limits.check_path(path)?;
        resolve::readlink(&self.dir(false)?, path)
    }

    /// `remove-directory-at`: `unlinkat(2)` with `AT_REMOVEDIR`.
    pub(crate) fn remove_directory_at(&self, limits: &Limits, path: &str) -> Result<(), Errno> {
        limits.check_path(path)?;
        resolve::rmdir(&self.dir(true)?, path)
    }

    /// `rename-at`: `renameat(2)`.
    pub(crate) fn rename_at(
        &self,
        limits: &Limits,
        old_path: &str,
        new: &Descriptor,
        new_path: &str,
    ) -> Result<(), Errno> {
        limits.check_path(old_path)?;
        limits.check_path(new_path)?;
        resolve::rename(&self.dir(true)?, old_path, &new.dir(true)?, new_path)
    }

    /// `symlink-at`: `symlinkat(2)`.
    pub(crate) fn symlink_at(&self, limits: &Limits, old_path: &str, new_path: &str) -> Result<(), Errno> {
        limits.check_path(old_path)?;
        limits.check_path(new_path)?;
        resolve::symlink(old_path, &self.dir(true)?, new_path)
    }

    /// `unlink-file-at`: `unlinkat(2)`.
    pub(crate) fn unlink_file_at(&self, limits: &Limits, path: &str) -> Result<(), Errno> {
        limits.check_path(path)?;
        resolve::unlink(&self.dir(true)?, path)
    }

    /// `is-same-object`: both stat and have the same device and inode.
    pub(crate) fn is_same_object(&self, other: &Descriptor) -> bool {
        matches!((self.stat(), other.stat()), (Ok(a), Ok(b)) if a.dev == b.dev && a.ino == b.ino)
    }
}

impl crate::WasiCtx {
    /// The preopened directories, in descriptor order, with their guest paths.
    pub(crate) fn preopened_dirs(&self) -> Vec<(Arc<dyn Dir>, String)> {
        let mut preopens = Vec::new();
        for fd in self.fds.fds() {
            if let Ok(d) = self.fds.get(fd)
                && let crate::fdtable::Kind::Dir { dir, preopen: Some(name) } = &d.kind
            {
                preopens.push((dir.clone(), name.clone()));
            }
        }
        preopens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(dev: u64, ino: u64) -> (u64, u64) {
        let mut st = Stat::new(FileType::RegularFile, 0);
        (st.dev, st.ino) = (dev, ino);
        metadata_hash(&st)
    }

    #[test]
    fn metadata_hash_depends_on_identity_only_and_never_collides() {
        let mut st = Stat::new(FileType::RegularFile, 1);
        (st.dev, st.ino) = (7, 42);
        let first = metadata_hash(&st);
        (st.size, st.mtim, st.nlink) = (99, 5, 3);
        assert_eq!(first, metadata_hash(&st));
        // Neighbours, swapped fields and the corners: all distinct pairs.
        let mut seen = std::collections::HashSet::new();
        for dev in [0, 1, 2, 42, u64::MAX] {
            for ino in [0, 1, 2, 42, u64::MAX] {
                assert!(seen.insert(hash(dev, ino)), "({dev}, {ino}) collides");
            }
        }
        // The inode half alone already tells inodes of one device apart.
        let lowers: std::collections::HashSet<u64> = (0..10_000).map(|ino| hash(3, ino).0).collect();
        assert_eq!(lowers.len(), 10_000);
    }

    #[test]
    fn timestamps_past_a_second_of_nanoseconds_or_u64_are_einval() {
        assert_eq!(set_time_at(1, 999_999_999), Ok(SetTime::At(1_999_999_999)));
        assert_eq!(set_time_at(1, 1_000_000_000), Err(Errno::Inval));
        assert_eq!(set_time_at(u64::MAX, 0), Err(Errno::Inval));
    }
}
