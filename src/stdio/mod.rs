//! Ready-made standard streams: [`OutputBuffer`] captures what the guest writes,
//! [`InputBuffer`] feeds it bytes.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Which output stream of the context.
///
/// ```
/// use hammertime::{p2::io::OutputStream, stdio::Output};
/// // The stream a WASI 0.2 guest's `get-stderr` returns.
/// let stream = OutputStream::Stdio(Output::Stderr);
/// assert!(matches!(stream, OutputStream::Stdio(out) if out != Output::Stdout));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
}

/// A `wasi:cli/terminal-input.terminal-input` (WASI 0.2 and 0.3): the guest's stdin is a
/// terminal.
#[derive(Debug)]
pub struct TerminalInput;

/// A `wasi:cli/terminal-output.terminal-output` (WASI 0.2 and 0.3): the guest's stdout or
/// stderr is a terminal.
#[derive(Debug)]
pub struct TerminalOutput;

impl crate::WasiCtx {
    /// `get-terminal-stdin`: a terminal-input when stdin is a terminal.
    pub(crate) fn terminal_stdin(&mut self) -> wasmtime::Result<Option<wasmtime::component::Resource<TerminalInput>>> {
        Ok(if self.stdio.tty[0] { Some(self.table.push(TerminalInput)?) } else { None })
    }

    /// `get-terminal-stdout`/`-stderr`: a terminal-output when `out` is a terminal.
    pub(crate) fn terminal_output(
        &mut self,
        out: Output,
    ) -> wasmtime::Result<Option<wasmtime::component::Resource<TerminalOutput>>> {
        let tty = self.stdio.tty[if out == Output::Stdout { 1 } else { 2 }];
        Ok(if tty { Some(self.table.push(TerminalOutput)?) } else { None })
    }

    /// The environment as `(key, value)` pairs (`get-environment`).
    pub(crate) fn env_pairs(&self) -> Vec<(String, String)> {
        self.env()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.to_owned(), String::new()),
            })
            .collect()
    }
}

/// The context's three standard streams. They belong to the context, not to a descriptor:
/// preview1 descriptors 0-2 and the WASI 0.2 `get-stdin`/`get-stdout`/`get-stderr` streams all
/// name them, so one context serves a module or a component alike.
pub(crate) struct Stdio {
    pub stdin: Box<dyn Read + Send>,
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
    /// Whether stdin, stdout and stderr are terminals.
    pub tty: [bool; 3],
    /// stdin is the host process's own ([`HostStdin`]), whose reads can wait interruptibly.
    pub host_stdin: bool,
    /// The tokio values behind stdin, stdout and stderr, when they are (`stdin_async`…).
    #[cfg(feature = "tokio")]
    pub async_io: AsyncStdio,
}

/// The tokio `AsyncRead`/`AsyncWrite` values among a context's stdio.
#[cfg(feature = "tokio")]
#[derive(Clone, Default)]
pub(crate) struct AsyncStdio {
    pub stdin: Option<tokio::AsyncInput>,
    pub stdout: Option<tokio::AsyncOutput>,
    pub stderr: Option<tokio::AsyncOutput>,
}

impl Stdio {
    /// What a read of stdin that found nothing waits for: an async stdin's reader.
    pub fn stdin_wait(&self) -> Option<std::sync::Arc<dyn crate::wait::Ready>> {
        #[cfg(feature = "tokio")]
        if let Some(input) = &self.async_io.stdin {
            return Some(input.ready());
        }
        None
    }

    /// An async output, if `out` is one.
    #[cfg(feature = "tokio")]
    fn async_output(&self, out: Output) -> Option<&tokio::AsyncOutput> {
        match out {
            Output::Stdout => self.async_io.stdout.as_ref(),
            Output::Stderr => self.async_io.stderr.as_ref(),
        }
    }

    /// What a write to `out` waits for, if anything: an async output's writer taking the bytes
    /// held (when it has not yet). A plain `Write` takes them in the call.
    pub fn output_wait(&self, out: Output) -> Option<std::sync::Arc<dyn crate::wait::Ready>> {
        #[cfg(feature = "tokio")]
        if let Some(output) = self.async_output(out)
            && !output.drained()
        {
            return Some(output.ready());
        }
        let _ = out;
        None
    }

    /// Whether the bytes written to `out` reached it: an async output's writer may have failed
    /// after it took them (its error, told once).
    pub fn output_result(&mut self, out: Output) -> Result<(), crate::Errno> {
        #[cfg(feature = "tokio")]
        if let Some(output) = self.async_output(out) {
            return output.clone().flush().map_err(crate::Errno::from);
        }
        let _ = out;
        Ok(())
    }

    /// The most bytes a write to `out` takes now, at most `max`: an async output's room.
    pub fn output_room(&self, out: Output, max: u64) -> u64 {
        #[cfg(feature = "tokio")]
        if let Some(output) = self.async_output(out) {
            return (output.room() as u64).min(max);
        }
        let _ = out;
        max
    }

    /// The host's stdin descriptor, when the guest's stdin is the host's own: a read waits for
    /// it to be readable (interruptibly) before reading.
    pub fn host_stdin(&self) -> Option<std::os::fd::BorrowedFd<'static>> {
        self.host_stdin.then(rustix::stdio::stdin)
    }

    /// The writer of `out`.
    pub fn writer(&mut self, out: Output) -> &mut (dyn Write + Send) {
        match out {
            Output::Stdout => self.stdout.as_mut(),
            Output::Stderr => self.stderr.as_mut(),
        }
    }
}

