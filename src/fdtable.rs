//! The descriptor table: what each guest file descriptor refers to, with its rights and flags.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use crate::rights;
use crate::stdio::Output;
use crate::vfs::Errno;
use crate::vfs::{Dir, File, FileType};

/// What a descriptor refers to.
pub(crate) enum Kind {
    /// The context's stdin (the reader lives in [`crate::stdio::Stdio`]).
    Reader { tty: bool },
    /// The context's stdout or stderr (the writer lives in [`crate::stdio::Stdio`]).
    Writer { out: Output, tty: bool },
    /// An open non-directory file; the position is the descriptor's own.
    File { file: Arc<dyn File>, pos: u64, filetype: FileType },
    /// An open directory; `preopen` holds the guest name of a preopened one.
    Dir { dir: Arc<dyn Dir>, preopen: Option<String> },
    /// A listening TCP socket (shared with the waits that poll it).
    Listener(Arc<TcpListener>),
    /// A connected TCP socket (shared with the waits that poll it).
    Stream(Arc<TcpStream>),
}

/// One open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    /// The rights `fd_fdstat_get` shows: those that make sense for what the descriptor is and
    /// how it was opened (`fd_read` only when it reads, `fd_write` only when it writes), less
    /// those dropped. The `fd_read` and `fd_write` bits are its access mode.
    pub base: u64,
    /// The rights shown as inheriting: those descriptors opened through this one may show.
    pub inheriting: u64,
    /// The rights the guest dropped (with `fd_fdstat_set_rights`, here or from the inheriting
    /// rights of the directory this was opened through): the only rights ever refused
    /// ([`Descriptor::require`]); see [`crate::rights`].
    pub dropped: u64,
    /// `fdflags`.
    pub flags: u16,
}

impl Descriptor {
    /// A descriptor showing `base` and `inheriting`, with no right dropped.
    pub fn new(kind: Kind, base: u64, inheriting: u64, flags: u16) -> Descriptor {
        Descriptor { kind, base, inheriting, dropped: 0, flags }
    }

    /// A file or directory opened through the directory `parent`, for reading and/or writing:
    /// it shows the rights that make sense for it and its access mode, and inherits every right
    /// the guest dropped from `parent`'s inheriting rights (a directory starts with all of them).
    pub fn opened(kind: Kind, read: bool, write: bool, parent: &Descriptor, flags: u16) -> Descriptor {
        let dropped = rights::ALL & !parent.inheriting;
        let (mut base, inheriting) = match kind {
            Kind::Dir { .. } => (rights::DIRECTORY, rights::ALL),
            _ => (rights::FILE, 0),
        };
        if !read {
            base &= !(rights::FD_READ | rights::FD_READDIR);
        }
        if !write {
            base &= !rights::FD_WRITE;
        }
        let base = base & !dropped;
        let inheriting = if inheriting == 0 { base } else { inheriting & !dropped };
        Descriptor { kind, base, inheriting, dropped, flags }
    }

    /// Fails with [`Errno::Notcapable`] when the guest dropped one of the rights in `needed`
    /// (see [`crate::rights`]: the rights a descriptor merely lacks refuse nothing).
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        if self.dropped & needed == 0 { Ok(()) } else { Err(Errno::Notcapable) }
    }

    /// Fails with [`Errno::Notcapable`] when the guest dropped one of the rights in `needed`
    /// from this directory's inheriting rights: what is opened through it cannot have them.
    pub fn require_inheritable(&self, needed: u64) -> Result<(), Errno> {
        if self.inheriting & needed == needed { Ok(()) } else { Err(Errno::Notcapable) }
    }

    /// Whether the descriptor was opened for reading (and the right to read was not dropped).
    pub fn readable(&self) -> bool {
        self.base & rights::FD_READ != 0
    }

    /// Whether the descriptor was opened for writing (and the right to write was not dropped).
    pub fn writable(&self) -> bool {
        self.base & rights::FD_WRITE != 0
    }

    /// `fd_fdstat_set_rights`: narrows the rights shown, and refuses from now on those dropped
    /// from `base`; widening either set is [`Errno::Notcapable`].
    pub fn set_rights(&mut self, base: u64, inheriting: u64) -> Result<(), Errno> {
        if base & !self.base != 0 || inheriting & !self.inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        self.dropped |= self.base & !base;
        self.base = base;
        self.inheriting = inheriting;
        Ok(())
    }

    /// The WASI file type reported by `fd_fdstat_get` and `fd_filestat_get`.
    pub fn filetype(&self) -> FileType {
        match &self.kind {
            Kind::Reader { tty, .. } | Kind::Writer { tty, .. } => {
                if *tty {
                    FileType::CharacterDevice
                } else {
                    FileType::Unknown
                }
            }
            Kind::File { filetype, .. } => *filetype,
            Kind::Dir { .. } => FileType::Directory,
            Kind::Listener(_) | Kind::Stream(_) => FileType::SocketStream,
        }
    }

    /// The rights a stream descriptor gets.
    pub fn stream_rights(readable: bool, tty: bool) -> u64 {
        let mut r = rights::FD_FDSTAT_SET_FLAGS | rights::FD_FILESTAT_GET | rights::POLL_FD_READWRITE;
        r |= if readable { rights::FD_READ } else { rights::FD_WRITE };
        if !tty {
            // A pipe or a capture buffer may also be synced: `fd_sync` flushes a writer, and on
            // a reader answers EINVAL as `fsync` on a pipe does. (Whether `isatty` answers true
            // depends on the file type and the seek rights, not on these.)
            r |= rights::FD_SYNC | rights::FD_DATASYNC;
        }
        r
    }
}

