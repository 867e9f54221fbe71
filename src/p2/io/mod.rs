//! `wasi:io`: `error`, `poll` and `streams`.
//!
//! Streams are synchronous: an input stream reads from the context's stdin, a file (at its own
//! position) or a TCP connection; an output stream writes to the context's stdout or stderr, a
//! file (at a position, or appending) or a TCP connection. Every write to stdio or a file is
//! done before the call returns, so `check-write` always grants [`WRITE_PERMIT`] bytes and a
//! flush has nothing left to do but flush the sink. A write that cannot be completed (a full
//! sink, a quota) writes the bytes that fit and answers `last-operation-failed` with the error:
//! nothing is dropped silently.
//!
//! TCP streams never block: a `read` with nothing arrived returns an empty list, `check-write`
//! grants what the connection's buffer has room for ([`TCP_WRITE_BUFFER`] at most), `flush`
//! sends what the kernel takes now. The `blocking-*` methods wait for the socket as a pollable
//! does. Their errors map to socket error codes (`network-error-code`); those of files and
//! stdio do not.
//!
//! The host's own stdin (`inherit_stdin`) never blocks a `read` either: with nothing to read it
//! gives an empty list, and its pollable is ready when the descriptor is readable.
//!
//! Pollables: other stdio streams and files are always ready (a Rust `Read`/`Write` cannot be
//! asked whether it would block; `poll(2)` reports files ready); clock pollables fire at their
//! deadline on the context's monotonic clock; socket pollables are polled with `poll(2)`, all
//! in one call, while a `poll` waits — or, in async linking (`p2::add_to_linker_async`), as
//! futures of the executor (`streams.rs` and `poll.rs` write each waiting method once, for both).
//!
//! [`TCP_WRITE_BUFFER`]: crate::p2::sockets::TCP_WRITE_BUFFER

use std::sync::Arc;

use wasmtime::component::Resource;

use crate::WasiCtx;
use crate::p2::bindings::wasi::io::error;
use crate::p2::sockets::{SocketPollable, TcpReader, TcpWriter};
use crate::stdio::Output;
use crate::vfs::Errno;
use crate::vfs::File;

mod poll;
mod streams;

pub use crate::backend::WriteSync;
#[cfg(feature = "tokio")]
pub(crate) use poll::add_poll_to_linker_async;
pub(crate) use streams::add_streams_to_linker;
#[cfg(feature = "tokio")]
pub(crate) use streams::add_streams_to_linker_async;

/// The most bytes `check-write` grants, and the most one `read` returns.
pub const WRITE_PERMIT: u64 = 1 << 20;

/// The most bytes one `read`, `skip` or `splice` moves.
pub const READ_MAX: u64 = 1 << 20;

/// The most bytes `blocking-write-and-flush` takes (the WIT's limit).
pub(crate) const BLOCKING_WRITE_MAX: usize = 4096;

/// A `wasi:io/error.error`: what made a stream operation fail.
#[derive(Debug)]
pub struct IoError {
    /// The POSIX error, mapped to a filesystem or socket error code on request.
    pub errno: Errno,
    /// The error came from a socket (`network-error-code` maps it).
    pub socket: bool,
}

/// The error of a stream operation: the WIT `stream-error`, or a trap.
#[derive(Debug)]
pub enum StreamError {
    /// The operation failed; the error resource tells why.
    Failed(Errno),
    /// The stream is closed (end of input, or the other side went away).
    Closed,
    /// The guest misused the interface; the instance traps.
    Trap(wasmtime::Error),
}

impl From<wasmtime::component::ResourceTableError> for StreamError {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        StreamError::Trap(e.into())
    }
}

impl From<crate::sockets::OutputError> for StreamError {
    fn from(e: crate::sockets::OutputError) -> Self {
        match e {
            crate::sockets::OutputError::Failed(errno) => StreamError::Failed(errno),
            crate::sockets::OutputError::Closed => StreamError::Closed,
            crate::sockets::OutputError::TooMany => {
                StreamError::Trap(wasmtime::Error::msg("write of more bytes than check-write permitted"))
            }
        }
    }
}

impl From<crate::wait::Interrupted> for StreamError {
    fn from(i: crate::wait::Interrupted) -> Self {
        StreamError::Trap(i.into())
    }
}

impl From<Errno> for StreamError {
    fn from(e: Errno) -> Self {
        StreamError::Failed(e)
    }
}

pub(crate) type StreamResult<T> = Result<T, StreamError>;

pub(crate) fn trap<T>(msg: &'static str) -> StreamResult<T> {
    Err(StreamError::Trap(wasmtime::Error::msg(msg)))
}

/// A `wasi:io/streams.input-stream`.
pub enum InputStream {
    /// The context's stdin.
    Stdin,
    /// A file read from `pos` on.
    File {
        /// The file.
        file: Arc<dyn File>,
        /// The next offset read.
        pos: u64,
    },
    /// The reading half of a TCP connection (from `finish-connect` or `accept`).
    Tcp(TcpReader),
}

/// A `wasi:io/streams.output-stream`.
pub enum OutputStream {
    /// The context's stdout or stderr.
    Stdio(Output),
    /// A file written at `pos` (or at its end, when `pos` is `None`).
    File {
        /// The file.
        file: Arc<dyn File>,
        /// The next offset written; `None`: append.
        pos: Option<u64>,
        /// What each write must reach before it returns (the descriptor's sync flags).
        sync: WriteSync,
    },
    /// The writing half of a TCP connection (from `finish-connect` or `accept`).
    Tcp(TcpWriter),
}

/// A `wasi:io/poll.pollable`.
#[derive(Clone, Debug)]
pub enum Pollable {
    /// Always ready (files, stdio).
    Ready,
    /// Ready once the context's monotonic clock reaches this instant (nanoseconds).
    Deadline(u64),
    /// Ready when a socket, a socket stream or a name lookup can make progress.
    Socket(SocketPollable),
    /// Ready when the host's own stdin has something to read (or has ended).
    HostStdin,
    /// Ready when a tokio stdin has something, or a tokio stdout or stderr has taken its bytes.
    Stdio(StdioReady),
}

/// What a [`Pollable::Stdio`] polls.
#[derive(Clone)]
pub struct StdioReady(pub(crate) Arc<dyn crate::wait::Ready>);

impl std::fmt::Debug for StdioReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StdioReady")
    }
}

impl error::Host for WasiCtx {}

impl error::HostError for WasiCtx {
    fn to_debug_string(&mut self, err: Resource<IoError>) -> wasmtime::Result<String> {
        let e = self.table.get(&err)?;
        Ok(format!("{} (errno {})", e.errno, e.errno.raw()))
    }

    fn drop(&mut self, err: Resource<IoError>) -> wasmtime::Result<()> {
        self.table.delete(err)?;
        Ok(())
    }
}

/// Marks the failure of a socket stream's operation, so that its error resource maps to a
/// socket error code (`network-error-code`): `convert-stream-error` follows the failing call.
pub(crate) fn socket_result<T, E>(net: &mut crate::sockets::NetCtx, r: Result<T, E>) -> StreamResult<T>
where
    StreamError: From<E>,
{
    let r = r.map_err(StreamError::from);
    if let Err(StreamError::Failed(e)) = &r {
        net.socket_errno = Some(*e);
    }
    r
}

/// The first `len` bytes of the context's scratch buffer, grown (zeroed once) as needed: at most
/// [`READ_MAX`] bytes, kept for the context's life.
pub(crate) fn scratch(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buf.len() < len {
        buf.resize(len, 0);
    }
    &mut buf[..len]
}
