//! `wasi:filesystem`: `types` (descriptors and directory-entry streams) and `preopens`, over
//! the mounts of the context.
//!
//! Every path goes through the one resolver ([`crate::vfs::resolve`]) that preview1 uses, so
//! the sandbox is the same: no path leaves the descriptor it starts from. Errors are the POSIX
//! ones of the backend and the resolver, mapped one to one to `error-code`.
//!
//! Descriptor flags are enforced as preview1 enforces rights: reading needs `read`, writing
//! `write`, and changing a directory's entries (create, remove, rename, link, symlink, set
//! times, opening with `create`, `truncate` or `write`) `mutate-directory`, which every directory
//! opened below a descriptor that has it inherits (and none other gets). Preopens get `read` and `mutate-directory`; a read-only
//! mount then answers every change with `read-only`, as a read-only POSIX mount does. The
//! `file-integrity-sync` and `data-integrity-sync` flags are honoured: each write through such a
//! descriptor is synced before it returns.

use std::collections::VecDeque;
use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTableError};

use crate::WasiCtx;
use crate::backend::{self, WriteSync};
use crate::fdtable::Kind;
use crate::p2::bindings::wasi::filesystem::types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, MetadataHashValue,
    NewTimestamp, OpenFlags, PathFlags,
};
use crate::p2::bindings::wasi::filesystem::{preopens, types};
use crate::p2::clocks::datetime;
use crate::p2::io::{InputStream, IoError, OutputStream, READ_MAX};
use crate::random::{GOLDEN_GAMMA, mix64};
use crate::vfs::Errno;
use crate::vfs::{self, Dir, File, FileType, Node, OpenOptions, SetTime, Stat, resolve};

/// A `wasi:filesystem/types.descriptor`: an open file or directory and its flags.
pub struct Descriptor {
    node: Node,
    flags: DescriptorFlags,
}

/// A `wasi:filesystem/types.directory-entry-stream`: a listing in progress.
pub struct DirectoryEntryStream {
    dir: Arc<dyn Dir>,
    /// The cookie that continues the listing after the entries in `buffered`.
    cookie: u64,
    buffered: VecDeque<vfs::DirEntry>,
    done: bool,
}

/// Entries fetched from the backend at a time.
const DIR_BATCH: usize = 64;

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

type FsResult<T> = Result<T, FsError>;

/// The `error-code` of a POSIX error (the one WASI 0.2 gives the same name; `ENOTCAPABLE`
/// becomes `not-permitted`, running out of descriptors `insufficient-memory`).
pub fn error_code(e: Errno) -> ErrorCode {
    use ErrorCode as C;
    match e {
        Errno::Acces => C::Access,
        Errno::Again => C::WouldBlock,
        Errno::Already => C::Already,
        Errno::Badf => C::BadDescriptor,
        Errno::Busy => C::Busy,
        Errno::Deadlk => C::Deadlock,
        Errno::Dquot => C::Quota,
        Errno::Exist => C::Exist,
        Errno::Fbig => C::FileTooLarge,
        Errno::Ilseq => C::IllegalByteSequence,
        Errno::Inprogress => C::InProgress,
        Errno::Intr => C::Interrupted,
        Errno::Inval => C::Invalid,
        Errno::Isdir => C::IsDirectory,
        Errno::Loop => C::Loop,
        Errno::Mlink => C::TooManyLinks,
        Errno::Msgsize => C::MessageSize,
        Errno::Nametoolong => C::NameTooLong,
        Errno::Nodev => C::NoDevice,
        Errno::Noent => C::NoEntry,
        Errno::Nolck => C::NoLock,
        Errno::Nomem | Errno::Mfile | Errno::Nfile => C::InsufficientMemory,
        Errno::Nospc => C::InsufficientSpace,
        Errno::Notdir => C::NotDirectory,
        Errno::Notempty => C::NotEmpty,
        Errno::Notrecoverable => C::NotRecoverable,
        Errno::Notsup => C::Unsupported,
        Errno::Notty => C::NoTty,
        Errno::Nxio => C::NoSuchDevice,
        Errno::Overflow => C::Overflow,
        Errno::Perm | Errno::Notcapable => C::NotPermitted,
        Errno::Pipe => C::Pipe,
        Errno::Rofs => C::ReadOnly,
        Errno::Spipe => C::InvalidSeek,
        Errno::Txtbsy => C::TextFileBusy,
        Errno::Xdev => C::CrossDevice,
        _ => C::Io,
    }
}

