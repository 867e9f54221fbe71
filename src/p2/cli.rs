//! `wasi:cli`: `environment`, `exit`, `stdin`/`stdout`/`stderr` and the `terminal-*`
//! interfaces, over the context's arguments, environment and standard streams.

use wasmtime::component::Resource;

use crate::p2::bindings::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr, terminal_stdin,
    terminal_stdout,
};
use crate::p2::io::{InputStream, OutputStream};
use crate::stdio::Output;
use crate::{I32Exit, WasiCtx};

/// A `wasi:cli/terminal-input.terminal-input`: stdin is a terminal.
#[derive(Debug)]
pub struct TerminalInput;

/// A `wasi:cli/terminal-output.terminal-output`: stdout or stderr is a terminal.
#[derive(Debug)]
pub struct TerminalOutput;

impl environment::Host for WasiCtx {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .env()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.to_owned(), String::new()),
            })
            .collect())
    }

    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.args().map(str::to_owned).collect())
    }

    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

impl exit::Host for WasiCtx {
    fn exit(&mut self, status: Result<(), ()>) -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(I32Exit(if status.is_ok() { 0 } else { 1 })))
    }

    fn exit_with_code(&mut self, status_code: u8) -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(I32Exit(i32::from(status_code))))
    }
}

impl stdin::Host for WasiCtx {
    fn get_stdin(&mut self) -> wasmtime::Result<Resource<InputStream>> {
        Ok(self.table.push(InputStream::Stdin)?)
    }
}

impl stdout::Host for WasiCtx {
    fn get_stdout(&mut self) -> wasmtime::Result<Resource<OutputStream>> {
        Ok(self.table.push(OutputStream::Stdio(Output::Stdout))?)
    }
}

impl stderr::Host for WasiCtx {
    fn get_stderr(&mut self) -> wasmtime::Result<Resource<OutputStream>> {
        Ok(self.table.push(OutputStream::Stdio(Output::Stderr))?)
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
        Ok(if self.stdio.tty[0] { Some(self.table.push(TerminalInput)?) } else { None })
    }
}

impl terminal_stdout::Host for WasiCtx {
    fn get_terminal_stdout(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        Ok(if self.stdio.tty[1] { Some(self.table.push(TerminalOutput)?) } else { None })
    }
}

impl terminal_stderr::Host for WasiCtx {
    fn get_terminal_stderr(&mut self) -> wasmtime::Result<Option<Resource<TerminalOutput>>> {
        Ok(if self.stdio.tty[2] { Some(self.table.push(TerminalOutput)?) } else { None })
    }
}
