//! The preview1 ABI: type layouts and constants ([`types`]), and bounds-checked access to guest
//! memory ([`memory`]).

pub mod memory;
pub mod types;

pub use hammertime_vfs::Errno;
