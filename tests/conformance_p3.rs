//! The official wasi-testsuite's WASI 0.3 tests (`tests/rust/testsuite/wasm32-wasip3/`), in
//! process through `hammertime::p3::run`, with the root served by `MemFs` and by `HostDir`: each
//! test's `operations` played as the official runner plays them against Wasmtime (stdin written
//! and stdout read while the guest runs), the network granted to the tests that ask for it.
//! The 18 HTTP tests need `wasi:http`, which hammertime does not serve: skipped.
//!
//! Ratchet: `tests/conformance-expected.txt`, modes `p3-memfs` and `p3-hostdir`.
//! Run only this: `cargo test --test conformance_p3`. Filter: `cargo test --test conformance_p3 -- cli`.

mod suite;

use std::path::Path;
use std::time::{Duration, Instant};

use hammertime::WasiCtx;
use hammertime::net::{NetworkPolicy, Protocol};
use hammertime::vfs::{HostDir, MemFs};
use suite::Mode;
use suite::p3::{Collected, Running, Spec3, pipe};
use wasmtime::component::Component;

/// Starts `spec`'s guest on a thread of its own, its stdio pipes, its root `root` in `mode`'s
/// backend.
fn start(
    engine: &wasmtime::Engine,
    component: &Component,
    spec: &Spec3,
    mode: Mode,
    root: Option<&Path>,
) -> Result<Running, String> {
    let (stdin_r, stdin_w) = pipe();
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    let mut b = WasiCtx::builder();
    b.args(spec.argv()).envs(spec.env.clone()).stdin(stdin_r).stdout(out_w).stderr(err_w);
    if spec.network {
        b.inherit_network();
    } else {
        // As `hammertime run` by default: sockets can be made, with no address.
        b.network(NetworkPolicy::none().allow_sockets(Protocol::Tcp).allow_sockets(Protocol::Udp));
    }
    if let Some(root) = root {
        if mode.host_dir() {
            b.preopen(HostDir::open(root).map_err(|e| format!("HostDir: {e}"))?, "/");
        } else {
            b.preopen(MemFs::from_host_dir(root).map_err(|e| format!("MemFs: {e}"))?, "/");
        }
    }
    let ctx = b.build().map_err(|e| format!("build: {e}"))?;
    let interrupt = ctx.interrupt_handle();
    let (engine, component) = (engine.clone(), component.clone());
    let guest = std::thread::spawn(move || hammertime::p3::run(&engine, &component, ctx));
    let wait = move |deadline: Instant| -> Result<i32, String> {
        while !guest.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let timed_out = !guest.is_finished();
        if timed_out {
            interrupt.interrupt();
            let stop = Instant::now() + Duration::from_secs(2);
            while !guest.is_finished() && Instant::now() < stop {
                std::thread::sleep(Duration::from_millis(2));
            }
            if !guest.is_finished() {
                return Err("timed out, and an interrupt did not stop the guest".into());
            }
        }
        let result = guest.join().map_err(|_| "the guest's thread panicked".to_owned())?;
        if timed_out {
            return Err("timed out".into());
        }
        result.map_err(|e| {
            let text = format!("trap: {e:?}");
            text.split("\n\nStack backtrace:").next().unwrap_or_default().to_owned()
        })
    };
    Ok(Running {
        stdin: Some(Box::new(stdin_w)),
        stdout: Collected::spawn(out_r),
        stderr: Collected::spawn(err_r),
        wait: Box::new(wait),
    })
}

fn main() {
    let name = "conformance-p3";
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(suite_dir) = suite::locate_or_skip(name, workspace) else { return };
    let filter = suite::filters();
    let (specs, http) = suite::p3::discover(&suite_dir);
    let specs: Vec<Spec3> =
        specs.into_iter().filter(|s| filter.is_empty() || filter.iter().any(|f| s.id.contains(f.as_str()))).collect();
    if specs.is_empty() {
        eprintln!("{name}: no WASI 0.3 tests found in {}", suite_dir.display());
        std::process::exit(1);
    }
    println!("{name}: {} tests; {} HTTP tests skipped (no wasi:http): {}", specs.len(), http.len(), http.join(" "));
    let engine = wasmtime::Engine::default();
    let started = Instant::now();
    let components = suite::par_map(&specs, 2, |spec| {
        Component::from_file(&engine, &spec.wasm).map_err(|e| format!("compiling {}: {e:#}", spec.wasm.display()))
    });
    println!("{name}: compiled in {} ms", started.elapsed().as_millis());
    let expected = workspace.join("tests/conformance-expected.txt");
    let result = suite::run_all(&specs, &[Mode::P3MemFs, Mode::P3HostDir], &expected, 2, |spec, mode| {
        let i = specs.iter().position(|s| s.id == spec.id).unwrap_or(0);
        match &components[i] {
            Ok(component) => suite::p3::play(spec, |root| start(&engine, component, spec, mode, root)),
            Err(e) => suite::Outcome::failed(e.clone(), Instant::now()),
        }
    });
    if let Err(e) = result {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
