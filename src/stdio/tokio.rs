//! tokio `AsyncRead`/`AsyncWrite` values as the guest's stdio (the `tokio` feature), for async
//! embedders: [`WasiCtxBuilder::stdin_async`](crate::WasiCtxBuilder::stdin_async),
//! [`stdout_async`](crate::WasiCtxBuilder::stdout_async) and
//! [`stderr_async`](crate::WasiCtxBuilder::stderr_async).
//!
//! Each is held behind a bounded buffer ([`BUFFER`] bytes) and seen by the host calls as a
//! `Read` or `Write` that never blocks: a read with nothing buffered, or a write with no room,
//! answers `WouldBlock`, and the call waits (as a future, in async linking) until the reader
//! has something or the writer has taken the buffer. A guest's blocking read of such stdin
//! yields the executor thread; a write returns once the writer took its bytes. In synchronous
//! linking the same waits block the guest's thread, polling the value with a parked thread's
//! waker. Nothing the guest wrote is dropped: a writer's error ends the stream with that error.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::wait::Ready;

/// The most bytes held for an async stdin (read ahead) or output (written, not yet taken).
pub const BUFFER: usize = 64 << 10;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An `AsyncRead` stdin: what it gave and the guest has not read yet.
struct In {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    buf: Box<[u8]>,
    /// The bytes `buf[start..end]` are unread.
    start: usize,
    end: usize,
    eof: bool,
    error: Option<io::Error>,
}

impl In {
    fn has_answer(&self) -> bool {
        self.start < self.end || self.eof || self.error.is_some()
    }

    /// Reads ahead into the empty buffer.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.has_answer() {
            return Poll::Ready(());
        }
        let mut rb = ReadBuf::new(&mut self.buf);
        match self.reader.as_mut().poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                (self.start, self.end, self.eof) = (0, n, n == 0);
                Poll::Ready(())
            }
            Poll::Ready(Err(e)) => {
                self.error = Some(e);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The guest's stdin from an `AsyncRead`: a `Read` that answers `WouldBlock` while the reader
/// has nothing, and a [`Ready`] a wait polls.
#[derive(Clone)]
pub(crate) struct AsyncInput(Arc<Mutex<In>>);

impl AsyncInput {
    pub fn new(reader: impl AsyncRead + Send + 'static) -> Self {
        let buf = vec![0; BUFFER].into_boxed_slice();
        AsyncInput(Arc::new(Mutex::new(In {
            reader: Box::pin(reader),
            buf,
            start: 0,
            end: 0,
            eof: false,
            error: None,
        })))
    }

    /// What a wait for this stdin polls.
    pub fn ready(&self) -> Arc<dyn Ready> {
        self.0.clone()
    }
}

impl Read for AsyncInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut inner = lock(&self.0);
        if out.is_empty() {
            return Ok(0);
        }
        if inner.poll_fill(&mut Context::from_waker(Waker::noop())).is_pending() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if let Some(e) = inner.error.take() {
            return Err(e);
        }
        let n = (inner.end - inner.start).min(out.len());
        out[..n].copy_from_slice(&inner.buf[inner.start..inner.start + n]);
        inner.start += n;
        Ok(n)
    }
}

impl Ready for Mutex<In> {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        lock(self).poll_fill(cx)
    }
}

/// An `AsyncWrite` stdout or stderr: the bytes written and not yet taken.
struct Out {
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    buf: Vec<u8>,
    /// The writer failed: every later write fails the same way, as writes to a broken pipe do
    /// (the bytes it held are lost, as a pipe's are when its reader goes).
    failed: Option<io::ErrorKind>,
    /// The failure was told to the guest.
    reported: bool,
}

impl Out {
    /// Hands the writer what it takes of the buffer, then flushes it: `Ready` once the buffer is
    /// empty and flushed (or the writer failed).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while !self.buf.is_empty() && self.failed.is_none() {
            match self.writer.as_mut().poll_write(cx, &self.buf) {
                Poll::Ready(Ok(0)) => self.fail(io::ErrorKind::WriteZero),
                Poll::Ready(Ok(n)) => {
                    self.buf.drain(..n.min(self.buf.len()));
                }
                Poll::Ready(Err(e)) => self.fail(e.kind()),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.failed.is_some() {
            return Poll::Ready(());
        }
        match self.writer.as_mut().poll_flush(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(e)) => {
                self.fail(e.kind());
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn fail(&mut self, kind: io::ErrorKind) {
        self.failed = Some(kind);
        self.buf.clear();
    }

    /// The failure, as the guest's write or flush sees it.
    fn failure(&mut self) -> io::Result<()> {
        match self.failed {
            Some(kind) => {
                self.reported = true;
                Err(kind.into())
            }
            None => Ok(()),
        }
    }
}

/// The guest's stdout or stderr into an `AsyncWrite`: a `Write` into the bounded buffer (which
/// answers `WouldBlock` when it is full), and a [`Ready`] that hands the buffer to the writer.
#[derive(Clone)]
pub(crate) struct AsyncOutput(Arc<Mutex<Out>>);

impl AsyncOutput {
    pub fn new(writer: impl AsyncWrite + Send + 'static) -> Self {
        AsyncOutput(Arc::new(Mutex::new(Out {
            writer: Box::pin(writer),
            buf: Vec::new(),
            failed: None,
            reported: false,
        })))
    }

    /// What a wait for this output (to have taken every byte) polls.
    pub fn ready(&self) -> Arc<dyn Ready> {
        self.0.clone()
    }

    /// Whether the writer has taken every byte written (a try, without waiting).
    pub fn drained(&self) -> bool {
        let mut inner = lock(&self.0);
        inner.poll_drain(&mut Context::from_waker(Waker::noop())).is_ready()
    }

    /// The bytes a write can take now.
    pub fn room(&self) -> usize {
        BUFFER.saturating_sub(lock(&self.0).buf.len())
    }
}

impl Write for AsyncOutput {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut inner = lock(&self.0);
        let _ = inner.poll_drain(&mut Context::from_waker(Waker::noop()));
        inner.failure()?;
        let n = BUFFER.saturating_sub(inner.buf.len()).min(data.len());
        if n == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        inner.buf.extend_from_slice(&data[..n]);
        let _ = inner.poll_drain(&mut Context::from_waker(Waker::noop()));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut inner = lock(&self.0);
        let _ = inner.poll_drain(&mut Context::from_waker(Waker::noop()));
        inner.failure()
    }
}

impl Ready for Mutex<Out> {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        lock(self).poll_drain(cx)
    }
}

/// Waits until `output` has handed every byte to its writer, or the writer failed: its error,
/// unless the guest was told already.
pub(crate) async fn drain(output: &AsyncOutput) -> io::Result<()> {
    std::future::poll_fn(|cx| lock(&output.0).poll_drain(cx)).await;
    let mut inner = lock(&output.0);
    if inner.reported { Ok(()) } else { inner.failure() }
}
