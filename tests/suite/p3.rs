//! The WASI 0.3 part of the official suite (`tests/rust/testsuite/wasm32-wasip3/`): discovery of
//! its 37 non-HTTP tests (the 18 HTTP ones need `wasi:http`, which hammertime does not serve:
//! listed as skipped), and a run driven by a test's `operations` the way the official runner
//! drives Wasmtime — stdin written and stdout/stderr read while the guest runs, a TCP client for
//! the socket tests, the exit status at the end, all within the suite's 5 s.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Outcome, TIME_LIMIT, Test, copy_tree, remove_cleanup};

/// One step of a test's `operations`.
#[derive(Clone, Debug)]
pub enum Op {
    /// Start the guest (with these arguments and environment, if the step has them).
    Run,
    /// Exactly these bytes are next on `stdout` or `stderr`.
    Read { stream: String, payload: Vec<u8> },
    /// Write to the guest's stdin.
    Write { payload: Vec<u8> },
    /// Close stdin and wait for the exit status.
    Wait { exit_code: i32 },
    /// Connect to the `HOST:PORT` the guest printed on stdout.
    Connect,
    /// Send on the connection.
    Send { payload: Vec<u8> },
    /// Exactly these bytes are next on the connection.
    Recv { payload: Vec<u8> },
}

/// One WASI 0.3 test.
#[derive(Clone, Debug)]
pub struct Spec3 {
    /// `p3/name`.
    pub id: String,
    pub wasm: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub root: Option<PathBuf>,
    pub ops: Vec<Op>,
    /// The test asks for the network (`"proposals": ["sockets"]`): the runner grants it, as the
    /// official adapter passes `-Sinherit-network`.
    pub network: bool,
}

impl Spec3 {
    /// argv: the component's file name, then the arguments.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.wasm.file_name().and_then(|n| n.to_str()).unwrap_or("test.wasm").to_owned()];
        argv.extend(self.args.iter().cloned());
        argv
    }
}

impl Test for Spec3 {
    fn id(&self) -> &str {
        &self.id
    }

    /// Every step got what it expected (the run's `exit` is the first failure, if any).
    fn verdict(&self, outcome: &Outcome) -> Result<(), String> {
        match &outcome.exit {
            Ok(_) => Ok(()),
            Err(e) => {
                let tail = |b: &[u8]| {
                    let s = String::from_utf8_lossy(b);
                    let start = s.len().saturating_sub(400);
                    let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
                    s[start..].trim_end().to_owned()
                };
                Err(format!("{e}; stderr: {}; stdout: {}", tail(&outcome.stderr), tail(&outcome.stdout)))
            }
        }
    }
}

/// The non-HTTP tests, sorted, and the names of the HTTP ones (skipped).
pub fn discover(suite_dir: &Path) -> (Vec<Spec3>, Vec<String>) {
    let dir = suite_dir.join("tests/rust/testsuite/wasm32-wasip3");
    let mut specs = Vec::new();
    let mut http = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return (specs, http) };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
            continue;
        }
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let v: serde_json::Value = std::fs::read_to_string(path.with_extension("json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null);
        let proposals: Vec<&str> =
            v["proposals"].as_array().map(|a| a.iter().filter_map(|p| p.as_str()).collect()).unwrap_or_default();
        if proposals.contains(&"http") || name.starts_with("http-") {
            http.push(format!("p3/{name}"));
            continue;
        }
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        let pairs = |v: &serde_json::Value| -> Vec<(String, String)> {
            v.as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
                .unwrap_or_default()
        };
        let bytes = |v: &serde_json::Value| v["payload"].as_str().unwrap_or_default().as_bytes().to_vec();
        let mut args = strings(&v["args"]);
        let mut env = pairs(&v["env"]);
        let mut root = v["root"].as_str().map(|r| dir.join(r));
        let mut ops = Vec::new();
        match v["operations"].as_array() {
            None => {
                ops.push(Op::Run);
                ops.push(Op::Wait { exit_code: v["exit_code"].as_i64().unwrap_or(0) as i32 });
            }
            Some(list) => {
                for op in list {
                    ops.push(match op["type"].as_str().unwrap_or_default() {
                        "run" => {
                            if op["args"].is_array() {
                                args = strings(&op["args"]);
                            }
                            if op["env"].is_object() {
                                env = pairs(&op["env"]);
                            }
                            if let Some(r) = op["root"].as_str() {
                                root = Some(dir.join(r));
                            }
                            Op::Run
                        }
                        "read" => {
                            Op::Read { stream: op["id"].as_str().unwrap_or("stdout").to_owned(), payload: bytes(op) }
                        }
                        "write" => Op::Write { payload: bytes(op) },
                        "wait" => Op::Wait { exit_code: op["exit_code"].as_i64().unwrap_or(0) as i32 },
                        "connect" => Op::Connect,
                        "send" => Op::Send { payload: bytes(op) },
                        "recv" => Op::Recv { payload: bytes(op) },
                        other => panic!("{name}: unknown operation {other:?}"),
                    });
                }
            }
        }
        specs.push(Spec3 {
            id: format!("p3/{name}"),
            wasm: path.clone(),
            args,
            env,
            root,
            ops,
            network: proposals.contains(&"sockets"),
        });
    }
    specs.sort_by(|a, b| a.id.cmp(&b.id));
    http.sort();
    (specs, http)
}

