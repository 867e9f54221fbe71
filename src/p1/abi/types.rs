//! Constants and layouts of the `wasi_snapshot_preview1` types (from the witx definitions).

#![allow(missing_docs)]

/// Clock identifiers (`clockid`).
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// Seek origins (`whence`).
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// Descriptor flags (`fdflags`).
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// Open flags (`oflags`) of `path_open`.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// Lookup flags (`lookupflags`).
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// Flags of `fd_filestat_set_times` / `path_filestat_set_times` (`fstflags`).
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
    pub const ALL: u16 = ATIM | ATIM_NOW | MTIM | MTIM_NOW;
}

/// Advice of `fd_advise`.
pub mod advice {
    pub const NORMAL: u8 = 0;
    pub const SEQUENTIAL: u8 = 1;
    pub const RANDOM: u8 = 2;
    pub const WILLNEED: u8 = 3;
    pub const DONTNEED: u8 = 4;
    pub const NOREUSE: u8 = 5;
}

/// Subscription and event types of `poll_oneoff` (`eventtype`).
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`.
pub mod subclockflags {
    pub const ABSTIME: u16 = 1 << 0;
}

/// `eventrwflags`.
pub mod eventrwflags {
    pub const FD_READWRITE_HANGUP: u16 = 1 << 0;
}

/// `riflags` of `sock_recv`.
pub mod riflags {
    pub const RECV_PEEK: u16 = 1 << 0;
    pub const RECV_WAITALL: u16 = 1 << 1;
}

/// `roflags` of `sock_recv`.
pub mod roflags {
    pub const RECV_DATA_TRUNCATED: u16 = 1 << 0;
}

/// `sdflags` of `sock_shutdown`.
pub mod sdflags {
    pub const RD: u8 = 1 << 0;
    pub const WR: u8 = 1 << 1;
}

/// `preopentype`.
pub mod preopentype {
    pub const DIR: u8 = 0;
}

/// Signals (`signal`); only their count matters to `proc_raise`.
pub mod signal {
    pub const MAX: u8 = 30;
}

/// Rights (`rights`), one bit per operation: kept with the descriptor table in the core
/// ([`crate::rights`]), named here with the other preview1 types.
pub use crate::rights;

/// Sizes of the structures written to guest memory.
pub mod size {
    /// `fdstat`: filetype u8, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16.
    pub const FDSTAT: u32 = 24;
    /// `filestat`: dev @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40, mtim @48,
    /// ctim @56.
    pub const FILESTAT: u32 = 64;
    /// `dirent` header: d_next @0, d_ino @8, d_namlen u32 @16, d_type u8 @20.
    pub const DIRENT: u32 = 24;
    /// `prestat`: tag u8 @0, pr_name_len u32 @4.
    pub const PRESTAT: u32 = 8;
    /// `iovec`/`ciovec`: buf u32 @0, buf_len u32 @4.
    pub const IOVEC: u32 = 8;
    /// `subscription`: userdata @0, tag u8 @8, union @16 (clock: id u32 @16, timeout u64 @24,
    /// precision u64 @32, flags u16 @40; fd_readwrite: fd u32 @16).
    pub const SUBSCRIPTION: u32 = 48;
    /// `event`: userdata @0, error u16 @8, type u8 @10, fd_readwrite: nbytes u64 @16,
    /// flags u16 @24.
    pub const EVENT: u32 = 32;
}
