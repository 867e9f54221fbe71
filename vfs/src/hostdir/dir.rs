//! [`HostDirHandle`]: an open host directory, and its [`Dir`] operations.

use std::any::Any;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno as HostErrno;

use super::Instance;
use super::file::HostFile;
use super::sys::{self, How, check_name, raw_type};
use crate::{Dir, DirEntry, Errno, Node, OpenOptions, Result, SetTime, Stat};

/// The permissions of a directory created by [`Dir::mkdir_at`] (the process umask applies).
const DIR_MODE: u32 = 0o777;

/// An open host directory descriptor, shared by the handles on it.
pub(super) struct DirFd {
    pub(super) fd: OwnedFd,
    /// Serializes the listings that seek the descriptor's one file position and read from it
    /// (held for one `lseek` and one `getdents64`, never while an entry is handed out).
    pub(super) position: Mutex<()>,
}

impl DirFd {
    pub(super) fn new(fd: OwnedFd) -> DirFd {
        DirFd { fd, position: Mutex::new(()) }
    }
}

/// An open host directory: a descriptor and the instance it belongs to, nothing else (no
/// listing state: see [`super::listing`]).
pub(super) struct HostDirHandle {
    pub(super) fd: Arc<DirFd>,
    pub(super) fs: Arc<Instance>,
}

impl HostDirHandle {
    pub(super) fn new(fd: Arc<DirFd>, fs: Arc<Instance>) -> HostDirHandle {
        HostDirHandle { fd, fs }
    }

    fn check_writable(&self) -> Result<()> {
        if self.fs.read_only { Err(Errno::Rofs) } else { Ok(()) }
    }

    /// Whether opening with `options` would change something this read-only instance refuses.
    fn refuses(&self, options: OpenOptions) -> bool {
        self.fs.read_only && (options.write || options.create || options.truncate)
    }

