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

/// `s` without the link count of directories, which an overlay reports as 1 for a merged
/// directory (as Linux overlayfs does) where MemFs counts subdirectories.
fn without_dir_nlink(s: &str) -> String {
    match s.find("nlink=") {
        Some(at) if s.contains("ir") && (s.starts_with("ok Directory") || s.starts_with("dir")) => s[..at].to_string(),
        _ => s.to_string(),
    }
}

/// The tree under `dir` with file contents, for the overlay comparison.
fn tree_with_data(dir: &Arc<dyn Dir>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    tree(dir, "", &mut out);
    for (path, desc) in out.iter_mut() {
        if desc.starts_with("RegularFile") {
            let Node::File(f) = resolve::open(dir, path, false, OpenOptions::new().read(true)).unwrap() else {
                panic!()
            };
            let mut buf = vec![0u8; 64];
            let n = f.read_at(&mut buf, 0).unwrap();
            desc.push_str(&format!(" {:?}", &buf[..n]));
        }
        *desc = without_dir_nlink(desc);
    }
    out
}

/// The tree both sides start from: files, directories (nested), a link to a file and one to a
/// directory.
fn prepared() -> MemFs {
    let fs = MemFs::from_entries([("a", "top"), ("d/a", "inner"), ("d/d/b", "deep"), ("d/b", "bee")]).unwrap();
    fs.symlink("d/a", "l").unwrap();
    fs.symlink("..", "d/l").unwrap();
    fs
}

/// The same random operations on an `Overlay` of a `MemFs` over a read-only `MemFs` and on a
/// plain `MemFs` with the same initial contents give the same results and the same tree (file
/// contents included), except where overlayfs semantics differ on purpose: renaming a directory
/// that has a lower copy is `EXDEV` (the step is then not applied to the plain `MemFs`), and a
/// merged directory's link count is 1. The lower layer is unchanged afterwards.
#[test]
fn an_overlay_and_a_memfs_agree_on_random_operations() {
    use hammertime::vfs::{Errno, Overlay, ReadOnly};
    let mut all = BTreeMap::<String, usize>::new();
    for seed in 0..40u64 {
        let lower = prepared();
        let lower_before = tree_with_data(&lower.root().unwrap());
        let overlay = Overlay::new(MemFs::new(), ReadOnly::new(lower.clone())).unwrap();
        let plain = prepared();
        let (o, m) = (overlay.root().unwrap(), plain.root().unwrap());
        let mut r = SeededRandom::new(seed ^ 0x0e7e);
        for step in 0..300 {
            let op = r.next_u64() % 11;
            let (p, q) = (path(&mut r), path(&mut r));
            let target = TARGETS[(r.next_u64() % TARGETS.len() as u64) as usize];
            let flag = r.next_u64().is_multiple_of(2);
            let a = without_dir_nlink(&apply(op, &p, &q, target, flag, &o));
            if op == 4 && a == format!("err {}", Errno::Xdev.name()) {
                let st = resolve::stat(&m, &p, false).unwrap();
                assert_eq!(st.filetype, FileType::Directory, "seed {seed} step {step}: EXDEV renaming {p:?}");
                *all.entry("xdev".into()).or_default() += 1;
                continue;
            }
            let b = without_dir_nlink(&apply(op, &p, &q, target, flag, &m));
            assert_eq!(
                a, b,
                "seed {seed} step {step}: op {op} p={p:?} q={q:?} target={target:?} flag={flag}: Overlay vs MemFs"
            );
            *all.entry(a.split(' ').take(2).collect::<Vec<_>>().join(" ")).or_default() += 1;
            assert_eq!(
                tree_with_data(&o),
                tree_with_data(&m),
                "seed {seed} step {step}: trees differ after op {op} p={p:?} q={q:?}"
            );
        }
        assert_eq!(tree_with_data(&lower.root().unwrap()), lower_before, "seed {seed}: the lower layer changed");
    }
    let ok: usize = all.iter().filter(|(k, _)| k.starts_with("ok")).map(|(_, v)| v).sum();
    assert!(ok > 1000, "{all:?}");
    assert!(all.keys().filter(|k| k.starts_with("err")).count() >= 8, "{all:?}");
    assert!(all.contains_key("xdev"), "{all:?}");
}
