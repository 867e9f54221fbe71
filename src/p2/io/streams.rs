//! `wasi:io/streams`: `input-stream` and `output-stream`, and their registration in a linker.
//!
//! The methods that can wait (`blocking-read`, `blocking-skip`, `blocking-flush`,
//! `blocking-write-and-flush`, `blocking-write-zeroes-and-flush`, `blocking-splice`) are
//! written once, as `async fn`s taking the [`Mode`] of their waits: the synchronous host
//! functions run them on the guest's thread ([`run_on_thread`]), the async ones
//! (`p2::add_to_linker_async`) await them on the executor.

use std::io::Write;

use wasmtime::StoreContextMut;
use wasmtime::component::{Resource, WasmList};

use super::poll::wait;
use super::{
    BLOCKING_WRITE_MAX, InputStream, IoError, OutputStream, Pollable, READ_MAX, StreamError, StreamResult,
    WRITE_PERMIT, scratch, socket_result, trap,
};
use crate::WasiCtx;
use crate::backend;
use crate::p2::bindings::wasi::io::streams;
use crate::p2::sockets::SocketPollable;
use crate::vfs::Errno;
use crate::wait::{Mode, run_on_thread};

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

/// Reads up to `len` bytes (at most [`READ_MAX`]) from `stream`, without waiting: a TCP stream
/// or the host's stdin with nothing arrived yet gives an empty list; end of input is `closed`.
fn read(ctx: &mut WasiCtx, stream: &Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
    let want = len.min(READ_MAX) as usize;
    let n = match ctx.table.get_mut(stream)? {
        // A TCP stream bounds its own reads and never blocks.
        InputStream::Tcp(s) => return socket_result(&mut ctx.net, s.read(len)),
        InputStream::Stdin => {
            if want > 0
                && let Some(fd) = ctx.stdio.host_stdin()
                && !crate::wait::ready_now(&fd, rustix::event::PollFlags::IN)
            {
                return Ok(Vec::new());
            }
            match backend::read_some(ctx.stdio.stdin.as_mut(), scratch(&mut ctx.scratch, want)) {
                // An async stdin with nothing yet.
                Err(Errno::Again) if ctx.stdio.stdin_wait().is_some() => return Ok(Vec::new()),
                r => r?,
            }
        }
        InputStream::File { file, pos } => {
            // A backend claiming more than it was asked counts as having filled the buffer.
            let n = backend::read_at(file.as_ref(), scratch(&mut ctx.scratch, want), *pos)?;
            *pos = pos.saturating_add(n as u64);
            n
        }
    };
    if n == 0 && want > 0 {
        return Err(StreamError::Closed);
    }
    Ok(ctx.scratch[..n].to_vec())
}

/// The pollable `stream`'s `subscribe` gives: ready when a read can make progress.
fn input_pollable(ctx: &WasiCtx, stream: &Resource<InputStream>) -> wasmtime::Result<Pollable> {
    Ok(match ctx.table.get(stream)? {
        InputStream::Tcp(s) => Pollable::Socket(s.pollable()),
        InputStream::Stdin if ctx.stdio.host_stdin => Pollable::HostStdin,
        InputStream::Stdin if let Some(r) = ctx.stdio.stdin_wait() => Pollable::Stdio(super::StdioReady(r)),
        InputStream::Stdin | InputStream::File { .. } => Pollable::Ready,
    })
}

/// Reads as [`read`] does, waiting (as a pollable does) until a TCP stream or the host's stdin
/// has something.
async fn blocking_read(
    ctx: &mut WasiCtx,
    mode: Mode,
    stream: &Resource<InputStream>,
    len: u64,
) -> StreamResult<Vec<u8>> {
    loop {
        let bytes = read(ctx, stream, len)?;
        if !bytes.is_empty() || len == 0 {
            return Ok(bytes);
        }
        let p = match input_pollable(ctx, stream).map_err(StreamError::Trap)? {
            p @ (Pollable::Socket(_) | Pollable::HostStdin | Pollable::Stdio(_)) => p,
            _ => return Ok(bytes),
        };
        wait(ctx, mode, &[p]).await?;
    }
}