    /// `new_dir` as a handle of this same instance, else [`Errno::Xdev`].
    fn same_instance<'a>(&self, new_dir: &'a dyn Dir) -> Result<&'a HostDirHandle> {
        match new_dir.as_any().downcast_ref::<HostDirHandle>() {
            Some(other) if Arc::ptr_eq(&other.fs, &self.fs) => Ok(other),
            _ => Err(Errno::Xdev),
        }
    }

    /// With `same_filesystem`: [`Errno::Xdev`] if the entry `name` is a mount point. A missing
    /// entry passes (the operation then answers for it).
    fn check_not_mount_point(&self, name: &str) -> Result<()> {
        if !self.fs.same_filesystem {
            return Ok(());
        }
        match sys::mount_root_at(&self.fd.fd, name, self.fs.dev()?) {
            Ok((true, _)) => Err(Errno::Xdev),
            Ok((false, _)) | Err(Errno::Noent) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Opens `name` with `flags`, refusing a mount point with `same_filesystem`.
    fn open_entry(&self, name: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let how =
            if self.fs.same_filesystem && self.fs.openat2 { How::Openat2(ResolveFlags::NO_XDEV) } else { How::Openat };
        sys::open_without_blocking(&self.fd.fd, name, flags, how)
    }

    /// What `openat2` refuses on a path of several names below this directory; `None` if this
    /// instance does not use `openat2` for paths (the kernel lacks it).
    fn beneath(&self) -> Option<ResolveFlags> {
        match (self.fs.openat2, self.fs.same_filesystem) {
            (false, _) => None,
            (true, false) => Some(sys::BENEATH),
            (true, true) => Some(sys::BENEATH | ResolveFlags::NO_XDEV),
        }
    }

    /// Whether this handle is the instance's root (whose multi-name lookups are cached).
    fn is_root(&self) -> bool {
        Arc::ptr_eq(&self.fd, &self.fs.root)
    }

    /// A handle on `fd`, of this instance.
    fn handle(&self, fd: Arc<DirFd>) -> Arc<dyn Dir> {
        Arc::new(HostDirHandle::new(fd, Arc::clone(&self.fs)))
    }

    /// The directory kept in the cache for `path`, if it is still there on the host (or the
    /// instance is exclusive; a stale entry is dropped), and the cache's generation.
    fn cached_dir(&self, path: &str) -> (Option<Arc<DirFd>>, u64) {
        let (hit, generation) = self.fs.cache.get(path);
        let Some(hit) = hit else {
            return (None, generation);
        };
        if self.fs.exclusive {
            return (Some(hit.fd), generation);
        }
        match rfs::statat(&self.fd.fd, path, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if sys::identity(&st) == (hit.dev, hit.ino) => (Some(hit.fd), generation),
            _ => {
                self.fs.cache.remove(path, &hit.fd);
                (None, generation)
            }
        }
    }

    /// Opening flags for `options`, never following a last link.
    fn open_flags(options: OpenOptions) -> OFlags {
        let mut flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        flags |= match (options.read, options.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            (_, false) => OFlags::RDONLY,
        };
        if options.create {
            flags |= OFlags::CREATE;
            if options.exclusive {
                flags |= OFlags::EXCL;
            }
        }
        if options.truncate {
            flags |= OFlags::TRUNC;
        }
        if options.directory {
            flags |= OFlags::DIRECTORY;
        }
        flags
    }

    /// The node for a descriptor just opened with `options`; `check_dev` refuses a directory
    /// of another filesystem (`same_filesystem` without `openat2`).
    fn node(&self, fd: OwnedFd, options: OpenOptions, check_dev: bool) -> Result<Node> {
        // An `O_DIRECTORY` open can only give a directory: no need to look.
        let st = if options.directory && !check_dev { None } else { Some(rfs::fstat(&fd)?) };
        let host_type = st.as_ref().map_or(rfs::FileType::Directory, raw_type);
        match host_type {
            rfs::FileType::Directory => {
                if let (true, Some(st)) = (check_dev, &st)
                    && sys::identity(st).0 != self.fs.dev()?
                {
                    return Err(Errno::Xdev);
                }
                Ok(Node::Dir(self.handle(Arc::new(DirFd::new(fd)))))
            }
            other => {
                // Blocking again, except a regular file of the root's filesystem where O_NONBLOCK
                // is known to do nothing (it could matter on others, FUSE among them). No other
                // F_SETFL flag was set by the open (`open_without_blocking`).
                let inert = other == rfs::FileType::RegularFile
                    && self.fs.nonblock_inert()
                    && st.as_ref().is_some_and(|st| self.fs.dev().is_ok_and(|dev| sys::identity(st).0 == dev));
                if !inert {
                    sys::make_blocking(&fd)?;
                }
                Ok(Node::File(Arc::new(HostFile::new(fd, self.fs.read_only, sys::file_type(other)))))
            }
        }
    }
}

impl Dir for HostDirHandle {
    fn stat(&self) -> Result<Stat> {
        Ok(sys::to_stat(&rfs::fstat(&self.fd.fd)?))
    }

    fn stat_at(&self, name: &str) -> Result<Stat> {
        check_name(name)?;
        if self.fs.same_filesystem {
            return match sys::mount_root_at(&self.fd.fd, name, self.fs.dev()?)? {
                (true, _) => Err(Errno::Xdev),
                (false, st) => Ok(st),
            };
        }
        Ok(sys::to_stat(&rfs::statat(&self.fd.fd, name, AtFlags::SYMLINK_NOFOLLOW)?))
    }

    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        check_name(name)?;
        if self.refuses(options) {
            if !(options.write || options.truncate) {
                return crate::fs::open_without_creating(self, name, options, Errno::Rofs);
            }
            return Err(Errno::Rofs);
        }
        let flags = HostDirHandle::open_flags(options);
        // Without openat2, look before opening (so that O_TRUNC never reaches another
        // filesystem), and check a directory again once open.
        let check_dev = self.fs.same_filesystem && !self.fs.openat2;
        if check_dev {
            self.check_not_mount_point(name)?;
        }
        // Linux answers ENOTDIR, not ELOOP, to `O_NOFOLLOW | O_DIRECTORY` on a symbolic link:
        // look at the entry to tell the two apart. If the host swapped a link for a directory in
        // between, open again (a bounded number of times; then the last answer stands).
        let mut attempts = 0;
        let fd = loop {
            match self.open_entry(name, flags) {
                Ok(fd) => break fd,
                Err(HostErrno::NOTDIR) if options.directory => {
                    match rfs::statat(&self.fd.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) if raw_type(&st) == rfs::FileType::Symlink => return Err(Errno::Loop),
                        Ok(st) if raw_type(&st) == rfs::FileType::Directory && attempts < 8 => attempts += 1,
                        _ => return Err(Errno::Notdir),
                    }
                }
                Err(err) => return Err(err.into()),
            }
        };
        self.node(fd, options, check_dev)
    }

    fn open_dir_path(&self, path: &str) -> Option<Result<Arc<dyn Dir>>> {
        let resolve = self.beneath()?;
        // Only the root's lookups are kept (the cache generation to insert with, if so).
        let generation = match self.is_root().then(|| self.cached_dir(path)) {
            Some((Some(fd), _)) => return Some(Ok(self.handle(fd))),
            Some((None, generation)) => Some(generation),
            None => None,
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rfs::openat2(&self.fd.fd, path, flags, Mode::empty(), resolve) {
            Ok(fd) => {
                let fd = Arc::new(DirFd::new(fd));
                if let Some(generation) = generation {
                    match rfs::fstat(&fd.fd) {
                        Ok(st) => self.fs.cache.insert(path, Arc::clone(&fd), sys::identity(&st), generation),
                        Err(err) => return Some(Err(err.into())),
                    }
                }
                Some(Ok(self.handle(fd)))
            }
            Err(err) => sys::decided(err, true).map(Err),
        }
    }

    fn open_path(&self, path: &str, options: OpenOptions) -> Option<Result<Node>> {
        let resolve = self.beneath()?;
        if self.refuses(options) {
            // The walk answers Rofs only once it knows the path leads somewhere.
            return None;
        }
        match sys::open_without_blocking(&self.fd.fd, path, HostDirHandle::open_flags(options), How::Openat2(resolve)) {
            Ok(fd) => Some(self.node(fd, options, false)),
            Err(err) => sys::decided(err, options.directory).map(Err),
        }
    }

    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.list(cookie, sink)
    }

    fn mkdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        Ok(rfs::mkdirat(&self.fd.fd, name, Mode::from_bits_truncate(DIR_MODE))?)
    }

    fn rmdir_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        match rfs::unlinkat(&self.fd.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) => {
                self.fs.cache.clear();
                Ok(())
            }
            // POSIX allows EEXIST for a non-empty directory; the contract says Notempty.
            Err(HostErrno::EXIST) => Err(Errno::Notempty),
            Err(err) => Err(err.into()),
        }
    }

    fn unlink_at(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.check_writable()?;
        Ok(rfs::unlinkat(&self.fd.fd, name, AtFlags::empty())?)
    }

    fn symlink_at(&self, target: &str, name: &str) -> Result<()> {
        check_name(name)?;
        if target.contains('\0') {
            return Err(Errno::Inval);
        }
        self.check_writable()?;
        Ok(rfs::symlinkat(target, &self.fd.fd, name)?)
    }

    fn readlink_at(&self, name: &str) -> Result<String> {
        check_name(name)?;
        let target = rfs::readlinkat(&self.fd.fd, name, Vec::new())?;
        target.into_string().map_err(|_| Errno::Ilseq)
    }

    fn rename_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        self.check_writable()?;
        let target = self.same_instance(new_dir)?;
        match rfs::renameat(&self.fd.fd, name, &target.fd.fd, new_name) {
            Ok(()) => {
                // Any directory below the root may have moved (a file's rename cannot replace
                // a directory, but telling the two apart would cost a system call).
                self.fs.cache.clear();
                Ok(())
            }
            // POSIX allows EEXIST for a non-empty target directory; the contract says Notempty.
            Err(HostErrno::EXIST) => Err(Errno::Notempty),
            Err(err) => Err(err.into()),
        }
    }

    fn link_at(&self, name: &str, new_dir: &dyn Dir, new_name: &str) -> Result<()> {
        check_name(name)?;
        check_name(new_name)?;
        self.check_writable()?;
        let target = self.same_instance(new_dir)?;
        Ok(rfs::linkat(&self.fd.fd, name, &target.fd.fd, new_name, AtFlags::empty())?)
    }

    fn set_times_at(&self, name: &str, atime: SetTime, mtime: SetTime) -> Result<()> {
        check_name(name)?;
        crate::fs::refused_after_lookup(self.check_writable(), self, name)?;
        self.check_not_mount_point(name)?;
        Ok(rfs::utimensat(&self.fd.fd, name, &sys::timestamps(atime, mtime), AtFlags::SYMLINK_NOFOLLOW)?)
    }

    fn set_times(&self, atime: SetTime, mtime: SetTime) -> Result<()> {
        self.check_writable()?;
        Ok(rfs::futimens(&self.fd.fd, &sys::timestamps(atime, mtime))?)
    }

    fn sync(&self) -> Result<()> {
        Ok(rfs::fsync(&self.fd.fd)?)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
