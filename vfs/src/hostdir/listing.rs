//! Directory listings of a [`HostDirHandle`], streamed from the host.
//!
//! A listing keeps no state between calls, so a handle costs the same however large its
//! directory and however many descriptors list it. Each [`Dir::read_dir`](crate::Dir::read_dir)
//! call seeks the handle's descriptor to the cookie (`lseek`, which the kernel makes a no-op
//! when the descriptor is already there) and reads one buffer of entries with `getdents64`,
//! holding the descriptor's position lock for those two calls only; the entries are handed to
//! the sink after the lock is released (the sink may re-enter the handle). When the sink wants
//! more than a buffer held, the next buffer is read from the last entry's offset, the same way.
//!
//! Cookies are the kernel's `d_off` values, which the host filesystem keeps meaningful while
//! entries come and go (ext4: hash positions; tmpfs: stable per-entry offsets), so continuing
//! from a cookie costs one seek whatever the directory's size. The first buffer of a call is
//! small (a guest's `fd_readdir` may take only a few entries), later ones larger.

use rustix::fs::{self as rfs, AtFlags, RawDir, SeekFrom};
use rustix::io::Errno as HostErrno;

use super::dir::HostDirHandle;
use super::sys::{self, lock};
use crate::{DirEntry, FileType, Result};

/// Bytes of the first `getdents64` buffer of a call: a few entries (the longest possible one,
/// 280 bytes, always fits). The host filesystem's work per read grows with the buffer (ext4
/// decodes and hashes a leaf block or more after each seek), and a guest's `fd_readdir` may take
/// only a few entries.
const FIRST_READ: usize = 512;

/// The largest buffer: each buffer of a call is twice the one before, up to this.
const MAX_READ: usize = 32 * 1024;

/// One host entry, copied out of the `getdents64` buffer.
struct RawEntry {
    /// The name, if it can be listed (not `.` or `..`, valid UTF-8).
    name: Option<String>,
    ino: u64,
    host_type: rfs::FileType,
    /// The entry's `d_off`: the position after it.
    next: u64,
}

impl RawEntry {
    fn new(entry: &rfs::RawDirEntry<'_>) -> RawEntry {
        let bytes = entry.file_name().to_bytes();
        let name = match bytes {
            b"." | b".." => None,
            _ => std::str::from_utf8(bytes).ok().map(str::to_owned),
        };
        RawEntry { name, ino: entry.ino(), host_type: entry.file_type(), next: entry.next_entry_cookie() }
    }
}

impl HostDirHandle {
    /// [`Dir::read_dir`](crate::Dir::read_dir): see the [module docs](self).
    pub(super) fn list(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if i64::try_from(cookie).is_err() {
            // No kernel directory offset is negative: past every entry, so nothing is listed
            // (as every backend answers a cookie past the end).
            return Ok(());
        }
        let mut position = cookie;
        let mut buf: Vec<u8> = Vec::with_capacity(FIRST_READ);
        loop {
            let batch_start = position;
            {
                let guard = lock(&self.fd.position);
                rfs::seek(&self.fd.fd, SeekFrom::Start(position))?;
                let mut raw = RawDir::new(&self.fd.fd, buf.spare_capacity_mut());
                let mut item = raw.next().map(|r| r.map(|e| RawEntry::new(&e)));
                // Entries already read are handed out without the lock; the buffer is never
                // refilled without it (the loop stops where the buffer ends).
                drop(guard);
                loop {
                    let entry = match item {
                        None => return Ok(()),
                        // getdents64 on a directory removed meanwhile: the end, as for glibc.
                        Some(Err(HostErrno::NOENT)) => return Ok(()),
                        Some(Err(err)) => return Err(err.into()),
                        Some(Ok(entry)) => entry,
                    };
                    position = entry.next;
                    if let Some(entry) = self.dir_entry(entry)
                        && !sink(entry)
                    {
                        return Ok(());
                    }
                    if raw.is_buffer_empty() {
                        break;
                    }
                    item = raw.next().map(|r| r.map(|e| RawEntry::new(&e)));
                }
            }
            if position == batch_start {
                // A filesystem that would hand the same buffer again: stop rather than loop.
                return Ok(());
            }
            if buf.capacity() < MAX_READ {
                buf = Vec::with_capacity((buf.capacity() * 2).min(MAX_READ));
            }
        }
    }

    /// The listed entry for `raw`, or `None` if it is not listed (`.`, `..`, a name that is not
    /// UTF-8, or an entry of unknown type removed before it could be looked at).
    fn dir_entry(&self, raw: RawEntry) -> Option<DirEntry> {
        let name = raw.name?;
        let filetype = match raw.host_type {
            rfs::FileType::Unknown => match rfs::statat(&self.fd.fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => sys::file_type(sys::raw_type(&st)),
                Err(HostErrno::NOENT) => return None,
                Err(_) => FileType::Unknown,
            },
            known => sys::file_type(known),
        };
        Some(DirEntry { next: raw.next, ino: raw.ino, filetype, name })
    }
}
