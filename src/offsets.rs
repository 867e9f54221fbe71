//! The offset rules both ABIs apply before a backend sees a call, as Linux's VFS does before
//! any filesystem: a file offset there is a signed 64-bit `loff_t`, so an offset, length or
//! size past `i64::MAX` is negative to the kernel, and a call with one is `EINVAL`.
//!
//! Used by preview1 (`fd_advise`, `fd_filestat_set_size`, `fd_pread`, `fd_pwrite`) and by
//! WASI 0.2 (`descriptor.advise`, `set-size`, `read`, `write`, and the starting offset of
//! `read-via-stream` / `write-via-stream`, which `lseek(2)` would refuse), so that every
//! backend gives the same answer.

use crate::vfs::Errno;

/// `EINVAL` unless `value` is a valid `loff_t` (at most `i64::MAX`): the offset of
/// `pread(2)`/`pwrite(2)`, the length of `posix_fadvise(2)`, the size of `ftruncate(2)`.
pub(crate) fn signed(value: u64) -> Result<(), Errno> {
    match i64::try_from(value) {
        Ok(_) => Ok(()),
        Err(_) => Err(Errno::Inval),
    }
}

/// `EINVAL` unless `len` bytes at `offset` end at or before `i64::MAX`, as `rw_verify_area`
/// checks a positioned read or write (an empty one may start at `i64::MAX`).
pub(crate) fn range(offset: u64, len: u64) -> Result<(), Errno> {
    signed(offset.checked_add(len).ok_or(Errno::Inval)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
