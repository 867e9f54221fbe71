//! What the differential fuzz harnesses share (`overlay.rs`, `resolve.rs`): the operations an
//! input encodes, applied to two filesystems side by side, and the oracles that compare them.
//!
//! An input is a sequence of operations, each decoded from a few bytes: an opcode, two paths
//! drawn from the names `a`, `b`, `d`, `l`, `.` and `..` up to three deep (sometimes with a
//! trailing slash), a link target, a flag, a handle slot and a small number. The operations are
//! the path calls (mkdir, rmdir, unlink, open with and without create/write/truncate, rename,
//! link, symlink, stat, readlink, set-times), writes, truncation, reads and `stat` through up to
//! four handles kept open across operations, and listings stopped every few entries and resumed
//! from the last cookie (each name must come once). Results are compared as text: `ok …` or
//! `err NAME`, a directory's size and link count left out (they are each backend's business).

// Each harness uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use hammertime_vfs::{Dir, Errno, File, FileType, Node, OpenOptions, SetTime, resolve};

pub const NAMES: [&str; 6] = ["a", "b", "d", "l", "..", "."];
pub const TARGETS: [&str; 6] = ["a", "d", "d/a", "../x", "missing", "l"];

/// The most operations one input runs.
pub const MAX_OPS: usize = 200;

/// Reads input bytes; zeros once they run out.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    pub fn path(&mut self) -> String {
        let spec = self.byte();
        let depth = 1 + usize::from(spec % 3);
        let mut parts = Vec::new();
        for _ in 0..depth {
            parts.push(NAMES[usize::from(self.byte()) % NAMES.len()]);
        }
        let mut p = parts.join("/");
        if spec & 0x80 != 0 {
            p.push('/');
        }
        p
    }
}

/// A result as compared: `ok …` or `err NAME`, a directory's link count left out.
fn show<T>(r: Result<T, Errno>, f: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", f(v)),
        Err(e) => format!("err {}", e.name()),
    }
}

fn stat_line(s: hammertime_vfs::Stat) -> String {
    match s.filetype {
        FileType::Directory => "dir".to_string(),
        t => format!("{t:?} {} nlink={}", s.size, s.nlink),
    }
}

/// The names a listing of `dir` gives when it stops after every `batch` entries and resumes
/// from the last cookie, sorted; `Err` with a description when a name comes twice.
fn listing(dir: &dyn Dir, batch: usize) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut cookie = 0;
    for _ in 0..10_000 {
        let mut got = Vec::new();
        dir.read_dir(cookie, &mut |e| {
            got.push(e);
            got.len() < batch
        })
        .map_err(|e| format!("listing: {}", e.name()))?;
        let Some(last) = got.last() else { break };
        cookie = last.next;
        names.extend(got.into_iter().map(|e| e.name));
    }
    names.sort();
    let n = names.len();
    names.dedup();
    if names.len() != n {
        return Err(format!("a name listed twice: {names:?}"));
    }
    Ok(names)
}

/// The tree under `dir`: path → type, size, link count (not of directories), link target or
/// file contents.
pub fn tree(dir: &Arc<dyn Dir>, prefix: &str, out: &mut BTreeMap<String, String>) {
    let names = listing(&**dir, usize::MAX).expect("a full listing");
    for name in names {
        let p = format!("{prefix}{name}");
        let st = dir.stat_at(&name).expect("a listed name has a stat");
        let desc = match st.filetype {
            FileType::Directory => {
                let Node::Dir(sub) =
                    dir.open_at(&name, OpenOptions::new().directory(true)).expect("a listed directory opens")
                else {
                    panic!("{p} is a directory")
                };
                tree(&sub, &format!("{p}/"), out);
                "dir".to_string()
            }
            FileType::SymbolicLink => format!("link -> {}", dir.readlink_at(&name).expect("a link's target")),
            _ => {
                let Node::File(f) = dir.open_at(&name, OpenOptions::new().read(true)).expect("a listed file opens")
                else {
                    panic!("{p} is a file")
                };
                let mut buf = vec![0u8; 256];
                let n = f.read_at(&mut buf, 0).expect("a read");
                format!("{} nlink={} {:?}", st.size, st.nlink, &buf[..n])
            }
        };
        out.insert(p, desc);
    }
}