/// Bytes a guest wrote to one of its outputs, as they arrive.
#[derive(Clone, Default)]
pub struct Collected(Arc<(Mutex<Vec<u8>>, Condvar)>);

impl Collected {
    /// Reads `from` to its end on a thread of its own.
    pub fn spawn(mut from: impl Read + Send + 'static) -> Collected {
        let c = Collected::default();
        let sink = c.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (data, cv) = &*sink.0;
                        data.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
                        cv.notify_all();
                    }
                }
            }
        });
        c
    }

    /// Everything so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until at least `len` bytes past `at` arrived, or `deadline`.
    fn wait_for(&self, at: usize, len: usize, deadline: Instant) -> Vec<u8> {
        let (data, cv) = &*self.0;
        let mut d = data.lock().unwrap_or_else(|p| p.into_inner());
        while d.len() < at + len && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            d = cv.wait_timeout(d, left.min(Duration::from_millis(50))).unwrap_or_else(|p| p.into_inner()).0;
        }
        d[at.min(d.len())..(at + len).min(d.len())].to_vec()
    }

    /// Waits for a line past `at`, or `deadline`: the line, and where the next one starts.
    fn line(&self, at: usize, deadline: Instant) -> Option<(String, usize)> {
        let (data, cv) = &*self.0;
        let mut d = data.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(nl) = d.get(at..).and_then(|rest| rest.iter().position(|b| *b == b'\n')) {
                return Some((String::from_utf8_lossy(&d[at..at + nl]).trim().to_owned(), at + nl + 1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            d = cv.wait_timeout(d, left.min(Duration::from_millis(50))).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// A running guest, as a runner sees it.
pub struct Running {
    /// The guest's stdin (`None` once closed).
    pub stdin: Option<Box<dyn Write + Send>>,
    pub stdout: Collected,
    pub stderr: Collected,
    /// Waits for the exit status until the deadline (then stops the guest): `Err` why not.
    pub wait: Box<dyn FnOnce(Instant) -> Result<i32, String> + Send>,
}

/// A fresh writable copy of the test's root, cleaned of `*.cleanup` entries.
pub fn root_copy(spec: &Spec3) -> Result<Option<tempfile::TempDir>, String> {
    let Some(root) = &spec.root else { return Ok(None) };
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    copy_tree(root, tmp.path()).map_err(|e| format!("copying {}: {e}", root.display()))?;
    remove_cleanup(tmp.path());
    Ok(Some(tmp))
}

/// Plays `spec`'s operations against the guest `start` starts (given the root's copy), within
/// the suite's time limit; the outcome says whether each step got what it expected.
pub fn play(spec: &Spec3, start: impl FnOnce(Option<&Path>) -> Result<Running, String>) -> Outcome {
    let mut start = Some(start);
    let began = Instant::now();
    let deadline = began + TIME_LIMIT;
    let copy = match root_copy(spec) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e, began),
    };
    let mut running: Option<Running> = None;
    let mut exit: Result<i32, String> = Err("the test never waited for the guest".into());
    let (mut out_at, mut err_at) = (0usize, 0usize);
    let mut conn: Option<std::net::TcpStream> = None;
    let mut failure: Option<String> = None;
    for op in &spec.ops {
        let step = (|| -> Result<(), String> {
            match op {
                Op::Run => {
                    let start = start.take().ok_or("a second run")?;
                    running = Some(start(copy.as_ref().map(|c| c.path()))?);
                }
                Op::Write { payload } => {
                    let r = running.as_mut().ok_or("write before run")?;
                    let stdin = r.stdin.as_mut().ok_or("stdin closed")?;
                    stdin.write_all(payload).and_then(|()| stdin.flush()).map_err(|e| format!("writing stdin: {e}"))?;
                }
                Op::Read { stream, payload } => {
                    let r = running.as_ref().ok_or("read before run")?;
                    let (c, at) = if stream == "stderr" { (&r.stderr, &mut err_at) } else { (&r.stdout, &mut out_at) };
                    let got = c.wait_for(*at, payload.len(), deadline);
                    *at += got.len();
                    if got != *payload {
                        return Err(format!(
                            "{stream}: expected {:?}, got {:?}",
                            String::from_utf8_lossy(payload),
                            String::from_utf8_lossy(&got)
                        ));
                    }
                }
                Op::Connect => {
                    let r = running.as_ref().ok_or("connect before run")?;
                    let (line, next) = r.stdout.line(out_at, deadline).ok_or("no HOST:PORT line on stdout")?;
                    out_at = next;
                    let stream = std::net::TcpStream::connect(&line).map_err(|e| format!("connect {line}: {e}"))?;
                    stream.set_read_timeout(Some(TIME_LIMIT)).map_err(|e| e.to_string())?;
                    conn = Some(stream);
                }
                Op::Send { payload } => {
                    conn.as_mut().ok_or("send before connect")?.write_all(payload).map_err(|e| format!("send: {e}"))?;
                }
                Op::Recv { payload } => {
                    let mut got = vec![0; payload.len()];
                    conn.as_mut()
                        .ok_or("recv before connect")?
                        .read_exact(&mut got)
                        .map_err(|e| format!("recv: {e}"))?;
                    if got != *payload {
                        return Err(format!("recv: expected {payload:?}, got {got:?}"));
                    }
                }
                Op::Wait { exit_code } => {
                    let mut r = running.take().ok_or("wait before run")?;
                    drop(r.stdin.take());
                    drop(conn.take());
                    let wait = std::mem::replace(&mut r.wait, Box::new(|_| Err("waited for already".into())));
                    let status = wait(deadline);
                    // Let the output threads catch the last bytes.
                    std::thread::sleep(Duration::from_millis(5));
                    let code = match status {
                        Ok(code) => code,
                        Err(e) => {
                            running = Some(r);
                            return Err(e);
                        }
                    };
                    running = Some(Running { wait: Box::new(move |_| Ok(code)), ..r });
                    exit = Ok(code);
                    if code != *exit_code {
                        return Err(format!("exit {code}, expected {exit_code}"));
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = step {
            failure = Some(e);
            break;
        }
    }
    let (stdout, stderr) = running.as_ref().map(|r| (r.stdout.contents(), r.stderr.contents())).unwrap_or_default();
    if failure.is_some()
        && let Some(mut r) = running.take()
    {
        // Stop a guest still running after a failed step.
        drop(r.stdin.take());
        let _ = (r.wait)(Instant::now());
    }
    if let Some(copy) = &copy {
        remove_cleanup(copy.path());
    }
    let exit = match failure {
        Some(f) => Err(f),
        None => exit,
    };
    Outcome { exit, stdout, stderr, elapsed: began.elapsed() }
}

/// A pipe: its reading and writing ends.
pub fn pipe() -> (std::io::PipeReader, std::io::PipeWriter) {
    std::io::pipe().expect("pipe")
}
