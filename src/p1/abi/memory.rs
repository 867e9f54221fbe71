//! Bounds-checked access to a guest's linear memory.
//!
//! Every pointer and length a guest passes goes through [`GuestMemory`], whose accessors check
//! the whole range before touching it and answer [`Errno::Fault`] when any byte of it lies
//! outside the memory (or the arithmetic overflows). Values are little-endian and need no
//! alignment. Nothing here can panic.

use super::Errno;

/// The result of a guest-memory access.
///
/// ```
/// use hammertime::{Errno, p1::abi::memory::{GuestMemory, MemResult}};
///
/// // The bytes of the first buffer of the iovec array at `iovs`.
/// fn first_buffer<'m>(mem: &'m GuestMemory<'_>, iovs: u32) -> MemResult<&'m [u8]> {
///     let (ptr, len) = mem.iovec(iovs, 0)?;
///     mem.slice(ptr, len)
/// }
///
/// let mut bytes = [8, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', b'c'];
/// let mem = GuestMemory::new(&mut bytes);
/// assert_eq!(first_buffer(&mem, 0), Ok(&b"abc"[..]));
/// assert_eq!(first_buffer(&mem, 4), Err(Errno::Fault)); // the iovec ends past the memory
/// ```
pub type MemResult<T> = Result<T, Errno>;

/// A guest's linear memory, borrowed for the length of one host call.
///
/// ```
/// use hammertime::{Errno, p1::abi::memory::GuestMemory};
/// let mut bytes = vec![0u8; 16];
/// let mut mem = GuestMemory::new(&mut bytes);
/// mem.write_u32(5, 0xdead_beef)?; // little-endian, no alignment needed
/// assert_eq!(mem.read_u16(5)?, 0xbeef);
/// assert_eq!(mem.read_u32(13), Err(Errno::Fault)); // its last byte is past the end
/// mem.write_bytes(10, b"hi")?;
/// assert_eq!(mem.str(10, 2)?, "hi");
/// # Ok::<(), Errno>(())
/// ```
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the bytes of a memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// The memory's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn range(&self, ptr: u32, len: u32) -> MemResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// The bytes `ptr..ptr+len`.
    pub fn slice(&self, ptr: u32, len: u32) -> MemResult<&[u8]> {
        let r = self.range(ptr, len)?;
        self.bytes.get(r).ok_or(Errno::Fault)
    }

    /// The bytes `ptr..ptr+len`, writable.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> MemResult<&mut [u8]> {
        let r = self.range(ptr, len)?;
        self.bytes.get_mut(r).ok_or(Errno::Fault)
    }

    /// Checks that `ptr..ptr+len` is inside the memory.
    pub fn check(&self, ptr: u32, len: u32) -> MemResult<()> {
        self.range(ptr, len).map(|_| ())
    }

    /// The string `ptr..ptr+len`; [`Errno::Ilseq`] if it is not UTF-8.
    pub fn str(&self, ptr: u32, len: u32) -> MemResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    fn array<const N: usize>(&self, ptr: u32) -> MemResult<[u8; N]> {
        let s = self.slice(ptr, N as u32)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn read_u8(&self, ptr: u32) -> MemResult<u8> {
        Ok(self.array::<1>(ptr)?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn read_u16(&self, ptr: u32) -> MemResult<u16> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, ptr: u32) -> MemResult<u32> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, ptr: u32) -> MemResult<u64> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    /// Writes bytes at `ptr`.
    pub fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> MemResult<()> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    /// Writes a `u8`.
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> MemResult<()> {
        self.write_bytes(ptr, &[v])
    }

    /// Writes a little-endian `u16`.
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> MemResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u32`.
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> MemResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> MemResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// Reads the `i`-th `iovec` of the array at `iovs`: `(buf, buf_len)`.
    pub fn iovec(&self, iovs: u32, i: u32) -> MemResult<(u32, u32)> {
        let at = i.checked_mul(super::types::size::IOVEC).and_then(|off| iovs.checked_add(off)).ok_or(Errno::Fault)?;
        let bytes = self.array::<8>(at)?;
        let buf = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        Ok((buf, len))
    }

    /// Checks the array of `count` iovecs at `iovs` for one read or write call: at most
    /// `max_count` of them ([`Errno::Inval`] past it, as Linux's `IOV_MAX`), every buffer inside
    /// the memory ([`Errno::Fault`]); the call moves at most `max_bytes` (then reports that
    /// short count, as Linux does past `MAX_RW_COUNT`).
    pub fn iovecs(&self, iovs: u32, count: u32, max_count: u32, max_bytes: u32) -> MemResult<Iovecs> {
        if count > max_count {
            return Err(Errno::Inval);
        }
        let mut total = 0u64;
        let mut first = (0, 0);
        for i in 0..count {
            let (buf, len) = self.iovec(iovs, i)?;
            self.check(buf, len)?;
            if i == 0 {
                first = (buf, len);
            }
            total += u64::from(len);
        }
        Ok(Iovecs { at: iovs, count, first, total: total.min(u64::from(max_bytes)) as u32 })
    }
}

/// One call's iovecs, checked by [`GuestMemory::iovecs`]: walk their buffers with
/// [`Iovecs::iter`]. Small and `Copy`: nothing is allocated for them.
///
/// ```
/// use hammertime::p1::abi::memory::GuestMemory;
/// let mut bytes = vec![0u8; 64];
/// let mut mem = GuestMemory::new(&mut bytes);
/// // Two iovecs at 0: 5 bytes at 32, then 0 bytes, then 10 bytes at 40 (cut to 3 by the limit).
/// for (i, v) in [32u32, 5, 0, 0, 40, 10].iter().enumerate() {
///     mem.write_u32(4 * i as u32, *v)?;
/// }
/// let list = mem.iovecs(0, 3, 1024, 8)?;
/// assert_eq!(list.total(), 8);
/// let mut it = list.iter();
/// assert_eq!((it.next(&mem), it.next(&mem), it.next(&mem)), (Some((32, 5)), Some((40, 3)), None));
/// # Ok::<(), hammertime::Errno>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Iovecs {
    at: u32,
    count: u32,
    /// The first iovec as read when checked (most calls have only that one).
    first: (u32, u32),
    /// The bytes the call moves: the buffers' total, cut at the limit.
    total: u32,
}

