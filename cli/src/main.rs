//! `hammertime run`: runs a WASI command — a preview1 module or a WASI 0.2 component, told
//! apart by the binary's header — with the hammertime WASI implementation, wasmtime-style;
//! `hammertime compile` compiles one ahead of time.
//!
//! Exit status: the guest's exit code masked to 8 bits (`code & 0xff`, what a Unix process
//! exit status can hold: `exit(300)` gives 44, `exit(-1)` gives 255); 134 when the guest traps
//! (as wasmtime does, 128 + SIGABRT), out of fuel included; 124 when `-W timeout` expires (as
//! `timeout(1)`); 2 for a usage error; 1 when the module or a directory cannot be opened, the
//! module does not compile or link, or any other host-side error.
//!
//! Errors are one line (`hammertime: what: cause: cause…`), never a Rust backtrace; a trap adds
//! the wasm backtrace.

#![deny(unsafe_code)]

mod options;
mod run;
mod wasi_options;
mod wasm_options;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use options::{Cli, Command};

/// Exit status for a trap: 128 + SIGABRT, as wasmtime and a native abort.
const TRAP_EXIT: u8 = 134;
/// Exit status when `-W timeout` expires: what `timeout(1)` uses.
const TIMEOUT_EXIT: u8 = 124;
/// Exit status for host-side failures (unreadable module, missing directory, link error…).
const ERROR_EXIT: u8 = 1;
/// Exit status for a usage error (what clap uses).
const USAGE_EXIT: u8 = 2;

/// A failure with the exit status to report it with.
struct Failure {
    status: u8,
    message: String,
}

fn fail(status: u8, message: impl Into<String>) -> Failure {
    Failure { status, message: message.into() }
}

/// An error and its causes on one line, `outer: inner: root` (never the Debug form, which
/// may carry a Rust backtrace).
fn chain(e: &wasmtime::Error) -> String {
    let parts: Vec<String> = e.chain().map(|c| c.to_string().trim_end().replace('\n', " ")).collect();
    parts.join(": ")
}

/// The command line, with `run` inserted for the `hammertime MODULE [ARGS]...` shorthand.
fn command_line() -> Vec<std::ffi::OsString> {
    let mut argv: Vec<_> = std::env::args_os().collect();
    if let Some(first) = argv.get(1) {
        let first = first.to_string_lossy();
        if !first.starts_with('-') && !["run", "compile", "help"].contains(&first.as_ref()) {
            argv.insert(1, "run".into());
        }
    }
    argv
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches_from(command_line());
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let outcome = match &cli.command {
        Command::Run(args) => match matches.subcommand_matches("run") {
            Some(run_matches) => run::run(args, run_matches),
            None => Err(fail(USAGE_EXIT, "hammertime: the run subcommand was not parsed")),
        },
        Command::Compile(args) => run::compile(args),
    };
    let status = match outcome {
        Ok(code) => code,
        Err(Failure { status, message }) => {
            let _ = std::io::stdout().flush();
            eprintln!("{message}");
            status
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    ExitCode::from(status)
}
