//! The command line: `hammertime run` and `hammertime compile` and their options, parsed into
//! values the runner uses (the `-W` and `-S` options in `wasm_options.rs` and
//! `wasi_options.rs`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `hammertime --version`: ours and the Wasmtime we run on.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (Wasmtime ", env!("HAMMERTIME_WASMTIME_VERSION"), ")");

/// The whole command line.
#[derive(Parser, Debug)]
#[command(
    name = "hammertime",
    version = VERSION,
    about = "Run WASI commands (preview1 modules and WASI 0.2 components) on Wasmtime, sandboxed by hammertime.",
    after_help = "`hammertime MODULE [ARGS]...` is short for `hammertime run MODULE [ARGS]...` \
                  (when MODULE is not `run`, `compile` or `help`)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a WASI command: a preview1 module (its `_start`) or a WASI 0.2 component (its
    /// `wasi:cli/run`), binary or text.
    Run(Box<RunArgs>),
    /// Compile a module or component ahead of time into a `.cwasm` file for `run
    /// --allow-precompiled` (same -W options on both sides).
    Compile(CompileArgs),
}

const RUN_AFTER_HELP: &str = "\
MODULE is a preview1 module or a WASI 0.2 component (.wasm or .wat), recognised by its header;
every option applies to both. Components see the preopens
through wasi:filesystem/preopens. Preopens get descriptors 3, 4, ... in the order given;
--tcplisten sockets follow them. Stdio is inherited; argv[0] is MODULE as given.

-W takes wasmtime's spellings, comma-separated or repeated: the proposals (exceptions, gc,
simd, threads, ...: `-W help` lists them, on or off as in `wasmtime run`) as NAME[=y|n], and
the limits timeout=DURATION (10s, 500ms, 2m; a bare number is seconds), fuel=N,
max-memory-size=BYTES (a memory.grow past it returns -1), max-table-elements=N,
max-wasm-stack=BYTES, max-instances=N, max-tables=N, max-memories=N,
trap-on-grow-failure[=y|n], and more.

-S takes wasmtime's WASI options (`-S help` lists them): inherit-network (every address for
TCP and UDP), allow-ip-name-lookup, tcp=n or udp=n (no sockets of that protocol; by default
sockets can be created but use no address), inherit-env, max-resources=N,
max-random-size=BYTES, tcplisten=ADDR.

Exit status: the guest's exit code & 0xff; 134 on a trap (out of fuel included); 124 when
-W timeout expires; 2 on a usage error; 1 on any other error (module or directory unreadable,
module does not compile or link...).

