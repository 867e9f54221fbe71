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
//! Pollables: stdio streams and files are always ready (a Rust `Read`/`Write` cannot be asked
//! whether it would block; `poll(2)` reports files ready); clock pollables fire at their
//! deadline on the context's monotonic clock; socket pollables are polled with `poll(2)`, all
//! in one call, while a `poll` waits.
//!
//! [`TCP_WRITE_BUFFER`]: crate::p2::sockets::TCP_WRITE_BUFFER

use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Resource;

use crate::WasiCtx;
use crate::p2::bindings::wasi::io::{error, poll, streams};
use crate::p2::sockets::{Readiness, SocketPollable, TcpReader, TcpWriter};
use crate::stdio::Output;
use crate::vfs::Errno;
use crate::vfs::File;
use crate::wait::Interrupted;

/// The most bytes `check-write` grants, and the most one `read` returns.
pub const WRITE_PERMIT: u64 = 1 << 20;

/// The most bytes one `read`, `skip` or `splice` moves.
pub const READ_MAX: u64 = 1 << 20;

/// The most bytes `blocking-write-and-flush` takes (the WIT's limit).
const BLOCKING_WRITE_MAX: usize = 4096;

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

type StreamResult<T> = Result<T, StreamError>;

fn trap<T>(msg: &'static str) -> StreamResult<T> {
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
        /// Sync after each write: `Some(true)` data only, `Some(false)` data and metadata.
        sync: Option<bool>,
    },
    /// The writing half of a TCP connection (from `finish-connect` or `accept`).
    Tcp(TcpWriter),
}

/// A `wasi:io/poll.pollable`.
#[derive(Debug)]
pub enum Pollable {
    /// Always ready (files, stdio).
    Ready,
    /// Ready once the context's monotonic clock reaches this instant (nanoseconds).
    Deadline(u64),
    /// Ready when a socket, a socket stream or a name lookup can make progress.
    Socket(SocketPollable),
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

impl streams::Host for WasiCtx {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        let from_socket = self.net.socket_errno.take();
        match err {
            StreamError::Failed(errno) => {
                let socket = from_socket == Some(errno);
                let e = self.table.push(IoError { errno, socket })?;
                Ok(streams::StreamError::LastOperationFailed(e))
            }
            StreamError::Closed => Ok(streams::StreamError::Closed),
            StreamError::Trap(e) => Err(e),
        }
    }
}

/// Marks the failure of a socket stream's operation, so that its error resource maps to a
/// socket error code (`network-error-code`): `convert-stream-error` follows the failing call.
fn socket_result<T>(net: &mut crate::net::NetCtx, r: StreamResult<T>) -> StreamResult<T> {
    if let Err(StreamError::Failed(e)) = &r {
        net.socket_errno = Some(*e);
    }
    r
}

/// Reads up to `len` bytes (at most [`READ_MAX`]) from `stream`; end of input is `closed`.
fn read(ctx: &mut WasiCtx, stream: &Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
    let want = len.min(READ_MAX) as usize;
    let n = match ctx.table.get_mut(stream)? {
        // A TCP stream bounds its own reads and never blocks.
        InputStream::Tcp(s) => return socket_result(&mut ctx.net, s.read(len)),
        InputStream::Stdin => {
            if want > 0
                && let Some(fd) = ctx.stdio.host_stdin()
            {
                ctx.interrupt.wait_readable(fd)?;
            }
            crate::stdio::read_some(ctx.stdio.stdin.as_mut(), scratch(&mut ctx.scratch, want))?
        }
        InputStream::File { file, pos } => {
            // A backend claiming more than it was asked counts as having filled the buffer.
            let n = file.read_at(scratch(&mut ctx.scratch, want), *pos)?.min(want);
            *pos = pos.saturating_add(n as u64);
            n
        }
    };
    if n == 0 && want > 0 {
        return Err(StreamError::Closed);
    }
    Ok(ctx.scratch[..n].to_vec())
}

/// The first `len` bytes of the context's scratch buffer, grown (zeroed once) as needed: at most
/// [`READ_MAX`] bytes, kept for the context's life.
pub(crate) fn scratch(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buf.len() < len {
        buf.resize(len, 0);
    }
    &mut buf[..len]
}

