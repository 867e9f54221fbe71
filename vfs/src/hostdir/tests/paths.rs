//! Paths of several names in one `openat2`, and the kept directories: the same answers as the
//! component walk, and no stale directory after a rename.

use std::os::unix::fs::{MetadataExt, symlink};

use super::*;
use crate::resolve;

/// A named operation on a path from a root, described comparably.
type Op<'a> = (&'a str, &'a dyn Fn(&Arc<dyn Dir>, &str) -> String);

/// The same directory served with `openat2` for paths and without (the component walk).
fn fast_and_walk(path: &Path) -> (Arc<dyn Dir>, Arc<dyn Dir>) {
    let fast = HostDir::open(path).expect("open");
    assert!(fast.inner.openat2, "this kernel has openat2 (Linux 5.6)");
    let mut walk = HostDir::open(path).expect("open");
    Arc::get_mut(&mut walk.inner).expect("sole owner").openat2 = false;
    (fast.root().expect("root"), walk.root().expect("root"))
}

/// What a result says, comparable between the two instances (an entry by its inode).
fn outcome<T>(r: Result<T>, describe: impl Fn(T) -> String) -> String {
    match r {
        Ok(v) => describe(v),
        Err(e) => format!("err {}", e.name()),
    }
}

fn node_ino(n: Node) -> String {
    match n {
        Node::Dir(d) => format!("dir {}", d.stat().expect("stat").ino),
        Node::File(f) => format!("file {}", f.stat().expect("stat").ino),
    }
}

#[test]
fn paths_in_one_step_answer_as_the_walk() {
    let fx = fixture();
    let m = &fx.mount;
    std::fs::create_dir_all(m.join("d/e")).expect("mkdir");
    std::fs::write(m.join("d/f"), b"file").expect("write");
    std::fs::write(m.join("d/e/f"), b"deeper").expect("write");
    symlink("e", m.join("d/ld")).expect("symlink");
    symlink("f", m.join("d/lf")).expect("symlink");
    symlink("../d", m.join("d/up")).expect("symlink");
    symlink("../../outside", m.join("d/out")).expect("symlink");
    symlink("/etc", m.join("d/abs")).expect("symlink");
    symlink("nowhere", m.join("d/dangling")).expect("symlink");
    symlink("loop", m.join("d/loop")).expect("symlink");
    rfs::mkfifoat(rfs::CWD, m.join("d/fifo"), Mode::from_bits_truncate(0o644)).expect("mkfifo");
    let names = ["d", "e", "f", "ld", "lf", "up", "out", "abs", "dangling", "loop", "fifo", "none", ".", ".."];
    let mut paths = Vec::new();
    for a in names {
        paths.push(a.to_owned());
        for b in names {
            paths.push(format!("{a}/{b}"));
            for c in names {
                paths.push(format!("{a}/{b}/{c}"));
            }
        }
    }
    let extra: Vec<String> = paths.iter().filter(|p| p.len() < 8).map(|p| format!("{p}/")).collect();
    paths.extend(extra);
    paths.push("d//e///f".into());

    let (fast, walk) = fast_and_walk(m);
    let ops: [Op<'_>; 7] = [
        ("stat", &|root, p| outcome(resolve::stat(root, p, false), |s| format!("{:?} {}", s.filetype, s.ino))),
        ("stat follow", &|root, p| outcome(resolve::stat(root, p, true), |s| format!("{:?} {}", s.filetype, s.ino))),
        ("open", &|root, p| outcome(resolve::open(root, p, false, RO), node_ino)),
        ("open follow", &|root, p| outcome(resolve::open(root, p, true, RO), node_ino)),
        ("open dir", &|root, p| outcome(resolve::open(root, p, true, DIRECTORY), node_ino)),
        ("open write", &|root, p| outcome(resolve::open(root, p, false, RW), node_ino)),
        ("readlink", &|root, p| outcome(resolve::readlink(root, p), |t| t)),
    ];
    let mut compared = 0;
    for p in &paths {
        for (op, f) in &ops {
            assert_eq!(f(&fast, p), f(&walk, p), "{op} {p:?}");
            compared += 1;
        }
    }
    assert!(compared > 20_000, "{compared}");
    assert_eq!(std::fs::read(fx.outside.join("secret")).expect("read"), b"secret");
}

