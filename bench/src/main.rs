//! `cargo run --release -p hammertime-bench [-- OPTIONS]`: runs the benchmark suite and prints
//! its tables (Markdown) on stdout, progress on stderr. See BENCHMARKS.md.
//!
//! Options:
//!   --quick          tiny sizes, one repetition (checks that everything runs)
//!   --reps N         repetitions of each measurement (default 5; the median is reported)
//!   --only ID,ID     only these rows (write, clock, read-big, read-small, meta, walk, cli-cache,
//!                    startup, hostcall, memory, process: the workloads as whole processes,
//!                    archive: reads from a tar served in place against MemFs, snapshot:
//!                    MemFs::snapshot's costs and reads through a snapshot against MemFs,
//!                    concurrency: the async-embedding rows, many guests at once on tokio)
//!   --tmp DIR        where to put the data (default /dev/shm, a tmpfs)
//!   --api p1|p2|both only the preview1 modules, only their WASI 0.2 components, or both (default)
//!
//! Every measurement runs in a child process of this binary (hidden `__…` subcommands), which
//! deserializes the module (or the adapted WASI 0.2 component) the parent compiled once and
//! reports its own peak RSS (VmHWM) on exit; native programs are children too and do the same.
//! The component rows (`--api p2`) run the same guests, adapted, under `hammertime::p2` and
//! wasmtime-wasi's p2; `hostcall` also measures the empty component host call.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hammertime_bench::*;
use wasmtime::Module;
use wasmtime::component::Component;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(cmd) = args.get(1).filter(|a| a.starts_with("__")) {
        let code = match child(cmd, &args[2..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("hammertime-bench {cmd}: {e:?}");
                1
            }
        };
        std::process::exit(code);
    }
    let mut opts = Opts { quick: false, reps: 5, only: None, tmp: PathBuf::from("/dev/shm"), p1: true, p2: true };
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--reps" => opts.reps = it.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--only" => opts.only = Some(it.next().expect("--only ID,…").split(',').map(String::from).collect()),
            "--tmp" => opts.tmp = PathBuf::from(it.next().expect("--tmp DIR")),
            "--api" => match it.next().map(String::as_str) {
                Some("p1") => (opts.p1, opts.p2) = (true, false),
                Some("p2") => (opts.p1, opts.p2) = (false, true),
                Some("both") => (opts.p1, opts.p2) = (true, true),
                _ => {
                    eprintln!("--api p1|p2|both");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: hammertime-bench [--quick] [--reps N] [--only ID,ID…] [--tmp DIR] [--api p1|p2|both]");
                return;
            }
            other => {
                eprintln!("unknown option {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    if opts.quick && !args.iter().any(|a| a == "--reps") {
        opts.reps = 1;
    }
    if let Err(e) = suite(&opts) {
        eprintln!("hammertime-bench: {e:?}");
        std::process::exit(1);
    }
}

struct Opts {
    quick: bool,
    reps: u64,
    only: Option<Vec<String>>,
    tmp: PathBuf,
    /// Run the preview1 modules.
    p1: bool,
    /// Run the adapted WASI 0.2 components.
    p2: bool,
}

impl Opts {
    fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|x| x == id || (x == "startup" && id.starts_with("startup"))))
    }
}

// ---------------------------------------------------------------------------------------------
// Children

/// Loads a module a child runs: a `.cwasm` the parent serialized, or (to profile one workload
/// by hand) a `.wasm`/`.wat` file, compiled here.
fn load(path: &str) -> wasmtime::Result<(wasmtime::Engine, Module)> {
    let engine = engine();
    let module = if path.ends_with(".cwasm") {
        // SAFETY: the file was written by `Module::serialize` of the parent: same binary, same
        // configuration.
        unsafe { Module::deserialize_file(&engine, path)? }
    } else {
        Module::from_file(&engine, path)?
    };
    Ok((engine, module))
}

/// Loads a component a child runs: a `.cwasm` the parent serialized, or (by hand) a `.wasm`
/// file: a preview1 module is adapted here ([`adapt`]), a component compiled as it is.
fn load_component(path: &str) -> wasmtime::Result<(wasmtime::Engine, Component)> {
    let engine = engine();
    let component = if path.ends_with(".cwasm") {
        // SAFETY: the file was written by `Component::serialize` of the parent: same binary,
        // same configuration.
        unsafe { Component::deserialize_file(&engine, path)? }
    } else {
        let bytes = std::fs::read(path)?;
        let is_module = bytes.get(4..8) == Some(&[1, 0, 0, 0]);
        Component::new(&engine, if is_module { adapt(&bytes)? } else { bytes })?
    };
    Ok((engine, component))
}

fn print_samples(samples: &[Sample]) {
    for s in samples {
        println!("ns={} check={}", s.ns, s.check);
    }
}