/// Reads as [`read`] does, waiting (as a pollable does) until a TCP stream has something.
fn blocking_read(ctx: &mut WasiCtx, stream: &Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
    loop {
        let bytes = read(ctx, stream, len)?;
        let p = match ctx.table.get(stream)? {
            InputStream::Tcp(s) if bytes.is_empty() && len > 0 => Pollable::Socket(s.pollable()),
            _ => return Ok(bytes),
        };
        wait(ctx, &[&p])?;
    }
}

impl streams::HostInputStream for WasiCtx {
    fn read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        read(self, &stream, len)
    }

    fn blocking_read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        blocking_read(self, &stream, len)
    }

    fn skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        Ok(read(self, &stream, len)?.len() as u64)
    }

    fn blocking_skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        Ok(blocking_read(self, &stream, len)?.len() as u64)
    }

    fn subscribe(&mut self, stream: Resource<InputStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = match self.table.get(&stream)? {
            InputStream::Tcp(s) => Pollable::Socket(s.pollable()),
            InputStream::Stdin | InputStream::File { .. } => Pollable::Ready,
        };
        Ok(self.table.push_child(p, &stream)?)
    }

    fn drop(&mut self, stream: Resource<InputStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?;
        Ok(())
    }
}

/// Writes all of `bytes` to `stream` (and flushes a stdio sink): the bytes that fit are
/// written even when the rest fails.
fn write(ctx: &mut WasiCtx, stream: &Resource<OutputStream>, bytes: &[u8]) -> StreamResult<()> {
    match ctx.table.get_mut(stream)? {
        OutputStream::Stdio(out) => {
            let w = ctx.stdio.writer(*out);
            let result = write_all(w, bytes);
            let flushed = w.flush().map_err(Errno::from);
            result.and(flushed).map_err(stdio_error)
        }
        OutputStream::File { file, pos, sync } => {
            let mut rest = bytes;
            while !rest.is_empty() {
                let n = match pos {
                    Some(p) => {
                        let n = file.write_at(rest, *p)?.min(rest.len());
                        *p = p.saturating_add(n as u64);
                        n
                    }
                    None => file.append(rest)?.0.min(rest.len()),
                };
                if n == 0 {
                    return Err(StreamError::Failed(Errno::Nospc));
                }
                rest = &rest[n..];
            }
            Ok(sync_after_write(file.as_ref(), *sync)?)
        }
        OutputStream::Tcp(s) => socket_result(&mut ctx.net, s.write(bytes)),
    }
}

/// The stream error of a failed stdio write or flush: a sink whose reader has gone (`EPIPE`) is
/// `closed`, as the WIT calls a stream whose other end went away; other failures are the
/// operation's (`last-operation-failed`).
fn stdio_error(e: Errno) -> StreamError {
    if e == Errno::Pipe { StreamError::Closed } else { StreamError::Failed(e) }
}

/// Syncs `file` after a write through a descriptor opened with a sync flag.
pub(crate) fn sync_after_write(file: &dyn File, sync: Option<bool>) -> Result<(), Errno> {
    match sync {
        Some(true) => file.datasync(),
        Some(false) => file.sync(),
        None => Ok(()),
    }
}

fn write_all(w: &mut dyn Write, bytes: &[u8]) -> Result<(), Errno> {
    match crate::stdio::write_all_counted(bytes, |b| w.write(b)) {
        (_, Some(e)) => Err(e),
        (_, None) => Ok(()),
    }
}

fn flush(ctx: &mut WasiCtx, stream: &Resource<OutputStream>) -> StreamResult<()> {
    match ctx.table.get_mut(stream)? {
        OutputStream::Stdio(out) => ctx.stdio.writer(*out).flush().map_err(|e| stdio_error(e.into())),
        OutputStream::File { .. } => Ok(()),
        OutputStream::Tcp(s) => socket_result(&mut ctx.net, s.flush()),
    }
}

