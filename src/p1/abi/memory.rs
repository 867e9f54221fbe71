//! Bounds-checked access to a guest's linear memory.
//!
//! Every pointer and length a guest passes goes through [`GuestMemory`], whose accessors check
//! the whole range before touching it and answer [`Errno::Fault`] when any byte of it lies
//! outside the memory (or the arithmetic overflows). Values are little-endian and need no
//! alignment. Nothing here can panic.

use super::Errno;

/// The result of a guest-memory access.
pub type MemResult<T> = Result<T, Errno>;

/// A guest's linear memory, borrowed for the length of one host call.
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

    /// Reads and checks the array of `count` iovecs at `iovs` for one read or write call: at most
    /// `max_count` of them ([`Errno::Inval`] past it, as Linux's `IOV_MAX`), every buffer inside
    /// the memory ([`Errno::Fault`]), empty ones dropped, and the list cut where the total would
    /// pass `max_bytes` (the call then moves `max_bytes` and reports that short count, as Linux
    /// does past `MAX_RW_COUNT`).
    pub fn iovecs(&self, iovs: u32, count: u32, max_count: u32, max_bytes: u32) -> MemResult<Iovecs> {
        if count > max_count {
            return Err(Errno::Inval);
        }
        let mut list = Iovecs::default();
        let mut left = max_bytes;
        for i in 0..count {
            let (buf, len) = self.iovec(iovs, i)?;
            self.check(buf, len)?;
            let len = len.min(left);
            if len > 0 {
                list.push(buf, len);
                left -= len;
            }
        }
        Ok(list)
    }
}

/// The non-empty buffers of one call's iovecs, `(ptr, len)`, as [`GuestMemory::iovecs`] checked
/// them; a few are held inline so that a small call does not allocate.
#[derive(Debug, Default)]
pub struct Iovecs {
    inline: [(u32, u32); 4],
    more: Vec<(u32, u32)>,
    len: usize,
}

impl Iovecs {
    fn push(&mut self, buf: u32, len: u32) {
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = (buf, len);
        } else {
            if self.more.is_empty() {
                self.more.extend_from_slice(&self.inline);
            }
            self.more.push((buf, len));
        }
        self.len += 1;
    }

    /// The buffers, in order.
    pub fn as_slice(&self) -> &[(u32, u32)] {
        if self.len <= self.inline.len() { &self.inline[..self.len] } else { &self.more }
    }

    /// The total length of the buffers.
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(|&(_, len)| u64::from(len)).sum()
    }

    /// Whether there is no buffer (or only empty ones).
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        let all = m.iovecs(0, 10, 10, u32::MAX).unwrap();
        assert_eq!((all.as_slice().len(), all.total()), (9, 144));
        assert_eq!(m.iovecs(0, 10, 9, u32::MAX).err(), Some(Errno::Inval));
        let cut = m.iovecs(0, 10, 10, 40).unwrap();
        assert_eq!(cut.as_slice(), &[(200, 16), (200, 16), (200, 8)]);
        assert!(m.iovecs(0, 0, 0, 0).unwrap().is_empty());
    }
}