fn child(cmd: &str, a: &[String]) -> wasmtime::Result<()> {
    let rt = |s: &str| Runtime::from_id(s).ok_or_else(|| wasmtime::format_err!("bad runtime {s}"));
    match cmd {
        // __concurrency KIND ARGS...: one measurement of the async-embedding section.
        "__concurrency" => print!("{}", hammertime_bench::concurrency::child(a)?),
        // __guest RUNTIME CWASM HOST_DIR MEMFS_SETUP ARGV...  (a component for the p2-… runtimes)
        "__guest" => {
            let rt = rt(&a[0])?;
            let host_dir = Path::new(&a[2]);
            let needs_memfs = matches!(rt, Runtime::MemFs | Runtime::P2MemFs);
            let out = if rt.is_component() {
                let (engine, component) = load_component(&a[1])?;
                let memfs = if needs_memfs { Some(prepare_memfs(host_dir, &a[3])?) } else { None };
                reset_peak_rss();
                run_component(&engine, &component, rt, host_dir, memfs.as_ref(), &a[4..])?
            } else {
                let (engine, module) = load(&a[1])?;
                let memfs = if needs_memfs { Some(prepare_memfs(host_dir, &a[3])?) } else { None };
                reset_peak_rss();
                run_guest(&engine, &module, rt, host_dir, memfs.as_ref(), &a[4..])?
            };
            print!("{out}");
        }
        // __guest-archive CWASM HOST_DIR SETUP ARGV...: the guest with /data an Archive (a tar of
        // SETUP under HOST_DIR, built in memory first).
        "__guest-archive" => {
            let (engine, module) = load(&a[0])?;
            let archive = prepare_archive(Path::new(&a[1]), &a[2])?;
            reset_peak_rss();
            print!("{}", run_guest_on(&engine, &module, archive, &a[3..])?);
        }
        // __guest-snapshot CWASM HOST_DIR SETUP ARGV...: the guest with /data a snapshot of a
        // MemFs holding SETUP (`MemFs::snapshot`: an overlay of a MemFs over the frozen one).
        "__guest-snapshot" => {
            let (engine, module) = load(&a[0])?;
            let snapshot = prepare_memfs(Path::new(&a[1]), &a[2])?.snapshot()?;
            reset_peak_rss();
            print!("{}", run_guest_on(&engine, &module, snapshot, &a[3..])?);
        }
        // __snapshot FILES BYTES COUNT: what snapshots of a prepared tree cost.
        "__snapshot" => print!("{}", snapshot_costs(a[0].parse()?, a[1].parse()?, a[2].parse()?)?),
        // __startup RUNTIME CWASM HOST_DIR ITERS REPS MODE(0 new linker|1 InstancePre|2 one-call runner)
        "__startup" => {
            let rt = rt(&a[0])?;
            let (iters, reps, mode) = (a[3].parse()?, a[4].parse()?, a[5].parse()?);
            let samples = if rt.is_component() {
                let (engine, component) = load_component(&a[1])?;
                startup_component(&engine, &component, rt, Path::new(&a[2]), iters, reps, mode)?
            } else {
                let (engine, module) = load(&a[1])?;
                startup(&engine, &module, rt, Path::new(&a[2]), iters, reps, mode)?
            };
            print_samples(&samples);
        }
        // __hostcall CWASM N REPS
        "__hostcall" => {
            let (engine, module) = load(&a[0])?;
            print_samples(&hostcall(&engine, &module, a[1].parse()?, a[2].parse()?)?);
        }
        // __hostcall-p2 CWASM N REPS (the component floor)
        "__hostcall-p2" => {
            let engine = engine();
            // SAFETY: as in `load_component`.
            let component = unsafe { Component::deserialize_file(&engine, &a[0])? };
            print_samples(&hostcall_component(&engine, &component, a[1].parse()?, a[2].parse()?)?);
        }
        // __make-data DIR [quick]: the suite's data in DIR, to run a child by hand.
        "__make-data" => {
            let sizes = if a.get(1).is_some_and(|q| q == "quick") { Sizes::TINY } else { Sizes::FULL };
            std::fs::create_dir_all(&a[0])?;
            make_data(Path::new(&a[0]), &sizes)?;
        }
        // __mem-guest CWASM(fill) SIZE: RSS growth of a MemFs file written by a guest.
        "__mem-guest" => {
            let (engine, module) = load(&a[0])?;
            let size: u64 = a[1].parse()?;
            let fs = hammertime::vfs::MemFs::new();
            let argv = |n: u64| -> Vec<String> {
                ["fill", "1", "/data/big", &n.to_string(), "65536"].map(String::from).to_vec()
            };
            // A first run writes nothing, so one-time costs are in the baseline.
            run_guest(&engine, &module, Runtime::MemFs, Path::new("/"), Some(&fs), &argv(0))?;
            let base = proc_status_bytes("VmRSS");
            run_guest(&engine, &module, Runtime::MemFs, Path::new("/"), Some(&fs), &argv(size))?;
            let after = proc_status_bytes("VmRSS");
            let len = fs.metadata("big")?.size;
            println!("mem delta={} size={len}", after.saturating_sub(base));
        }
        // __mem-host SIZE: RSS growth of a MemFs file made with write_file.
        "__mem-host" => {
            let size: usize = a[0].parse()?;
            let fs = hammertime::vfs::MemFs::new();
            let base = proc_status_bytes("VmRSS");
            {
                let data: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
                fs.write_file("big", &data)?;
            }
            let after = proc_status_bytes("VmRSS");
            println!("mem delta={} size={}", after.saturating_sub(base), fs.metadata("big")?.size);
        }
        // __mem-empty COUNT: RSS growth of COUNT empty MemFs files in one directory.
        "__mem-empty" => {
            let count: u64 = a[0].parse()?;
            let fs = hammertime::vfs::MemFs::new();
            fs.create_dir_all("d")?;
            let base = proc_status_bytes("VmRSS");
            for i in 0..count {
                fs.write_file(&format!("d/f{i:06}"), b"")?;
            }
            let after = proc_status_bytes("VmRSS");
            println!("mem delta={} size={}", after.saturating_sub(base), fs.read_dir("d")?.len());
        }
        _ => return Err(wasmtime::format_err!("unknown subcommand {cmd}")),
    }
    println!("hwm={}", proc_status_bytes("VmHWM"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Processes

struct Proc {
    ok: bool,
    stdout: String,
    stderr: String,
    /// Peak RSS in bytes (VmHWM, as the child reported it).
    max_rss: u64,
    wall: Duration,
}

fn run_process(mut cmd: Command, stdout_null: bool) -> std::io::Result<Proc> {
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    cmd.stdout(if stdout_null { Stdio::null() } else { Stdio::piped() });
    let t0 = Instant::now();
    let mut child = cmd.spawn()?;
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut out) = out {
            let _ = out.read_to_string(&mut s);
        }
        s
    });
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    let stdout = reader.join().unwrap_or_default();
    let status = child.wait()?;
    let wall = t0.elapsed();
    let ok = status.success();
    // The peak RSS each child reports on exit ("hwm=<bytes>", VmHWM): `ru_maxrss` would not
    // do, as Linux carries the parent's peak across fork and exec into the child's.
    let max_rss =
        stdout.lines().chain(stderr.lines()).find_map(|l| l.strip_prefix("hwm=")?.trim().parse().ok()).unwrap_or(0);
    Ok(Proc { ok, stdout, stderr, max_rss, wall })
}

#[derive(Default, Clone)]
struct Measured {
    samples: Vec<Sample>,
    max_rss: u64,
    error: Option<String>,
}

impl Measured {
    fn median(&self) -> Option<u64> {
        if self.error.is_some() || self.samples.is_empty() {
            return None;
        }
        Some(median(&self.samples.iter().map(|s| s.ns).collect::<Vec<_>>()))
    }

    fn median_extra(&self, name: &str) -> Option<u64> {
        if self.error.is_some() || self.samples.is_empty() {
            return None;
        }
        let v: Vec<u64> =
            self.samples.iter().filter_map(|s| s.extra.iter().find(|e| e.0 == name).map(|e| e.1)).collect();
        if v.is_empty() { None } else { Some(median(&v)) }
    }
}

