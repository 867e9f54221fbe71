//! The contents of a regular file: sparse, in chunks of [`CHUNK`] bytes.
//!
//! # Design
//! A file is its logical size and a `BTreeMap` from chunk index to [`Chunk`]. A chunk covers
//! `CHUNK` bytes of the file and stores the bytes from its start up to the end of the last byte
//! written in it; what it does not store, and every chunk that is absent, reads as zeros. So a
//! hole of whole chunks costs nothing, a write into a hole costs at most one chunk of zeros
//! besides its own bytes, and a file written from the start is stored densely (its last chunk
//! grows by doubling, like a `Vec`, so small appends stay amortised `O(1)`).
//!
//! Fixed chunks rather than extents: finding the chunks of a range is one `O(log n)` lookup,
//! nothing is ever split, merged or moved, and the work of a call is bounded by the bytes it
//! touches (at most 64 KiB of zeros per written chunk) plus `O(log n)` per chunk. 64 KiB keeps
//! the map small (a 4 GiB file has at most 65,536 chunks, ~50 bytes of bookkeeping each, under
//! 0.1 % of the data) while a sequential read or write of 64 KiB or more touches one or two
//! chunks per call.
//!
//! # Accounting
//! Each chunk also has an *accounted* length, at least its stored length: the prefix of the
//! chunk charged to the quota. A write raises it to the write's end in the chunk, taking quota
//! for the difference; [`FileData::allocate`] (`posix_fallocate`) raises it without storing
//! anything, so space is reserved without touching memory, and a later write into it needs no
//! more quota. [`FileData::accounted`] is the sum over the chunks: what the file costs the
//! quota. Nothing is stored or accounted at or past the logical size, so a truncation frees
//! exactly the chunks past the new end and the tail of the new last chunk.

use std::collections::BTreeMap;
use std::io::IoSlice;

use super::inode::Shared;
use super::len64;
use crate::{Errno, Result};

/// `log2` of [`CHUNK`].
const CHUNK_SHIFT: u32 = 16;

/// The bytes a chunk covers: 64 KiB.
pub(super) const CHUNK: usize = 1 << CHUNK_SHIFT;

/// [`CHUNK`] as `u64`.
const CHUNK64: u64 = 1 << CHUNK_SHIFT;

/// One chunk of a file.
#[derive(Default)]
struct Chunk {
    /// The bytes from the chunk's start; the rest of the chunk reads as zeros.
    bytes: Vec<u8>,
    /// The prefix of the chunk charged to the quota: `bytes.len() <= accounted <= CHUNK`.
    accounted: usize,
}

/// The contents of a regular file (see the module docs).
#[derive(Default)]
pub(super) struct FileData {
    /// The logical size.
    size: u64,
    /// The sum of the chunks' accounted lengths.
    accounted: u64,
    /// Chunks by index (offset `>> CHUNK_SHIFT`); none is empty, none lies past `size`.
    chunks: BTreeMap<u64, Chunk>,
}

/// An offset within a chunk (at most [`CHUNK`]) as `usize`.
fn in_chunk(offset: u64) -> usize {
    usize::try_from(offset.min(CHUNK64)).unwrap_or(CHUNK)
}

impl FileData {
    /// The logical size.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// The bytes the file costs the quota.
    pub(super) fn accounted(&self) -> u64 {
        self.accounted
    }

    /// Reads up to `buf.len()` bytes at `offset`; holes read as zeros. Returns the count (0 at
    /// or past the end).
    pub(super) fn read(&self, buf: &mut [u8], offset: u64) -> usize {
        let available = self.size.saturating_sub(offset);
        let count = usize::try_from(available).map_or(buf.len(), |available| available.min(buf.len()));
        let Some(dst) = buf.get_mut(..count).filter(|dst| !dst.is_empty()) else {
            return 0;
        };
        let end = offset.saturating_add(len64(count));
        let mut out = Out { dst, at: 0 };
        let mut pos = offset;
        for (&index, chunk) in self.chunks.range(offset >> CHUNK_SHIFT..=(end - 1) >> CHUNK_SHIFT) {
            let start = index << CHUNK_SHIFT;
            if start > pos {
                out.zeros(usize::try_from(start - pos).unwrap_or(usize::MAX));
                pos = start;
            }
            let (from, to) = (in_chunk(pos - start), in_chunk(end.min(start + CHUNK64) - start));
            let stored = chunk.bytes.get(from..to.min(chunk.bytes.len())).unwrap_or_default();
            out.copy(stored);
            out.zeros(to.saturating_sub(from).saturating_sub(stored.len()));
            pos = start + len64(to);
        }
        out.zeros(count);
        count
    }

