//! The per-guest context ([`WasiCtx`]) and its builder ([`WasiCtxBuilder`]).

use std::io::{IsTerminal, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use crate::clocks::{HostMonotonicClock, MonotonicClock, SystemClock, WallClock};
use crate::fdtable::{Descriptor, FdTable, Kind};
use crate::limits::Limits;
use crate::random::{OsRandom, RandomSource, SeededRandom};
use crate::rights;
use crate::stdio::{Discard, EmptyInput, InputBuffer, Output, Stdio};
use crate::vfs::{DirPerms, FilePerms, FileSystem, HostDir, Restricted};
use crate::wait::InterruptHandle;

/// Everything a guest sees of the outside world: arguments, environment, clocks, randomness and
/// its descriptors (stdio, preopened directories and sockets).
///
/// Made with [`WasiCtx::builder`]; linked into a [`wasmtime::Linker`] with
/// [`crate::add_to_linker`] (modules) or a component linker with [`crate::p2::add_to_linker`]
/// (components). It is `Send`, so the store that holds it can move between threads.
///
/// ```
/// use hammertime::{WasiCtx, vfs::MemFs};
/// let ctx = WasiCtx::builder().args(["prog", "x"]).env("LANG", "C").preopen(MemFs::new(), "/").build()?;
/// assert_eq!(ctx.args().collect::<Vec<_>>(), ["prog", "x"]);
/// assert_eq!(ctx.env().collect::<Vec<_>>(), ["LANG=C"]);
/// let handle = ctx.interrupt_handle(); // ends the guest's waits from another thread
/// # drop(handle);
/// # Ok::<(), hammertime::BuildError>(())
/// ```
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) wall: Arc<dyn WallClock>,
    pub(crate) mono: Arc<dyn MonotonicClock>,
    pub(crate) random: crate::random::Randomness,
    pub(crate) fds: FdTable,
    pub(crate) stdio: Stdio,
    /// The WASI 0.2 resources the guest holds (descriptors, streams, pollables…).
    pub(crate) table: wasmtime::component::ResourceTable,
    /// A reused buffer that WASI 0.2 reads fill before the bytes read are copied out, so a read
    /// costs a copy of what it read, not a zeroed allocation of what it asked for.
    pub(crate) scratch: Vec<u8>,
    /// A reused buffer that WASI 0.2 stream writes copy the guest's bytes into (at most
    /// `check-write`'s permit, 1 MiB), instead of a new `Vec` per write.
    pub(crate) write_scratch: Vec<u8>,
    /// Where the `memory` export of the module bound with [`WasiCtx::bind_module`] is.
    pub(crate) memory_export: Option<wasmtime::ModuleExport>,
    /// The memory every call uses without looking it up: set only while one instance alone can
    /// call ([`crate::run`], [`crate::run_in_store`]).
    pub(crate) pinned_memory: Option<wasmtime::Memory>,
    /// The network policy of WASI 0.2 sockets, and the counts that bound them.
    pub(crate) net: crate::sockets::NetCtx,
    /// What the guest may use ([`WasiCtxBuilder::limits`]).
    pub(crate) limits: Limits,
    /// Ends the waits of host calls ([`WasiCtx::interrupt_handle`]).
    pub(crate) interrupt: InterruptHandle,
    /// A preview1 call was interrupted: its host function traps instead of returning an errno.
    pub(crate) pending_interrupt: bool,
}

impl WasiCtx {
    /// A builder for a context. Defaults: no arguments, no environment, empty stdin, stdout and
    /// stderr discarded, the host's clocks, OS randomness, no preopens, no network.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// Resolves `module`'s `memory` export once, so that calls from its instances find their
    /// memory without a lookup by name (the bulk of a small call's cost). Calls from instances of
    /// other modules still work, through the lookup by name. [`crate::run`] does this for you.
    pub fn bind_module(&mut self, module: &wasmtime::Module) {
        self.memory_export = module.get_export_index("memory");
    }