fn measure(cmd: Command, results_on_stderr: bool, what: &str) -> Measured {
    match run_process(cmd, results_on_stderr) {
        Ok(p) => {
            let text = if results_on_stderr { &p.stderr } else { &p.stdout };
            let samples = parse_samples(text);
            let error = if !p.ok || samples.is_empty() {
                Some(format!("failed: {}{}", p.stderr.trim(), p.stdout.trim()))
            } else {
                None
            };
            let med = if samples.is_empty() { 0 } else { median(&samples.iter().map(|s| s.ns).collect::<Vec<_>>()) };
            eprintln!(
                "  {what:<34} median {:>14} ns  peak RSS {:>6.1} MiB  ({:.1} s){}",
                med,
                p.max_rss as f64 / 1048576.0,
                p.wall.as_secs_f64(),
                error.as_deref().map(|e| format!("  {e}")).unwrap_or_default()
            );
            Measured { samples, max_rss: p.max_rss, error }
        }
        Err(e) => {
            eprintln!("  {what}: cannot run: {e}");
            Measured { error: Some(e.to_string()), ..Default::default() }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The suite

/// How a row's numbers are shown.
#[derive(Clone, Copy)]
enum Unit {
    /// Nanoseconds per operation.
    Ns(u64),
    /// Microseconds per operation.
    Us(u64),
    /// Milliseconds per loop.
    Ms,
    /// MB/s (10^6 bytes per second) for this many bytes.
    MBps(u64),
}

impl Unit {
    fn show(self, ns: u64) -> String {
        match self {
            Unit::Ns(ops) => fmt_sig(ns as f64 / ops as f64, "ns"),
            Unit::Us(ops) => fmt_sig(ns as f64 / ops as f64 / 1e3, "µs"),
            Unit::Ms => fmt_sig(ns as f64 / 1e6, "ms"),
            Unit::MBps(bytes) => fmt_sig(bytes as f64 / ns as f64 * 1e3, "MB/s"),
        }
    }
}

fn fmt_sig(v: f64, unit: &str) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    format!("{s} {unit}")
}

struct Row {
    id: String,
    title: String,
    /// The title in the component tables.
    p2_title: String,
    unit: Unit,
    /// Targets of hammertime ÷ wasmtime-wasi for (MemFs, HostDir).
    target: (Option<f64>, Option<f64>),
    results: BTreeMap<&'static str, Measured>,
}

fn suite(opts: &Opts) -> wasmtime::Result<()> {
    let started = Instant::now();
    let sizes = if opts.quick { Sizes::TINY } else { Sizes::FULL };
    let reps = opts.reps.max(1);
    let exe = std::env::current_exe()?;

    let tmp_base = if opts.tmp.is_dir() { opts.tmp.clone() } else { std::env::temp_dir() };
    let tmp = tempfile::Builder::new().prefix("hammertime-bench-").tempdir_in(&tmp_base)?;
    let data = tmp.path().join("data");
    let modules = tmp.path().join("modules");
    let native = tmp.path().join("native");
    for d in [&data, &modules, &native] {
        std::fs::create_dir_all(d)?;
    }

    eprintln!("machine: {}", machine().join("; "));
    eprintln!("data in {}", data.display());
    let t = Instant::now();
    make_data(&data, &sizes)?;
    eprintln!("made data in {:.1} s", t.elapsed().as_secs_f64());

    // Compile every module once, on one Engine; children deserialize it.
    let engine = engine();
    let t = Instant::now();
    let mut cwasm: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for (name, wasm, _) in GUESTS {
        let path = modules.join(format!("{name}.cwasm"));
        std::fs::write(&path, Module::new(&engine, wasm)?.serialize()?)?;
        cwasm.insert(name, path);
    }
    let path = modules.join("hostcall.cwasm");
    std::fs::write(&path, Module::new(&engine, HOSTCALL_WAT)?.serialize()?)?;
    cwasm.insert("hostcall", path);
    eprintln!("compiled modules in {:.1} s", t.elapsed().as_secs_f64());
    // The same modules adapted into WASI 0.2 command components, compiled once on the same
    // Engine (fill is only for the MemFs memory checks).
    let mut component_cwasm: BTreeMap<&str, PathBuf> = BTreeMap::new();
    if opts.p2 {
        let t = Instant::now();
        for (name, _, _) in GUESTS.iter().filter(|g| g.0 != "fill") {
            let path = modules.join(format!("{name}.p2.cwasm"));
            std::fs::write(&path, Component::new(&engine, guest_component(name)?)?.serialize()?)?;
            component_cwasm.insert(name, path);
        }
        let path = modules.join("hostcall.p2.cwasm");
        std::fs::write(&path, Component::new(&engine, HOSTCALL_COMPONENT_WAT)?.serialize()?)?;
        component_cwasm.insert("hostcall", path);
        eprintln!("adapted and compiled components in {:.1} s", t.elapsed().as_secs_f64());
    }

    let native_ok = match compile_native(&native) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("no native floor: {e}");
            false
        }
    };

    let mut rows: Vec<Row> = Vec::new();
    for w in guest_workloads(&sizes) {
        if !opts.wants(w.id) {
            continue;
        }
        eprintln!("{}:", w.title);
        let unit = match (w.id, w.bytes) {
            (_, Some(bytes)) => Unit::MBps(bytes),
            ("meta", _) => Unit::Us(w.ops),
            ("walk", _) => Unit::Ms,
            _ => Unit::Ns(w.ops),
        };
        let target = match w.id {
            "write" => (Some(0.33), Some(0.33)),
            "clock" => (Some(0.5), Some(0.5)),
            "read-big" => (Some(0.5), Some(0.5)),
            "meta" => (Some(0.1), Some(0.5)),
            "walk" => (Some(0.4), Some(0.4)),
            _ => (None, None),
        };
        let mut results = BTreeMap::new();
        let p1 = Runtime::ALL.into_iter().filter(|_| opts.p1);
        let p2 = Runtime::P2.into_iter().filter(|_| opts.p2);
        for rt in p1.chain(p2) {
            let m = if rt == Runtime::Native {
                if !native_ok {
                    continue;
                }
                let argv = guest_argv(&w, reps, data.to_str().unwrap());
                let mut cmd = Command::new(native.join(w.guest));
                cmd.args(&argv[1..]);
                measure(cmd, true, rt.label())
            } else {
                let argv = guest_argv(&w, reps, GUEST_DIR);
                let artifact = if rt.is_component() { &component_cwasm[w.guest] } else { &cwasm[w.guest] };
                let mut cmd = Command::new(&exe);
                cmd.arg("__guest").arg(rt.id()).arg(artifact).arg(&data).arg(w.memfs_setup).args(&argv);
                measure(cmd, false, rt.label())
            };
            results.insert(rt.id(), m);
        }
        rows.push(Row {
            id: w.id.to_string(),
            title: w.title.clone(),
            p2_title: w.title.clone(),
            unit,
            target,
            results,
        });
    }

    for (mode, id, title, p2_title, target) in [
        (
            2u8,
            "startup",
            "startup: build ctx, link, instantiate, run — `hammertime::run` (per iteration)",
            "startup: build ctx, link, instantiate, run — `hammertime::p2::run` (per iteration)",
            Some(0.5),
        ),
        (
            0,
            "startup-linker",
            "startup with a new Linker + add_to_linker each time (per iteration)",
            "startup with a new component Linker + add_to_linker each time (per iteration)",
            None,
        ),
        (
            1,
            "startup-pre",
            "startup with a reused InstancePre (per iteration)",
            "startup with a reused InstancePre (`CommandPre`, per iteration)",
            None,
        ),
    ] {
        if !opts.wants(id) {
            continue;
        }
        eprintln!("{title}:");
        let mut results = BTreeMap::new();
        let p1 = Runtime::WASM.into_iter().filter(|_| opts.p1);
        let p2 = Runtime::P2.into_iter().filter(|_| opts.p2);
        for rt in p1.chain(p2) {
            let artifact = if rt.is_component() { &component_cwasm["empty"] } else { &cwasm["empty"] };
            let mut cmd = Command::new(&exe);
            cmd.arg("__startup").arg(rt.id()).arg(artifact).arg(&data);
            cmd.arg(sizes.startup_iters.to_string()).arg(reps.to_string()).arg(mode.to_string());
            results.insert(rt.id(), measure(cmd, false, rt.label()));
        }
        rows.push(Row {
            id: id.into(),
            title: title.into(),
            p2_title: p2_title.into(),
            unit: Unit::Us(sizes.startup_iters),
            target: (target, target),
            results,
        });
    }

    let mut hostcall_ns: Option<(u64, u64)> = None;
    if opts.p1 && opts.wants("hostcall") {
        eprintln!("empty host call:");
        let mut cmd = Command::new(&exe);
        cmd.arg("__hostcall").arg(&cwasm["hostcall"]).arg(sizes.hostcalls.to_string()).arg(reps.to_string());
        let m = measure(cmd, false, "func_wrap no-op");
        hostcall_ns = m.median().map(|ns| (ns, m.max_rss));
    }

    let mut hostcall_p2_ns: Option<(u64, u64)> = None;
    if opts.p2 && opts.wants("hostcall") {
        eprintln!("empty component host call:");
        let mut cmd = Command::new(&exe);
        cmd.arg("__hostcall-p2").arg(&component_cwasm["hostcall"]);
        cmd.arg(sizes.hostcalls.to_string()).arg(reps.to_string());
        let m = measure(cmd, false, "component func_wrap no-op");
        hostcall_p2_ns = m.median().map(|ns| (ns, m.max_rss));
    }

    let mut memory: Vec<(String, Option<(u64, u64)>)> = Vec::new();
    if opts.p1 && opts.wants("memory") {
        eprintln!("memory checks:");
        let big = sizes.big_bytes.to_string();
        let empties = if opts.quick { 1000u64 } else { 100_000 };
        let checks: [(&str, Vec<String>); 3] = [
            ("__mem-guest", vec![cwasm["fill"].to_string_lossy().into_owned(), big.clone()]),
            ("__mem-host", vec![big.clone()]),
            ("__mem-empty", vec![empties.to_string()]),
        ];
        for (sub, args) in checks {
            let p = run_process(
                {
                    let mut c = Command::new(&exe);
                    c.arg(sub).args(&args);
                    c
                },
                false,
            );
            let parsed = p.ok().filter(|p| p.ok).and_then(|p| {
                let line = p.stdout.lines().find(|l| l.starts_with("mem "))?.to_string();
                let get = |k: &str| {
                    line.split_whitespace().find_map(|f| f.strip_prefix(k)?.strip_prefix('=')?.parse::<u64>().ok())
                };
                Some((get("delta")?, get("size")?))
            });
            eprintln!("  {sub}: {parsed:?}");
            memory.push((sub.to_string(), parsed));
        }
    }

    let report = render(&rows, hostcall_ns, hostcall_p2_ns, &memory, &sizes, reps, opts, native_ok);
    println!("{report}");
    if opts.p1 && opts.wants("cli-cache") {
        eprintln!("CLI start-up with the compilation cache:");
        println!("{}", cli_cache(&exe, opts.quick, reps));
    }
    if opts.p1 && opts.wants("archive") {
        eprintln!("archives (a tar served in place) against MemFs:");
        println!("{}", archive_rows(&exe, &cwasm, &data, &sizes, reps));
    }
    if opts.p1 && opts.wants("snapshot") {
        eprintln!("snapshots of a MemFs:");
        println!("{}", snapshot_rows(&exe, &cwasm, &data, &sizes, opts.quick, reps));
    }
    if opts.wants("concurrency") {
        eprintln!("async embedding (many guests at once):");
        println!("{}", hammertime_bench::concurrency::section(&exe, opts.quick, reps, &data));
    }
    if opts.p1 && opts.wants("process") && native_ok {
        eprintln!("whole processes, `hammertime run` against native:");
        println!("{}", whole_process(&exe, &native, &data, &sizes, reps));
    }
    eprintln!("suite took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn machine() -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![format!("{nproc} CPUs"), cpu, format!("Linux {kernel}"), rustc]
}

fn ratio(row: &Row, rt: Runtime) -> Option<f64> {
    let ht = row.results.get(rt.id())?.median()?;
    let ww = row.results.get(Runtime::Wasi.id())?.median()?;
    Some(ht as f64 / ww as f64)
}

fn pass(v: f64, target: f64) -> &'static str {
    if v <= target { "PASS" } else { "MISS" }
}