/// One side: its root and the handles it keeps open.
pub struct Side {
    pub root: Arc<dyn Dir>,
    /// The kept handles, each with whether it was opened for writing.
    files: Vec<Option<(Arc<dyn File>, bool)>>,
    /// Whether a change through a handle opened read-only is refused without asking the
    /// backend (a host file descriptor opened `O_RDONLY` answers `EBADF`; `MemFs` handles do not
    /// know how they were opened: the descriptor layer keeps the rights).
    modes: bool,
}

impl Side {
    /// A side whose handles are changed whatever they were opened for.
    pub fn new(root: Arc<dyn Dir>) -> Side {
        Side { root, files: vec![None, None, None, None], modes: false }
    }

    /// A side whose handles opened read-only are never changed.
    pub fn respecting_open_modes(root: Arc<dyn Dir>) -> Side {
        Side { modes: true, ..Side::new(root) }
    }

    /// The kept handle `slot`, if it may be changed.
    fn writable(&self, slot: usize) -> Option<&Arc<dyn File>> {
        match &self.files[slot] {
            Some((f, write)) if *write || !self.modes => Some(f),
            _ => None,
        }
    }

    /// Applies operation `op` with the decoded arguments; returns the outcome to compare.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(&mut self, op: u8, p: &str, q: &str, target: &str, flag: bool, slot: usize, n: u64) -> String {
        let root = self.root.clone();
        let unit = |r: Result<(), Errno>| show(r, |()| String::new());
        match op {
            0 => unit(resolve::mkdir(&root, p)),
            1 => unit(resolve::rmdir(&root, p)),
            2 => unit(resolve::unlink(&root, p)),
            3 => {
                // Open and keep: read-only, or for writing (creating) with a flag.
                let o = OpenOptions::new().read(true).write(flag).create(flag).truncate(flag && n.is_multiple_of(4));
                show(resolve::open(&root, p, !flag, o), |node| match node {
                    Node::Dir(_) => "dir".into(),
                    Node::File(f) => {
                        self.files[slot] = Some((f, flag));
                        "file".into()
                    }
                })
            }
            4 => unit(resolve::rename(&root, p, &root, q)),
            5 => unit(resolve::link(&root, p, flag, &root, q)),
            6 => unit(resolve::symlink(target, &root, p)),
            7 => show(resolve::stat(&root, p, flag), stat_line),
            8 => show(resolve::readlink(&root, p), |t| t),
            9 => {
                let o = OpenOptions::new().write(true).create(true).exclusive(true);
                show(resolve::open(&root, p, false, o), |_| String::new())
            }
            10 => unit(resolve::set_times(&root, p, flag, SetTime::At(5 + n), SetTime::Omit)),
            11 => match self.writable(slot) {
                // Write through a kept handle (a lower file's first write copies it up).
                Some(f) => {
                    show(f.write_at(&vec![b'A' + (n % 26) as u8; (n % 40) as usize + 1], n % 50), |w| w.to_string())
                }
                None => "none".into(),
            },
            12 => match self.files[slot].as_ref().map(|(f, _)| f) {
                Some(f) => {
                    let mut buf = vec![0u8; 96];
                    show(f.read_at(&mut buf, n % 16), |r| format!("{:?}", &buf[..r]))
                }
                None => "none".into(),
            },
            13 => match self.writable(slot) {
                Some(f) => unit(f.set_size(n % 70)),
                None => "none".into(),
            },
            14 => match self.files[slot].as_ref().map(|(f, _)| f) {
                Some(f) => show(f.stat(), stat_line),
                None => "none".into(),
            },
            15 => {
                self.files[slot] = None;
                String::new()
            }
            _ => {
                // A listing, stopped every few entries and resumed from the last cookie.
                let o = OpenOptions::new().directory(true);
                match resolve::open(&root, p, true, o) {
                    Ok(Node::Dir(d)) => match listing(&*d, 1 + (n % 4) as usize) {
                        Ok(names) => format!("ok {names:?}"),
                        Err(e) => panic!("{p}: {e}"),
                    },
                    Ok(Node::File(_)) => "file".into(),
                    Err(e) => format!("err {}", e.name()),
                }
            }
        }
    }
}

