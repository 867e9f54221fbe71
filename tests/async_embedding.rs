//! Async embedding (`add_to_linker_async`, `run_async`, `p2::add_to_linker_async`,
//! `p2::run_async`): many guests waiting at once on one executor thread, waits that an
//! interrupt ends and that dropping the call cancels without leaving anything behind, CPU-bound
//! guests that yield, and a default build without tokio.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// A preview1 command that sleeps `ns` nanoseconds of the monotonic clock (one relative clock
/// subscription of `poll_oneoff`), then writes "done\n" to stdout.
fn sleeper(ns: u64) -> Module {
    Module::new(
        engine(),
        format!(
            r#"(module
                (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (data (i32.const 512) "done\n")
                (func (export "_start")
                  (i32.store8 (i32.const 8) (i32.const 0))          ;; a clock subscription
                  (i32.store (i32.const 16) (i32.const 1))          ;; monotonic
                  (i64.store (i32.const 24) (i64.const {ns}))
                  (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)) (then unreachable))
                  (i32.store (i32.const 256) (i32.const 512))
                  (i32.store (i32.const 260) (i32.const 5))
                  (drop (call $write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))"#
        ),
    )
    .unwrap()
}

/// A WASI 0.2 command component that sleeps `ns` nanoseconds (`subscribe-duration`, then
/// `pollable.block`), then returns ok; built from a core module with the repo's WIT embedded.
fn component_sleeper(ns: u64) -> Component {
    let wat = format!(
        r#"(module
            (import "wasi:clocks/monotonic-clock@0.2.12" "subscribe-duration" (func $sub (param i64) (result i32)))
            (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
            (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $drop (param i32)))
            (memory (export "memory") 1)
            (func (export "wasi:cli/run@0.2.12#run") (result i32) (local $p i32)
                (local.set $p (call $sub (i64.const {ns})))
                (call $block (local.get $p))
                (call $drop (local.get $p))
                (i32.const 0))
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable))"#
    );
    let mut module = wat::parse_str(&wat).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit")).unwrap();
    let world = resolve.select_world(&[pkg], Some("wasi:cli/command@0.2.12")).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    let bytes = wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap();
    Component::new(engine(), &bytes).unwrap()
}

/// Counts ticks of a task that wakes every 10 ms, until dropped.
struct Ticker {
    ticks: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Ticker {
    fn start() -> Ticker {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ticker { ticks, task }
    }

    fn ticks(&self) -> usize {
        self.ticks.load(Ordering::Relaxed)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// 100 guests that each sleep 300 ms, all spawned at once on a current-thread runtime beside a
/// ticking task: together they take about 300 ms, and the ticker keeps ticking meanwhile. With
/// waits that block the thread they would take 30 s, one after the other, and the ticker would
/// not tick until the end.
#[tokio::test(flavor = "current_thread")]
async fn a_hundred_sleeping_modules_share_one_thread_with_a_ticking_task() {
    let module = sleeper(300_000_000);
    let ticker = Ticker::start();
    let start = Instant::now();
    let mut guests = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (module, out) = (module.clone(), OutputBuffer::new());
        let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
        guests.spawn(
            async move { (hammertime::run_async(engine(), &module, ctx).await.unwrap(), out.to_string_lossy()) },
        );
    }
    let during = loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if start.elapsed() > Duration::from_millis(150) {
            break ticker.ticks();
        }
    };
    while let Some(done) = guests.join_next().await {
        assert_eq!(done.unwrap(), (0, "done\n".to_owned()));
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(10), "{took:?}");
    assert!(during >= 5, "the ticker ticked {during} times while the guests slept");
}

/// The same with WASI 0.2 components (`subscribe-duration` and `block`).
#[tokio::test(flavor = "current_thread")]
async fn a_hundred_sleeping_components_share_one_thread_with_a_ticking_task() {
    let component = component_sleeper(300_000_000);
    let ticker = Ticker::start();
    let start = Instant::now();
    let mut guests = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (component, ctx) = (component.clone(), WasiCtx::builder().build().unwrap());
        guests.spawn(async move { hammertime::p2::run_async(engine(), &component, ctx).await.unwrap() });
    }
    let during = loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if start.elapsed() > Duration::from_millis(150) {
            break ticker.ticks();
        }
    };
    while let Some(done) = guests.join_next().await {
        assert_eq!(done.unwrap(), 0);
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(10), "{took:?}");
    assert!(during >= 5, "the ticker ticked {during} times while the guests slept");
}