#[allow(clippy::too_many_arguments)]
fn render(
    rows: &[Row],
    hostcall: Option<(u64, u64)>,
    hostcall_p2: Option<(u64, u64)>,
    memory: &[(String, Option<(u64, u64)>)],
    sizes: &Sizes,
    reps: u64,
    opts: &Opts,
    native_ok: bool,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Machine: {}", machine().join("; "));
    let _ = writeln!(
        s,
        "Median of {reps} runs{}; ratios are times hammertime ÷ wasmtime-wasi (defaults), lower is faster.\n",
        if opts.quick { " (--quick: tiny sizes, not meaningful)" } else { "" }
    );

    if opts.p1 {
        render_p1(&mut s, rows, hostcall, memory, sizes, native_ok);
    }
    if opts.p2 {
        render_p2(&mut s, rows, hostcall_p2, sizes);
    }

    // Agreement of the checks.
    let mut disagreements = Vec::new();
    let mut errors = Vec::new();
    for row in rows {
        let mut first: Option<(&str, &str)> = None;
        for (rt, m) in &row.results {
            if let Some(e) = &m.error {
                errors.push(format!("{} under {rt}: {e}", row.id));
                continue;
            }
            for sample in &m.samples {
                match first {
                    None => first = Some((rt, &sample.check)),
                    Some((frt, fc)) if fc != sample.check => {
                        disagreements.push(format!("{}: {frt} says {fc}, {rt} says {}", row.id, sample.check))
                    }
                    _ => {}
                }
            }
        }
    }
    let _ = writeln!(s);
    if disagreements.is_empty() && errors.is_empty() {
        let _ = writeln!(
            s,
            "All runtimes, preview1 and components, agree on every workload's results (byte counts, checksums, entry counts)."
        );
    }
    for d in disagreements.iter().chain(&errors) {
        let _ = writeln!(s, "- {d}");
    }
    s
}