/// Flushes `stream`, waiting (as a pollable does) until a TCP stream has sent everything.
fn blocking_flush(ctx: &mut WasiCtx, stream: &Resource<OutputStream>) -> StreamResult<()> {
    loop {
        flush(ctx, stream)?;
        let p = match ctx.table.get(stream)? {
            OutputStream::Tcp(s) if !s.flushed() => Pollable::Socket(s.pollable()),
            _ => return Ok(()),
        };
        wait(ctx, &[&p])?;
    }
}

/// A blocking write-and-flush of at most 4096 bytes made by `write`. Stdio and files take all
/// the bytes in `write` (which also flushes stdio): nothing to wait for before or after. A TCP
/// stream first makes room ([`make_room`]), then waits until the bytes are sent.
fn blocking_write(
    ctx: &mut WasiCtx,
    stream: &Resource<OutputStream>,
    write: impl FnOnce(&mut WasiCtx) -> StreamResult<()>,
) -> StreamResult<()> {
    if !matches!(ctx.table.get(stream)?, OutputStream::Tcp(_)) {
        return write(ctx);
    }
    make_room(ctx, stream)?;
    write(ctx)?;
    blocking_flush(ctx, stream)
}

/// Before a blocking write to a TCP stream: waits until its buffer is empty, so that a write
/// of up to 4096 bytes fits.
fn make_room(ctx: &mut WasiCtx, stream: &Resource<OutputStream>) -> StreamResult<()> {
    match ctx.table.get(stream)? {
        OutputStream::Tcp(_) => blocking_flush(ctx, stream),
        _ => Ok(()),
    }
}