/// Modules and components together on a two-worker runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_and_components_sleep_together_on_a_multi_thread_runtime() {
    let (module, component) = (sleeper(200_000_000), component_sleeper(200_000_000));
    let start = Instant::now();
    let mut guests = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (module, component, ctx) = (module.clone(), component.clone(), WasiCtx::builder().build().unwrap());
        guests.spawn(async move {
            if i % 2 == 0 {
                hammertime::run_async(engine(), &module, ctx).await.unwrap()
            } else {
                hammertime::p2::run_async(engine(), &component, ctx).await.unwrap()
            }
        });
    }
    while let Some(done) = guests.join_next().await {
        assert_eq!(done.unwrap(), 0);
    }
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}

fn is_interrupt(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)
}

/// `InterruptHandle::interrupt` ends an async wait at once: the guest traps with
/// `Trap::Interrupt`, for a module and for a component.
#[tokio::test(flavor = "current_thread")]
async fn an_interrupt_ends_an_async_wait() {
    const HOUR: u64 = 3_600_000_000_000;
    for component in [false, true] {
        let ctx = WasiCtx::builder().build().unwrap();
        let handle = ctx.interrupt_handle();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            handle.interrupt();
        });
        let start = Instant::now();
        let result = if component {
            hammertime::p2::run_async(engine(), &component_sleeper(HOUR), ctx).await
        } else {
            hammertime::run_async(engine(), &sleeper(HOUR), ctx).await
        };
        let err = result.expect_err("interrupted");
        assert!(is_interrupt(&err), "component {component}: {err:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}

/// The descriptors this process holds.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Dropping the future of a call that waits cancels the wait: the guest's blocking `sock_accept`
/// on a preopened listener (polled on tokio's blocking pool: the listener is blocking) and its
/// blocking `sock_recv` (registered with tokio's reactor) leave no descriptor behind once their
/// tasks are aborted, and the runtime goes on.
#[tokio::test(flavor = "current_thread")]
async fn dropping_a_waiting_call_leaves_nothing_behind() {
    let module = Module::new(
        engine(),
        r#"(module
            (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "_start")
              (if (call $accept (i32.const 3) (i32.const 0) (i32.const 0)) (then unreachable))
              (i32.store (i32.const 16) (i32.const 64))
              (i32.store (i32.const 20) (i32.const 8))
              (drop (call $recv (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 36)))))"#,
    )
    .unwrap();
    let before = open_descriptors();
    for connect in [false, true] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let ctx = WasiCtx::builder().preopen_socket(listener).build().unwrap();
        let (module, ctx_slot) = (module.clone(), ctx);
        let task = tokio::spawn(async move { hammertime::run_async(engine(), &module, ctx_slot).await });
        // Accepted, then waiting to receive; or still waiting to accept.
        let peer = connect.then(|| std::net::TcpStream::connect(addr).unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!task.is_finished());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        drop(peer);
    }
    // The blocking poll notices its cancellation within a slice (10 ms).
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_descriptors() > before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(open_descriptors(), before);
}