/// The preview1 tables: times and ratios, peak RSS, other targets, metadata phases.
fn render_p1(
    s: &mut String,
    rows: &[Row],
    hostcall: Option<(u64, u64)>,
    memory: &[(String, Option<(u64, u64)>)],
    sizes: &Sizes,
    native_ok: bool,
) {
    use std::fmt::Write as _;
    let mib = |b: u64| format!("{:.1}", b as f64 / 1048576.0);
    let cols = Runtime::ALL;
    let _ = writeln!(
        s,
        "| Workload | {} | MemFs ÷ ww | HostDir ÷ ww | target | status | HostDir ÷ ww blocking |",
        cols.map(|r| r.label()).join(" | ")
    );
    let _ = writeln!(s, "|---|{}---:|---:|---|---|---:|", "---:|".repeat(cols.len()));
    for row in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|rt| match row.results.get(rt.id()) {
                Some(m) => match m.median() {
                    Some(ns) => row.unit.show(ns),
                    None => "error".into(),
                },
                None => "—".into(),
            })
            .collect();
        let (rm, rh) = (ratio(row, Runtime::MemFs), ratio(row, Runtime::HostDir));
        let f = |r: Option<f64>| r.map_or("—".into(), |r| format!("{r:.2}"));
        let (target, status) = match row.target {
            (Some(tm), Some(th)) => {
                let t = if tm == th { format!("≤ {tm}") } else { format!("≤ {tm} / ≤ {th}") };
                let sm = rm.map_or("?", |r| pass(r, tm));
                let sh = rh.map_or("?", |r| pass(r, th));
                (t, if sm == sh { sm.to_string() } else { format!("{sm} / {sh}") })
            }
            _ => ("—".into(), "—".into()),
        };
        let rb = row
            .results
            .get(Runtime::HostDir.id())
            .and_then(|m| m.median())
            .zip(row.results.get(Runtime::WasiBlocking.id()).and_then(|m| m.median()))
            .map(|(h, b)| h as f64 / b as f64);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {target} | {status} | {} |",
            row.title,
            cells.join(" | "),
            f(rm),
            f(rh),
            f(rb)
        );
    }

    let _ = writeln!(
        s,
        "\nPeak RSS of the process running each measurement (MiB, VmHWM at exit; MemFs contents included, the setup's temporary copies excluded):\n"
    );
    let _ = writeln!(s, "| Workload | {} |", cols.map(|r| r.label()).join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(cols.len()));
    for row in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|rt| row.results.get(rt.id()).filter(|m| m.max_rss > 0).map_or("—".into(), |m| mib(m.max_rss)))
            .collect();
        let _ = writeln!(s, "| {} | {} |", row.title, cells.join(" | "));
    }

    let _ = writeln!(s, "\nOther targets:\n");
    let _ = writeln!(s, "| Check | value | target | status |");
    let _ = writeln!(s, "|---|---:|---|---|");
    let find = |id: &str| rows.iter().find(|r| r.id == id);
    if let Some((ns, rss)) = hostcall {
        let per = ns as f64 / sizes.hostcalls as f64;
        let _ = writeln!(
            s,
            "| empty host call (no-op `func_wrap` with fd_write's signature; peak RSS {} MiB) | {} | floor | |",
            mib(rss),
            fmt_sig(per, "ns")
        );
        if let Some(row) = find("write") {
            for rt in [Runtime::MemFs, Runtime::HostDir, Runtime::Wasi] {
                if let Some(m) = row.results.get(rt.id()).and_then(|m| m.median()) {
                    let r = m as f64 / row_ops(row) as f64 / per;
                    let (t, st) =
                        if rt == Runtime::Wasi { ("—".into(), "—") } else { ("≤ 3×".to_string(), pass(r, 3.0)) };
                    let _ = writeln!(
                        s,
                        "| 16 B write to a sink ÷ empty host call, {} | {r:.2}× | {t} | {st} |",
                        rt.label()
                    );
                }
            }
        }
    }
    if native_ok {
        for id in ["read-big", "read-small"] {
            let Some(row) = find(id) else { continue };
            let n = row.results.get("native").and_then(|m| m.median());
            for rt in [Runtime::HostDir, Runtime::MemFs, Runtime::Wasi] {
                let h = row.results.get(rt.id()).and_then(|m| m.median());
                if let (Some(n), Some(h)) = (n, h) {
                    let r = h as f64 / n as f64;
                    let (t, st) = if rt == Runtime::HostDir { ("≤ 1.3×", pass(r, 1.3)) } else { ("—", "—") };
                    let _ = writeln!(s, "| {}: {} time ÷ native | {r:.2}× | {t} | {st} |", row.title, rt.label());
                }
            }
        }
        // The in-process host-directory targets: each phase (or the walk) as fast as native code.
        let phases = find("meta").into_iter().flat_map(|row| {
            ["create", "stat"].map(|phase| (row, Some(phase), format!("HostDir {phase} (metadata phase)")))
        });
        let walk = find("walk").map(|row| (row, None, "HostDir tree walk".to_string()));
        for (row, phase, what) in phases.chain(walk) {
            let time = |rt: Runtime| {
                let m = row.results.get(rt.id())?;
                match phase {
                    Some(phase) => m.median_extra(phase),
                    None => m.median(),
                }
            };
            let Some(n) = time(Runtime::Native) else { continue };
            for rt in [Runtime::HostDir, Runtime::HostDirExclusive] {
                if let Some(h) = time(rt) {
                    let r = h as f64 / n as f64;
                    let _ = writeln!(s, "| {what}: {} ÷ native | {r:.2}× | ≤ 1.1× | {} |", rt.label(), pass(r, 1.1));
                }
            }
        }
    }
    for (sub, v) in memory {
        let line = match (sub.as_str(), v) {
            ("__mem-guest", Some((d, size))) => {
                let r = *d as f64 / *size as f64;
                format!(
                    "| MemFs: a {} MiB file written by a guest (64 KiB writes): RSS growth ÷ size | {r:.3}× ({} MiB) | ≤ 1.1× | {} |",
                    size >> 20,
                    mib(*d),
                    pass(r, 1.1)
                )
            }
            ("__mem-host", Some((d, size))) => {
                let r = *d as f64 / *size as f64;
                format!(
                    "| MemFs: a {} MiB file made with `MemFs::write_file`: RSS growth ÷ size | {r:.3}× ({} MiB) | ≤ 1.1× | {} |",
                    size >> 20,
                    mib(*d),
                    pass(r, 1.1)
                )
            }
            ("__mem-empty", Some((d, n))) => {
                let limit = 30u64 << 20;
                format!(
                    "| MemFs: {} empty files in one directory: RSS growth | {} MiB ({} B/file) | ≤ 30 MiB | {} |",
                    thousands(*n),
                    mib(*d),
                    d / n.max(&1),
                    if *d <= limit { "PASS" } else { "MISS" }
                )
            }
            (sub, _) => format!("| {sub} | error | | |"),
        };
        let _ = writeln!(s, "{line}");
    }

    if let Some(row) = find("meta") {
        render_meta_phases(s, "Metadata phases", row, &cols);
    }
}