fn descriptor_type(t: FileType) -> DescriptorType {
    match t {
        FileType::Unknown => DescriptorType::Unknown,
        FileType::BlockDevice => DescriptorType::BlockDevice,
        FileType::CharacterDevice => DescriptorType::CharacterDevice,
        FileType::Directory => DescriptorType::Directory,
        FileType::RegularFile => DescriptorType::RegularFile,
        FileType::SocketDgram | FileType::SocketStream => DescriptorType::Socket,
        FileType::SymbolicLink => DescriptorType::SymbolicLink,
    }
}

fn descriptor_stat(st: &Stat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st.filetype),
        link_count: st.nlink,
        size: st.size,
        data_access_timestamp: Some(datetime(st.atim)),
        data_modification_timestamp: Some(datetime(st.mtim)),
        status_change_timestamp: Some(datetime(st.ctim)),
    }
}

fn set_time(t: NewTimestamp) -> FsResult<SetTime> {
    Ok(match t {
        NewTimestamp::NoChange => SetTime::Omit,
        NewTimestamp::Now => SetTime::Now,
        NewTimestamp::Timestamp(d) => {
            if d.nanoseconds >= 1_000_000_000 {
                return Err(Errno::Inval.into());
            }
            let ns = d.seconds.checked_mul(1_000_000_000).and_then(|s| s.checked_add(u64::from(d.nanoseconds)));
            SetTime::At(ns.ok_or(Errno::Inval)?)
        }
    })
}

fn follow(flags: PathFlags) -> bool {
    flags.contains(PathFlags::SYMLINK_FOLLOW)
}

/// A hash of a file's identity (device and inode): equal for the same object, and never equal
/// for different ones, because each half is a bijection of its input: `upper` mixes the device,
/// `lower` the inode with `upper`, so the pair determines both. (The adapter shows `lower` to a
/// preview1 guest as the inode number; preview1 shows the real one, so nothing is hidden here.)
fn metadata_hash(st: &Stat) -> MetadataHashValue {
    let upper = mix64(st.dev ^ GOLDEN_GAMMA);
    MetadataHashValue { lower: mix64(st.ino ^ upper), upper }
}

impl Descriptor {
    /// A descriptor of a preopened directory: `read` and `mutate-directory`.
    pub(crate) fn preopen(dir: Arc<dyn Dir>) -> Self {
        Descriptor { node: Node::Dir(dir), flags: DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY }
    }

    fn stat(&self) -> vfs::Result<Stat> {
        match &self.node {
            Node::Dir(d) => d.stat(),
            Node::File(f) => f.stat(),
        }
    }

    fn syncs(&self) -> WriteSync {
        if self.flags.contains(DescriptorFlags::FILE_INTEGRITY_SYNC) {
            WriteSync::All
        } else if self.flags.contains(DescriptorFlags::DATA_INTEGRITY_SYNC) {
            WriteSync::Data
        } else {
            WriteSync::No
        }
    }
}

impl WasiCtx {
    fn desc(&self, fd: &Resource<Descriptor>) -> FsResult<&Descriptor> {
        Ok(self.table.get(fd)?)
    }

    /// The directory behind `fd`: `not-directory` for a file; `not-permitted` if `mutate` is
    /// asked and the descriptor lacks `mutate-directory`.
    fn dir(&self, fd: &Resource<Descriptor>, mutate: bool) -> FsResult<Arc<dyn Dir>> {
        let d = self.desc(fd)?;
        let Node::Dir(dir) = &d.node else {
            return Err(Errno::Notdir.into());
        };
        if mutate && !d.flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            return Err(Errno::Perm.into());
        }
        Ok(dir.clone())
    }

    /// The file behind `fd`, which must hold `flag` (`bad-descriptor` otherwise); a directory
    /// answers `is-directory`.
    fn file(&self, fd: &Resource<Descriptor>, flag: DescriptorFlags) -> FsResult<Arc<dyn File>> {
        let d = self.desc(fd)?;
        let Node::File(file) = &d.node else {
            return Err(Errno::Isdir.into());
        };
        if !d.flags.contains(flag) {
            return Err(Errno::Badf.into());
        }
        Ok(file.clone())
    }

    fn push<T: Send + 'static>(&mut self, value: T) -> FsResult<Resource<T>> {
        Ok(self.table.push(value)?)
    }
}