#[test]
fn changes_through_paths_answer_as_the_walk() {
    // Two copies of one tree, changed by the same operations, one instance each way.
    let (a, b) = (fixture(), fixture());
    for fx in [&a, &b] {
        std::fs::create_dir_all(fx.mount.join("d/e")).expect("mkdir");
        std::fs::write(fx.mount.join("d/f"), b"file").expect("write");
        symlink("e", fx.mount.join("d/ld")).expect("symlink");
    }
    let (fast, _) = fast_and_walk(&a.mount);
    let (_, walk) = fast_and_walk(&b.mount);
    let create_excl = OpenOptions { exclusive: true, ..CREATE };
    let truncate = OpenOptions { truncate: true, ..RW };
    let ops: [Op<'_>; 6] = [
        ("create", &|root, p| {
            outcome(resolve::open(root, p, false, CREATE), |n| node_ino(n).split(' ').next().unwrap_or("").into())
        }),
        ("create excl", &|root, p| outcome(resolve::open(root, p, false, create_excl), |_| "ok".into())),
        ("truncate", &|root, p| outcome(resolve::open(root, p, true, truncate), |_| "ok".into())),
        ("mkdir", &|root, p| outcome(resolve::mkdir(root, p), |_| "ok".into())),
        ("unlink", &|root, p| outcome(resolve::unlink(root, p), |_| "ok".into())),
        ("rmdir", &|root, p| outcome(resolve::rmdir(root, p), |_| "ok".into())),
    ];
    for p in ["d/new", "d/e/new", "d/ld/new2", "d/f/x", "d/none/x", "d/e", "d/ld", "d/new", "d/e/new", "d/e"] {
        for (op, f) in &ops {
            assert_eq!(f(&fast, p), f(&walk, p), "{op} {p:?}");
        }
    }
    let tree = |root: &Path| {
        let mut out: Vec<String> = walk_tree(root);
        out.sort();
        out
    };
    assert_eq!(tree(&a.mount), tree(&b.mount));
}

/// Every path below `root`, with its type.
fn walk_tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let e = e.expect("entry");
            let ty = e.file_type().expect("type");
            out.push(format!("{} {:?}", e.path().strip_prefix(root).expect("prefix").display(), ty));
            if ty.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

#[test]
fn kept_directories_are_bounded() {
    let fx = fixture();
    for i in 0..(cache::CAPACITY * 3) {
        std::fs::create_dir_all(fx.mount.join(format!("d{i}/sub"))).expect("mkdir");
        std::fs::write(fx.mount.join(format!("d{i}/sub/f")), b"x").expect("write");
    }
    let fs = HostDir::open(&fx.mount).expect("open");
    let root = fs.root().expect("root");
    for i in 0..(cache::CAPACITY * 3) {
        assert_eq!(resolve::stat(&root, &format!("d{i}/sub/f"), false).expect("stat").size, 1);
        assert!(fs.inner.cache.len() <= cache::CAPACITY);
    }
    assert_eq!(fs.inner.cache.len(), cache::CAPACITY);
    // A directory opened below the root is not cached by path (its path from the root is not
    // known once it may have moved).
    let d0 = dir(root.open_at("d0", DIRECTORY));
    assert_eq!(resolve::stat(&d0, "sub/f", false).expect("stat").size, 1);
    assert_eq!(fs.inner.cache.len(), cache::CAPACITY);
}

/// A kept directory still at its path on the host is used again: the same descriptor.
#[test]
fn a_kept_directory_still_in_place_is_used_again() {
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("a/b")).expect("mkdir");
    let root = HostDir::open(&fx.mount).expect("open").root().expect("root");
    let fd_of = |d: Arc<dyn Dir>| Arc::clone(&d.as_any().downcast_ref::<HostDirHandle>().expect("HostDirHandle").fd);
    let first = fd_of(root.open_dir_path("a/b").expect("by path").expect("open"));
    let again = fd_of(root.open_dir_path("a/b").expect("by path").expect("open"));
    assert!(Arc::ptr_eq(&first, &again));
}

#[test]
fn a_directory_the_host_replaced_is_not_reached_at_its_old_path() {
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("a/b")).expect("mkdir");
    std::fs::write(fx.mount.join("a/b/f"), b"old").expect("write");
    let fs = HostDir::open(&fx.mount).expect("open");
    let root = fs.root().expect("root");
    assert_eq!(resolve::stat(&root, "a/b/f", false).expect("stat").size, 3);
    assert_eq!(fs.inner.cache.len(), 1);

    // Replaced by the host: the new directory is seen.
    std::fs::rename(fx.mount.join("a"), fx.mount.join("old")).expect("rename");
    std::fs::create_dir_all(fx.mount.join("a/b")).expect("mkdir");
    std::fs::write(fx.mount.join("a/b/f"), b"newer").expect("write");
    assert_eq!(resolve::stat(&root, "a/b/f", false).expect("stat").size, 5);

    // Removed by the host: gone, and no longer kept.
    assert_eq!(fs.inner.cache.len(), 1);
    std::fs::remove_dir_all(fx.mount.join("a")).expect("rm");
    assert_eq!(resolve::stat(&root, "a/b/f", false), Err(Errno::Noent));
    assert_eq!(fs.inner.cache.len(), 0);

    // Replaced by a link to outside: the walk decides (and refuses it).
    symlink("../outside", fx.mount.join("a")).expect("symlink");
    assert_eq!(resolve::stat(&root, "a/secret", false), Err(Errno::Perm));
    assert_eq!(resolve::stat(&root, "old/b/f", false).expect("stat").size, 3);
}