/// The component (WASI 0.2) tables: times and ratios against both wasmtime-wasi p2 settings,
/// peak RSS, metadata phases. Every row's target is ≤ 0.5 against both settings, except the
/// like-with-like startup rows (a new linker each time, a reused `InstancePre`), shown for
/// information as in the preview1 tables.
fn render_p2(s: &mut String, rows: &[Row], hostcall: Option<(u64, u64)>, sizes: &Sizes) {
    use std::fmt::Write as _;
    let mib = |b: u64| format!("{:.1}", b as f64 / 1048576.0);
    let cols = Runtime::P2;
    let rows: Vec<&Row> = rows.iter().filter(|r| cols.iter().any(|rt| r.results.contains_key(rt.id()))).collect();
    if rows.is_empty() {
        return;
    }
    let med = |row: &Row, rt: Runtime| row.results.get(rt.id()).and_then(|m| m.median());
    let ratio = |row: &Row, ht: Runtime, ww: Runtime| Some(med(row, ht)? as f64 / med(row, ww)? as f64);
    let pairs = [
        (Runtime::P2MemFs, Runtime::P2Wasi, "MemFs ÷ ww"),
        (Runtime::P2HostDir, Runtime::P2Wasi, "HostDir ÷ ww"),
        (Runtime::P2MemFs, Runtime::P2WasiBlocking, "MemFs ÷ ww blocking"),
        (Runtime::P2HostDir, Runtime::P2WasiBlocking, "HostDir ÷ ww blocking"),
    ];
    let _ = writeln!(
        s,
        "\nWASI 0.2 components (the same modules adapted with wasmtime-wasi 48.0.8's preview1 command adapter): \
         hammertime::p2 ÷ wasmtime-wasi p2, against its defaults and with allow_blocking_current_thread:\n"
    );
    let _ = writeln!(
        s,
        "| Workload | {} | {} | target | status |",
        cols.map(|r| r.label()).join(" | "),
        pairs.map(|p| p.2).join(" | ")
    );
    let _ = writeln!(s, "|---|{}{}---|---|", "---:|".repeat(cols.len()), "---:|".repeat(pairs.len()));
    for row in &rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|rt| match row.results.get(rt.id()) {
                Some(m) => m.median().map_or("error".into(), |ns| row.unit.show(ns)),
                None => "—".into(),
            })
            .collect();
        let ratios: Vec<Option<f64>> = pairs.iter().map(|&(h, w, _)| ratio(row, h, w)).collect();
        let target = if matches!(row.id.as_str(), "startup-linker" | "startup-pre") { None } else { Some(0.5) };
        let (t, status) = match target {
            Some(t) => {
                let missed: Vec<&str> =
                    pairs.iter().zip(&ratios).filter(|(_, r)| r.is_none_or(|r| r > t)).map(|(p, _)| p.2).collect();
                let status =
                    if missed.is_empty() { "PASS".to_string() } else { format!("MISS ({})", missed.join(", ")) };
                (format!("≤ {t}"), status)
            }
            None => ("—".into(), "—".into()),
        };
        let f = |r: &Option<f64>| r.map_or("—".into(), |r| format!("{r:.2}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {t} | {status} |",
            row.p2_title,
            cells.join(" | "),
            ratios.iter().map(f).collect::<Vec<_>>().join(" | ")
        );
    }

    let _ =
        writeln!(s, "\nPeak RSS of the process running each component measurement (MiB, VmHWM at exit, as above):\n");
    let _ = writeln!(s, "| Workload | {} |", cols.map(|r| r.label()).join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(cols.len()));
    for row in &rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|rt| row.results.get(rt.id()).filter(|m| m.max_rss > 0).map_or("—".into(), |m| mib(m.max_rss)))
            .collect();
        let _ = writeln!(s, "| {} | {} |", row.p2_title, cells.join(" | "));
    }

    if let Some((ns, rss)) = hostcall {
        let per = ns as f64 / sizes.hostcalls as f64;
        let _ = writeln!(s, "\nComponent floors:\n");
        let _ = writeln!(s, "| Check | value |");
        let _ = writeln!(s, "|---|---:|");
        let _ = writeln!(
            s,
            "| empty component host call (no-op component `func_wrap`, `func() -> u64`; peak RSS {} MiB) | {} |",
            mib(rss),
            fmt_sig(per, "ns")
        );
        for id in ["write", "clock"] {
            let Some(row) = rows.iter().find(|r| r.id == id) else { continue };
            for rt in cols {
                if let Some(m) = med(row, rt) {
                    let r = m as f64 / row_ops(row) as f64 / per;
                    let _ = writeln!(s, "| {} ÷ empty component host call, {} | {r:.2}× |", row.p2_title, rt.label());
                }
            }
        }
    }

    if let Some(row) = rows.iter().find(|r| r.id == "meta") {
        render_meta_phases(s, "Component metadata phases", row, &cols);
    }
}