/// The table of a context's descriptors. The lowest free number is always used next.
pub(crate) struct FdTable {
    slots: Vec<Option<Descriptor>>,
    free: BTreeSet<u32>,
    /// The most descriptors open at once ([`crate::Limits::descriptors`]).
    limit: u32,
}

impl FdTable {
    /// An empty table holding at most `limit` descriptors (`EMFILE` past it).
    pub fn with_limit(limit: u32) -> Self {
        FdTable { slots: Vec::new(), free: BTreeSet::new(), limit }
    }

    /// Adds a descriptor at the lowest free number.
    pub fn insert(&mut self, d: Descriptor) -> Result<u32, Errno> {
        if let Some(fd) = self.free.pop_first()
            && let Some(slot) = self.slots.get_mut(fd as usize)
        {
            *slot = Some(d);
            return Ok(fd);
        }
        let fd = u32::try_from(self.slots.len()).map_err(|_| Errno::Mfile)?;
        if fd >= self.limit {
            return Err(Errno::Mfile);
        }
        self.slots.push(Some(d));
        Ok(fd)
    }

    /// The descriptor `fd`, or [`Errno::Badf`].
    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.slots.get(fd as usize).and_then(Option::as_ref).ok_or(Errno::Badf)
    }

    /// The descriptor `fd`, writable, or [`Errno::Badf`].
    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.slots.get_mut(fd as usize).and_then(Option::as_mut).ok_or(Errno::Badf)
    }

    /// Removes and returns the descriptor `fd`.
    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let slot = self.slots.get_mut(fd as usize).ok_or(Errno::Badf)?;
        let d = slot.take().ok_or(Errno::Badf)?;
        self.free.insert(fd);
        self.trim();
        Ok(d)
    }

    /// Moves descriptor `from` to number `to`, closing what `to` held. Both must be open.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from == to {
            return Ok(());
        }
        let d = self.remove(from)?;
        let slot = self.slots.get_mut(to as usize).ok_or(Errno::Badf)?;
        *slot = Some(d);
        Ok(())
    }

    /// Drops free slots at the end so the table does not grow without bound.
    fn trim(&mut self) {
        while let Some(None) = self.slots.last() {
            self.slots.pop();
            let len = self.slots.len() as u32;
            self.free.remove(&len);
        }
    }

    /// Every open descriptor number, in order.
    pub fn fds(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> Descriptor {
        Descriptor::new(Kind::Reader { tty: false }, 0, 0, 0)
    }

    fn writer() -> Descriptor {
        Descriptor::new(Kind::Writer { out: Output::Stdout, tty: false }, 0, 0, 0)
    }

    #[test]
    fn lowest_free_number_is_reused() {
        let mut t = FdTable::with_limit(16);
        for want in 0..5 {
            assert_eq!(t.insert(reader()), Ok(want));
        }
        t.remove(3).unwrap();
        t.remove(1).unwrap();
        assert_eq!(t.insert(reader()), Ok(1));
        assert_eq!(t.insert(reader()), Ok(3));
        assert_eq!(t.insert(reader()), Ok(5));
        assert_eq!(t.remove(9).err(), Some(Errno::Badf));
        assert_eq!(t.remove(1).map(|_| ()), Ok(()));
        assert_eq!(t.remove(1).err(), Some(Errno::Badf));
    }

    #[test]
    fn trailing_free_slots_are_trimmed() {
        let mut t = FdTable::with_limit(16);
        for _ in 0..4 {
            t.insert(reader()).unwrap();
        }
        t.remove(2).unwrap();
        t.remove(3).unwrap();
        assert_eq!(t.fds().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(t.insert(reader()), Ok(2));
    }

    #[test]
    fn renumber_moves_and_closes_target() {
        let mut t = FdTable::with_limit(16);
        t.insert(reader()).unwrap();
        t.insert(writer()).unwrap();
        t.insert(reader()).unwrap();
        assert_eq!(t.renumber(1, 2), Ok(()));
        assert!(matches!(t.get(2).map(|d| &d.kind), Ok(Kind::Writer { .. })));
        assert_eq!(t.get(1).err(), Some(Errno::Badf));
        assert_eq!(t.renumber(1, 2), Err(Errno::Badf));
        assert_eq!(t.renumber(2, 7), Err(Errno::Badf));
        assert_eq!(t.renumber(2, 2), Ok(()));
        assert_eq!(t.insert(reader()), Ok(1));
    }

    #[test]
    fn the_limit_answers_emfile_and_frees_with_close() {
        let mut t = FdTable::with_limit(3);
        for want in 0..3 {
            assert_eq!(t.insert(reader()), Ok(want));
        }
        assert_eq!(t.insert(reader()).err(), Some(Errno::Mfile));
        t.remove(1).unwrap();
        assert_eq!(t.insert(reader()), Ok(1));
        assert_eq!(t.insert(reader()).err(), Some(Errno::Mfile));
    }
}