impl types::Host for WasiCtx {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        match err {
            FsError::Code(e) => Ok(error_code(e)),
            FsError::Trap(e) => Err(e),
        }
    }

    fn filesystem_error_code(&mut self, err: Resource<IoError>) -> wasmtime::Result<Option<ErrorCode>> {
        Ok(Some(error_code(self.table.get(&err)?.errno)))
    }
}

impl types::HostDescriptor for WasiCtx {
    fn read_via_stream(&mut self, fd: Resource<Descriptor>, offset: u64) -> FsResult<Resource<InputStream>> {
        let file = self.file(&fd, DescriptorFlags::READ)?;
        backend::signed(offset)?;
        self.push(InputStream::File { file, pos: offset })
    }

    fn write_via_stream(&mut self, fd: Resource<Descriptor>, offset: u64) -> FsResult<Resource<OutputStream>> {
        let file = self.file(&fd, DescriptorFlags::WRITE)?;
        backend::signed(offset)?;
        let sync = self.desc(&fd)?.syncs();
        self.push(OutputStream::File { file, pos: Some(offset), sync })
    }

    fn append_via_stream(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<OutputStream>> {
        let file = self.file(&fd, DescriptorFlags::WRITE)?;
        let sync = self.desc(&fd)?.syncs();
        self.push(OutputStream::File { file, pos: None, sync })
    }

    fn advise(&mut self, fd: Resource<Descriptor>, offset: u64, len: u64, advice: Advice) -> FsResult<()> {
        let d = self.desc(&fd)?;
        backend::signed(len)?;
        // Advice on a directory does nothing, as `posix_fadvise(2)` on a Linux directory.
        let Node::File(file) = &d.node else {
            return Ok(());
        };
        let advice = match advice {
            Advice::Normal => vfs::Advice::Normal,
            Advice::Sequential => vfs::Advice::Sequential,
            Advice::Random => vfs::Advice::Random,
            Advice::WillNeed => vfs::Advice::WillNeed,
            Advice::DontNeed => vfs::Advice::DontNeed,
            Advice::NoReuse => vfs::Advice::NoReuse,
        };
        Ok(file.advise(offset, len, advice)?)
    }

    fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        match &self.desc(&fd)?.node {
            Node::File(f) => f.datasync(),
            Node::Dir(d) => d.sync(),
        }?;
        Ok(())
    }

    fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        match &self.desc(&fd)?.node {
            Node::File(f) => f.sync(),
            Node::Dir(d) => d.sync(),
        }?;
        Ok(())
    }

    fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        Ok(self.desc(&fd)?.flags)
    }

    fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorType> {
        Ok(match &self.desc(&fd)?.node {
            Node::Dir(_) => DescriptorType::Directory,
            Node::File(f) => descriptor_type(f.filetype()?),
        })
    }

    fn set_size(&mut self, fd: Resource<Descriptor>, size: u64) -> FsResult<()> {
        let d = self.desc(&fd)?;
        // ftruncate(2) of anything but a regular file open for writing: EINVAL.
        let Node::File(file) = &d.node else {
            return Err(Errno::Inval.into());
        };
        if !d.flags.contains(DescriptorFlags::WRITE) {
            return Err(Errno::Inval.into());
        }
        backend::signed(size)?;
        Ok(file.set_size(size)?)
    }

    fn set_times(&mut self, fd: Resource<Descriptor>, atime: NewTimestamp, mtime: NewTimestamp) -> FsResult<()> {
        let (a, m) = (set_time(atime)?, set_time(mtime)?);
        match &self.desc(&fd)?.node {
            Node::File(f) => f.set_times(a, m),
            Node::Dir(d) => d.set_times(a, m),
        }?;
        Ok(())
    }

    fn read(&mut self, fd: Resource<Descriptor>, len: u64, offset: u64) -> FsResult<(Vec<u8>, bool)> {
        let file = self.file(&fd, DescriptorFlags::READ)?;
        let want = len.min(READ_MAX) as usize;
        backend::range(offset, want as u64)?;
        let buf = crate::p2::io::scratch(&mut self.scratch, want);
        let mut filled = 0;
        while filled < want {
            // Within `i64::MAX`: `range` checked the whole of `want`.
            let n = backend::read_at(file.as_ref(), &mut buf[filled..], offset + filled as u64)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok((buf[..filled].to_vec(), filled < want))
    }

    fn write(&mut self, fd: Resource<Descriptor>, buf: Vec<u8>, offset: u64) -> FsResult<u64> {
        let file = self.file(&fd, DescriptorFlags::WRITE)?;
        let sync = self.desc(&fd)?.syncs();
        backend::range(offset, buf.len() as u64)?;
        let mut written = 0;
        while written < buf.len() {
            // Within `i64::MAX`: `range` checked the whole buffer.
            match backend::write_at(file.as_ref(), &buf[written..], offset + written as u64) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if written == 0 => return Err(e.into()),
                Err(_) => break,
            }
        }
        if written == 0 && !buf.is_empty() {
            return Err(Errno::Nospc.into());
        }
        backend::sync_after_write(file.as_ref(), sync)?;
        Ok(written as u64)
    }

    fn read_directory(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<DirectoryEntryStream>> {
        let dir = self.dir(&fd, false)?;
        // A handle of its own, so this listing's state is independent of other listings.
        let dir = dir.reopen().unwrap_or(dir);
        self.push(DirectoryEntryStream { dir, cookie: 0, buffered: VecDeque::new(), done: false })
    }

    fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        self.limits.check_path(&path)?;
        Ok(resolve::mkdir(&self.dir(&fd, true)?, &path)?)
    }

    fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        Ok(descriptor_stat(&self.desc(&fd)?.stat()?))
    }

    fn stat_at(&mut self, fd: Resource<Descriptor>, flags: PathFlags, path: String) -> FsResult<DescriptorStat> {
        self.limits.check_path(&path)?;
        Ok(descriptor_stat(&resolve::stat(&self.dir(&fd, false)?, &path, follow(flags))?))
    }

    fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        self.limits.check_path(&path)?;
        let dir = self.dir(&fd, true)?;
        Ok(resolve::set_times(&dir, &path, follow(flags), set_time(atime)?, set_time(mtime)?)?)
    }

    fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_flags: PathFlags,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        self.limits.check_path(&old_path)?;
        self.limits.check_path(&new_path)?;
        let old_dir = self.dir(&fd, false)?;
        let new_dir = self.dir(&new_fd, true)?;
        Ok(resolve::link(&old_dir, &old_path, follow(old_flags), &new_dir, &new_path)?)
    }

    fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        self.limits.check_path(&path)?;
        let parent = self.desc(&fd)?;
        let Node::Dir(dir) = &parent.node else {
            return Err(Errno::Notdir.into());
        };
        let parent_mutates = parent.flags.contains(DescriptorFlags::MUTATE_DIRECTORY);
        let changes = oflags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE)
            || flags.intersects(DescriptorFlags::WRITE | DescriptorFlags::MUTATE_DIRECTORY);
        if changes && !parent_mutates {
            return Err(Errno::Perm.into());
        }
        let write = flags.contains(DescriptorFlags::WRITE);
        let options = OpenOptions::new()
            .read(flags.contains(DescriptorFlags::READ) || !write)
            .write(write)
            .create(oflags.contains(OpenFlags::CREATE))
            .exclusive(oflags.contains(OpenFlags::EXCLUSIVE))
            .truncate(oflags.contains(OpenFlags::TRUNCATE))
            .directory(oflags.contains(OpenFlags::DIRECTORY));
        let node = resolve::open(dir, &path, follow(path_flags), options)?;
        let mut new_flags = flags
            & (DescriptorFlags::READ
                | DescriptorFlags::WRITE
                | DescriptorFlags::FILE_INTEGRITY_SYNC
                | DescriptorFlags::DATA_INTEGRITY_SYNC
                | DescriptorFlags::REQUESTED_WRITE_SYNC);
        // Opened for reading unless only for writing (`O_RDONLY` is 0): a descriptor asked for
        // with neither flag reads, as on Linux and Wasmtime.
        if !write {
            new_flags |= DescriptorFlags::READ;
        }
        // A directory inherits its parent's right to change entries, as a subdirectory of a
        // writable POSIX directory is writable: the right belongs to the tree, not the request.
        if matches!(node, Node::Dir(_)) && parent_mutates {
            new_flags |= DescriptorFlags::MUTATE_DIRECTORY;
        }
        self.push(Descriptor { node, flags: new_flags })
    }

    fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        self.limits.check_path(&path)?;
        Ok(resolve::readlink(&self.dir(&fd, false)?, &path)?)
    }

    fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        self.limits.check_path(&path)?;
        Ok(resolve::rmdir(&self.dir(&fd, true)?, &path)?)
    }

    fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        self.limits.check_path(&old_path)?;
        self.limits.check_path(&new_path)?;
        let old_dir = self.dir(&fd, true)?;
        let new_dir = self.dir(&new_fd, true)?;
        Ok(resolve::rename(&old_dir, &old_path, &new_dir, &new_path)?)
    }

    fn symlink_at(&mut self, fd: Resource<Descriptor>, old_path: String, new_path: String) -> FsResult<()> {
        self.limits.check_path(&old_path)?;
        self.limits.check_path(&new_path)?;
        Ok(resolve::symlink(&old_path, &self.dir(&fd, true)?, &new_path)?)
    }

    fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        self.limits.check_path(&path)?;
        Ok(resolve::unlink(&self.dir(&fd, true)?, &path)?)
    }

    fn is_same_object(&mut self, fd: Resource<Descriptor>, other: Resource<Descriptor>) -> wasmtime::Result<bool> {
        let a = self.table.get(&fd)?.stat();
        let b = self.table.get(&other)?.stat();
        Ok(matches!((a, b), (Ok(a), Ok(b)) if a.dev == b.dev && a.ino == b.ino))
    }

    fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<MetadataHashValue> {
        Ok(metadata_hash(&self.desc(&fd)?.stat()?))
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        self.limits.check_path(&path)?;
        Ok(metadata_hash(&resolve::stat(&self.dir(&fd, false)?, &path, follow(flags))?))
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.table.delete(fd)?;
        Ok(())
    }
}