/// The per-phase table of the metadata workload (µs per file) for the runtimes `cols`.
fn render_meta_phases(s: &mut String, title: &str, row: &Row, cols: &[Runtime]) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "\n{title} (µs per file):\n");
    let _ = writeln!(s, "| phase | {} |", cols.iter().map(|r| r.label()).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(cols.len()));
    for phase in ["create", "stat", "readdir", "unlink"] {
        let cells: Vec<String> = cols
            .iter()
            .map(|rt| {
                row.results
                    .get(rt.id())
                    .and_then(|m| m.median_extra(phase))
                    .map_or("—".into(), |ns| format!("{:.2}", ns as f64 / row_ops(row) as f64 / 1e3))
            })
            .collect();
        let _ = writeln!(s, "| {phase} | {} |", cells.join(" | "));
    }
}

fn row_ops(row: &Row) -> u64 {
    match row.unit {
        Unit::Ns(ops) | Unit::Us(ops) => ops,
        Unit::Ms => 1,
        Unit::MBps(_) => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// CLI start-up with Wasmtime's compilation cache

/// A large module: `functions` small functions (arithmetic on locals), and a `_start` that calls
/// the first. About 100 bytes of code per function.
fn big_module(functions: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)\n");
    for k in 0..functions {
        wat.push_str(&format!(
            "(func $f{k} (param $x i32) (result i32) (local $y i32) \
             (local.set $y (i32.add (local.get $x) (i32.const {k}))) \
             (local.set $y (i32.mul (local.get $y) (i32.const 3))) \
             (local.set $y (i32.xor (local.get $y) (i32.shr_u (local.get $y) (i32.const 7)))) \
             (local.set $y (i32.add (local.get $y) (i32.rotl (local.get $x) (i32.const 13)))) \
             (local.set $y (i32.sub (local.get $y) (i32.mul (local.get $x) (local.get $x)))) \
             (if (result i32) (i32.gt_u (local.get $y) (i32.const 1000)) \
               (then (i32.div_u (local.get $y) (i32.const 7))) (else (i32.rem_u (local.get $y) (i32.const 5)))))\n"
        ));
    }
    wat.push_str("(func (export \"_start\") (drop (call $f0 (i32.const 1)))))");
    wat::parse_str(&wat).expect("the generated module is valid")
}

/// The release CLI next to this binary and a temporary directory, or why `what` is skipped.
fn release_cli(exe: &Path, what: &str) -> Result<(PathBuf, tempfile::TempDir), String> {
    let cli = exe.with_file_name("hammertime");
    if !cli.exists() {
        return Err(format!(
            "{what}: skipped, {} not found (build it first: `cargo build --release -p hammertime-cli`)",
            cli.display()
        ));
    }
    let dir = tempfile::tempdir().map_err(|_| format!("{what}: skipped, no temporary directory"))?;
    Ok((cli, dir))
}

/// `hammertime run` with its compilation cache under `home`, not the user's.
fn cli_run(cli: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(cli);
    cmd.arg("run").env("HOME", home).env_remove("XDG_CACHE_HOME").env_remove("XDG_CONFIG_HOME");
    cmd
}

/// The wall time of a whole process, spawn to exit, output discarded; `None` if it failed.
fn time_process(mut cmd: Command) -> Option<u64> {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let t0 = Instant::now();
    let ok = cmd.status().ok()?.success();
    ok.then(|| t0.elapsed().as_nanos() as u64)
}

/// The median of some timings, `None` for none.
fn median_of(v: Vec<u64>) -> Option<u64> {
    (!v.is_empty()).then(|| median(&v))
}

/// Each guest workload as a user runs it: the native binary, and `hammertime run --dir
/// DATA::/data GUEST.wasm` with the compilation cache filled, each a whole process timed from
/// spawn to exit (wall clock, one repetition of the workload per process), in pairs, `reps`
/// pairs; the medians and their ratio. Needs the release CLI next to this binary.
fn whole_process(exe: &Path, native: &Path, data: &Path, sizes: &Sizes, reps: u64) -> String {
    use std::fmt::Write as _;
    let (cli, dir) = match release_cli(exe, "Whole processes") {
        Ok(found) => found,
        Err(skipped) => return skipped,
    };
    let home = dir.path().join("home");
    let _ = std::fs::create_dir_all(&home);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Whole processes, as a user runs them: the native binary against `hammertime run --dir DATA::/data` \
         (HostDir, inherited stdio, compilation cache filled), spawn to exit, median of {reps} pairs:\n"
    );
    let _ = writeln!(s, "| Workload | native | `hammertime run` | ÷ native | target | status |");
    let _ = writeln!(s, "|---|---:|---:|---:|---|---|");
    for w in guest_workloads(sizes) {
        let module = dir.path().join(format!("{}.wasm", w.guest));
        if std::fs::write(&module, guest_wasm(w.guest)).is_err() {
            continue;
        }
        let native_cmd = || {
            let argv = guest_argv(&w, 1, data.to_str().unwrap_or_default());
            let mut cmd = Command::new(native.join(w.guest));
            cmd.args(&argv[1..]);
            cmd
        };
        let cli_cmd = || {
            let argv = guest_argv(&w, 1, GUEST_DIR);
            let mut cmd = cli_run(&cli, &home);
            cmd.arg("--dir").arg(format!("{}::{GUEST_DIR}", data.display())).arg(&module).args(&argv[1..]);
            cmd
        };
        // Fills the cache (and the page cache) first.
        let _ = time_process(cli_cmd());
        let (mut n, mut h) = (Vec::new(), Vec::new());
        for _ in 0..reps.max(1) {
            n.extend(time_process(native_cmd()));
            h.extend(time_process(cli_cmd()));
        }
        let (n, h) = (median_of(n), median_of(h));
        eprintln!("  {}: native {n:?} ns, hammertime run {h:?} ns", w.id);
        let ms = |v: Option<u64>| v.map_or("—".to_string(), |ns| format!("{:.1} ms", ns as f64 / 1e6));
        let target = match w.id {
            "write" | "clock" => Some(1.5),
            "walk" => Some(1.6),
            _ => None,
        };
        let r = n.zip(h).map(|(n, h)| h as f64 / n as f64);
        let (t, status) = match (target, r) {
            (Some(t), Some(r)) => (format!("≤ {t}"), pass(r, t)),
            (Some(t), None) => (format!("≤ {t}"), "—"),
            (None, _) => ("—".to_string(), ""),
        };
        let r = r.map_or("—".to_string(), |r| format!("{r:.2}×"));
        let _ = writeln!(s, "| {} | {} | {} | {r} | {t} | {status} |", w.title, ms(n), ms(h));
    }
    s
}

