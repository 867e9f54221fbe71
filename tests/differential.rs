//! Differential test of the backends: the same random sequence of path operations on a `MemFs`
//! and on a `HostDir` (whose single-name operations are the Linux kernel's) must give the same
//! result, errno for errno, and leave the same tree.

use std::collections::BTreeMap;
use std::sync::Arc;

use hammertime::random::SeededRandom;
use hammertime::vfs::{Dir, FileSystem, FileType, HostDir, MemFs, Node, OpenOptions, SetTime, resolve};

const NAMES: [&str; 6] = ["a", "b", "d", "l", "..", "."];
const TARGETS: [&str; 6] = ["a", "d", "d/a", "../x", "missing", "l"];

fn path(r: &mut SeededRandom) -> String {
    let depth = 1 + r.next_u64() % 3;
    let mut parts = Vec::new();
    for _ in 0..depth {
        parts.push(NAMES[(r.next_u64() % NAMES.len() as u64) as usize]);
    }
    let mut p = parts.join("/");
    if r.next_u64().is_multiple_of(8) {
        p.push('/');
    }
    p
}

/// One random operation, applied to `root`; returns a comparable description of the outcome.
fn apply(op: u64, p: &str, q: &str, target: &str, flag: bool, root: &Arc<dyn Dir>) -> String {
    let res = |r: Result<String, hammertime::vfs::Errno>| match r {
        Ok(s) => format!("ok {s}"),
        Err(e) => format!("err {}", e.name()),
    };
    match op {
        0 => res(resolve::mkdir(root, p).map(|_| String::new())),
        1 => res(resolve::rmdir(root, p).map(|_| String::new())),
        2 => res(resolve::unlink(root, p).map(|_| String::new())),
        3 => {
            let o = OpenOptions::new().read(true).write(flag).create(flag);
            res(resolve::open(root, p, !flag, o).map(|n| match n {
                Node::Dir(_) => "dir".into(),
                Node::File(f) => {
                    if flag {
                        let _ = f.write_at(b"x", 0);
                    }
                    "file".into()
                }
            }))
        }
        4 => res(resolve::rename(root, p, root, q).map(|_| String::new())),
        5 => res(resolve::link(root, p, flag, root, q).map(|_| String::new())),
        6 => res(resolve::symlink(target, root, p).map(|_| String::new())),
        // A directory's size is the host filesystem's business (4096, 0, …): not compared.
        7 => res(resolve::stat(root, p, flag).map(|s| match s.filetype {
            FileType::Directory => format!("{:?} nlink={}", s.filetype, s.nlink),
            t => format!("{t:?} {} nlink={}", s.size, s.nlink),
        })),
        8 => res(resolve::readlink(root, p)),
        9 => {
            let o = OpenOptions::new().write(true).create(true).exclusive(true);
            res(resolve::open(root, p, false, o).map(|_| String::new()))
        }
        _ => res(resolve::set_times(root, p, flag, SetTime::At(5), SetTime::Omit).map(|_| String::new())),
    }
}

/// The tree under `dir`: path → type, size (for files) and target (for links).
fn tree(dir: &Arc<dyn Dir>, prefix: &str, out: &mut BTreeMap<String, String>) {
    let mut entries = Vec::new();
    dir.read_dir(0, &mut |e| {
        entries.push(e);
        true
    })
    .unwrap();
    for e in entries {
        let p = format!("{prefix}{}", e.name);
        let st = dir.stat_at(&e.name).unwrap();
        let desc = match st.filetype {
            FileType::Directory => {
                let Node::Dir(d) = dir.open_at(&e.name, OpenOptions::new().directory(true).read(true)).unwrap() else {
                    panic!()
                };
                tree(&d, &format!("{p}/"), out);
                format!("dir nlink={}", st.nlink)
            }
            FileType::SymbolicLink => format!("link -> {}", dir.readlink_at(&e.name).unwrap()),
            t => format!("{t:?} size={} nlink={}", st.size, st.nlink),
        };
        out.insert(p, desc);
    }
}