impl Iovecs {
    /// A cursor over the non-empty buffers, the last one cut where the total reaches the limit.
    pub fn iter(&self) -> IovecIter {
        IovecIter { at: self.at, count: self.count, first: self.first, i: 0, left: self.total }
    }

    /// The bytes the call moves.
    pub fn total(&self) -> u64 {
        u64::from(self.total)
    }

    /// Whether the call moves no byte.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// A cursor over the buffers of [`Iovecs`]; it borrows the memory only for each step, so the
/// buffers can be written between steps (an example is at [`Iovecs`]).
#[derive(Debug)]
pub struct IovecIter {
    at: u32,
    count: u32,
    first: (u32, u32),
    i: u32,
    left: u32,
}

impl IovecIter {
    /// The next non-empty buffer `(ptr, len)`, or `None` after the last.
    pub fn next(&mut self, mem: &GuestMemory<'_>) -> Option<(u32, u32)> {
        while self.left > 0 && self.i < self.count {
            // Checked by `GuestMemory::iovecs`: an error here cannot happen, and would end the walk.
            let (buf, len) = if self.i == 0 { self.first } else { mem.iovec(self.at, self.i).ok()? };
            self.i += 1;
            let len = len.min(self.left);
            if len > 0 {
                self.left -= len;
                return Some((buf, len));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_fault_never_panic() {
        let mut bytes = vec![0u8; 16];
        let mut m = GuestMemory::new(&mut bytes);
        assert_eq!(m.read_u32(12), Ok(0));
        assert_eq!(m.read_u32(13), Err(Errno::Fault));
        assert_eq!(m.read_u64(u32::MAX), Err(Errno::Fault));
        assert_eq!(m.slice(0, 17).err(), Some(Errno::Fault));
        assert_eq!(m.slice(16, 0).map(|s| s.len()), Ok(0));
        assert_eq!(m.write_u64(9, 1), Err(Errno::Fault));
        assert_eq!(m.iovec(u32::MAX - 3, 0), Err(Errno::Fault));
        assert_eq!(m.iovec(0, u32::MAX), Err(Errno::Fault));
    }

    #[test]
    fn little_endian_unaligned() {
        let mut bytes = vec![0u8; 16];
        let mut m = GuestMemory::new(&mut bytes);
        m.write_u32(1, 0x0403_0201).unwrap();
        assert_eq!(m.read_u8(1), Ok(1));
        assert_eq!(m.read_u16(2), Ok(0x0302));
        assert_eq!(m.read_u32(1), Ok(0x0403_0201));
    }

    #[test]
    fn strings_are_checked_utf8() {
        let mut bytes = b"ok\xffno".to_vec();
        let m = GuestMemory::new(&mut bytes);
        assert_eq!(m.str(0, 2), Ok("ok"));
        assert_eq!(m.str(0, 3), Err(Errno::Ilseq));
    }

    #[test]
    fn iovecs_are_checked_with_their_buffers() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        m.write_u32(0, 32).unwrap();
        m.write_u32(4, 8).unwrap();
        m.write_u32(8, 60).unwrap();
        m.write_u32(12, 8).unwrap();
        assert_eq!(m.iovecs(0, 1, 1024, u32::MAX).map(|l| l.total()), Ok(8));
        assert_eq!(m.iovecs(0, 2, 1024, u32::MAX).err(), Some(Errno::Fault));
    }

    #[test]
    fn iovecs_over_the_limits() {
        let mut bytes = vec![0u8; 256];
        let mut m = GuestMemory::new(&mut bytes);
        // Ten iovecs, all the same 16-byte buffer at 200 (aliasing is allowed), one empty.
        for i in 0..10 {
            m.write_u32(i * 8, 200).unwrap();
            m.write_u32(i * 8 + 4, if i == 3 { 0 } else { 16 }).unwrap();
        }
        let bufs = |list: Iovecs, m: &GuestMemory<'_>| {
            let mut it = list.iter();
            std::iter::from_fn(|| it.next(m)).collect::<Vec<_>>()
        };
        let all = m.iovecs(0, 10, 10, u32::MAX).unwrap();
        assert_eq!((bufs(all, &m).len(), all.total()), (9, 144));
        assert_eq!(m.iovecs(0, 10, 9, u32::MAX).err(), Some(Errno::Inval));
        let cut = m.iovecs(0, 10, 10, 40).unwrap();
        assert_eq!(bufs(cut, &m), [(200, 16), (200, 16), (200, 8)]);
        assert!(m.iovecs(0, 0, 0, 0).unwrap().is_empty());
    }
}