impl streams::HostInputStream for WasiCtx {
    fn read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        read(self, &stream, len)
    }

    fn blocking_read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        run_on_thread(blocking_read(self, Mode::Thread, &stream, len))
    }

    fn skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        Ok(read(self, &stream, len)?.len() as u64)
    }

    fn blocking_skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        Ok(run_on_thread(blocking_read(self, Mode::Thread, &stream, len))?.len() as u64)
    }

    fn subscribe(&mut self, stream: Resource<InputStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = input_pollable(self, &stream)?;
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
                        let n = backend::write_at(file.as_ref(), rest, *p)?;
                        *p = p.saturating_add(n as u64);
                        n
                    }
                    None => backend::append(file.as_ref(), rest)?.0,
                };
                if n == 0 {
                    return Err(StreamError::Failed(Errno::Nospc));
                }
                rest = &rest[n..];
            }
            Ok(backend::sync_after_write(file.as_ref(), *sync)?)
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

fn write_all(w: &mut dyn Write, bytes: &[u8]) -> Result<(), Errno> {
    match backend::write_all_counted(bytes, |b| w.write(b)) {
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

/// Flushes `stream`, waiting (as a pollable does) until a TCP stream has sent everything, or
/// a tokio stdout or stderr has taken every byte.
async fn blocking_flush(ctx: &mut WasiCtx, mode: Mode, stream: &Resource<OutputStream>) -> StreamResult<()> {
    loop {
        flush(ctx, stream)?;
        let p = match output_pollable(ctx, stream)? {
            Pollable::Ready => return Ok(()),
            p => p,
        };
        wait(ctx, mode, &[p]).await?;
    }
}

/// The pollable `stream`'s `subscribe` gives, and what its blocking methods wait for: ready
/// when a TCP stream has sent what it holds (room for more), or a tokio output has taken its
/// bytes; stdio and files are always ready.
fn output_pollable(ctx: &WasiCtx, stream: &Resource<OutputStream>) -> StreamResult<Pollable> {
    Ok(match ctx.table.get(stream)? {
        OutputStream::Tcp(s) if !s.flushed() => Pollable::Socket(SocketPollable::tcp_write(s)),
        OutputStream::Stdio(out) if let Some(r) = ctx.stdio.output_wait(*out) => Pollable::Stdio(super::StdioReady(r)),
        _ => Pollable::Ready,
    })
}

/// A blocking write-and-flush of at most 4096 bytes made by `write`. Stdio and files take all
/// the bytes in `write` (which also flushes stdio): nothing to wait for before or after. A TCP
/// stream first makes room (an empty buffer, so that a write of up to 4096 bytes fits), then
/// waits until the bytes are sent.
async fn blocking_write(
    ctx: &mut WasiCtx,
    mode: Mode,
    stream: &Resource<OutputStream>,
    write: impl FnOnce(&mut WasiCtx) -> StreamResult<()>,
) -> StreamResult<()> {
    let waits = match ctx.table.get(stream)? {
        OutputStream::Tcp(_) => true,
        OutputStream::Stdio(out) => ctx.stdio.output_room(*out, WRITE_PERMIT) < WRITE_PERMIT,
        OutputStream::File { .. } => false,
    };
    if !waits {
        return write(ctx);
    }
    blocking_flush(ctx, mode, stream).await?;
    write(ctx)?;
    blocking_flush(ctx, mode, stream).await
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

/// Splices as [`splice`] does, once `dst` has room (a TCP stream's buffer emptied), waiting
/// until `src` has something.
async fn blocking_splice(
    ctx: &mut WasiCtx,
    mode: Mode,
    dst: &Resource<OutputStream>,
    src: &Resource<InputStream>,
    len: u64,
) -> StreamResult<u64> {
    if matches!(ctx.table.get(dst)?, OutputStream::Tcp(_)) {
        blocking_flush(ctx, mode, dst).await?;
    }
    loop {
        let n = splice(ctx, dst, src, len)?;
        if n > 0 || len == 0 {
            return Ok(n);
        }
        let p = match input_pollable(ctx, src).map_err(StreamError::Trap)? {
            p @ (Pollable::Socket(_) | Pollable::HostStdin | Pollable::Stdio(_)) => p,
            _ => return Ok(n),
        };
        wait(ctx, mode, &[p]).await?;
    }
}

/// `blocking-write-zeroes-and-flush`.
async fn blocking_write_zeroes(
    ctx: &mut WasiCtx,
    mode: Mode,
    stream: &Resource<OutputStream>,
    len: u64,
) -> StreamResult<()> {
    if len > BLOCKING_WRITE_MAX as u64 {
        return trap("blocking-write-zeroes-and-flush of more than 4096 bytes");
    }
    blocking_write(ctx, mode, stream, |ctx| write_zeroes(ctx, stream, len)).await
}

impl streams::HostOutputStream for WasiCtx {
    fn check_write(&mut self, stream: Resource<OutputStream>) -> StreamResult<u64> {
        match self.table.get(&stream)? {
            OutputStream::Tcp(s) => socket_result(&mut self.net, s.check_write()),
            OutputStream::Stdio(out) => Ok(self.stdio.output_room(*out, WRITE_PERMIT)),
            OutputStream::File { .. } => Ok(WRITE_PERMIT),
        }
    }

    fn write(&mut self, stream: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        WriteKind::Write.check(contents.len())?;
        run_on_thread(WriteKind::Write.run(self, Mode::Thread, &stream, &contents))
    }

    fn blocking_write_and_flush(&mut self, stream: Resource<OutputStream>, contents: Vec<u8>) -> StreamResult<()> {
        WriteKind::BlockingWriteAndFlush.check(contents.len())?;
        run_on_thread(WriteKind::BlockingWriteAndFlush.run(self, Mode::Thread, &stream, &contents))
    }

    fn flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        flush(self, &stream)
    }

    fn blocking_flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        run_on_thread(blocking_flush(self, Mode::Thread, &stream))
    }

    fn subscribe(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<Resource<Pollable>> {
        let p = match self.table.get(&stream)? {
            OutputStream::Tcp(s) => Pollable::Socket(SocketPollable::tcp_write(s)),
            OutputStream::Stdio(out) if let Some(r) = self.stdio.output_wait(*out) => {
                Pollable::Stdio(super::StdioReady(r))
            }
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
        run_on_thread(blocking_write_zeroes(self, Mode::Thread, &stream, len))
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
        run_on_thread(blocking_splice(self, Mode::Thread, &dst, &src, len))
    }

    fn drop(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?;
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
    async fn run(
        self,
        ctx: &mut WasiCtx,
        mode: Mode,
        stream: &Resource<OutputStream>,
        bytes: &[u8],
    ) -> StreamResult<()> {
        match self {
            WriteKind::Write => write(ctx, stream, bytes),
            WriteKind::BlockingWriteAndFlush => {
                blocking_write(ctx, mode, stream, |ctx| write(ctx, stream, bytes)).await
            }
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
    use streams::{HostInputStream as In, HostOutputStream as Out};
    type R<S> = Resource<S>;
    let mut inst = linker.instance("wasi:io/streams@0.2.12")?;
    add_methods_that_never_wait(&mut inst, get)?;
    method!(inst, get, "[method]input-stream.blocking-read", In::blocking_read(s: R<InputStream>, len: u64));
    method!(inst, get, "[method]input-stream.blocking-skip", In::blocking_skip(s: R<InputStream>, len: u64));
    add_write(&mut inst, get, BLOCKING_WRITE, WriteKind::BlockingWriteAndFlush)?;
    method!(inst, get, "[method]output-stream.blocking-flush", Out::blocking_flush(s: R<OutputStream>));
    method!(
        inst,
        get,
        "[method]output-stream.blocking-write-zeroes-and-flush",
        Out::blocking_write_zeroes_and_flush(s: R<OutputStream>, len: u64)
    );
    method!(
        inst,
        get,
        "[method]output-stream.blocking-splice",
        Out::blocking_splice(d: R<OutputStream>, s: R<InputStream>, len: u64)
    );
    Ok(())
}

/// Defines `wasi:io/streams` in `linker` for async stores, as [`add_streams_to_linker`] does,
/// but for the six `blocking-*` methods, which are async host functions whose waits are futures
/// of the executor.
#[cfg(feature = "tokio")]
pub(crate) fn add_streams_to_linker_async<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    type R<S> = Resource<S>;

    /// One method that can wait, as an async host function awaiting `$wait` (written with
    /// `$ctx` and the arguments).
    macro_rules! waits {
        ($inst:ident, $name:literal, $ctx:ident => $wait:expr, ($($arg:ident : $ty:ty),*)) => {
            $inst.func_wrap_async($name, move |mut caller: StoreContextMut<'_, T>, ($($arg,)*): ($($ty,)*)| {
                Box::new(async move {
                    let $ctx = get(caller.data_mut());
                    let r = $wait.await;
                    stream_result($ctx, r)
                })
            })?;
        };
    }

    let mut inst = linker.instance("wasi:io/streams@0.2.12")?;
    add_methods_that_never_wait(&mut inst, get)?;
    waits!(
        inst,
        "[method]input-stream.blocking-read",
        ctx => blocking_read(ctx, Mode::Executor, &s, len),
        (s: R<InputStream>, len: u64)
    );
    waits!(
        inst,
        "[method]input-stream.blocking-skip",
        ctx => async { Ok(blocking_read(ctx, Mode::Executor, &s, len).await?.len() as u64) },
        (s: R<InputStream>, len: u64)
    );
    inst.func_wrap_async(
        BLOCKING_WRITE,
        move |mut caller: StoreContextMut<'_, T>, (s, list): (R<OutputStream>, WasmList<u8>)| {
            Box::new(async move {
                let kind = WriteKind::BlockingWriteAndFlush;
                let r = match kind.check(list.len()) {
                    Ok(()) => {
                        let buf = copy_list(get, &mut caller, &list);
                        let ctx = get(caller.data_mut());
                        let r = kind.run(ctx, Mode::Executor, &s, &buf).await;
                        ctx.write_scratch = buf;
                        r
                    }
                    Err(e) => Err(e),
                };
                stream_result(get(caller.data_mut()), r)
            })
        },
    )?;
    waits!(
        inst,
        "[method]output-stream.blocking-flush",
        ctx => blocking_flush(ctx, Mode::Executor, &s),
        (s: R<OutputStream>)
    );
    waits!(
        inst,
        "[method]output-stream.blocking-write-zeroes-and-flush",
        ctx => blocking_write_zeroes(ctx, Mode::Executor, &s, len),
        (s: R<OutputStream>, len: u64)
    );
    waits!(
        inst,
        "[method]output-stream.blocking-splice",
        ctx => blocking_splice(ctx, Mode::Executor, &d, &s, len),
        (d: R<OutputStream>, s: R<InputStream>, len: u64)
    );
    Ok(())
}

const BLOCKING_WRITE: &str = "[method]output-stream.blocking-write-and-flush";

/// A method's result as the guest gets it: `ok`, or the stream error (`convert-stream-error`),
/// or the trap.
fn stream_result<V>(ctx: &mut WasiCtx, r: StreamResult<V>) -> wasmtime::Result<(Result<V, streams::StreamError>,)> {
    use streams::Host;
    Ok((match r {
        Ok(v) => Ok(v),
        Err(e) => Err(Host::convert_stream_error(ctx, e)?),
    },))
}

/// One method whose result is `result<_, stream-error>`, through the context's trait method.
macro_rules! method {
    ($inst:ident, $get:ident, $name:expr, $tr:ident :: $f:ident ($($arg:ident : $ty:ty),*)) => {
        $inst.func_wrap($name, move |mut caller: StoreContextMut<'_, T>, ($($arg,)*): ($($ty,)*)| {
            let ctx = $get(caller.data_mut());
            let r = $tr::$f(ctx, $($arg),*);
            stream_result(ctx, r)
        })?;
    };
}
use method;

/// The resources and the methods that never wait, the same for both kinds of linking.
fn add_methods_that_never_wait<T: 'static>(
    inst: &mut wasmtime::component::LinkerInstance<'_, T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> wasmtime::Result<()> {
    use streams::{HostInputStream as In, HostOutputStream as Out};
    use wasmtime::component::ResourceType;
    type R<S> = Resource<S>;
    inst.resource("input-stream", ResourceType::host::<InputStream>(), move |mut store, rep| {
        In::drop(get(store.data_mut()), Resource::new_own(rep))
    })?;
    inst.resource("output-stream", ResourceType::host::<OutputStream>(), move |mut store, rep| {
        Out::drop(get(store.data_mut()), Resource::new_own(rep))
    })?;
    method!(inst, get, "[method]input-stream.read", In::read(s: R<InputStream>, len: u64));
    method!(inst, get, "[method]input-stream.skip", In::skip(s: R<InputStream>, len: u64));
    inst.func_wrap(
        "[method]input-stream.subscribe",
        move |mut caller: StoreContextMut<'_, T>, (s,): (R<InputStream>,)| {
            Ok((In::subscribe(get(caller.data_mut()), s)?,))
        },
    )?;
    method!(inst, get, "[method]output-stream.check-write", Out::check_write(s: R<OutputStream>));
    add_write(inst, get, "[method]output-stream.write", WriteKind::Write)?;
    method!(inst, get, "[method]output-stream.flush", Out::flush(s: R<OutputStream>));
    inst.func_wrap(
        "[method]output-stream.subscribe",
        move |mut caller: StoreContextMut<'_, T>, (s,): (R<OutputStream>,)| {
            Ok((Out::subscribe(get(caller.data_mut()), s)?,))
        },
    )?;
    method!(inst, get, "[method]output-stream.write-zeroes", Out::write_zeroes(s: R<OutputStream>, len: u64));
    method!(inst, get, "[method]output-stream.splice", Out::splice(d: R<OutputStream>, s: R<InputStream>, len: u64));
    Ok(())
}