/// A CPU-bound guest whose epoch deadline yields (with tokio's `yield_now`), or with fuel
/// yielding, lets the others run: while it spins, a ticker on the same current-thread runtime
/// keeps ticking and a sleeping guest finishes.
#[tokio::test(flavor = "current_thread")]
async fn a_cpu_bound_guest_that_yields_lets_the_others_run() {
    for by_fuel in [false, true] {
        let mut config = wasmtime::Config::new();
        if by_fuel {
            config.consume_fuel(true);
        } else {
            config.epoch_interruption(true);
        }
        let spin_engine = Engine::new(&config).unwrap();
        let module = Module::new(
            &spin_engine,
            r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#,
        )
        .unwrap();
        let ticking = spin_engine.clone();
        let epochs = std::thread::spawn(move || {
            for _ in 0..400 {
                std::thread::sleep(Duration::from_millis(1));
                ticking.increment_epoch();
            }
        });
        let spin = tokio::spawn(async move {
            let mut linker = wasmtime::Linker::new(&spin_engine);
            hammertime::add_to_linker_async(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
            let mut store = wasmtime::Store::new(&spin_engine, WasiCtx::builder().build().unwrap());
            if by_fuel {
                store.set_fuel(u64::MAX).unwrap();
                store.fuel_async_yield_interval(Some(10_000)).unwrap();
            } else {
                // `epoch_deadline_async_yield_and_update(1)` yields too, but as a task that wakes
                // itself at once, which tokio's scheduler runs again before its timers for up to
                // 61 turns; tokio's own `yield_now` lets the timers run (Wasmtime's docs say so).
                store.set_epoch_deadline(1);
                store.epoch_deadline_callback(|_| {
                    Ok(wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
                });
            }
            hammertime::run_in_async(&mut store, &linker, &module).await
        });
        let ticker = Ticker::start();
        let nap = sleeper(50_000_000);
        let slept = hammertime::run_async(engine(), &nap, WasiCtx::builder().build().unwrap());
        assert_eq!(slept.await.unwrap(), 0, "a sleeper finished while the spinner spun (fuel: {by_fuel})");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(ticker.ticks() >= 5, "the ticker ticked {} times (fuel: {by_fuel})", ticker.ticks());
        assert!(!spin.is_finished());
        spin.abort();
        assert!(spin.await.unwrap_err().is_cancelled());
        epochs.join().unwrap();
    }
}

/// The default build (no `tokio` feature) has no tokio in its dependency tree.
#[test]
fn the_default_build_has_no_tokio() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-p", "hammertime", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.contains("wasmtime v48"), "{tree}");
    assert!(!tree.lines().any(|l| l.starts_with("tokio ")), "{tree}");
    // With the feature, tokio is there.
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["tree", "--offline", "-p", "hammertime", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .args(["--features", "tokio"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("tokio ")));
}

/// The committed C guest `guests/NAME.wasm`.
fn c_guest(name: &str) -> Module {
    Module::from_file(engine(), format!("{}/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `guests/NAME.wasm` adapted to a WASI 0.2 command component.
fn adapted(name: &str) -> Component {
    let module = std::fs::read(format!("{}/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    Component::new(engine(), &bytes).unwrap()
}

/// tokio stdio: `cat` (a module, and the same adapted to a component) copies a stdin that a
/// task feeds slowly, in pieces, to a stdout that another task drains through a small pipe; its
/// blocking reads yield the thread (a ticker ticks meanwhile), and every byte arrives in order.
#[tokio::test(flavor = "current_thread")]
async fn tokio_stdio_feeds_and_drains_a_guest_that_waits_on_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for component in [false, true] {
        let (mut to_guest, guest_stdin) = tokio::io::duplex(4096);
        let (guest_stdout, mut from_guest) = tokio::io::duplex(1024);
        let ctx = WasiCtx::builder().arg("cat").stdin_async(guest_stdin).stdout_async(guest_stdout).build().unwrap();
        let ticker = Ticker::start();
        let data = input.clone();
        let feeder = tokio::spawn(async move {
            for piece in data.chunks(50_000) {
                tokio::time::sleep(Duration::from_millis(30)).await;
                to_guest.write_all(piece).await.unwrap();
            }
        });
        let drainer = tokio::spawn(async move {
            let mut out = Vec::new();
            from_guest.read_to_end(&mut out).await.unwrap();
            out
        });
        let code = if component {
            hammertime::p2::run_async(engine(), &adapted("cat"), ctx).await.unwrap()
        } else {
            hammertime::run_async(engine(), &c_guest("cat"), ctx).await.unwrap()
        };
        assert_eq!(code, 0, "component {component}");
        feeder.await.unwrap();
        assert!(ticker.ticks() >= 5, "the ticker ticked {} times while cat waited", ticker.ticks());
        assert_eq!(drainer.await.unwrap(), input, "component {component}");
    }
}

/// A tokio stdout whose reader has gone: the guest's write fails with `EPIPE` (its error),
/// nothing is dropped silently.
#[tokio::test(flavor = "current_thread")]
async fn a_tokio_stdout_whose_reader_has_gone_fails_the_write() {
    let (guest_stdout, from_guest) = tokio::io::duplex(64);
    drop(from_guest);
    let stderr = OutputBuffer::new();
    let ctx = WasiCtx::builder()
        .arg("cat")
        .stdin_bytes("some input\n")
        .stdout_async(guest_stdout)
        .stderr(stderr.clone())
        .build();
    let code = hammertime::run_async(engine(), &c_guest("cat"), ctx.unwrap()).await.unwrap();
    assert_eq!(code, 1);
    assert!(stderr.to_string_lossy().contains("Broken pipe"), "{}", stderr.to_string_lossy());
}
