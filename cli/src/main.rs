//! `hammertime run`: runs a WASI command — a preview1 module or a WASI 0.2 component, told
//! apart by the binary's header — with the hammertime WASI implementation, wasmtime-style.
//!
//! Exit status: the guest's exit code masked to 8 bits (`code & 0xff`, what a Unix process
//! exit status can hold: `exit(300)` gives 44, `exit(-1)` gives 255); 134 when the guest traps
//! (as wasmtime does, 128 + SIGABRT); 2 for a usage error; 1 when the module or a directory
//! cannot be opened, the module does not compile or link, or any other host-side error.

use std::io::{IsTerminal, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use hammertime::vfs::{HostDir, MemFs};
use hammertime::{BuildError, WasiCtx};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, Module, Trap};

/// Exit status for a trap: 128 + SIGABRT, as wasmtime and a native abort.
const TRAP_EXIT: u8 = 134;
/// Exit status for host-side failures (unreadable module, missing directory, link error…).
const ERROR_EXIT: u8 = 1;
/// Exit status for a usage error (what clap uses).
const USAGE_EXIT: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "hammertime",
    version,
    about = "Run WASI commands (preview1 modules and WASI 0.2 components) on Wasmtime, sandboxed by hammertime.",
    after_help = "`hammertime MODULE [ARGS]...` is short for `hammertime run MODULE [ARGS]...` \
                  (when MODULE is not `run` or `help`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a WASI command: a preview1 module (its `_start`) or a WASI 0.2 component (its
    /// `wasi:cli/run`), binary or text.
    Run(RunArgs),
}

const RUN_AFTER_HELP: &str = "\
MODULE is a preview1 module or a WASI 0.2 component (.wasm or .wat), recognised by its header;
every option applies to both. Components see the preopens through wasi:filesystem/preopens.
Preopens get descriptors 3, 4, ... in the order given; --tcplisten sockets follow them.
Stdio is inherited; argv[0] is MODULE as given. Exit status: the guest's exit code & 0xff,
134 on a trap, 2 on a usage error, 1 on any other error (module or directory unreadable...).

Examples:
  hammertime run hello.wasm
  hammertime run --dir . cat.wasm notes.txt
  hammertime run --dir /srv/site::/www --ro-dir /etc/ssl::/ssl server.wasm
  hammertime run --mem-dir ./fixtures::/data --mem-dir /tmp app.wasm --verbose
  hammertime run --env RUST_LOG=debug --env HOME --tcplisten 127.0.0.1:8080 app.wasm
  hammertime run --trace --no-cache test.wat";

#[derive(Args, Debug)]
#[command(after_help = RUN_AFTER_HELP)]
struct RunArgs {
    /// Preopen host directory HOST read-write at GUEST (default HOST)
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_host_dir)]
    dirs: Vec<DirSpec>,

    /// Preopen host directory HOST read-only at GUEST (default HOST)
    #[arg(long = "ro-dir", value_name = "HOST[::GUEST]", value_parser = parse_host_dir)]
    ro_dirs: Vec<DirSpec>,

    /// Preopen an in-memory directory at GUEST, seeded with a copy of HOST
    #[arg(long = "mem-dir", value_name = "[HOST::]GUEST", value_parser = parse_mem_dir)]
    mem_dirs: Vec<MemDirSpec>,

    /// The most bytes (data, names and link targets) each --mem-dir holds, with an optional
    /// K, M or G suffix (powers of 1024); past it the guest gets ENOSPC
    #[arg(long = "mem-dir-size", value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    mem_dir_size: u64,

    /// The most files, directories and links each --mem-dir holds (ENOSPC past it)
    #[arg(long = "mem-dir-inodes", value_name = "N", default_value_t = 1 << 20)]
    mem_dir_inodes: u64,

    /// Set KEY=VALUE for the guest; just KEY passes the host's value (if set)
    #[arg(long = "env", value_name = "KEY[=VALUE]", value_parser = parse_env)]
    envs: Vec<EnvSpec>,

    /// Pass the whole host environment (--env overrides it)
    #[arg(long)]
    inherit_env: bool,

    /// Listen on ADDR (e.g. 127.0.0.1:8080), preopened for sock_accept
    #[arg(long = "tcplisten", value_name = "ADDR")]
    tcplisten: Vec<String>,

    /// Log every WASI call to stderr (filter `hammertime=trace`)
    #[arg(long)]
    trace: bool,

    /// Disable Wasmtime's compilation cache (on by default)
    #[arg(long)]
    no_cache: bool,

    /// The module or component (.wasm or .wat), then argv[1..]: all after MODULE goes to the guest
    #[arg(
        value_name = "MODULE",
        value_names = ["MODULE", "ARGS"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    module_and_args: Vec<std::ffi::OsString>,
}