#[test]
fn an_exclusive_instance_sees_its_own_renames_and_removals() {
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("a/b")).expect("mkdir");
    std::fs::write(fx.mount.join("a/b/f"), b"old").expect("write");
    let fs = HostDir::builder(&fx.mount).exclusive(true).open().expect("open");
    let root = fs.root().expect("root");
    assert_eq!(resolve::stat(&root, "a/b/f", false).expect("stat").size, 3);

    resolve::rename(&root, "a", &root, "c").expect("rename");
    assert_eq!(resolve::stat(&root, "a/b/f", false), Err(Errno::Noent));
    assert_eq!(resolve::stat(&root, "c/b/f", false).expect("stat").size, 3);

    resolve::unlink(&root, "c/b/f").expect("unlink");
    resolve::rmdir(&root, "c/b").expect("rmdir");
    resolve::mkdir(&root, "c/b").expect("mkdir");
    assert_eq!(resolve::stat(&root, "c/b/f", false), Err(Errno::Noent));
    let created = file(resolve::open(&root, "c/b/f", false, CREATE));
    assert_eq!(created.write_at(b"fresh", 0), Ok(5));
    assert_eq!(std::fs::read(fx.mount.join("c/b/f")).expect("read"), b"fresh");
}

#[test]
fn an_exclusive_instance_whose_promise_is_broken_stays_inside_what_it_could_reach() {
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("a")).expect("mkdir");
    std::fs::write(fx.mount.join("a/f"), b"kept").expect("write");
    let fs = HostDir::builder(&fx.mount).exclusive(true).open().expect("open");
    let root = fs.root().expect("root");
    let ino = std::fs::metadata(fx.mount.join("a")).expect("stat").ino();
    assert_eq!(resolve::stat(&root, "a/f", false).expect("stat").size, 4);

    // The host moves the kept directory out of the mount: as documented, the exclusive instance
    // still reaches it by its old path (what a kept descriptor of it would reach), and `..`
    // from it is the mount's root, not the directory's new parent.
    std::fs::rename(fx.mount.join("a"), fx.outside.join("a")).expect("rename");
    assert_eq!(std::fs::metadata(fx.outside.join("a")).expect("stat").ino(), ino);
    assert_eq!(resolve::stat(&root, "a/f", false).expect("stat").size, 4);
    assert_eq!(resolve::stat(&root, "a/../secret", false), Err(Errno::Noent));
    assert_eq!(resolve::stat(&root, "a/../../secret", false), Err(Errno::Perm));
}

#[test]
fn a_read_only_instance_answers_changes_through_paths_as_the_walk() {
    let fx = fixture();
    std::fs::create_dir_all(fx.mount.join("d/e")).expect("mkdir");
    std::fs::write(fx.mount.join("d/f"), b"file").expect("write");
    symlink("e", fx.mount.join("d/ld")).expect("symlink");
    let open = |walk: bool| {
        let mut fs = HostDir::open_read_only(&fx.mount).expect("open");
        if walk {
            Arc::get_mut(&mut fs.inner).expect("sole owner").openat2 = false;
        }
        fs.root().expect("root")
    };
    let (fast, walk) = (open(false), open(true));
    let create_excl = OpenOptions { exclusive: true, ..CREATE };
    let truncate = OpenOptions { truncate: true, ..RW };
    for options in [RO, RW, CREATE, create_excl, truncate, DIRECTORY] {
        for p in ["d/f", "d/new", "d/e", "d/ld/new", "d/none/x", "d/f/x", "d/e/../f"] {
            let (a, b) = (resolve::open(&fast, p, false, options), resolve::open(&walk, p, false, options));
            assert_eq!(outcome(a, node_ino), outcome(b, node_ino), "{options:?} {p:?}");
        }
    }
    assert_eq!(outcome(resolve::open(&fast, "d/new", false, CREATE), node_ino), "err rofs");
    assert!(!fx.mount.join("d/new").exists());
    // As on a read-only Linux mount, `create` alone opens an existing file (for reading).
    let create_ro = OpenOptions { read: true, write: false, ..CREATE };
    assert!(matches!(resolve::open(&fast, "d/f", false, create_ro), Ok(Node::File(_))));
    assert_eq!(
        resolve::open(&fast, "d/f", false, OpenOptions { exclusive: true, ..create_ro }).err(),
        Some(Errno::Exist)
    );
    assert_eq!(resolve::open(&fast, "d/e", false, create_ro).err(), Some(Errno::Isdir));
    assert_eq!(resolve::open(&fast, "d/new", false, create_ro).err(), Some(Errno::Rofs));
    assert_eq!(resolve::open(&fast, "d/f", false, OpenOptions { write: true, ..create_ro }).err(), Some(Errno::Rofs));
}