impl types::HostDirectoryEntryStream for WasiCtx {
    fn read_directory_entry(&mut self, s: Resource<DirectoryEntryStream>) -> FsResult<Option<DirectoryEntry>> {
        let s = self.table.get_mut(&s)?;
        if s.buffered.is_empty() && !s.done {
            let mut batch = VecDeque::with_capacity(DIR_BATCH);
            s.dir.read_dir(s.cookie, &mut |e| {
                batch.push_back(e);
                batch.len() < DIR_BATCH
            })?;
            match batch.back() {
                Some(last) => s.cookie = last.next,
                None => s.done = true,
            }
            s.buffered = batch;
        }
        Ok(s.buffered.pop_front().map(|e| DirectoryEntry { type_: descriptor_type(e.filetype), name: e.name }))
    }

    fn drop(&mut self, s: Resource<DirectoryEntryStream>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl preopens::Host for WasiCtx {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let mut preopens = Vec::new();
        for fd in self.fds.fds() {
            if let Ok(d) = self.fds.get(fd)
                && let Kind::Dir { dir, preopen: Some(name) } = &d.kind
            {
                preopens.push((dir.clone(), name.clone()));
            }
        }
        let mut out = Vec::with_capacity(preopens.len());
        for (dir, name) in preopens {
            out.push((self.table.push(Descriptor::preopen(dir))?, name));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(dev: u64, ino: u64) -> (u64, u64) {
        let mut st = Stat::new(FileType::RegularFile, 0);
        (st.dev, st.ino) = (dev, ino);
        let h = metadata_hash(&st);
        (h.lower, h.upper)
    }

    #[test]
    fn metadata_hash_depends_on_identity_only_and_never_collides() {
        let mut st = Stat::new(FileType::RegularFile, 1);
        (st.dev, st.ino) = (7, 42);
        let first = metadata_hash(&st);
        (st.size, st.mtim, st.nlink) = (99, 5, 3);
        let again = metadata_hash(&st);
        assert_eq!((first.lower, first.upper), (again.lower, again.upper));
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
}
