//! The descriptor table: what each guest file descriptor refers to, with its rights and flags.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use crate::p1::abi::types::rights;
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
    /// A listening TCP socket.
    Listener(TcpListener),
    /// A connected TCP socket.
    Stream(TcpStream),
}

/// One open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    /// The rights of operations on this descriptor.
    pub base: u64,
    /// The rights that descriptors opened through this one may get.
    pub inheriting: u64,
    /// `fdflags`.
    pub flags: u16,
}

impl Descriptor {
    /// Fails with [`Errno::Notcapable`] unless every right in `needed` is held.
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        if self.base & needed == needed { Ok(()) } else { Err(Errno::Notcapable) }
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
        Descriptor { kind: Kind::Reader { tty: false }, base: 0, inheriting: 0, flags: 0 }
    }

    fn writer() -> Descriptor {
        Descriptor { kind: Kind::Writer { out: Output::Stdout, tty: false }, base: 0, inheriting: 0, flags: 0 }
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
