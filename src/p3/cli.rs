//! `wasi:cli@0.3.0`: `environment`, `exit`, `stdin`/`stdout`/`stderr` as streams, and the
//! `terminal-*` interfaces, over the context's arguments, environment and standard streams.
//!
//! - `stdin.read-via-stream` gives a `stream<u8>` whose reads go straight from the context's
//!   reader into the guest's buffer (nothing is kept on the host): a read returns what one
//!   `read` of the reader gives, the end of input ends the stream, and the result future is
//!   `ok` (or the reader's error). The host's own stdin is waited for (interruptibly, without
//!   blocking the guest's other tasks) before it is read; any other reader is read in the call.
//! - `stdout`/`stderr.write-via-stream` take the guest's `stream<u8>`: each write goes to the
//!   context's writer at once and is flushed (bytes reach the writer while the stream is
//!   open), straight from the guest's buffer. A writer's error ends the stream (`pipe` for a
//!   reader gone, else `io`) after the bytes it took; the result future tells it.

use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::event::PollFlags;
use wasmtime::component::{
    Access, Destination, FutureReader, Resource, Source, StreamConsumer, StreamProducer, StreamReader, StreamResult,
};
use wasmtime::{AsContextMut, StoreContextMut};

use super::HasWasi;
use super::bindings::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr, terminal_stdin,
    terminal_stdout, types,
};
use super::outcome::{Outcome, outcome};
use super::waiting::Waiting;
use crate::stdio::{EmptyInput, Output, TerminalInput, TerminalOutput};
use crate::vfs::Errno;
use crate::wait::Plan;
use crate::{I32Exit, WasiCtx};

use types::ErrorCode;

impl environment::Host for WasiCtx {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.env_pairs())
    }

    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.args().map(str::to_owned).collect())
    }

    fn get_initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

impl exit::Host for WasiCtx {
    fn exit(&mut self, status: Result<(), ()>) -> wasmtime::Result<()> {
        Err(I32Exit::of_status(status))
    }

    fn exit_with_code(&mut self, status_code: u8) -> wasmtime::Result<()> {
        Err(I32Exit::of_code(status_code))
    }
}

impl types::Host for WasiCtx {}
impl stdin::Host for WasiCtx {}
impl stdout::Host for WasiCtx {}
impl stderr::Host for WasiCtx {}

/// The `error-code` of a stdio error.
fn code(e: Errno) -> ErrorCode {
    match e {
        Errno::Pipe => ErrorCode::Pipe,
        Errno::Ilseq => ErrorCode::IllegalByteSequence,
        _ => ErrorCode::Io,
    }
}

/// The producer of a stdin stream.
struct StdinProducer<T: 'static> {
    get: fn(&mut T) -> &mut WasiCtx,
    result: Outcome<ErrorCode>,
    /// The host's stdin (or a tokio stdin) not readable yet: what the read waits for.
    waiting: Waiting,
}

impl<T: 'static> StreamProducer<T> for StdinProducer<T> {
    type Item = u8;
    type Buffer = Option<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, T>,
        mut destination: Destination<'a, u8, Option<u8>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let want = destination.remaining(&mut store).unwrap_or(super::HOST_READ_MAX);
        if want == 0 {
            // A zero-length read asks whether a read would make progress: it may try.
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let ctx = (this.get)(store.data_mut());
        // The host's own stdin is read only once readable: the read then cannot block.
        let not_ready = match ctx.stdio.host_stdin() {
            Some(fd) if !crate::wait::ready_now(&fd, PollFlags::IN) => {
                Some(Plan::fd(std::sync::Arc::new(crate::wait::HostStdin), PollFlags::IN))
            }
            _ => None,
        };
        if let Some(plan) = not_ready {
            let interrupt = ctx.interrupt.clone();
            return this.waiting.then_retry(cx, &interrupt, || plan, finish);
        }
        // The reader, out of the context while the guest's buffer is borrowed.
        let mut reader = std::mem::replace(&mut ctx.stdio.stdin, Box::new(EmptyInput));
        let read = {
            let mut direct = destination.reborrow().as_direct(store.as_context_mut(), want);
            let buf = direct.remaining();
            let n = buf.len().min(want);
            let read = crate::backend::read_some(reader.as_mut(), &mut buf[..n]);
            if let Ok(n) = read {
                direct.mark_written(n);
            }
            read
        };
        let ctx = (this.get)(store.data_mut());
        ctx.stdio.stdin = reader;
        match read {
            Ok(0) => Poll::Ready(Ok(StreamResult::Dropped)),
            Ok(_) => Poll::Ready(Ok(StreamResult::Completed)),
            // A tokio stdin with nothing yet.
            Err(Errno::Again) if ctx.stdio.stdin_wait().is_some() => {
                let plan = Plan { ready: ctx.stdio.stdin_wait().into_iter().collect(), ..Plan::default() };
                let interrupt = ctx.interrupt.clone();
                this.waiting.then_retry(cx, &interrupt, || plan, finish)
            }
            Err(e) => {
                this.result.send(Err(code(e)));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
        }
    }
}