/// `write` or `blocking-write-and-flush` (`kind`) as a synchronous host function.
fn add_write<T: 'static>(
    inst: &mut wasmtime::component::LinkerInstance<'_, T>,
    get: fn(&mut T) -> &mut WasiCtx,
    name: &str,
    kind: WriteKind,
) -> wasmtime::Result<()> {
    inst.func_wrap(
        name,
        move |mut caller: StoreContextMut<'_, T>, (s, list): (Resource<OutputStream>, WasmList<u8>)| {
            let r = kind.check(list.len()).and_then(|()| {
                let buf = copy_list(get, &mut caller, &list);
                let ctx = get(caller.data_mut());
                let r = run_on_thread(kind.run(ctx, Mode::Thread, &s, &buf));
                ctx.write_scratch = buf;
                r
            });
            stream_result(get(caller.data_mut()), r)
        },
    )
}

/// The guest's `list` copied into the context's reused write buffer, taken out of the context
/// (the caller puts it back).
fn copy_list<T: 'static>(
    get: fn(&mut T) -> &mut WasiCtx,
    caller: &mut StoreContextMut<'_, T>,
    list: &WasmList<u8>,
) -> Vec<u8> {
    let mut buf = std::mem::take(&mut get(caller.data_mut()).write_scratch);
    buf.clear();
    buf.extend_from_slice(list.as_le_slice(&*caller));
    buf
}