/// One decoded operation.
pub struct Op {
    pub op: u8,
    pub p: String,
    pub q: String,
    pub target: &'static str,
    pub flag: bool,
    pub slot: usize,
    pub n: u64,
}

impl Op {
    /// The next operation of `input`.
    pub fn decode(input: &mut Bytes<'_>) -> Op {
        let op = input.byte() % 17;
        let (p, q) = (input.path(), input.path());
        let target = TARGETS[usize::from(input.byte()) % TARGETS.len()];
        let arg = input.byte();
        Op { op, p, q, target, flag: arg & 1 != 0, slot: usize::from(arg >> 1) % 4, n: u64::from(input.byte()) }
    }

    pub fn apply(&self, side: &mut Side) -> String {
        side.apply(self.op, &self.p, &self.q, self.target, self.flag, self.slot, self.n)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Op { op, p, q, target, flag, slot, n } = self;
        write!(f, "{op} p={p:?} q={q:?} target={target:?} flag={flag} slot={slot} n={n}")
    }
}

/// Builds the tree both sides start from, through `root`: files, nested directories, links to a
/// file and upwards.
pub fn seed(root: &Arc<dyn Dir>) {
    let create = OpenOptions::new().write(true).create(true).exclusive(true);
    for d in ["d", "d/d", "b"] {
        resolve::mkdir(root, d).expect("seed a directory");
    }
    for (path, data) in [("a", "top"), ("d/a", "inner"), ("d/d/b", "deep"), ("d/b", "bee"), ("b/a", "")] {
        let Node::File(f) = resolve::open(root, path, false, create).expect("seed a file") else { panic!("{path}") };
        f.write_at(data.as_bytes(), 0).expect("seed data");
    }
    resolve::symlink("d/a", root, "l").expect("seed a link");
    resolve::symlink("..", root, "d/l").expect("seed a link");
}

/// The tree under `root`.
pub fn snapshot(root: &Arc<dyn Dir>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    tree(root, "", &mut out);
    out
}

/// Runs the operations `data` encodes on `a`, then on `b`, and checks that each gives the same
/// result on both (`what` names the pair in a failure) and that both end with the same tree;
/// `excused(op, a_result, b)` may accept an answer of `a` that `b` would not give, and then `b`
/// is not asked. Returns the number of operations run.
pub fn run_both(
    data: &[u8],
    a: &mut Side,
    b: &mut Side,
    what: &str,
    excused: impl Fn(&Op, &str, &Side) -> bool,
) -> usize {
    let mut input = Bytes(data);
    let mut ops = 0;
    while !input.0.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = Op::decode(&mut input);
        let ra = op.apply(a);
        if excused(&op, &ra, b) {
            continue;
        }
        let rb = op.apply(b);
        assert_eq!(ra, rb, "op {ops}: {op}: {what}");
    }
    assert_eq!(snapshot(&a.root), snapshot(&b.root), "the trees differ after {ops} operations: {what}");
    ops
}

/// A fresh temporary directory holding the root a `HostDir` serves (`root`) and, beside it, a
/// file `x` (what the link target `../x` names from the root): what a harness checks nothing
/// escaped to.
pub struct HostRoot {
    base: tempfile::TempDir,
    pub root: std::path::PathBuf,
}

impl HostRoot {
    pub fn create() -> HostRoot {
        let base = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(base.path().join("x"), "outside").expect("the file outside");
        let root = base.path().join("root");
        std::fs::create_dir(&root).expect("the root");
        HostRoot { base, root }
    }

    /// Panics if anything outside the root changed: the file `x`, or the directory holding both.
    pub fn check_outside(&self) {
        let outside = std::fs::read(self.base.path().join("x")).expect("the file outside");
        assert_eq!(outside, b"outside", "a change outside the root");
        let mut names: Vec<_> =
            std::fs::read_dir(self.base.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        names.sort();
        assert_eq!(names, ["root", "x"], "an entry created outside the root");
    }
}
