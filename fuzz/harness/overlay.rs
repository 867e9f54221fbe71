//! The overlay harness, shared by the fuzz target (`fuzz_targets/overlay.rs`) and the stable
//! replay of its corpus and regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! Input: a sequence of operations, each decoded from a few bytes (an opcode, paths drawn from
//! the names `a`, `b`, `d`, `l`, `.` and `..` up to three deep, sometimes with a trailing
//! slash, a flag, a small offset or length), applied to an `Overlay` of a `MemFs` over a
//! read-only `MemFs` and to a plain `MemFs`, both starting from the same tree. The operations are
//! the path calls (mkdir, rmdir, unlink, open with and without create/write/truncate, rename,
//! link, symlink, stat, readlink, set-times), writes, truncation and reads through up to four
//! handles kept open across operations (so a handle opened on a lower file meets its copy-up),
//! and listings stopped after a few entries and resumed from the last cookie.
//!
//! Oracles: no panic; every result, errno for errno, the same on both sides — except that
//! renaming a directory that has a lower copy is `EXDEV` on the overlay, as on Linux overlayfs
//! (then the plain `MemFs` is not asked), and a merged directory's link count is 1; a listing,
//! resumed from any cookie, gives the same names on both sides, each once; after the sequence,
//! the same tree with the same file contents; the lower layer bit-for-bit unchanged.

use std::collections::BTreeMap;
use std::sync::Arc;

use hammertime_vfs::{
    Dir, Errno, File, FileSystem, FileType, MemFs, Node, OpenOptions, Overlay, ReadOnly, SetTime, resolve,
};

const NAMES: [&str; 6] = ["a", "b", "d", "l", "..", "."];
const TARGETS: [&str; 6] = ["a", "d", "d/a", "../x", "missing", "l"];

/// The most operations one input runs.
const MAX_OPS: usize = 200;

/// The tree both sides start from: files, nested directories, links to a file and upwards.
fn prepared() -> MemFs {
    let fs = MemFs::from_entries([("a", "top"), ("d/a", "inner"), ("d/d/b", "deep"), ("d/b", "bee"), ("b/a", "")])
        .expect("the prepared tree");
    fs.symlink("d/a", "l").expect("a link");
    fs.symlink("..", "d/l").expect("a link");
    fs
}

/// Reads input bytes; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn path(&mut self) -> String {
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
fn tree(dir: &Arc<dyn Dir>, prefix: &str, out: &mut BTreeMap<String, String>) {
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
struct Side {
    root: Arc<dyn Dir>,
    files: Vec<Option<Arc<dyn File>>>,
}

impl Side {
    fn new(root: Arc<dyn Dir>) -> Side {
        Side { root, files: vec![None, None, None, None] }
    }

    /// Applies operation `op` with the decoded arguments; returns the outcome to compare.
    #[allow(clippy::too_many_arguments)]
    fn apply(&mut self, op: u8, p: &str, q: &str, target: &str, flag: bool, slot: usize, n: u64) -> String {
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
                        self.files[slot] = Some(f);
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
            11 => match &self.files[slot] {
                // Write through a kept handle (a lower file's first write copies it up).
                Some(f) => {
                    show(f.write_at(&vec![b'A' + (n % 26) as u8; (n % 40) as usize + 1], n % 50), |w| w.to_string())
                }
                None => "none".into(),
            },
            12 => match &self.files[slot] {
                Some(f) => {
                    let mut buf = vec![0u8; 96];
                    show(f.read_at(&mut buf, n % 16), |r| format!("{:?}", &buf[..r]))
                }
                None => "none".into(),
            },
            13 => match &self.files[slot] {
                Some(f) => unit(f.set_size(n % 70)),
                None => "none".into(),
            },
            14 => match &self.files[slot] {
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

/// Runs the sequence `data` encodes on both sides and checks the oracles; returns the number of
/// operations run.
pub fn check(data: &[u8]) -> usize {
    let lower = prepared();
    let mut lower_before = BTreeMap::new();
    tree(&lower.root().expect("root"), "", &mut lower_before);
    let overlay = Overlay::new(MemFs::new(), ReadOnly::new(lower.clone())).expect("an overlay of MemFs roots");
    let plain = prepared();
    let mut o = Side::new(overlay.root().expect("root"));
    let mut m = Side::new(plain.root().expect("root"));
    let mut input = Bytes(data);
    let mut ops = 0;
    while !input.0.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = input.byte() % 17;
        let (p, q) = (input.path(), input.path());
        let target = TARGETS[usize::from(input.byte()) % TARGETS.len()];
        let arg = input.byte();
        let (flag, slot, n) = (arg & 1 != 0, usize::from(arg >> 1) % 4, u64::from(input.byte()));
        let a = o.apply(op, &p, &q, target, flag, slot, n);
        if op == 4 && a == format!("err {}", Errno::Xdev.name()) {
            let st = resolve::stat(&m.root, &p, false).expect("the source exists");
            assert_eq!(st.filetype, FileType::Directory, "EXDEV renaming {p:?}, not a directory");
            continue;
        }
        let b = m.apply(op, &p, &q, target, flag, slot, n);
        assert_eq!(
            a, b,
            "op {ops}: {op} p={p:?} q={q:?} target={target:?} flag={flag} slot={slot} n={n}: Overlay vs MemFs"
        );
    }
    let (mut to, mut tm) = (BTreeMap::new(), BTreeMap::new());
    tree(&o.root, "", &mut to);
    tree(&m.root, "", &mut tm);
    assert_eq!(to, tm, "the trees differ after {ops} operations");
    let mut lower_after = BTreeMap::new();
    tree(&lower.root().expect("root"), "", &mut lower_after);
    assert_eq!(lower_after, lower_before, "the lower layer changed");
    ops
}