Examples:
  hammertime run hello.wasm
  hammertime run --dir . cat.wasm notes.txt
  hammertime run --dir /srv/site::/www --ro-dir /etc/ssl::/ssl server.wasm
  hammertime run --dir site.tar.gz::/www --dir stdlib.zip::/lib server.wasm
  hammertime run --mem-dir ./fixtures::/data --mem-dir /tmp app.wasm --verbose
  hammertime run --overlay python-stdlib.tar::/lib --overlay .::/work build.wasm
  hammertime run --env RUST_LOG=debug --env HOME --tcplisten 127.0.0.1:8080 app.wasm
  hammertime run -W timeout=10s,fuel=1000000000,max-memory-size=67108864 untrusted.wasm
  hammertime run -S inherit-network,allow-ip-name-lookup client.wasm
  hammertime run --dir=/ -W max-wasm-stack=8388608 os.test.wasm -test.v     (Go's test runner)
  hammertime run --invoke add math.wat 1 2
  hammertime run --invoke 'add(1, 2)' adder.wasm            (a component: WAVE call and results)
  hammertime compile app.wasm -o app.cwasm && hammertime run --allow-precompiled app.cwasm
  hammertime run --trace --no-cache test.wat";

/// The options that shape compiled code and execution: `-W`, shared by `run` and `compile`.
#[derive(Args, Debug)]
pub struct WasmArgs {
    /// Wasm proposals and limits, wasmtime's spellings: NAME[=y|n] or KEY=VALUE, comma-separated
    /// or repeated (`-W help` lists them)
    #[arg(short = 'W', long = "wasm", value_name = "KEY[=VAL[,..]]", value_parser = crate::wasm_options::parse_raw)]
    pub wasm: Vec<String>,
}

/// `hammertime run`.
#[derive(Args, Debug)]
#[command(after_help = RUN_AFTER_HELP)]
pub struct RunArgs {
    /// Preopen host directory HOST read-write at GUEST (default HOST); a tar, tar.gz or zip
    /// file HOST (recognised by its content) is served read-only, in memory
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_host_dir)]
    pub dirs: Vec<DirSpec>,

    /// Preopen host directory (or archive) HOST read-only at GUEST (default HOST)
    #[arg(long = "ro-dir", value_name = "HOST[::GUEST]", value_parser = parse_host_dir)]
    pub ro_dirs: Vec<DirSpec>,

    /// Preopen LOWER (a host directory, or a tar, tar.gz or zip file) read-only at GUEST (default
    /// LOWER) under an in-memory layer that takes the guest's changes (copy-on-write, dropped at
    /// exit; bounded by --mem-dir-size and --mem-dir-inodes)
    #[arg(long = "overlay", value_name = "LOWER[::GUEST]", value_parser = parse_host_dir)]
    pub overlays: Vec<DirSpec>,

    /// Preopen an in-memory directory at GUEST, seeded with a copy of HOST
    #[arg(long = "mem-dir", value_name = "[HOST::]GUEST", value_parser = parse_mem_dir)]
    pub mem_dirs: Vec<MemDirSpec>,

    /// The most bytes (data, names and link targets) each --mem-dir (and each --overlay's
    /// in-memory layer) holds, with an optional
    /// K, M or G suffix (powers of 1024); past it the guest gets ENOSPC
    #[arg(long = "mem-dir-size", value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub mem_dir_size: u64,

    /// The most files, directories and links each --mem-dir (and each --overlay's in-memory
    /// layer) holds (ENOSPC past it)
    #[arg(long = "mem-dir-inodes", value_name = "N", default_value_t = 1 << 20)]
    pub mem_dir_inodes: u64,

    /// Set KEY=VALUE for the guest; just KEY passes the host's value (if set)
    #[arg(long = "env", value_name = "KEY[=VALUE]", value_parser = parse_env)]
    pub envs: Vec<EnvSpec>,

    /// Pass the whole host environment (--env overrides it)
    #[arg(long)]
    pub inherit_env: bool,

    /// Listen on ADDR (e.g. 127.0.0.1:8080), preopened for sock_accept
    #[arg(long = "tcplisten", value_name = "ADDR")]
    pub tcplisten: Vec<String>,

    /// Log every WASI call to stderr (filter `hammertime=trace`)
    #[arg(long)]
    pub trace: bool,

    /// Disable Wasmtime's compilation cache (on by default)
    #[arg(long)]
    pub no_cache: bool,

    /// Core module: call the export NAME instead of `_start` (after `_initialize`, if exported),
    /// with ARGS parsed by its parameter types (i32, i64, f32, f64); print its results, one per
    /// line. Component: NAME is a WAVE call, 'name(arg, ...)', of the one exported function of
    /// that name (in the component or an exported instance); print its results in WAVE
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,

    /// Run at most N units of fuel (about one per instruction), then trap; the same as -W fuel=N
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,

    /// Accept a precompiled `.cwasm` (from `hammertime compile`) as MODULE. Only for files you
    /// trust: a precompiled file is machine code, loaded without validation
    #[arg(long)]
    pub allow_precompiled: bool,

    #[command(flatten)]
    pub wasm: WasmArgs,

    /// WASI options, wasmtime's spellings: NAME[=y|n] or KEY=VALUE, comma-separated or repeated
    /// (`-S help` lists them)
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VAL[,..]]", value_parser = crate::wasi_options::parse_raw)]
    pub wasi: Vec<String>,

    /// The module or component (.wasm or .wat), then argv[1..]: all after MODULE goes to the guest
    #[arg(
        value_name = "MODULE",
        value_names = ["MODULE", "ARGS"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_parser = clap::value_parser!(OsString)
    )]
    pub module_and_args: Vec<OsString>,
}

/// `hammertime compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Where to write the compiled file (default: MODULE with the extension `.cwasm`)
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub wasm: WasmArgs,

    /// The module or component (.wasm or .wat)
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,
}

/// `--dir`, `--ro-dir` and `--overlay`.
#[derive(Clone, Debug)]
pub struct DirSpec {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
}

/// `--mem-dir`.
#[derive(Clone, Debug)]
pub struct MemDirSpec {
    /// The host directory copied in, if any.
    pub host: Option<PathBuf>,
    /// Where the guest sees it.
    pub guest: String,
}

/// `--env`.
#[derive(Clone, Debug)]
pub enum EnvSpec {
    /// `KEY=VALUE`.
    Set(String, String),
    /// `KEY`: the host's value, if set.
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
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
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

/// A yes-or-no option value of `-W` or `-S` (`flag`), as wasmtime takes it: nothing, `y`, `yes`
/// or `true` is yes; `n`, `no` or `false` is no.
pub(crate) fn parse_bool(flag: &str, key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(v) => Err(format!("-{flag} {key}={v}: expected y or n")),
    }
}

/// The `KEY[=VALUE]` items of `-W` or `-S` values, each comma-separated, in order.
pub(crate) fn key_values(raw: &[String]) -> impl Iterator<Item = (&str, Option<&str>)> {
    raw.iter().flat_map(|r| r.split(',')).map(|item| match item.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (item, None),
    })
}