fn run(seed: u64, steps: usize) -> BTreeMap<String, usize> {
    let mem = MemFs::new();
    let host_dir = tempfile::tempdir().unwrap();
    let host = HostDir::open(host_dir.path()).unwrap();
    let (m, h) = (mem.root().unwrap(), host.root().unwrap());
    let mut r = SeededRandom::new(seed);
    let mut outcomes = BTreeMap::<String, usize>::new();
    for step in 0..steps {
        let op = r.next_u64() % 11;
        let (p, q) = (path(&mut r), path(&mut r));
        let target = TARGETS[(r.next_u64() % TARGETS.len() as u64) as usize];
        let flag = r.next_u64().is_multiple_of(2);
        let a = apply(op, &p, &q, target, flag, &m);
        let b = apply(op, &p, &q, target, flag, &h);
        assert_eq!(
            a, b,
            "seed {seed} step {step}: op {op} p={p:?} q={q:?} target={target:?} flag={flag}: MemFs vs HostDir"
        );
        *outcomes.entry(a.split(' ').take(2).collect::<Vec<_>>().join(" ")).or_default() += 1;
        let (mut tm, mut th) = (BTreeMap::new(), BTreeMap::new());
        tree(&m, "", &mut tm);
        tree(&h, "", &mut th);
        assert_eq!(tm, th, "seed {seed} step {step}: trees differ after op {op} p={p:?} q={q:?}");
    }
    outcomes
}

#[test]
fn memfs_and_hostdir_agree_on_random_operations() {
    let mut all = BTreeMap::<String, usize>::new();
    for seed in 0..40 {
        for (k, v) in run(seed, 400) {
            *all.entry(k).or_default() += v;
        }
    }
    // The sequences reach real work and many different errors, not one early refusal.
    let ok: usize = all.iter().filter(|(k, _)| k.starts_with("ok")).map(|(_, v)| v).sum();
    assert!(ok > 1000, "{all:?}");
    assert!(all.keys().filter(|k| k.starts_with("err")).count() >= 8, "{all:?}");
}

/// The same random file operations (write_at, append, set_size, allocate, read_at, stat size)
/// through handles of one file on MemFs and HostDir give the same results and contents.
#[test]
fn memfs_and_hostdir_agree_on_file_operations() {
    for seed in 100..120 {
        let mem = MemFs::new();
        let host_dir = tempfile::tempdir().unwrap();
        let host = HostDir::open(host_dir.path()).unwrap();
        let rw = OpenOptions::new().read(true).write(true).create(true);
        let open = |root: &Arc<dyn Dir>| match resolve::open(root, "f", false, rw).unwrap() {
            Node::File(f) => f,
            Node::Dir(_) => panic!("a directory"),
        };
        let (mr, hr) = (mem.root().unwrap(), host.root().unwrap());
        // Two handles each, as two descriptors of one file would have.
        let files = [(open(&mr), open(&hr)), (open(&mr), open(&hr))];
        let mut r = SeededRandom::new(seed);
        for step in 0..300 {
            let (m, h) = &files[(r.next_u64() % 2) as usize];
            let offset = r.next_u64() % 70_000;
            let len = (r.next_u64() % 5000) as usize;
            let byte = (r.next_u64() % 251) as u8;
            let data = vec![byte; len];
            let (a, b) = match r.next_u64() % 6 {
                0 => (format!("{:?}", m.write_at(&data, offset)), format!("{:?}", h.write_at(&data, offset))),
                1 => (format!("{:?}", m.append(&data)), format!("{:?}", h.append(&data))),
                2 => (format!("{:?}", m.set_size(offset)), format!("{:?}", h.set_size(offset))),
                3 => {
                    let (ma, ha) = (m.allocate(offset, len as u64 + 1), h.allocate(offset, len as u64 + 1));
                    (format!("{ma:?}"), format!("{ha:?}"))
                }
                4 => {
                    let (mut x, mut y) = (vec![0u8; len], vec![0u8; len]);
                    let (p, q) = (m.read_at(&mut x, offset), h.read_at(&mut y, offset));
                    (format!("{p:?} {x:?}"), format!("{q:?} {y:?}"))
                }
                _ => (format!("{:?}", m.stat().map(|s| s.size)), format!("{:?}", h.stat().map(|s| s.size))),
            };
            assert_eq!(a, b, "seed {seed} step {step}: MemFs vs HostDir");
        }
        assert_eq!(mem.read_file("f").unwrap(), std::fs::read(host_dir.path().join("f")).unwrap());
    }
}