    /// A handle that ends this context's waiting host calls from another thread (the guest then
    /// traps with [`wasmtime::Trap::Interrupt`]); see [`InterruptHandle`].
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// The limits the context enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Waits until the tokio stdout and stderr (`stdout_async`, `stderr_async`) have taken every
    /// byte the guest wrote, and flushes them: for an embedder driving its own async store,
    /// after the guest's last call (`run_async` and `p2::run_async` do it). A guest's write
    /// already waits for its bytes but for WASI 0.2's non-blocking `write` not followed by a
    /// flush. The error is the first writer's.
    #[cfg(feature = "tokio")]
    pub async fn flush_stdio_async(&mut self) -> std::io::Result<()> {
        let io = self.stdio.async_io.clone();
        let mut result = Ok(());
        for output in [io.stdout, io.stderr].into_iter().flatten() {
            if let Err(e) = crate::stdio::tokio::drain(&output).await {
                result = result.and(Err(e));
            }
        }
        result
    }

    /// Records that a preview1 call was interrupted and returns the errno it unwinds with; the
    /// host function then traps (see `p1::add_to_linker`).
    pub(crate) fn interrupted(&mut self, i: crate::wait::Interrupted) -> crate::Errno {
        crate::wait::unwind(&mut self.pending_interrupt, i)
    }

    /// The arguments the guest sees (`argv`).
    pub fn args(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|a| std::str::from_utf8(strip_nul(a)).unwrap_or_default())
    }

    /// The environment the guest sees, as `KEY=VALUE` strings.
    pub fn env(&self) -> impl Iterator<Item = &str> {
        self.env.iter().map(|a| std::str::from_utf8(strip_nul(a)).unwrap_or_default())
    }
}

fn strip_nul(s: &[u8]) -> &[u8] {
    s.strip_suffix(&[0]).unwrap_or(s)
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args().collect::<Vec<_>>())
            .field("env", &self.env().collect::<Vec<_>>())
            .field("fds", &self.fds.fds().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why [`WasiCtxBuilder::build`] refused a configuration.
///
/// ```
/// use hammertime::{BuildError, WasiCtx};
/// let err = WasiCtx::builder().env("SECRET", "a\0b").build().unwrap_err();
/// assert!(matches!(err, BuildError::Nul(_)));
/// assert_eq!(err.to_string(), "environment variable \"SECRET\" holds a NUL byte");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// An argument or environment entry holds a NUL byte: which one (`argument 2`, or
    /// `environment variable "KEY"`; never the value, which may be a secret).
    Nul(String),
    /// An environment key is empty or holds `=`.
    BadEnvKey(String),
    /// A preopen's guest path is empty, holds a NUL, or is used twice.
    BadPreopen(String),
    /// A filesystem could not open its root, or a host directory could not be opened.
    Open {
        /// The guest path of the preopen.
        guest_path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// Too many descriptors.
    TooManyDescriptors,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Nul(s) => write!(f, "{s} holds a NUL byte"),
            BuildError::BadEnvKey(k) => write!(f, "environment key is empty or holds '=': {k:?}"),
            BuildError::BadPreopen(p) => write!(f, "preopen guest path is empty, holds NUL or is used twice: {p:?}"),
            BuildError::Open { guest_path, error } => write!(f, "cannot open preopen {guest_path:?}: {error}"),
            BuildError::TooManyDescriptors => f.write_str("too many descriptors"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Open { error, .. } => Some(error),
            _ => None,
        }
    }
}

enum Preopen {
    Fs { guest_path: String, fs: Arc<dyn FileSystem> },
    HostDir { guest_path: String, host_path: std::path::PathBuf, perms: (DirPerms, FilePerms) },
    Socket(TcpListener),
}

