//! The guest's exit status as a typed error.

use std::fmt;

/// The error a call to `proc_exit` ends the guest with, carrying the exit code.
///
/// Wasmtime hands it back from the export the guest was running (`_start`, …) inside a
/// `wasmtime::Error`; get it with `err.downcast_ref::<I32Exit>()`.
///
/// ```
/// let err = wasmtime::Error::new(hammertime::I32Exit(3));
/// assert_eq!(err.downcast_ref::<hammertime::I32Exit>(), Some(&hammertime::I32Exit(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

impl I32Exit {
    /// The error of a WASI `exit(status)`: 0 for `ok`, 1 for `err`.
    pub(crate) fn of_status(status: Result<(), ()>) -> wasmtime::Error {
        wasmtime::Error::new(I32Exit(if status.is_ok() { 0 } else { 1 }))
    }

    /// The error of a WASI `exit-with-code(code)`.
    pub(crate) fn of_code(code: u8) -> wasmtime::Error {
        wasmtime::Error::new(I32Exit(i32::from(code)))
    }
}