/// Writes `len` zero bytes, in pieces.
fn write_zeroes(ctx: &mut WasiCtx, stream: &Resource<OutputStream>, len: u64) -> StreamResult<()> {
    let zeroes = [0u8; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeroes.len() as u64) as usize;
        write(ctx, stream, &zeroes[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Moves up to `len` bytes from `src` to `dst`.
fn splice(ctx: &mut WasiCtx, dst: &Resource<OutputStream>, src: &Resource<InputStream>, len: u64) -> StreamResult<u64> {
    let permit = match ctx.table.get(dst)? {
        OutputStream::Tcp(s) => socket_result(&mut ctx.net, s.check_write())?,
        _ => WRITE_PERMIT,
    };
    let bytes = read(ctx, src, len.min(permit))?;
    write(ctx, dst, &bytes)?;
    Ok(bytes.len() as u64)
}

impl streams::HostOutputStream for WasiCtx {
    fn check_write(&mut self, stream: Resource<OutputStream>) -> StreamResult<u64> {
        match self.table.get(&stream)? {
            OutputStream::Tcp(s) => socket_result(&mut self.net, s.check_write()),
            _ => Ok(WRITE_PERMIT),
        }
    }

    fn write(&mut self, stream: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        WriteKind::Write.check(contents.len())?;
        WriteKind::Write.run(self, &stream, &contents)
    }

    fn blocking_write_and_flush(&mut self, stream: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        WriteKind::BlockingWriteAndFlush.check(contents.len())?;
        WriteKind::BlockingWriteAndFlush.run(self, &stream, &contents)
    }

    fn flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        flush(self, &stream)
    }

    fn blocking_flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        blocking_flush(self, &stream)
    }

    fn subscribe(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = match self.table.get(&stream)? {
            OutputStream::Tcp(s) => Pollable::Socket(s.pollable()),
            OutputStream::Stdio(_) | OutputStream::File { .. } => Pollable::Ready,
        };
        Ok(self.table.push_child(p, &stream)?)
    }

    fn write_zeroes(&mut self, stream: Resource<OutputStream>, len: u64) -> StreamResult<()> {
        if len > WRITE_PERMIT {
            return trap("write-zeroes of more bytes than check-write permitted");
        }
        write_zeroes(self, &stream, len)
    }

    fn blocking_write_zeroes_and_flush(&mut self, stream: Resource<OutputStream>, len: u64) -> StreamResult<()> {
        if len > BLOCKING_WRITE_MAX as u64 {
            return trap("blocking-write-zeroes-and-flush of more than 4096 bytes");
        }
        blocking_write(self, &stream, |ctx| write_zeroes(ctx, &stream, len))
    }

    fn splice(&mut self, dst: Resource<OutputStream>, src: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        splice(self, &dst, &src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        make_room(self, &dst)?;
        loop {
            let n = splice(self, &dst, &src, len)?;
            let p = match self.table.get(&src)? {
                InputStream::Tcp(s) if n == 0 && len > 0 => Pollable::Socket(s.pollable()),
                _ => return Ok(n),
            };
            wait(self, &[&p])?;
        }
    }

    fn drop(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?;
        Ok(())
    }
}

/// Whether `p` is ready now, given the monotonic time `now`.
fn ready_now(p: &Pollable, now: u64) -> bool {
    match p {
        Pollable::Ready => true,
        Pollable::Deadline(at) => now >= *at,
        Pollable::Socket(s) => s.ready_now(),
    }
}

/// The longest single sleep while a pollable with nothing to `poll(2)` (a name lookup) is
/// waited for, so it is looked at again regularly.
const SOCKET_RECHECK: Duration = Duration::from_millis(10);

/// Waits until at least one of `pollables` is ready and returns the indices of the ready ones,
/// in order. With nothing ready, the thread waits in one `poll(2)` of every socket until the
/// earliest deadline (or sleeps until it, when no socket is polled).
///
/// The earliest deadline's wait is the context's clock's ([`MonotonicClock::wait_for`]: a
/// `ManualClock` moves forward, a `FixedClock` takes no time), at most `Limits::max_sleep`; once
/// that real time has passed, the deadline counts as ready whatever the clock reads. An
/// interrupt ends the wait with `Err` (the guest traps).
///
/// [`MonotonicClock::wait_for`]: crate::clocks::MonotonicClock::wait_for
fn wait(ctx: &WasiCtx, pollables: &[&Pollable]) -> Result<Vec<u32>, Interrupted> {
    use rustix::event::{PollFd, PollFlags};
    let start = ctx.mono.now();
    let earliest = pollables
        .iter()
        .filter_map(|p| match p {
            Pollable::Deadline(at) if *at > start => Some(*at),
            _ => None,
        })
        .min();
    let timer = earliest.map(|at| {
        let real = ctx.mono.wait_for(at - start).min(ctx.limits.max_sleep);
        Instant::now().checked_add(real)
    });
    loop {
        ctx.interrupt.check()?;
        // TCP output streams holding bytes send what they can, and are waited for too (they
        // count for no pollable): a guest waiting to read must not starve its own writes.
        let sending = crate::p2::sockets::lock(&ctx.net.writers).drain_all();
        let now = ctx.mono.now();
        let timer_left =
            timer.map(|end| end.map_or(Duration::MAX, |end| end.saturating_duration_since(Instant::now())));
        let timer_done = timer_left.is_some_and(|d| d.is_zero());
        let mut ready = Vec::new();
        let mut fds: Vec<(u32, Arc<OwnedFd>, PollFlags)> = Vec::new();
        let mut sleep: Option<Duration> = None;
        let mut at_most = |d: Duration| sleep = Some(sleep.map_or(d, |s: Duration| s.min(d)));
        for (i, p) in (0u32..).zip(pollables) {
            match p {
                Pollable::Ready => ready.push(i),
                Pollable::Deadline(at) if now >= *at || (timer_done && Some(*at) == earliest) => ready.push(i),
                Pollable::Deadline(_) => at_most(timer_left.unwrap_or(Duration::ZERO)),
                Pollable::Socket(s) => match s.readiness() {
                    Readiness::Ready => ready.push(i),
                    Readiness::Fd(fd, flags) => fds.push((i, fd, flags)),
                    Readiness::Later => at_most(SOCKET_RECHECK),
                },
            }
        }
        if !ready.is_empty() {
            // Something is ready: the sockets are only looked at.
            sleep = Some(Duration::ZERO);
        }
        if fds.is_empty() && (sending.is_empty() || !ready.is_empty()) {
            if !ready.is_empty() {
                return Ok(ready);
            }
            ctx.interrupt.sleep(sleep.unwrap_or(SOCKET_RECHECK))?;
            continue;
        }
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|(_, fd, flags)| PollFd::new(fd, *flags))
            .chain(sending.iter().map(|fd| PollFd::new(fd, PollFlags::OUT)))
            .collect();
        match ctx.interrupt.poll(&mut polled, sleep)? {
            Ok(_) => {
                ready.extend(fds.iter().zip(&polled).filter(|(_, p)| !p.revents().is_empty()).map(|((i, ..), _)| *i));
            }
            Err(_) => {
                // More descriptors than poll(2) takes at once (or no memory for them): look
                // at each, then sleep a little.
                drop(polled);
                ready.extend(
                    fds.iter().filter(|(_, fd, flags)| crate::p2::sockets::fd_ready(fd, *flags)).map(|(i, ..)| *i),
                );
                if ready.is_empty() {
                    ctx.interrupt.sleep(sleep.unwrap_or(SOCKET_RECHECK).min(SOCKET_RECHECK))?;
                }
            }
        }
        if !ready.is_empty() {
            ready.sort_unstable();
            return Ok(ready);
        }
    }
}

impl poll::Host for WasiCtx {
    fn poll(&mut self, pollables: Vec<Resource<Pollable>>) -> wasmtime::Result<Vec<u32>> {
        if pollables.is_empty() {
            wasmtime::bail!("poll of an empty list of pollables");
        }
        let max = self.limits.poll_subscriptions;
        if pollables.len() > max as usize {
            wasmtime::bail!(
                "poll of {} pollables, more than the limit of {max} (Limits::poll_subscriptions)",
                pollables.len()
            );
        }
        let mut ps = Vec::with_capacity(pollables.len());
        for p in &pollables {
            ps.push(self.table.get(p)?);
        }
        Ok(wait(self, &ps)?)
    }
}

impl poll::HostPollable for WasiCtx {
    fn ready(&mut self, p: Resource<Pollable>) -> wasmtime::Result<bool> {
        let now = self.mono.now();
        Ok(ready_now(self.table.get(&p)?, now))
    }

    fn block(&mut self, p: Resource<Pollable>) -> wasmtime::Result<()> {
        let p = self.table.get(&p)?;
        wait(self, &[p])?;
        Ok(())
    }

    fn drop(&mut self, p: Resource<Pollable>) -> wasmtime::Result<()> {
        self.table.delete(p)?;
        Ok(())
    }
}

/// The two stream methods that take the guest's bytes.
#[derive(Clone, Copy)]
enum WriteKind {
    /// `write`: up to `check-write`'s permit.
    Write,
    /// `blocking-write-and-flush`: up to 4096 bytes.
    BlockingWriteAndFlush,
}

impl WriteKind {
    /// The trap of a write of more bytes than the method allows.
    fn check(self, len: usize) -> StreamResult<()> {
        match self {
            WriteKind::Write if len as u64 > WRITE_PERMIT => trap("write of more bytes than check-write permitted"),
            WriteKind::BlockingWriteAndFlush if len > BLOCKING_WRITE_MAX => {
                trap("blocking-write-and-flush of more than 4096 bytes")
            }
            _ => Ok(()),
        }
    }

    /// Writes `bytes` (already passed by [`WriteKind::check`]) as this method does.
    fn run(self, ctx: &mut WasiCtx, stream: &Resource<OutputStream>, bytes: &[u8]) -> StreamResult<()> {
        match self {
            WriteKind::Write => write(ctx, stream, bytes),
            WriteKind::BlockingWriteAndFlush => blocking_write(ctx, stream, |ctx| write(ctx, stream, bytes)),
        }
    }
}

/// Defines `wasi:io/streams` in `linker`: the generated definitions' behaviour, except that
/// `write` and `blocking-write-and-flush` take the guest's `list<u8>` as Wasmtime's borrowed
/// [`WasmList`](wasmtime::component::WasmList) and copy it into the context's reused
/// `write_scratch` once its length is checked, where the generated binding would first lift it
/// into a new `Vec` (an allocation and a free per write, whatever its length). The other
/// methods call the same [`streams::HostInputStream`] / [`streams::HostOutputStream`] methods
/// the generated code would.
pub(crate) fn add_streams_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    use streams::{Host, HostInputStream as In, HostOutputStream as Out};
    use wasmtime::StoreContextMut;
    use wasmtime::component::{ResourceType, WasmList};
    type R<S> = Resource<S>;

    /// One method whose result is `result<_, stream-error>`, through the context's trait method.
    macro_rules! method {
        ($inst:ident, $name:literal, $tr:ident :: $f:ident ($($arg:ident : $ty:ty),*)) => {
            $inst.func_wrap($name, move |mut caller: StoreContextMut<'_, T>, ($($arg,)*): ($($ty,)*)| {
                let ctx = get(caller.data_mut());
                let r = $tr::$f(ctx, $($arg),*);
                Ok((match r {
                    Ok(v) => Ok(v),
                    Err(e) => Err(Host::convert_stream_error(ctx, e)?),
                },))
            })?;
        };
    }

    let mut inst = linker.instance("wasi:io/streams@0.2.12")?;
    inst.resource("input-stream", ResourceType::host::<InputStream>(), move |mut store, rep| {
        In::drop(get(store.data_mut()), Resource::new_own(rep))
    })?;
    inst.resource("output-stream", ResourceType::host::<OutputStream>(), move |mut store, rep| {
        Out::drop(get(store.data_mut()), Resource::new_own(rep))
    })?;
    method!(inst, "[method]input-stream.read", In::read(s: R<InputStream>, len: u64));
    method!(inst, "[method]input-stream.blocking-read", In::blocking_read(s: R<InputStream>, len: u64));
    method!(inst, "[method]input-stream.skip", In::skip(s: R<InputStream>, len: u64));
    method!(inst, "[method]input-stream.blocking-skip", In::blocking_skip(s: R<InputStream>, len: u64));
    inst.func_wrap(
        "[method]input-stream.subscribe",
        move |mut caller: StoreContextMut<'_, T>, (s,): (R<InputStream>,)| {
            Ok((In::subscribe(get(caller.data_mut()), s)?,))
        },
    )?;
    method!(inst, "[method]output-stream.check-write", Out::check_write(s: R<OutputStream>));
    for (name, kind) in [
        ("[method]output-stream.write", WriteKind::Write),
        ("[method]output-stream.blocking-write-and-flush", WriteKind::BlockingWriteAndFlush),
    ] {
        inst.func_wrap(name, move |mut caller: StoreContextMut<'_, T>, (s, list): (R<OutputStream>, WasmList<u8>)| {
            let r = kind.check(list.len()).and_then(|()| {
                let mut buf = std::mem::take(&mut get(caller.data_mut()).write_scratch);
                buf.clear();
                buf.extend_from_slice(list.as_le_slice(&caller));
                let ctx = get(caller.data_mut());
                let r = kind.run(ctx, &s, &buf);
                ctx.write_scratch = buf;
                r
            });
            let ctx = get(caller.data_mut());
            Ok((match r {
                Ok(()) => Ok(()),
                Err(e) => Err(Host::convert_stream_error(ctx, e)?),
            },))
        })?;
    }
    method!(inst, "[method]output-stream.flush", Out::flush(s: R<OutputStream>));
    method!(inst, "[method]output-stream.blocking-flush", Out::blocking_flush(s: R<OutputStream>));
    inst.func_wrap(
        "[method]output-stream.subscribe",
        move |mut caller: StoreContextMut<'_, T>, (s,): (R<OutputStream>,)| {
            Ok((Out::subscribe(get(caller.data_mut()), s)?,))
        },
    )?;
    method!(inst, "[method]output-stream.write-zeroes", Out::write_zeroes(s: R<OutputStream>, len: u64));
    method!(
        inst,
        "[method]output-stream.blocking-write-zeroes-and-flush",
        Out::blocking_write_zeroes_and_flush(s: R<OutputStream>, len: u64)
    );
    method!(inst, "[method]output-stream.splice", Out::splice(d: R<OutputStream>, s: R<InputStream>, len: u64));
    method!(
        inst,
        "[method]output-stream.blocking-splice",
        Out::blocking_splice(d: R<OutputStream>, s: R<InputStream>, len: u64)
    );
    Ok(())
}