/// Times `hammertime run` on a multi-megabyte module: the first run with an empty cache, a run
/// with the cache filled, and a run with `--no-cache`. Needs the release CLI next to this binary.
fn cli_cache(exe: &Path, quick: bool, reps: u64) -> String {
    use std::fmt::Write as _;
    let (cli, dir) = match release_cli(exe, "CLI start-up") {
        Ok(found) => found,
        Err(skipped) => return skipped,
    };
    let module = dir.path().join("big.wasm");
    let bytes = big_module(if quick { 2_000 } else { 40_000 });
    if std::fs::write(&module, &bytes).is_err() {
        return "CLI start-up: skipped, cannot write the module".into();
    }
    let run = |home: &Path, no_cache: bool| -> Option<u64> {
        let mut cmd = cli_run(&cli, home);
        if no_cache {
            cmd.arg("--no-cache");
        }
        cmd.arg(&module);
        time_process(cmd)
    };
    let (mut cold, mut warm, mut none) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..reps.max(1) {
        let home = dir.path().join(format!("home{i}"));
        let _ = std::fs::create_dir_all(&home);
        cold.extend(run(&home, false));
        warm.extend(run(&home, false));
        none.extend(run(&home, true));
    }
    let ms = |v: Option<u64>| v.map_or("—".to_string(), |ns| format!("{:.0} ms", ns as f64 / 1e6));
    let (cold, warm, none) = (median_of(cold), median_of(warm), median_of(none));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "CLI start-up, `hammertime run` on a {:.1} MiB module ({} functions; median of {reps}, whole process):\n",
        bytes.len() as f64 / (1 << 20) as f64,
        if quick { 2_000 } else { 40_000 }
    );
    let _ = writeln!(s, "| run | time |");
    let _ = writeln!(s, "|---|---:|");
    let _ = writeln!(s, "| first run, empty cache (compiles and fills the cache) | {} |", ms(cold));
    let _ = writeln!(s, "| second run, cache filled | {} |", ms(warm));
    let _ = writeln!(s, "| `--no-cache` | {} |", ms(none));
    if let (Some(c), Some(w)) = (cold, warm) {
        let _ = writeln!(s, "\nThe cached run takes {:.1} % of the first.", w as f64 * 100.0 / c as f64);
    }
    s
}

/// The read workloads with `/data` a tar served in place (`vfs::archive::Archive`) against the
/// same files in a `MemFs`, preview1, in process (each in its own child).
fn archive_rows(exe: &Path, cwasm: &BTreeMap<&str, PathBuf>, data: &Path, sizes: &Sizes, reps: u64) -> String {
    layer_rows(exe, cwasm, data, sizes, reps, "__guest-archive", "Archive (tar)", "Archive")
}

/// What snapshots cost ([`snapshot_costs`]: 10,000 files, 100 MiB, 100 snapshots; tiny with
/// `--quick`), then the read workloads with `/data` a snapshot of the `MemFs` against the
/// `MemFs` itself.
fn snapshot_rows(
    exe: &Path,
    cwasm: &BTreeMap<&str, PathBuf>,
    data: &Path,
    sizes: &Sizes,
    quick: bool,
    reps: u64,
) -> String {
    let (files, bytes, count) = if quick { (100, 1 << 20, 10) } else { (10_000, 100 << 20, 100) };
    let mut cmd = Command::new(exe);
    cmd.arg("__snapshot").arg(files.to_string()).arg(bytes.to_string()).arg(count.to_string());
    let line = run_process(cmd, false)
        .ok()
        .filter(|p| p.ok)
        .and_then(|p| p.stdout.lines().find(|l| l.starts_with("snapshot ")).map(String::from));
    let get = |k: &str| -> Option<u64> {
        line.as_deref()?.split_whitespace().find_map(|f| f.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
    };
    let mut s = String::from(
        "| Prepared tree | Deep copy (every file) | `snapshot()` | First write to a file of a snapshot (copy-up) | RSS added by the snapshots, each changing one file |\n|---|---:|---:|---:|---:|\n",
    );
    match (get("copy_ns"), get("snapshot_ns"), get("change_ns"), get("rss_delta")) {
        (Some(copy), Some(snap), Some(change), Some(rss)) => s.push_str(&format!(
            "| {files} files, {} MiB, in 100 directories | {:.1} ms | {:.2} µs | {:.1} µs | {count} snapshots: {:.2} MiB ({:.1} KiB each) |\n",
            bytes >> 20,
            copy as f64 / 1e6,
            snap as f64 / 1e3,
            change as f64 / 1e3,
            rss as f64 / (1 << 20) as f64,
            rss as f64 / 1024.0 / count as f64,
        )),
        _ => s.push_str("| error | | | | |\n"),
    }
    s.push('\n');
    s.push_str(&layer_rows(exe, cwasm, data, sizes, reps, "__guest-snapshot", "its snapshot", "Snapshot"));
    s
}

/// The read workloads with `/data` served by the child `sub` (column `column`) against the same
/// files in a `MemFs`, preview1, in process (each in its own child).
#[allow(clippy::too_many_arguments)]
fn layer_rows(
    exe: &Path,
    cwasm: &BTreeMap<&str, PathBuf>,
    data: &Path,
    sizes: &Sizes,
    reps: u64,
    sub: &str,
    column: &str,
    short: &str,
) -> String {
    let mut s = format!(
        "| Workload | MemFs | {column} | {short} ÷ MemFs (time) | peak RSS MemFs / {short} |\n|---|---:|---:|---:|---:|\n",
    );
    for w in guest_workloads(sizes).into_iter().filter(|w| matches!(w.id, "read-big" | "read-small" | "walk")) {
        let argv = guest_argv(&w, reps, GUEST_DIR);
        let mut mem = Command::new(exe);
        mem.arg("__guest").arg(Runtime::MemFs.id()).arg(&cwasm[w.guest]).arg(data).arg(w.memfs_setup).args(&argv);
        let mem = measure(mem, false, "hammertime MemFs");
        let mut arc = Command::new(exe);
        arc.arg(sub).arg(&cwasm[w.guest]).arg(data).arg(w.memfs_setup).args(&argv);
        let arc = measure(arc, false, &format!("hammertime {column}"));
        let unit = match w.bytes {
            Some(bytes) => Unit::MBps(bytes),
            None => Unit::Ms,
        };
        let line = match (mem.median(), arc.median()) {
            (Some(m), Some(a)) => format!(
                "| {} | {} | {} | {:.2} | {} / {} MiB |",
                w.title,
                unit.show(m),
                unit.show(a),
                a as f64 / m as f64,
                mem.max_rss >> 20,
                arc.max_rss >> 20
            ),
            _ => format!("| {} | error | error | | |", w.title),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}