/// Builds a [`WasiCtx`]. Each method changes the builder in place and returns it, so calls
/// chain, and a configuration can also be made step by step ([`WasiCtxBuilder::build`] shows
/// one).
///
/// ```
/// use hammertime::{WasiCtx, stdio::OutputBuffer, vfs::MemFs};
/// let out = OutputBuffer::new();
/// let ctx = WasiCtx::builder()
///     .arg("prog")
///     .env("HOME", "/")
///     .stdin_bytes("input")
///     .stdout(out.clone())
///     .preopen(MemFs::new(), "/")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The reader, whether it is a terminal, whether it is the host's own stdin.
    stdin: (Box<dyn Read + Send>, bool, bool),
    stdout: (Box<dyn Write + Send>, bool),
    stderr: (Box<dyn Write + Send>, bool),
    // The defaults that allocate (the host clocks, an interrupt handle) are made by `build`,
    // so that a builder costs nothing to make and to reset.
    wall: Option<Arc<dyn WallClock>>,
    mono: Option<Arc<dyn MonotonicClock>>,
    random: Box<dyn RandomSource>,
    preopens: Vec<Preopen>,
    network: crate::net::NetworkPolicy,
    limits: Limits,
    interrupt: Option<InterruptHandle>,
    /// The tokio values among the stdio set (the `tokio` feature).
    #[cfg(feature = "tokio")]
    async_io: crate::stdio::AsyncStdio,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiCtxBuilder {
    /// A builder with the defaults described at [`WasiCtx::builder`].
    pub fn new() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: (Box::new(EmptyInput), false, false),
            stdout: (Box::new(Discard), false),
            stderr: (Box::new(Discard), false),
            wall: None,
            mono: None,
            random: Box::new(OsRandom),
            preopens: Vec::new(),
            network: crate::net::NetworkPolicy::none(),
            limits: Limits::default(),
            interrupt: None,
            #[cfg(feature = "tokio")]
            async_io: Default::default(),
        }
    }

    /// Appends one argument. The first is the program name (`argv[0]`).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends the host process's own arguments (lossily converted to UTF-8).
    pub fn inherit_args(&mut self) -> &mut Self {
        self.args.extend(std::env::args_os().map(|a| a.to_string_lossy().into_owned()));
        self
    }

    /// Sets one environment variable (a later value for the same key replaces it).
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        let value = value.into();
        match self.env.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.env.push((key, value)),
        }
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Sets every variable of the host process's environment (entries that are not UTF-8 are
    /// skipped).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars_os() {
            if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
                self.env(k, v);
            }
        }
        self
    }

    /// Reads the guest's stdin from `reader`. A read blocks the guest (and only the guest's
    /// thread) until the reader answers.
    pub fn stdin(&mut self, reader: impl Read + Send + 'static) -> &mut Self {
        self.stdin = (Box::new(reader), false, false);
        #[cfg(feature = "tokio")]
        {
            self.async_io.stdin = None;
        }
        self
    }

    /// Gives the guest these bytes on stdin.
    pub fn stdin_bytes(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        self.stdin(InputBuffer::new(bytes))
    }

    /// Sends the guest's stdout to `writer`. Each `fd_write` is written and flushed before the
    /// call returns; a failing writer makes the call fail with the matching errno.
    pub fn stdout(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stdout = (Box::new(writer), false);
        #[cfg(feature = "tokio")]
        {
            self.async_io.stdout = None;
        }
        self
    }

    /// Sends the guest's stderr to `writer` (as [`WasiCtxBuilder::stdout`]).
    pub fn stderr(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stderr = (Box::new(writer), false);
        #[cfg(feature = "tokio")]
        {
            self.async_io.stderr = None;
        }
        self
    }

    /// Reads the guest's stdin from a tokio `AsyncRead` (the `tokio` feature): a guest's
    /// blocking read of it waits as a future (in async linking) until the reader has something,
    /// the executor thread free meanwhile; up to 64 KiB are read ahead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let (mut to_guest, guest_stdin) = tokio::io::duplex(1024);
    /// let ctx = hammertime::WasiCtx::builder().stdin_async(guest_stdin).build()?;
    /// tokio::io::AsyncWriteExt::write_all(&mut to_guest, b"hello").await?;
    /// # drop(ctx);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn stdin_async(&mut self, reader: impl tokio::io::AsyncRead + Send + 'static) -> &mut Self {
        let input = crate::stdio::tokio::AsyncInput::new(reader);
        self.stdin = (Box::new(input.clone()), false, false);
        self.async_io.stdin = Some(input);
        self
    }

    /// Sends the guest's stdout to a tokio `AsyncWrite` (the `tokio` feature): a guest's write
    /// returns once the writer took its bytes (waiting as a future, in async linking), up to
    /// 64 KiB held meanwhile; a writer's error is the write's errno.
    ///
    /// ```
    /// let (guest_stdout, from_guest) = tokio::io::duplex(1024);
    /// let ctx = hammertime::WasiCtx::builder().stdout_async(guest_stdout).build()?;
    /// # drop((ctx, from_guest));
    /// # Ok::<(), hammertime::BuildError>(())
    /// ```
    #[cfg(feature = "tokio")]
    pub fn stdout_async(&mut self, writer: impl tokio::io::AsyncWrite + Send + 'static) -> &mut Self {
        let output = crate::stdio::tokio::AsyncOutput::new(writer);
        self.stdout = (Box::new(output.clone()), false);
        self.async_io.stdout = Some(output);
        self
    }

    /// Sends the guest's stderr to a tokio `AsyncWrite` (as [`WasiCtxBuilder::stdout_async`]).
    #[cfg(feature = "tokio")]
    pub fn stderr_async(&mut self, writer: impl tokio::io::AsyncWrite + Send + 'static) -> &mut Self {
        let output = crate::stdio::tokio::AsyncOutput::new(writer);
        self.stderr = (Box::new(output.clone()), false);
        self.async_io.stderr = Some(output);
        self
    }

    /// Uses the host process's stdin, read straight from its descriptor (no buffer in between,
    /// so nothing the guest did not read is consumed); a read waits interruptibly
    /// ([`WasiCtx::interrupt_handle`]).
    pub fn inherit_stdin(&mut self) -> &mut Self {
        let tty = std::io::stdin().is_terminal();
        self.stdin(crate::stdio::HostStdin);
        (self.stdin.1, self.stdin.2) = (tty, true);
        self
    }

    /// Uses the host process's stdout, written straight to its descriptor: each guest write is
    /// one `write(2)` (or `writev(2)`) on fd 1, with nothing buffered in between. What the
    /// embedder prints with `print!` goes through `std::io::Stdout`'s line buffer instead, so a
    /// partial line the embedder printed and did not flush appears after the guest's output
    /// that follows it; call `std::io::stdout().flush()` before running the guest to keep the
    /// order.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        let tty = std::io::stdout().is_terminal();
        self.stdout(crate::stdio::HostOutput(crate::stdio::Output::Stdout));
        self.stdout.1 = tty;
        self
    }

    /// Uses the host process's stderr, written straight to its descriptor (fd 2) as
    /// [`WasiCtxBuilder::inherit_stdout`] writes fd 1.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        let tty = std::io::stderr().is_terminal();
        self.stderr(crate::stdio::HostOutput(crate::stdio::Output::Stderr));
        self.stderr.1 = tty;
        self
    }

    /// Uses the host process's stdin, stdout and stderr.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// The clock behind `clock_time_get(realtime)`, also the clock of file times in a mounted
    /// [`MemFs`](crate::vfs::MemFs) that has none of its own.
    pub fn wall_clock(&mut self, clock: impl WallClock) -> &mut Self {
        self.wall = Some(Arc::new(clock));
        self
    }

    /// The clock behind `clock_time_get(monotonic)` and `poll_oneoff` clock subscriptions.
    pub fn monotonic_clock(&mut self, clock: impl MonotonicClock) -> &mut Self {
        self.mono = Some(Arc::new(clock));
        self
    }

    /// The source of `random_get`.
    pub fn random(&mut self, source: impl RandomSource) -> &mut Self {
        self.random = Box::new(source);
        self
    }

    /// A deterministic `random_get` seeded with `seed` ([`SeededRandom`]).
    pub fn seeded_random(&mut self, seed: u64) -> &mut Self {
        self.random(SeededRandom::new(seed))
    }

    /// Mounts `fs` at `guest_path` as a preopened directory. Preopens get descriptors 3, 4, … in
    /// the order they are added. On a read-only filesystem every change answers `EROFS` and
    /// opening a file for writing fails, so no descriptor can write to it. Every `preopen*`
    /// method takes what is mounted first and where the guest sees it second.
    pub fn preopen(&mut self, fs: impl FileSystem, guest_path: impl Into<String>) -> &mut Self {
        self.preopens.push(Preopen::Fs { guest_path: guest_path.into(), fs: Arc::new(fs) });
        self
    }

    /// Mounts an already shared filesystem at `guest_path` (several contexts, or the embedder
    /// and the guest, see the same files).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hammertime::{WasiCtx, vfs::{FileSystem, MemFs}};
    /// let shared: Arc<dyn FileSystem> = Arc::new(MemFs::new());
    /// let a = WasiCtx::builder().preopen_shared(shared.clone(), "/data").build()?;
    /// let b = WasiCtx::builder().preopen_shared(shared, "/data").build()?;
    /// # Ok::<(), hammertime::BuildError>(())
    /// ```
    pub fn preopen_shared(&mut self, fs: Arc<dyn FileSystem>, guest_path: impl Into<String>) -> &mut Self {
        self.preopens.push(Preopen::Fs { guest_path: guest_path.into(), fs });
        self
    }

    /// Mounts the host directory `host_path` at `guest_path`, sandboxed ([`HostDir`]), read-write.
    /// It is opened by [`WasiCtxBuilder::build`].
    pub fn preopen_dir(
        &mut self,
        host_path: impl Into<std::path::PathBuf>,
        guest_path: impl Into<String>,
    ) -> &mut Self {
        self.preopen_dir_with(host_path, guest_path, DirPerms::all(), FilePerms::all())
    }

    /// Mounts the host directory `host_path` at `guest_path`, read-only: every change answers
    /// `EROFS`, and files are opened `O_RDONLY` on the host.
    pub fn preopen_dir_read_only(
        &mut self,
        host_path: impl Into<std::path::PathBuf>,
        guest_path: impl Into<String>,
    ) -> &mut Self {
        self.preopen_dir_with(host_path, guest_path, DirPerms::READ, FilePerms::READ)
    }

    /// Mounts the host directory `host_path` at `guest_path` with these permissions, as
    /// wasmtime-wasi's `preopened_dir(host, guest, dir_perms, file_perms)` does: directories
    /// may be read ([`DirPerms::READ`]) and changed ([`DirPerms::MUTATE`]: create, remove,
    /// rename, link), files read ([`FilePerms::READ`]) and written ([`FilePerms::WRITE`]). What
    /// they refuse answers `EACCES` (`EROFS` when nothing may change); the errnos are listed in
    /// [`vfs::perms`](crate::vfs::perms).
    ///
    /// ```
    /// use hammertime::{WasiCtx, vfs::{DirPerms, FilePerms}};
    /// # let tmp = tempfile::tempdir()?;
    /// # let host = tmp.path();
    /// // The guest may write the files that are there, but not create or remove any.
    /// let ctx = WasiCtx::builder().preopen_dir_with(host, "/data", DirPerms::READ, FilePerms::all()).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn preopen_dir_with(
        &mut self,
        host_path: impl Into<std::path::PathBuf>,
        guest_path: impl Into<String>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> &mut Self {
        self.preopens.push(Preopen::HostDir {
            guest_path: guest_path.into(),
            host_path: host_path.into(),
            perms: (dir_perms, file_perms),
        });
        self
    }

    /// Gives the guest a listening TCP socket as a preopened descriptor, for `sock_accept`.
    pub fn preopen_socket(&mut self, listener: TcpListener) -> &mut Self {
        self.preopens.push(Preopen::Socket(listener));
        self
    }

    /// What a WASI 0.2 guest may do on the network (`wasi:sockets`); the default is no network.
    /// A listener given with [`WasiCtxBuilder::preopen_socket`] is usable whatever the policy.
    ///
    /// ```
    /// use hammertime::{WasiCtx, net::{NetworkPolicy, SocketUse}};
    /// let policy = NetworkPolicy::none().allow(SocketUse::TcpConnect, "127.0.0.1:8080".parse()?);
    /// let ctx = WasiCtx::builder().network(policy).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn network(&mut self, policy: crate::net::NetworkPolicy) -> &mut Self {
        self.network = policy;
        self
    }

    /// Gives a WASI 0.2 guest the host's network: every address, and name lookup
    /// ([`NetworkPolicy::inherit`](crate::net::NetworkPolicy::inherit)).
    ///
    /// ```
    /// let ctx = hammertime::WasiCtx::builder().inherit_network().build()?;
    /// # Ok::<(), hammertime::BuildError>(())
    /// ```
    pub fn inherit_network(&mut self) -> &mut Self {
        self.network(crate::net::NetworkPolicy::inherit())
    }

    /// What the guest may use: descriptors, iovecs and bytes per call, poll subscriptions,
    /// random bytes, path sizes, the longest sleep ([`Limits`], whose defaults suit an untrusted
    /// guest). Preopens count against `descriptors`: too many fail the build with
    /// [`BuildError::TooManyDescriptors`].
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits.clamped();
        self
    }

    /// Uses `handle` to interrupt the context's waits (one handle may serve several contexts);
    /// by default each context has its own ([`WasiCtx::interrupt_handle`]).
    pub fn interrupt_handle(&mut self, handle: InterruptHandle) -> &mut Self {
        self.interrupt = Some(handle);
        self
    }

    /// Checks the configuration, opens the preopens and makes the context. The configuration is
    /// taken: the builder is left as [`WasiCtxBuilder::new`] makes it, ready for another context.
    ///
    /// ```
    /// use hammertime::WasiCtx;
    /// let verbose = true;
    /// let mut builder = WasiCtx::builder();
    /// builder.arg("prog");
    /// if verbose {
    ///     builder.arg("--verbose");
    /// }
    /// let ctx = builder.build()?;
    /// assert_eq!(ctx.args().collect::<Vec<_>>(), ["prog", "--verbose"]);
    /// # Ok::<(), hammertime::BuildError>(())
    /// ```
    pub fn build(&mut self) -> Result<WasiCtx, BuildError> {
        let this = std::mem::take(self);
        let mut args = Vec::with_capacity(this.args.len());
        for (i, a) in this.args.into_iter().enumerate() {
            if a.contains('\0') {
                return Err(BuildError::Nul(format!("argument {i}")));
            }
            let mut bytes = a.into_bytes();
            bytes.push(0);
            args.push(bytes);
        }
        let mut env = Vec::with_capacity(this.env.len());
        for (k, v) in this.env {
            if k.is_empty() || k.contains('=') {
                return Err(BuildError::BadEnvKey(k));
            }
            if k.contains('\0') || v.contains('\0') {
                // The key only: values are often secrets, and errors get logged.
                return Err(BuildError::Nul(format!("environment variable {k:?}")));
            }
            let mut bytes = format!("{k}={v}").into_bytes();
            bytes.push(0);
            env.push(bytes);
        }

        let mut fds = FdTable::with_limit(this.limits.descriptors);
        let streams: [Descriptor; 3] = [
            stream(Kind::Reader { tty: this.stdin.1 }, true, this.stdin.1),
            stream(Kind::Writer { out: Output::Stdout, tty: this.stdout.1 }, false, this.stdout.1),
            stream(Kind::Writer { out: Output::Stderr, tty: this.stderr.1 }, false, this.stderr.1),
        ];
        let stdio = Stdio {
            stdin: this.stdin.0,
            stdout: this.stdout.0,
            stderr: this.stderr.0,
            tty: [this.stdin.1, this.stdout.1, this.stderr.1],
            host_stdin: this.stdin.2,
            #[cfg(feature = "tokio")]
            async_io: this.async_io,
        };
        for d in streams {
            fds.insert(d).map_err(|_| BuildError::TooManyDescriptors)?;
        }

        // Every guest path checked before anything is opened (sorted: no hashing, whose keys
        // would cost every context a random seed).
        let mut names: Vec<&str> = this
            .preopens
            .iter()
            .filter_map(|p| match p {
                Preopen::Fs { guest_path, .. } | Preopen::HostDir { guest_path, .. } => Some(guest_path.as_str()),
                Preopen::Socket(_) => None,
            })
            .collect();
        if let Some(bad) = names.iter().find(|n| n.is_empty() || n.contains('\0')) {
            return Err(BuildError::BadPreopen(bad.to_string()));
        }
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(BuildError::BadPreopen(twice[0].to_string()));
        }
        let wall = this.wall.unwrap_or_else(|| Arc::new(SystemClock));
        for p in this.preopens {
            let (guest_path, fs): (String, Arc<dyn FileSystem>) = match p {
                Preopen::Socket(listener) => {
                    let d = Descriptor::new(Kind::Listener(Arc::new(listener)), rights::SOCKET, 0, 0);
                    fds.insert(d).map_err(|_| BuildError::TooManyDescriptors)?;
                    continue;
                }
                Preopen::Fs { guest_path, fs } => (guest_path, fs),
                Preopen::HostDir { guest_path, host_path, perms } => match host_dir(&host_path, perms) {
                    Ok(fs) => (guest_path, fs),
                    Err(error) => return Err(BuildError::Open { guest_path, error }),
                },
            };
            fs.mounted_with_clock(&wall);
            let root = fs
                .root()
                .map_err(|e| BuildError::Open { guest_path: guest_path.clone(), error: std::io::Error::other(e) })?;
            // A read-only filesystem gets the same rights: every change then reaches it and
            // answers EROFS, as on a read-only POSIX mount, and no descriptor opened through it
            // can write (opening for writing fails).
            let d =
                Descriptor::new(Kind::Dir { dir: root, preopen: Some(guest_path) }, rights::DIRECTORY, rights::ALL, 0);
            fds.insert(d).map_err(|_| BuildError::TooManyDescriptors)?;
        }

        Ok(WasiCtx {
            args,
            env,
            wall,
            mono: this.mono.unwrap_or_else(|| Arc::new(HostMonotonicClock::new())),
            random: crate::random::Randomness::new(this.random),
            fds,
            stdio,
            table: {
                let mut table = wasmtime::component::ResourceTable::new();
                table.set_max_capacity(this.limits.resources as usize);
                table
            },
            scratch: Vec::new(),
            write_scratch: Vec::new(),
            memory_export: None,
            pinned_memory: None,
            net: crate::sockets::NetCtx::new(this.network),
            limits: this.limits,
            interrupt: this.interrupt.unwrap_or_default(),
            pending_interrupt: false,
        })
    }
}

