use std::io::{self, IoSlice, Write};

use super::*;
use crate::stdio::OutputBuffer;

#[test]
fn offsets_past_i64_max_are_einval() {
    let max = i64::MAX as u64;
    assert_eq!(signed(max), Ok(()));
    assert_eq!(signed(max + 1), Err(Errno::Inval));
    assert_eq!(signed(u64::MAX), Err(Errno::Inval));
    assert_eq!(range(max, 0), Ok(()));
    assert_eq!(range(max - 4, 4), Ok(()));
    assert_eq!(range(max - 4, 5), Err(Errno::Inval));
    assert_eq!(range(max + 1, 0), Err(Errno::Inval));
    assert_eq!(range(u64::MAX, 1), Err(Errno::Inval));
    assert_eq!(range(0, u64::MAX), Err(Errno::Inval));
}

#[test]
fn write_all_counted_retries_interruptions_and_counts_what_fit() {
    let mut calls = 0;
    let result = write_all_counted(b"abcdef", |src| {
        calls += 1;
        match calls {
            1 => Err(io::ErrorKind::Interrupted.into()),
            2 => Ok(src.len().min(4)),
            _ => Ok(0),
        }
    });
    assert_eq!(result, (4, Some(Errno::Nospc)));
    assert_eq!(write_all_counted(b"", |_| -> io::Result<usize> { unreachable!() }), (0, None));
    let mut out = OutputBuffer::with_limit(3);
    assert_eq!(write_all_counted(b"abcdef", |b| out.write(b)), (3, Some(Errno::Nospc)));
    assert_eq!(write_all_counted(b"ab", |_| Ok(100)), (2, None));
}

/// A reader, a writer and a file that claim more than they were given.
struct Liar;

impl io::Read for Liar {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Ok(usize::MAX)
    }
}

impl io::Write for Liar {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Ok(usize::MAX)
    }
    fn write_vectored(&mut self, _bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(usize::MAX)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct LyingFile;

impl File for LyingFile {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> crate::vfs::Result<usize> {
        Ok(usize::MAX)
    }
    fn write_at(&self, _buf: &[u8], _offset: u64) -> crate::vfs::Result<usize> {
        Ok(usize::MAX)
    }
    fn append(&self, _buf: &[u8]) -> crate::vfs::Result<(usize, u64)> {
        Ok((usize::MAX, 7))
    }
    fn write_vectored_at(&self, _bufs: &[IoSlice<'_>], _offset: u64) -> crate::vfs::Result<usize> {
        Ok(usize::MAX)
    }
    fn append_vectored(&self, _bufs: &[IoSlice<'_>]) -> crate::vfs::Result<(usize, u64)> {
        Ok((usize::MAX, 7))
    }
    fn stat(&self) -> crate::vfs::Result<crate::vfs::Stat> {
        Err(Errno::Io)
    }
    fn set_size(&self, _size: u64) -> crate::vfs::Result<()> {
        Err(Errno::Io)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn a_backend_claiming_more_counts_as_what_it_was_given() {
    let mut buf = [0u8; 5];
    assert_eq!(read_some(&mut Liar, &mut buf), Ok(5));
    assert_eq!(read_at(&LyingFile, &mut buf, 0), Ok(5));
    assert_eq!(write_at(&LyingFile, b"abc", 0), Ok(3));
    assert_eq!(append(&LyingFile, b"abc"), Ok((3, 7)));
    let slices = [IoSlice::new(b"ab"), IoSlice::new(b"cde")];
    assert_eq!(write_vectored_at(&LyingFile, &slices, 0, 5), Ok(5));
    assert_eq!(append_vectored(&LyingFile, &slices, 5), Ok((5, 7)));
    let mut slices = [IoSlice::new(b"ab"), IoSlice::new(b"cde")];
    assert_eq!(write_all_vectored(&mut Liar, &mut slices), (5, None));
}

/// A file that records its syncs.
#[derive(Debug, Default)]
struct Syncs(std::sync::Mutex<Vec<&'static str>>);

impl File for Syncs {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> crate::vfs::Result<usize> {
        Ok(0)
    }
    fn stat(&self) -> crate::vfs::Result<crate::vfs::Stat> {
        Err(Errno::Io)
    }
    fn sync(&self) -> crate::vfs::Result<()> {
        self.0.lock().unwrap().push("sync");
        Ok(())
    }
    fn datasync(&self) -> crate::vfs::Result<()> {
        self.0.lock().unwrap().push("datasync");
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn sync_after_write_syncs_what_the_flags_ask() {
    let file = Syncs::default();
    for sync in [WriteSync::No, WriteSync::Data, WriteSync::All] {
        assert_eq!(sync_after_write(&file, sync), Ok(()));
    }
    assert_eq!(*file.0.lock().unwrap(), ["datasync", "sync"]);
}