#[derive(Clone, Debug)]
struct DirSpec {
    host: PathBuf,
    guest: String,
}

#[derive(Clone, Debug)]
struct MemDirSpec {
    host: Option<PathBuf>,
    guest: String,
}

#[derive(Clone, Debug)]
enum EnvSpec {
    Set(String, String),
    PassThrough(String),
}

fn check_guest(guest: &str) -> Result<(), String> {
    if guest.is_empty() { Err("the guest path is empty".into()) } else { Ok(()) }
}

fn parse_host_dir(s: &str) -> Result<DirSpec, String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() {
        return Err("the host directory is empty".into());
    }
    check_guest(guest)?;
    Ok(DirSpec { host: PathBuf::from(host), guest: guest.to_owned() })
}

fn parse_mem_dir(s: &str) -> Result<MemDirSpec, String> {
    match s.split_once("::") {
        Some((host, guest)) => {
            if host.is_empty() {
                return Err("the host directory before `::` is empty".into());
            }
            check_guest(guest)?;
            Ok(MemDirSpec { host: Some(PathBuf::from(host)), guest: guest.to_owned() })
        }
        None => {
            check_guest(s)?;
            Ok(MemDirSpec { host: None, guest: s.to_owned() })
        }
    }
}

/// A size in bytes: digits with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.strip_suffix(['K', 'k']) {
        Some(d) => (d, 10),
        None => match s.strip_suffix(['M', 'm']) {
            Some(d) => (d, 20),
            None => match s.strip_suffix(['G', 'g']) {
                Some(d) => (d, 30),
                None => (s, 0),
            },
        },
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size (digits, then K, M or G)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_env(s: &str) -> Result<EnvSpec, String> {
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    if key.is_empty() {
        return Err("the variable name is empty".into());
    }
    if s.contains('\0') {
        return Err("a NUL byte is not allowed".into());
    }
    Ok(match value {
        Some(v) => EnvSpec::Set(key.to_owned(), v.to_owned()),
        None => EnvSpec::PassThrough(key.to_owned()),
    })
}

/// A preopened directory, in command-line order.
enum Mount {
    Host { spec: DirSpec, read_only: bool },
    Mem(MemDirSpec),
}

/// The command line, with `run` inserted for the `hammertime MODULE [ARGS]...` shorthand.
fn command_line() -> Vec<std::ffi::OsString> {
    let mut argv: Vec<_> = std::env::args_os().collect();
    if let Some(first) = argv.get(1) {
        let first = first.to_string_lossy();
        if !first.starts_with('-') && first != "run" && first != "help" {
            argv.insert(1, "run".into());
        }
    }
    argv
}

/// The directory preopens in the order they appeared on the command line.
fn mounts_in_order(run: &RunArgs, matches: &ArgMatches) -> Vec<Mount> {
    let indices = |id: &str| -> Vec<usize> { matches.indices_of(id).map(Iterator::collect).unwrap_or_default() };
    let mut mounts: Vec<(usize, Mount)> = Vec::new();
    for (i, spec) in indices("dirs").into_iter().zip(&run.dirs) {
        mounts.push((i, Mount::Host { spec: spec.clone(), read_only: false }));
    }
    for (i, spec) in indices("ro_dirs").into_iter().zip(&run.ro_dirs) {
        mounts.push((i, Mount::Host { spec: spec.clone(), read_only: true }));
    }
    for (i, spec) in indices("mem_dirs").into_iter().zip(&run.mem_dirs) {
        mounts.push((i, Mount::Mem(spec.clone())));
    }
    mounts.sort_by_key(|(i, _)| *i);
    mounts.into_iter().map(|(_, m)| m).collect()
}

/// A failure with the exit status to report it with.
struct Failure {
    status: u8,
    message: String,
}

