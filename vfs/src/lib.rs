//! The virtual filesystem behind [hammertime](https://crates.io/crates/hammertime)'s WASI
//! (preview1 and WASI 0.2).
//!
//! - [`FileSystem`], [`Dir`] and [`File`]: the abstraction every backend implements, with the
//!   errnos of every method documented next to its POSIX counterpart.
//! - [`resolve`]: the one path resolver, shared by every backend, that walks `.`, `..` and
//!   symbolic links without ever leaving the directory it starts from.
//! - Backends: [`MemFs`] (in memory), [`HostDir`] (a sandboxed host directory), [`ReadOnly`]
//!   and [`Restricted`] (views with fewer permissions, [`DirPerms`] and [`FilePerms`], over any
//!   filesystem), and [`SimpleFsAdapter`] (serves any [`SimpleFs`], a three-method
//!   read-only trait), [`Overlay`] (a copy-on-write union of two filesystems) and
//!   [`archive::Archive`] (a tar or zip served in place).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod archive;
mod clock;
mod errno;
mod fs;
pub mod hostdir;
pub mod memfs;
pub mod overlay;
pub mod perms;
pub mod resolve;
pub mod simple;
#[cfg(test)]
mod test_support;

pub use clock::{SystemClock, WallClock};
pub use errno::Errno;
pub use fs::{Advice, Dir, DirEntry, File, FileSystem, FileType, Node, OpenOptions, Result, SetTime, Stat};
pub use hostdir::{HostDir, HostDirBuilder};
pub use memfs::MemFs;
pub use overlay::Overlay;
pub use perms::{DirPerms, FilePerms, ReadOnly, Restricted};
pub use simple::{SimpleFs, SimpleFsAdapter};

/// The README's example, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