impl<T: Send + 'static> stdin::HostWithStore<T> for HasWasi {
    fn read_via_stream(
        mut host: Access<'_, T, Self>,
    ) -> wasmtime::Result<(StreamReader<u8>, FutureReader<Result<(), ErrorCode>>)> {
        let (result, settled) = outcome();
        let producer = StdinProducer { get: host.getter(), result, waiting: Waiting::default() };
        let stream = StreamReader::new(&mut host, producer)?;
        let future = FutureReader::new(&mut host, settled)?;
        Ok((stream, future))
    }
}

/// The consumer of a stdout or stderr stream.
struct OutputConsumer<T: 'static> {
    get: fn(&mut T) -> &mut WasiCtx,
    out: Output,
    result: Outcome<ErrorCode>,
    /// A tokio output that has not taken the bytes held yet: what the write waits for.
    waiting: Waiting,
}

impl<T: 'static> StreamConsumer<T> for OutputConsumer<T> {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<T>,
        mut source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let out = this.out;
        let ctx = (this.get)(store.data_mut());
        // A tokio output takes bytes only as fast as its writer: wait for room.
        if let Some(ready) = ctx.stdio.output_wait(out)
            && ctx.stdio.output_room(out, 1) == 0
        {
            let interrupt = ctx.interrupt.clone();
            return this.waiting.then_retry(cx, &interrupt, || Plan::ready(ready), finish);
        }
        if source.remaining(&mut store) == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let ctx = (this.get)(store.data_mut());
        let room = ctx.stdio.output_room(out, u64::MAX);
        let slot = match out {
            Output::Stdout => &mut ctx.stdio.stdout,
            Output::Stderr => &mut ctx.stdio.stderr,
        };
        let mut writer = std::mem::replace(slot, Box::new(crate::stdio::Discard));
        let (written, error) = {
            let mut direct = source.reborrow().as_direct(store.as_context_mut());
            let bytes = direct.remaining();
            let bytes = &bytes[..bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
            let (n, error) = crate::backend::write_all_counted(bytes, |b| writer.write(b));
            let error = error.or_else(|| writer.flush().err().map(Errno::from));
            direct.mark_read(n as usize);
            (n, error)
        };
        let ctx = (this.get)(store.data_mut());
        match out {
            Output::Stdout => ctx.stdio.stdout = writer,
            Output::Stderr => ctx.stdio.stderr = writer,
        }
        let error = error.or_else(|| ctx.stdio.output_result(out).err());
        match error {
            None => Poll::Ready(Ok(StreamResult::Completed)),
            Some(e) => {
                let _ = written;
                this.result.send(Err(code(e)));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
        }
    }
}

/// `write-via-stream` of stdout or stderr.
fn write_via_stream<T: Send + 'static>(
    mut host: Access<'_, T, HasWasi>,
    data: StreamReader<u8>,
    out: Output,
) -> wasmtime::Result<FutureReader<Result<(), ErrorCode>>> {
    let (result, settled) = outcome();
    let consumer = OutputConsumer { get: host.getter(), out, result, waiting: Waiting::default() };
    data.pipe(&mut host, consumer)?;
    FutureReader::new(&mut host, settled)
}

impl<T: Send + 'static> stdout::HostWithStore<T> for HasWasi {
    fn write_via_stream(
        host: Access<'_, T, Self>,
        data: StreamReader<u8>,
    ) -> wasmtime::Result<FutureReader<Result<(), ErrorCode>>> {
        write_via_stream(host, data, Output::Stdout)
    }
}

impl<T: Send + 'static> stderr::HostWithStore<T> for HasWasi {
    fn write_via_stream(
        host: Access<'_, T, Self>,
        data: StreamReader<u8>,
    ) -> wasmtime::Result<FutureReader<Result<(), ErrorCode>>> {
        write_via_stream(host, data, Output::Stderr)
    }
}

impl terminal_input::Host for WasiCtx {}

impl terminal_input::HostTerminalInput for WasiCtx {
    fn drop(&mut self, t: Resource<TerminalInput>) -> wasmtime::Result<()> {
        self.table.delete(t)?;
        Ok(())
    }
}

impl terminal_output::Host for WasiCtx {}

impl terminal_output::HostTerminalOutput for WasiCtx {
    fn drop(&mut self, t: Resource<TerminalOutput>) -> wasmtime::Result<()> {
        self.table.delete(t)?;
        Ok(())
    }
}

impl terminal_stdin::Host for WasiCtx {
    fn get_terminal_stdin(&mut self) -> wasmtime::Result<Option<Resource<TerminalInput>>> {
        self.terminal_stdin()
    }
}

impl terminal_stdout::Host for WasiCtx {
    fn get_terminal_stdout(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        self.terminal_output(Output::Stdout)
    }
}

impl terminal_stderr::Host for WasiCtx {
    fn get_terminal_stderr(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        self.terminal_output(Output::Stderr)
    }
}
