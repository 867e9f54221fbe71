//! What the guests share: a report of checks, printed one line each, and the exit statuses.
//!
//! Every check prints `ok NAME` (or `ok NAME = VALUE` when it checked a value) or
//! `FAIL NAME: DETAIL`. A guest ends with [`Report::finish`]:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | every check passed |
//! | 1 | at least one check failed ([`EXIT_FAILED`]) |
//! | 2 | the guest could not set up its checks, e.g. no preopened `/` ([`EXIT_SETUP`]) |
//!
//! Non-zero statuses leave through `wasi:cli/exit.exit-with-code`, so the host sees the very
//! number; 0 is a plain return from `main` (`wasi:cli/run` answering `ok`).

use std::fmt::{Debug, Display};
use std::io::Write;

use wasip2::filesystem::types::{Descriptor, ErrorCode};

/// Some check failed.
pub const EXIT_FAILED: u8 = 1;
/// The checks could not even start.
pub const EXIT_SETUP: u8 = 2;

/// Where the lines go.
#[derive(Clone, Copy)]
pub enum Sink {
    Stdout,
    Stderr,
}

/// The checks of one guest.
pub struct Report {
    sink: Sink,
    failures: u32,
}

impl Report {
    /// A report printed on stdout.
    pub fn stdout() -> Report {
        Report { sink: Sink::Stdout, failures: 0 }
    }

    /// A report printed on stderr (for a guest whose stdout carries data under test).
    pub fn stderr() -> Report {
        Report { sink: Sink::Stderr, failures: 0 }
    }

    fn line(&self, text: &str) {
        match self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Sink::Stderr => eprintln!("{text}"),
        }
    }

    /// Prints a line that is not a check.
    pub fn info(&self, text: impl Display) {
        self.line(&text.to_string());
    }

    pub fn ok(&mut self, name: &str) {
        self.line(&format!("ok {name}"));
    }

    pub fn ok_value(&mut self, name: &str, value: impl Display) {
        self.line(&format!("ok {name} = {value}"));
    }

    pub fn fail(&mut self, name: &str, detail: impl Display) {
        self.failures += 1;
        self.line(&format!("FAIL {name}: {detail}"));
    }

    /// `ok NAME` if `cond`, else `FAIL NAME: detail()`.
    pub fn check(&mut self, name: &str, cond: bool, detail: impl FnOnce() -> String) {
        if cond {
            self.ok(name);
        } else {
            self.fail(name, detail());
        }
    }

    /// `ok NAME = WANT` if `got == want`, else `FAIL NAME: got GOT, expected WANT`.
    pub fn eq<T: PartialEq + Debug>(&mut self, name: &str, got: T, want: T) {
        if got == want {
            self.ok_value(name, format!("{want:?}"));
        } else {
            self.fail(name, format!("got {got:?}, expected {want:?}"));
        }
    }

    /// Checks that a filesystem call failed with `want`, printed as its WIT name.
    pub fn fs_err<T: Debug>(&mut self, name: &str, got: Result<T, ErrorCode>, want: ErrorCode) {
        match got {
            Err(e) if e == want => self.ok_value(name, e.name()),
            Err(e) => self.fail(name, format!("got error {}, expected {}", e.name(), want.name())),
            Ok(v) => self.fail(name, format!("succeeded with {v:?}, expected error {}", want.name())),
        }
    }

    /// Checks that a filesystem call failed with one of `allowed` (where hosts may differ);
    /// prints `ok NAME` without the code, so the line is the same on every such host.
    pub fn fs_err_any<T: Debug>(&mut self, name: &str, got: Result<T, ErrorCode>, allowed: &[ErrorCode]) {
        let names = || allowed.iter().map(|e| e.name()).collect::<Vec<_>>().join(" or ");
        match got {
            Err(e) if allowed.contains(&e) => self.ok(name),
            Err(e) => self.fail(name, format!("got error {}, expected {}", e.name(), names())),
            Ok(v) => self.fail(name, format!("succeeded with {v:?}, expected error {}", names())),
        }
    }

    /// The value of a filesystem call that must succeed: `ok NAME`, or `FAIL NAME: CODE` and
    /// `None`.
    pub fn fs_ok<T>(&mut self, name: &str, got: Result<T, ErrorCode>) -> Option<T> {
        match got {
            Ok(v) => {
                self.ok(name);
                Some(v)
            }
            Err(e) => {
                self.fail(name, format!("failed with {}", e.name()));
                None
            }
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Ends the checks: returns if every check passed (`main` then returns and `wasi:cli/run`
    /// answers `ok`: status 0), else leaves with [`EXIT_FAILED`].
    pub fn finish(self) {
        let _ = std::io::stdout().flush();
        if self.failures > 0 {
            exit_with(EXIT_FAILED)
        }
    }
}

/// Leaves with `code`: 0 as `exit(ok)`, anything else through `exit-with-code`.
pub fn exit_with(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if code == 0 {
        wasip2::cli::exit::exit(Ok(()));
    } else {
        wasip2::cli::exit::exit_with_code(code);
    }
    unreachable!("exit returned")
}

/// Prints why the checks cannot start on stderr and leaves with [`EXIT_SETUP`].
pub fn setup_failed(why: impl Display) -> ! {
    eprintln!("setup: {why}");
    exit_with(EXIT_SETUP)
}

/// The preopened directory mounted at `path`.
pub fn preopen(path: &str) -> Descriptor {
    let mut found = None;
    for (dir, name) in wasip2::filesystem::preopens::get_directories() {
        if name == path && found.is_none() {
            found = Some(dir);
        }
    }
    found.unwrap_or_else(|| setup_failed(format!("no preopened directory {path:?}")))
}
