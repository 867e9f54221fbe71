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

pub use crate::stdio::{TerminalInput, TerminalOutput};

impl environment::Host for WasiCtx {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.env_pairs())
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
        Err(I32Exit::of_status(status))
    }

    fn exit_with_code(&mut self, status_code: u8) -> wasmtime::Result<()> {
        Err(I32Exit::of_code(status_code))
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