    /// Writes the buffers, in order, at `offset`: cut short at the maximum file size, or where
    /// the quota runs out; [`Errno::Fbig`] at or past the maximum, [`Errno::Nospc`] when no
    /// byte fits. Returns the bytes written.
    pub(super) fn write(&mut self, fs: &Shared, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        let total = bufs.iter().fold(0u64, |total, buf| total.saturating_add(len64(buf.len())));
        if total == 0 {
            return Ok(0);
        }
        let max = fs.max_file_size;
        if offset >= max {
            return Err(Errno::Fbig);
        }
        let end = offset.saturating_add(total).min(max);
        let mut src = Source { bufs, index: 0, pos: 0 };
        let mut pos = offset;
        while pos < end {
            let index = pos >> CHUNK_SHIFT;
            let start = index << CHUNK_SHIFT;
            let (from, to) = (in_chunk(pos - start), in_chunk(end.min(start + CHUNK64) - start));
            let chunk = self.chunks.entry(index).or_default();
            let (reached, charged) = write_chunk(chunk, fs, &mut src, from, to);
            if chunk.accounted == 0 {
                self.chunks.remove(&index);
            }
            self.accounted = self.accounted.saturating_add(charged);
            pos = start + len64(reached);
            if reached < to {
                break;
            }
        }
        let written = pos.saturating_sub(offset);
        if written == 0 {
            return Err(Errno::Nospc);
        }
        self.size = self.size.max(pos);
        Ok(usize::try_from(written).unwrap_or(usize::MAX))
    }

    /// Sets the logical size: growing leaves a hole (no quota, no memory), shrinking frees the
    /// chunks past the end and the tail of the new last chunk. [`Errno::Fbig`] past the
    /// maximum file size.
    pub(super) fn set_size(&mut self, fs: &Shared, size: u64) -> Result<()> {
        if size > fs.max_file_size {
            return Err(Errno::Fbig);
        }
        if size < self.size {
            let mut freed = 0u64;
            let tail = self.chunks.split_off(&size.div_ceil(CHUNK64));
            for chunk in tail.values() {
                freed = freed.saturating_add(len64(chunk.accounted));
            }
            drop(tail);
            let keep = in_chunk(size % CHUNK64);
            if keep != 0
                && let Some(chunk) = self.chunks.get_mut(&(size >> CHUNK_SHIFT))
            {
                freed = freed.saturating_add(len64(chunk.accounted.saturating_sub(keep)));
                chunk.accounted = chunk.accounted.min(keep);
                chunk.bytes.truncate(keep);
                shrink(&mut chunk.bytes);
            }
            self.accounted = self.accounted.saturating_sub(freed);
            fs.release(freed);
        }
        self.size = size;
        Ok(())
    }

    /// Reserves quota for `offset..end` (`offset < end <= ` the maximum file size, checked by
    /// the caller) without storing anything, and grows the size to `end` if it is smaller.
    /// All or nothing: [`Errno::Nospc`] if the reservation does not fit. Returns whether the
    /// size grew.
    pub(super) fn allocate(&mut self, fs: &Shared, offset: u64, end: u64) -> Result<bool> {
        if end <= offset {
            return Ok(false);
        }
        let (first, last) = (offset >> CHUNK_SHIFT, (end - 1) >> CHUNK_SHIFT);
        let last_start = last << CHUNK_SHIFT;
        // Each chunk is accounted from its start: whole chunks, and the last one up to `end`.
        let wanted = |index: u64| if index == last { in_chunk(end - last_start) } else { CHUNK };
        let mut cost = (last - first).saturating_mul(CHUNK64).saturating_add(end - last_start);
        for (&index, chunk) in self.chunks.range(first..=last) {
            cost = cost.saturating_sub(len64(chunk.accounted.min(wanted(index))));
        }
        fs.reserve_exact(cost)?;
        for index in first..=last {
            let chunk = self.chunks.entry(index).or_default();
            chunk.accounted = chunk.accounted.max(wanted(index));
        }
        self.accounted = self.accounted.saturating_add(cost);
        let grew = end > self.size;
        self.size = self.size.max(end);
        Ok(grew)
    }

    /// The whole contents in one buffer; `None` if it cannot be allocated.
    pub(super) fn to_vec(&self) -> Option<Vec<u8>> {
        let len = usize::try_from(self.size).ok()?;
        let mut out = Vec::new();
        out.try_reserve_exact(len).ok()?;
        out.resize(len, 0);
        self.read(&mut out, 0);
        Some(out)
    }
}