#[cfg(feature = "tokio")]
pub(crate) mod tokio;

/// The host process's stdin read straight from its descriptor, without `std::io::Stdin`'s
/// buffer: bytes the guest did not ask for stay in the descriptor (for the embedder, or a later
/// guest), and waiting for input can be interrupted.
pub(crate) struct HostStdin;

impl Read for HostStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(rustix::io::read(rustix::stdio::stdin(), buf)?)
    }
}

/// The host process's stdout or stderr written straight to its descriptor: each write is one
/// `write(2)` (several buffers one `writev(2)`), with no `std::io::Stdout` lock or line buffer
/// in between, so the guest's bytes are on the descriptor when the call returns.
pub(crate) struct HostOutput(pub Output);

impl HostOutput {
    fn fd(&self) -> std::os::fd::BorrowedFd<'static> {
        match self.0 {
            Output::Stdout => rustix::stdio::stdout(),
            Output::Stderr => rustix::stdio::stderr(),
        }
    }
}

impl Write for HostOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::io::write(self.fd(), buf)?)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // One buffer: `write(2)`, which the kernel serves faster than a one-buffer `writev`.
        match bufs {
            [one] => self.write(one),
            _ => Ok(rustix::io::writev(self.fd(), bufs)?),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A cloneable in-memory sink for stdout or stderr: hand one clone to the context, keep
/// another, and read what the guest wrote after (or during) the run.
///
/// With [`OutputBuffer::with_limit`], writes past the limit fail with "storage full", which the
/// guest sees as `ENOSPC` after the bytes that fit: nothing is dropped silently.
///
/// ```
/// use std::io::Write;
/// use hammertime::stdio::OutputBuffer;
/// let out = OutputBuffer::new();
/// let mut writer = out.clone();
/// writer.write_all(b"hello").unwrap();
/// assert_eq!(out.contents(), b"hello");
/// assert_eq!(out.to_string_lossy(), "hello");
/// ```
#[derive(Clone, Debug, Default)]
pub struct OutputBuffer {
    inner: Arc<Mutex<Vec<u8>>>,
    limit: Option<usize>,
}

impl OutputBuffer {
    /// An empty, unbounded buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer that holds at most `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        OutputBuffer { inner: Arc::default(), limit: Some(limit) }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Everything written so far as text (invalid UTF-8 replaced).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Takes everything written so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    /// The number of bytes held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing has been written (or everything was taken).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = self.lock();
        let room = match self.limit {
            Some(limit) => limit.saturating_sub(data.len()),
            None => buf.len(),
        };
        if room == 0 && !buf.is_empty() {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let n = room.min(buf.len());
        data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes for the guest's stdin, read from the start; [`std::io::Read`] over an owned buffer.
///
/// ```
/// use std::io::Read;
/// let mut input = hammertime::stdio::InputBuffer::new("alice\nbob\n");
/// let mut s = String::new();
/// input.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "alice\nbob\n");
/// ```
#[derive(Clone, Debug, Default)]
pub struct InputBuffer {
    data: Arc<[u8]>,
    pos: usize,
}

impl InputBuffer {
    /// Input holding `data`.
    pub fn new(data: impl AsRef<[u8]>) -> Self {
        InputBuffer { data: Arc::from(data.as_ref()), pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

impl Read for InputBuffer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// A reader with nothing in it: the default stdin.
///
/// ```
/// use std::io::Read;
/// use hammertime::{WasiCtx, stdio::EmptyInput};
/// let mut buf = [0u8; 8];
/// assert_eq!(EmptyInput.read(&mut buf)?, 0); // end of file at once
/// let ctx = WasiCtx::builder().stdin(EmptyInput).build()?; // as with no `stdin` call
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyInput;

impl Read for EmptyInput {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// A writer that accepts and discards everything: the default stdout and stderr.
///
/// ```
/// use std::io::Write;
/// use hammertime::{WasiCtx, stdio::Discard};
/// assert_eq!(Discard.write(b"dropped")?, 7); // every byte taken, none kept
/// let ctx = WasiCtx::builder().inherit_stdio().stderr(Discard).build()?; // silence stderr
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Discard;

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_answers_storage_full_after_what_fits() {
        let out = OutputBuffer::with_limit(4);
        let mut w = out.clone();
        assert_eq!(w.write(b"abc").unwrap(), 3);
        assert_eq!(w.write(b"def").unwrap(), 1);
        assert_eq!(w.write(b"g").unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert_eq!(w.write(b"").unwrap(), 0);
        assert_eq!(out.contents(), b"abcd");
        assert_eq!(out.take(), b"abcd");
        assert!(out.is_empty());
    }

    #[test]
    fn clones_share_contents() {
        let out = OutputBuffer::new();
        let mut a = out.clone();
        let mut b = out.clone();
        a.write_all(b"1").unwrap();
        b.write_all(b"2").unwrap();
        assert_eq!(out.to_string_lossy(), "12");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn input_reads_in_pieces() {
        let mut input = InputBuffer::new(b"abcdef");
        let mut buf = [0u8; 4];
        assert_eq!(input.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(input.remaining(), 2);
        assert_eq!(input.read(&mut buf).unwrap(), 2);
        assert_eq!(input.read(&mut buf).unwrap(), 0);
        assert_eq!(EmptyInput.read(&mut buf).unwrap(), 0);
    }
}
