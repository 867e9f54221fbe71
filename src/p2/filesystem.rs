//! `wasi:filesystem`: `types` (descriptors and directory-entry streams) and `preopens`, over
//! the mounts of the context: the WIT of the core's descriptor (`src/filesystem.rs`: its
//! sandbox, flags and errors are documented there), each POSIX error mapped one to one to an
//! `error-code`.

use std::collections::VecDeque;
use std::sync::Arc;

use wasmtime::component::Resource;

use crate::WasiCtx;
use crate::filesystem::{DescFlags, OpenHow, metadata_hash, set_time_at};
use crate::p2::bindings::wasi::filesystem::types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, MetadataHashValue,
    NewTimestamp, OpenFlags, PathFlags,
};
use crate::p2::bindings::wasi::filesystem::{preopens, types};
use crate::p2::clocks::datetime;
use crate::p2::io::{InputStream, IoError, OutputStream, READ_MAX};
use crate::vfs::Errno;
use crate::vfs::{self, Dir, FileType, SetTime, Stat};

pub use crate::filesystem::{Descriptor, FsError};

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

type FsResult<T> = Result<T, FsError>;

/// The `error-code` of a POSIX error (the one WASI 0.2 gives the same name; `ENOTCAPABLE`
/// becomes `not-permitted`, running out of descriptors `insufficient-memory`).
pub fn error_code(e: Errno) -> ErrorCode {
    use ErrorCode as C;
    crate::filesystem::error_code_of!(e, C, C::WouldBlock)
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
        NewTimestamp::Timestamp(d) => set_time_at(d.seconds, d.nanoseconds)?,
    })
}

fn follow(flags: PathFlags) -> bool {
    flags.contains(PathFlags::SYMLINK_FOLLOW)
}

fn hash(st: &Stat) -> MetadataHashValue {
    let (lower, upper) = metadata_hash(st);
    MetadataHashValue { lower, upper }
}

crate::filesystem::desc_flags_conversions!(DescriptorFlags);

impl WasiCtx {
    fn desc(&self, fd: &Resource<Descriptor>) -> FsResult<&Descriptor> {
        Ok(self.table.get(fd)?)
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
        let file = self.desc(&fd)?.file(DescFlags::READ)?;
        crate::backend::signed(offset)?;
        self.push(InputStream::File { file, pos: offset })
    }

    fn write_via_stream(&mut self, fd: Resource<Descriptor>, offset: u64) -> FsResult<Resource<OutputStream>> {
        let d = self.desc(&fd)?;
        let (file, sync) = (d.file(DescFlags::WRITE)?, d.syncs());
        crate::backend::signed(offset)?;
        self.push(OutputStream::File { file, pos: Some(offset), sync })
    }

    fn append_via_stream(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<OutputStream>> {
        let d = self.desc(&fd)?;
        let (file, sync) = (d.file(DescFlags::WRITE)?, d.syncs());
        self.push(OutputStream::File { file, pos: None, sync })
    }

    fn advise(&mut self, fd: Resource<Descriptor>, offset: u64, len: u64, advice: Advice) -> FsResult<()> {
        let advice = match advice {
            Advice::Normal => vfs::Advice::Normal,
            Advice::Sequential => vfs::Advice::Sequential,
            Advice::Random => vfs::Advice::Random,
            Advice::WillNeed => vfs::Advice::WillNeed,
            Advice::DontNeed => vfs::Advice::DontNeed,
            Advice::NoReuse => vfs::Advice::NoReuse,
        };
        Ok(self.desc(&fd)?.advise(offset, len, advice)?)
    }

    fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        Ok(self.desc(&fd)?.sync_data()?)
    }

    fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        Ok(self.desc(&fd)?.sync()?)
    }

    fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        Ok(flags_out(self.desc(&fd)?.flags()))
    }

    fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorType> {
        Ok(descriptor_type(self.desc(&fd)?.file_type()?))
    }

    fn set_size(&mut self, fd: Resource<Descriptor>, size: u64) -> FsResult<()> {
        Ok(self.desc(&fd)?.set_size(size)?)
    }

    fn set_times(&mut self, fd: Resource<Descriptor>, atime: NewTimestamp, mtime: NewTimestamp) -> FsResult<()> {
        let (a, m) = (set_time(atime)?, set_time(mtime)?);
        Ok(self.desc(&fd)?.set_times(a, m)?)
    }

    fn read(&mut self, fd: Resource<Descriptor>, len: u64, offset: u64) -> FsResult<(Vec<u8>, bool)> {
        let want = len.min(READ_MAX) as usize;
        let mut buf = std::mem::take(&mut self.scratch);
        let filled = self.desc(&fd).and_then(|d| Ok(d.read_at(crate::p2::io::scratch(&mut buf, want), offset)?));
        let out = filled.map(|n| (buf[..n].to_vec(), n < want));
        self.scratch = buf;
        out
    }

    fn write(&mut self, fd: Resource<Descriptor>, buf: Vec<u8>, offset: u64) -> FsResult<u64> {
        Ok(self.desc(&fd)?.write_at(&buf, offset)? as u64)
    }

    fn read_directory(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<DirectoryEntryStream>> {
        let dir = self.desc(&fd)?.listing()?;
        self.push(DirectoryEntryStream { dir, cookie: 0, buffered: VecDeque::new(), done: false })
    }

    fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self.desc(&fd)?.create_directory_at(&self.limits, &path)?)
    }

    fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        Ok(descriptor_stat(&self.desc(&fd)?.stat()?))
    }

    fn stat_at(&mut self, fd: Resource<Descriptor>, flags: PathFlags, path: String) -> FsResult<DescriptorStat> {
        Ok(descriptor_stat(&self.desc(&fd)?.stat_at(&self.limits, &path, follow(flags))?))
    }

    fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
        atime: NewTimestamp,
        mtime: NewTimestamp,
    ) -> FsResult<()> {
        let (a, m) = (set_time(atime)?, set_time(mtime)?);
        Ok(self.desc(&fd)?.set_times_at(&self.limits, &path, follow(flags), a, m)?)
    }

    fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_flags: PathFlags,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let (old, new) = (self.desc(&fd)?, self.desc(&new_fd)?);
        Ok(old.link_at(&self.limits, follow(old_flags), &old_path, new, &new_path)?)
    }

    fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let how = OpenHow {
            create: oflags.contains(OpenFlags::CREATE),
            directory: oflags.contains(OpenFlags::DIRECTORY),
            exclusive: oflags.contains(OpenFlags::EXCLUSIVE),
            truncate: oflags.contains(OpenFlags::TRUNCATE),
        };
        let new = self.desc(&fd)?.open_at(&self.limits, &path, follow(path_flags), how, flags_in(flags))?;
        self.push(new)
    }

    fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        Ok(self.desc(&fd)?.readlink_at(&self.limits, &path)?)
    }

    fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self.desc(&fd)?.remove_directory_at(&self.limits, &path)?)
    }

    fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let (old, new) = (self.desc(&fd)?, self.desc(&new_fd)?);
        Ok(old.rename_at(&self.limits, &old_path, new, &new_path)?)
    }

    fn symlink_at(&mut self, fd: Resource<Descriptor>, old_path: String, new_path: String) -> FsResult<()> {
        Ok(self.desc(&fd)?.symlink_at(&self.limits, &old_path, &new_path)?)
    }

    fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        Ok(self.desc(&fd)?.unlink_file_at(&self.limits, &path)?)
    }

    fn is_same_object(&mut self, fd: Resource<Descriptor>, other: Resource<Descriptor>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&fd)?.is_same_object(self.table.get(&other)?))
    }

    fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<MetadataHashValue> {
        Ok(hash(&self.desc(&fd)?.stat()?))
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        Ok(hash(&self.desc(&fd)?.stat_at(&self.limits, &path, follow(flags))?))
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
        let mut out = Vec::new();
        for (dir, name) in self.preopened_dirs() {
            out.push((self.table.push(Descriptor::preopen(dir))?, name));
        }
        Ok(out)
    }
}