/// Writes `src` into `chunk` at `from..to` (`from < to <= CHUNK`), first taking quota for what
/// the chunk's accounted prefix must grow by. Returns how far the write got in the chunk (`to`,
/// less where the quota ran out, `from` if nothing fitted or memory ran out) and the quota
/// taken.
fn write_chunk(chunk: &mut Chunk, fs: &Shared, src: &mut Source<'_, '_>, from: usize, to: usize) -> (usize, u64) {
    let cost = len64(to.saturating_sub(chunk.accounted));
    let granted = if cost == 0 { 0 } else { fs.reserve_up_to(cost) };
    let to =
        if granted < cost { chunk.accounted.saturating_add(usize::try_from(granted).unwrap_or(0)).min(to) } else { to };
    if to <= from || reserve(&mut chunk.bytes, to).is_err() {
        fs.release(granted);
        return (from, 0);
    }
    // A gap between what the chunk stores and the write is stored as zeros.
    if chunk.bytes.len() < from {
        chunk.bytes.resize(from, 0);
    }
    let overwrite_end = to.min(chunk.bytes.len());
    if let Some(dst) = chunk.bytes.get_mut(from..overwrite_end) {
        src.fill(dst);
    }
    let append = to.saturating_sub(chunk.bytes.len());
    src.extend(&mut chunk.bytes, append);
    chunk.accounted = chunk.accounted.max(to);
    (to, granted)
}

/// Makes room for `len` bytes in a chunk's buffer (doubling, up to [`CHUNK`]), failing
/// instead of aborting when memory runs out.
fn reserve(bytes: &mut Vec<u8>, len: usize) -> Result<()> {
    if len <= bytes.capacity() {
        return Ok(());
    }
    let target = if bytes.capacity() == 0 { len } else { bytes.capacity().saturating_mul(2).min(CHUNK).max(len) };
    bytes.try_reserve_exact(target.saturating_sub(bytes.len())).map_err(|_| Errno::Nospc)
}

/// Gives memory back after a truncation (without a reallocation that could abort).
fn shrink(bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        *bytes = Vec::new();
    } else if bytes.capacity() > bytes.len().saturating_mul(2).max(4096) {
        let mut smaller = Vec::new();
        if smaller.try_reserve_exact(bytes.len()).is_ok() {
            smaller.extend_from_slice(bytes);
            *bytes = smaller;
        }
    }
}

/// The destination of a read, filled front to back.
struct Out<'a> {
    dst: &'a mut [u8],
    at: usize,
}

impl Out<'_> {
    fn copy(&mut self, src: &[u8]) {
        let end = self.at.saturating_add(src.len());
        if let Some(dst) = self.dst.get_mut(self.at..end) {
            dst.copy_from_slice(src);
            self.at = end;
        }
    }

    /// Up to `count` zeros (never past the end).
    fn zeros(&mut self, count: usize) {
        let end = self.at.saturating_add(count).min(self.dst.len());
        if let Some(dst) = self.dst.get_mut(self.at..end) {
            dst.fill(0);
            self.at = end;
        }
    }
}

/// The buffers of a vectored write, consumed front to back.
struct Source<'a, 'b> {
    bufs: &'a [IoSlice<'b>],
    index: usize,
    pos: usize,
}

impl<'a> Source<'a, '_> {
    /// The unconsumed rest of the current buffer (skipping empty ones); empty at the end.
    fn current(&mut self) -> &'a [u8] {
        let bufs = self.bufs;
        while let Some(buf) = bufs.get(self.index) {
            let buf: &'a [u8] = buf;
            match buf.get(self.pos..) {
                Some(rest) if !rest.is_empty() => return rest,
                _ => {
                    self.index += 1;
                    self.pos = 0;
                }
            }
        }
        &[]
    }

    /// Fills `dst` with the next bytes (zeros past the end, which a write never asks for).
    fn fill(&mut self, mut dst: &mut [u8]) {
        while !dst.is_empty() {
            let rest = self.current();
            let Some(src) = rest.get(..rest.len().min(dst.len())).filter(|src| !src.is_empty()) else {
                dst.fill(0);
                return;
            };
            let (head, tail) = std::mem::take(&mut dst).split_at_mut(src.len());
            head.copy_from_slice(src);
            self.pos += src.len();
            dst = tail;
        }
    }

    /// Appends the next `count` bytes to `out` (zeros past the end, which a write never asks
    /// for); `out` has the room already.
    fn extend(&mut self, out: &mut Vec<u8>, mut count: usize) {
        while count > 0 {
            let rest = self.current();
            let Some(src) = rest.get(..rest.len().min(count)).filter(|src| !src.is_empty()) else {
                out.resize(out.len().saturating_add(count), 0);
                return;
            };
            out.extend_from_slice(src);
            self.pos += src.len();
            count -= src.len();
        }
    }
}