/// Opens a host directory with these permissions: read-only on the host when nothing may change
/// (files opened `O_RDONLY`), else read-write under a [`Restricted`] view unless all is allowed.
fn host_dir(path: &std::path::Path, (dir, file): (DirPerms, FilePerms)) -> std::io::Result<Arc<dyn FileSystem>> {
    let restricted = (dir, file) != (DirPerms::all(), FilePerms::all());
    let fs =
        HostDir::builder(path).read_only(!dir.contains(DirPerms::MUTATE) && !file.contains(FilePerms::WRITE)).open()?;
    Ok(if restricted { Arc::new(Restricted::new(fs, dir, file)) } else { Arc::new(fs) })
}

fn stream(kind: Kind, readable: bool, tty: bool) -> Descriptor {
    Descriptor::new(kind, Descriptor::stream_rights(readable, tty), 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    #[test]
    fn contexts_can_move_between_threads() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<WasiCtx>();
        assert_send::<WasiCtxBuilder>();
        let ctx = WasiCtx::builder().arg("x").build().unwrap();
        let args = std::thread::spawn(move || ctx.args().map(str::to_owned).collect::<Vec<_>>()).join().unwrap();
        assert_eq!(args, ["x"]);
    }

    #[test]
    fn defaults_are_empty_and_stdio_is_open() {
        let ctx = WasiCtx::builder().build().unwrap();
        assert_eq!(ctx.args().count(), 0);
        assert_eq!(ctx.env().count(), 0);
        assert_eq!(ctx.fds.fds().collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn args_and_env_keep_order_and_replace_keys() {
        let ctx =
            WasiCtx::builder().args(["a", "b"]).arg("c").env("X", "1").envs([("Y", "2"), ("X", "3")]).build().unwrap();
        assert_eq!(ctx.args().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(ctx.env().collect::<Vec<_>>(), ["X=3", "Y=2"]);
    }

    #[test]
    fn bad_configuration_is_a_clear_error() {
        assert!(matches!(WasiCtx::builder().arg("a\0b").build(), Err(BuildError::Nul(_))));
        assert!(matches!(WasiCtx::builder().env("A=B", "c").build(), Err(BuildError::BadEnvKey(_))));
        assert!(matches!(WasiCtx::builder().env("", "c").build(), Err(BuildError::BadEnvKey(_))));
        let dup = WasiCtx::builder().preopen(MemFs::new(), "/a").preopen(MemFs::new(), "/a").build();
        assert!(matches!(dup, Err(BuildError::BadPreopen(_))));
        // Guest paths are checked before anything is opened.
        let dup = WasiCtx::builder().preopen_dir("/definitely/not/here", "/b").preopen(MemFs::new(), "/b").build();
        assert!(matches!(dup, Err(BuildError::BadPreopen(p)) if p == "/b"));
        for bad in ["", "/a\0"] {
            let built = WasiCtx::builder().preopen(MemFs::new(), "/ok").preopen(MemFs::new(), bad).build();
            assert!(matches!(built, Err(BuildError::BadPreopen(p)) if p == bad));
        }
        let missing = WasiCtx::builder().preopen_dir("/definitely/not/here", "/x").build();
        match missing {
            Err(e @ BuildError::Open { .. }) => assert!(e.to_string().contains("/x")),
            other => panic!("expected an open error, got {other:?}"),
        }
    }

    #[test]
    fn preopens_follow_stdio_in_order() {
        let ctx = WasiCtx::builder().preopen(MemFs::new(), "/").preopen(MemFs::new(), "/tmp").build().unwrap();
        assert_eq!(ctx.fds.fds().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        match &ctx.fds.get(4).unwrap().kind {
            Kind::Dir { preopen, .. } => assert_eq!(preopen.as_deref(), Some("/tmp")),
            _ => panic!("fd 4 is not a directory"),
        }
    }
}