fn fail(status: u8, message: impl Into<String>) -> Failure {
    Failure { status, message: message.into() }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches_from(command_line());
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let Command::Run(run) = cli.command;
    let run_matches = matches.subcommand_matches("run").expect("the run subcommand was parsed");
    let status = match execute(&run, run_matches) {
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

fn execute(run: &RunArgs, matches: &ArgMatches) -> Result<u8, Failure> {
    if run.trace {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(tracing_subscriber::EnvFilter::new("hammertime=trace"))
            .init();
    }

    let (module, guest_args) = run.module_and_args.split_first().expect("clap requires MODULE");
    let module = PathBuf::from(module);
    let module_name = module.display().to_string();
    let mut args = vec![module.to_string_lossy().into_owned()];
    for arg in guest_args {
        let arg = arg
            .to_str()
            .ok_or_else(|| fail(USAGE_EXIT, format!("hammertime: guest argument {arg:?} is not valid UTF-8")))?;
        args.push(arg.to_owned());
    }
    let bytes = std::fs::read(&module)
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot read module {module_name}: {e}")))?;

    let mut builder = WasiCtx::builder().inherit_stdio().args(args);
    if run.inherit_env {
        builder = builder.inherit_env();
    }
    for env in &run.envs {
        match env {
            EnvSpec::Set(k, v) => builder = builder.env(k, v),
            EnvSpec::PassThrough(k) => {
                if let Some(v) = std::env::var_os(k) {
                    let v = v.into_string().map_err(|_| {
                        fail(USAGE_EXIT, format!("hammertime: the value of the host variable {k} is not UTF-8"))
                    })?;
                    builder = builder.env(k, v);
                }
            }
        }
    }
    for mount in mounts_in_order(run, matches) {
        builder = match mount {
            Mount::Host { spec, read_only } => {
                let opened = if read_only { HostDir::open_read_only(&spec.host) } else { HostDir::open(&spec.host) };
                let dir = opened.map_err(|e| {
                    fail(ERROR_EXIT, format!("hammertime: cannot open directory {}: {e}", spec.host.display()))
                })?;
                builder.preopen(spec.guest, dir)
            }
            Mount::Mem(MemDirSpec { host, guest }) => {
                let fs = MemFs::builder().quota(run.mem_dir_size).max_inodes(run.mem_dir_inodes).build();
                if let Some(host) = host {
                    fs.copy_from_host_dir(&host, "").map_err(|e| {
                        fail(ERROR_EXIT, format!("hammertime: cannot copy directory {}: {e}", host.display()))
                    })?;
                }
                builder.preopen(guest, fs)
            }
        };
    }
    for addr in &run.tcplisten {
        let listener = TcpListener::bind(addr.as_str())
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot listen on {addr}: {e}")))?;
        builder = builder.preopen_socket(listener);
    }
    let ctx = builder.build().map_err(|e| {
        let status = if matches!(e, BuildError::Open { .. }) { ERROR_EXIT } else { USAGE_EXIT };
        fail(status, format!("hammertime: {e}"))
    })?;

    let engine = make_engine(!run.no_cache)
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot configure Wasmtime: {e:?}")))?;
    let binary = wat::parse_bytes(&bytes)
        .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot compile module {module_name}: {e}")))?;
    let outcome = if is_component(&binary) {
        let component = Component::new(&engine, &binary)
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot compile component {module_name}: {e:?}")))?;
        hammertime::p2::run(&engine, &component, ctx)
    } else {
        let module = Module::new(&engine, &binary)
            .map_err(|e| fail(ERROR_EXIT, format!("hammertime: cannot compile module {module_name}: {e:?}")))?;
        hammertime::run(&engine, &module, ctx)
    };
    match outcome {
        Ok(code) => Ok((code & 0xff) as u8),
        Err(e) if e.is::<Trap>() => Err(fail(TRAP_EXIT, format!("hammertime: {module_name} trapped: {e:?}"))),
        Err(e) => Err(fail(ERROR_EXIT, format!("hammertime: cannot run module {module_name}: {e:?}"))),
    }
}

/// Whether `binary` is a component: its header's version and layer are `0d 00 01 00` (a core
/// module has `01 00 00 00`).
fn is_component(binary: &[u8]) -> bool {
    binary.starts_with(b"\0asm\x0d\x00\x01\x00")
}

/// An engine with Wasmtime's compilation cache in its default location unless `cache` is
/// false; a cache that cannot be set up is reported once on stderr and left out.
fn make_engine(cache: bool) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    if cache {
        match wasmtime::Cache::from_file(None) {
            Ok(c) => {
                config.cache(Some(c));
            }
            Err(e) => eprintln!("hammertime: warning: compilation cache disabled: {e:#}"),
        }
    }
    Engine::new(&config)
}
