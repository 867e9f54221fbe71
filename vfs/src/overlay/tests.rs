use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::test_support::{Counters, Counting, dir, file, list, names};
use crate::{MemFs, ReadOnly, resolve};

const READ: OpenOptions = OpenOptions::new().read(true);
const WRITE: OpenOptions = OpenOptions::new().read(true).write(true);

/// A lower tree: files, a nested directory, a link; with fixed times.
fn lower() -> MemFs {
    let fs = MemFs::from_entries([
        ("etc/motd", "hello"),
        ("etc/hosts", "127.0.0.1 localhost"),
        ("lib/py/os.py", "import sys"),
        ("lib/py/re.py", "import sre"),
        ("empty/.keep", ""),
        ("top.txt", "top"),
    ])
    .unwrap();
    fs.symlink("etc/motd", "motd-link").unwrap();
    fs.remove("empty/.keep").unwrap();
    let root = fs.root().unwrap();
    for p in ["etc/motd", "top.txt", "lib/py", "motd-link"] {
        resolve::set_times(&root, p, false, SetTime::At(1_000), SetTime::At(2_000)).unwrap();
    }
    fs
}

fn overlay(lower: &MemFs) -> Overlay<MemFs, ReadOnly<MemFs>> {
    Overlay::new(MemFs::new(), ReadOnly::new(lower.clone())).unwrap()
}

/// Every entry under `d`: path → type, size, times, inode and content (files) or target (links).
fn dump(d: &Arc<dyn Dir>) -> BTreeMap<String, String> {
    fn walk(d: &Arc<dyn Dir>, prefix: &str, out: &mut BTreeMap<String, String>) {
        for e in list(&**d) {
            let p = format!("{prefix}{}", e.name);
            let st = d.stat_at(&e.name).unwrap();
            let what = match st.filetype {
                FileType::Directory => {
                    walk(&dir(d.open_at(&e.name, READ).unwrap()), &format!("{p}/"), out);
                    String::new()
                }
                FileType::SymbolicLink => d.readlink_at(&e.name).unwrap(),
                _ => String::from_utf8(read(d, &e.name)).unwrap(),
            };
            out.insert(p, format!("{:?} {} {} {} {} {what}", st.filetype, st.size, st.atim, st.mtim, st.ino));
        }
    }
    let mut out = BTreeMap::new();
    walk(d, "", &mut out);
    out
}

fn read(d: &Arc<dyn Dir>, name: &str) -> Vec<u8> {
    let f = file(d.open_at(name, READ).unwrap());
    let mut buf = vec![0; 4096];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

fn at(root: &Arc<dyn Dir>, path: &str) -> Arc<dyn Dir> {
    dir(resolve::open(root, path, true, OpenOptions::new().directory(true)).unwrap())
}

#[test]
fn reads_fall_through_and_writes_copy_up_leaving_the_lower_layer_unchanged() {
    let lower = lower();
    let before = dump(&lower.root().unwrap());
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    let etc = at(&root, "etc");
    assert_eq!(read(&etc, "motd"), b"hello");
    assert_eq!(ov.upper().read_dir("").unwrap(), Vec::<String>::new(), "reading copies nothing up");

    let motd = file(etc.open_at("motd", WRITE).unwrap());
    assert_eq!(motd.write_at(b"J", 0).unwrap(), 1);
    assert_eq!(read(&etc, "motd"), b"Jello");
    assert_eq!(ov.upper().read_file("etc/motd").unwrap(), b"Jello");
    // The copy keeps the lower times until the write changed mtime; atime stays.
    assert_eq!(ov.upper().metadata("etc/motd").unwrap().atim, 1_000);
    // Only the file and its parent were copied.
    assert_eq!(ov.upper().read_dir("etc").unwrap(), ["motd"]);
    assert_eq!(dump(&lower.root().unwrap()), before);
}

#[test]
fn a_reader_opened_before_a_copy_up_reads_the_copy() {
    let lower = lower();
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    let reader = file(resolve::open(&root, "top.txt", false, READ).unwrap());
    let ino = reader.stat().unwrap().ino;
    let writer = file(resolve::open(&root, "top.txt", false, WRITE).unwrap());
    writer.write_at(b"TOP", 0).unwrap();
    let mut buf = [0; 8];
    let n = reader.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"TOP");
    // One inode number before and after the copy-up, through handles and by path.
    assert_eq!(reader.stat().unwrap().ino, ino);
    assert_eq!(writer.stat().unwrap().ino, ino);
    assert_eq!(root.stat_at("top.txt").unwrap().ino, ino);
    assert_eq!(ino, lower.metadata("top.txt").unwrap().ino);
    // Writing through the old read handle writes the copy too.
    reader.write_at(b"!", 3).unwrap();
    assert_eq!(ov.upper().read_file("top.txt").unwrap(), b"TOP!");
}

#[test]
fn removal_hides_lower_entries_and_a_new_directory_there_is_opaque() {
    let lower = lower();
    let before = dump(&lower.root().unwrap());
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    assert_eq!(root.unlink_at("lib"), Err(Errno::Isdir));
    assert_eq!(root.rmdir_at("top.txt"), Err(Errno::Notdir));
    assert_eq!(root.rmdir_at("lib"), Err(Errno::Notempty));
    let py = at(&root, "lib/py");
    py.unlink_at("os.py").unwrap();
    assert_eq!(py.stat_at("os.py"), Err(Errno::Noent));
    assert_eq!(py.unlink_at("os.py"), Err(Errno::Noent));
    assert_eq!(names(&*py), ["re.py"]);
    py.unlink_at("re.py").unwrap();
    assert_eq!(names(&*py), Vec::<String>::new());
    let lib = at(&root, "lib");
    lib.rmdir_at("py").unwrap();
    // The removed directory's handle finds nothing and creates nothing.
    assert_eq!(py.stat_at("re.py"), Err(Errno::Noent));
    assert_eq!(py.mkdir_at("x"), Err(Errno::Noent));
    root.rmdir_at("lib").unwrap();
    assert!(!names(&*root).contains(&"lib".to_string()));
    // A new `lib` shows nothing of the old one.
    root.mkdir_at("lib").unwrap();
    assert_eq!(names(&*at(&root, "lib")), Vec::<String>::new());
    assert_eq!(resolve::stat(&root, "lib/py", false), Err(Errno::Noent));
    at(&root, "lib").mkdir_at("py").unwrap();
    assert_eq!(names(&*at(&root, "lib/py")), Vec::<String>::new());
    // A file recreated over a removed one starts empty.
    root.unlink_at("top.txt").unwrap();
    file(root.open_at("top.txt", WRITE.create(true)).unwrap());
    assert_eq!(read(&root, "top.txt"), b"");
    assert_eq!(dump(&lower.root().unwrap()), before);
}

#[test]
fn renames_copy_lower_files_up_and_refuse_lower_directories() {
    let lower = lower();
    let before = dump(&lower.root().unwrap());
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    let etc = at(&root, "etc");
    etc.rename_at("motd", &*root, "motd.old").unwrap();
    assert_eq!(read(&root, "motd.old"), b"hello");
    assert_eq!(etc.stat_at("motd"), Err(Errno::Noent));
    assert_eq!(names(&*etc), ["hosts"]);
    // The link now dangles, as it would after `mv`.
    assert_eq!(resolve::stat(&root, "motd-link", true), Err(Errno::Noent));
    root.rename_at("motd-link", &*etc, "link").unwrap();
    assert_eq!(etc.readlink_at("link").unwrap(), "etc/motd");
    // Over an existing lower file: replaced.
    root.rename_at("motd.old", &*etc, "hosts").unwrap();
    assert_eq!(read(&etc, "hosts"), b"hello");
    assert_eq!(names(&*etc), ["hosts", "link"]);
    // Directories with a lower copy: EXDEV (`mv` then copies); upper-only ones move.
    assert_eq!(root.rename_at("lib", &*root, "lib2"), Err(Errno::Xdev));
    assert_eq!(root.rename_at("empty", &*root, "empty2"), Err(Errno::Xdev));
    root.mkdir_at("new").unwrap();
    file(at(&root, "new").open_at("f", WRITE.create(true)).unwrap());
    assert_eq!(root.rename_at("new", &*root, "lib"), Err(Errno::Notempty));
    assert_eq!(root.rename_at("new", &*root, "top.txt"), Err(Errno::Notdir));
    assert_eq!(root.rename_at("top.txt", &*root, "new"), Err(Errno::Isdir));
    root.rename_at("new", &*root, "empty").unwrap(); // over an empty lower directory
    assert_eq!(names(&*at(&root, "empty")), ["f"]);
    assert_eq!(root.rename_at("empty", &*at(&root, "empty"), "x"), Err(Errno::Inval));
    root.rename_at("top.txt", &*root, "top.txt").unwrap(); // onto itself: nothing happens
    assert_eq!(root.rename_at("missing", &*root, "x"), Err(Errno::Noent));
    let other = overlay(&lower);
    assert_eq!(root.rename_at("top.txt", &*other.root().unwrap(), "x"), Err(Errno::Xdev));
    assert_eq!(dump(&lower.root().unwrap()), before);
}

#[test]
fn links_times_and_sizes_copy_up() {
    let lower = lower();
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    root.link_at("top.txt", &*root, "top2").unwrap();
    assert_eq!(root.stat_at("top.txt").unwrap().nlink, 2);
    assert_eq!(root.link_at("top.txt", &*root, "etc"), Err(Errno::Exist));
    assert_eq!(root.link_at("lib", &*root, "lib2"), Err(Errno::Perm));
    assert_eq!(root.link_at("nothing", &*root, "x"), Err(Errno::Noent));
    let etc = at(&root, "etc");
    etc.set_times_at("hosts", SetTime::At(7), SetTime::At(8)).unwrap();
    let st = etc.stat_at("hosts").unwrap();
    assert_eq!((st.atim, st.mtim, st.ino), (7, 8, lower.metadata("etc/hosts").unwrap().ino));
    root.set_times_at("motd-link", SetTime::At(9), SetTime::Omit).unwrap();
    assert_eq!(root.readlink_at("motd-link").unwrap(), "etc/motd");
    assert_eq!(ov.upper().metadata("motd-link").unwrap().filetype, FileType::SymbolicLink);
    let hosts = file(etc.open_at("hosts", READ).unwrap());
    let motd = file(etc.open_at("motd", READ).unwrap());
    motd.set_size(2).unwrap();
    assert_eq!(read(&etc, "motd"), b"he");
    assert_eq!(hosts.stat().unwrap().size, 19);
    // A lower directory's own times: copied up.
    at(&root, "lib/py").set_times(SetTime::At(3), SetTime::At(4)).unwrap();
    assert_eq!(ov.upper().metadata("lib/py").unwrap().mtim, 4);
    assert_eq!(lower.metadata("lib/py").unwrap().mtim, 2_000);
}

#[test]
fn opens_answer_as_linux_does_for_lower_entries() {
    let lower = lower();
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    assert_eq!(root.open_at("lib", WRITE).err(), Some(Errno::Isdir));
    assert_eq!(root.open_at("lib", READ.create(true)).err(), Some(Errno::Isdir));
    assert_eq!(root.open_at("lib", READ.create(true).exclusive(true)).err(), Some(Errno::Exist));
    assert_eq!(root.open_at("motd-link", READ).err(), Some(Errno::Loop));
    assert_eq!(root.open_at("top.txt", READ.directory(true)).err(), Some(Errno::Notdir));
    assert_eq!(root.open_at("nope", READ).err(), Some(Errno::Noent));
    assert_eq!(root.open_at("nope", READ.create(true).directory(true)).err(), Some(Errno::Inval));
    // Truncating copies no data.
    let f = file(root.open_at("top.txt", WRITE.truncate(true)).unwrap());
    assert_eq!(f.stat().unwrap().size, 0);
    assert_eq!(ov.upper().read_file("top.txt").unwrap(), b"");
    assert_eq!(root.mkdir_at("etc"), Err(Errno::Exist));
    assert_eq!(root.symlink_at("x", "top.txt"), Err(Errno::Exist));
    assert_eq!(ov.upper().read_dir("").unwrap(), ["top.txt"], "refused changes copy nothing up");
}

#[test]
fn merged_listings_list_each_entry_once_and_resume_from_any_cookie() {
    let lower = MemFs::new();
    for i in 0..40 {
        lower.write_file(&format!("d/low{i:02}"), "x").unwrap();
    }
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    let d = at(&root, "d");
    for i in 0..10 {
        file(d.open_at(&format!("new{i}"), WRITE.create(true)).unwrap());
    }
    // Copy some lower entries up, remove others.
    for i in 0..5 {
        file(d.open_at(&format!("low{i:02}"), WRITE).unwrap()).write_at(b"y", 0).unwrap();
        d.unlink_at(&format!("low{:02}", 39 - i)).unwrap();
    }
    let all = list(&*d);
    let mut seen: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), all.len(), "no entry twice");
    assert_eq!(all.len(), 35 + 10);
    // The inode numbers listed are those stat reports.
    for e in &all {
        assert_eq!(e.ino, d.stat_at(&e.name).unwrap().ino, "{}", e.name);
    }
    // Resuming from each cookie lists exactly the rest.
    for (k, e) in all.iter().enumerate() {
        let mut rest = Vec::new();
        d.read_dir(e.next, &mut |x| {
            rest.push(x.name);
            true
        })
        .unwrap();
        let want: Vec<String> = all[k + 1..].iter().map(|x| x.name.clone()).collect();
        assert_eq!(rest, want, "after {}", e.name);
    }
    // Changes while listing: every unchanged entry is met once, removed ones are not met again.
    let mut met = Vec::new();
    let mut cookie = 0;
    loop {
        let mut batch = Vec::new();
        d.read_dir(cookie, &mut |e| {
            batch.push(e);
            batch.len() < 4
        })
        .unwrap();
        let Some(last) = batch.last() else { break };
        cookie = last.next;
        for e in &batch {
            met.push(e.name.clone());
        }
        // Copy up an entry not listed yet, remove another one not listed yet.
        if let Some(n) = ["low10", "low20", "low30"].iter().find(|n| !met.iter().any(|m| m == *n)) {
            file(d.open_at(n, WRITE).unwrap()).write_at(b"z", 0).unwrap();
        }
        if let Some(n) = ["low15", "low25"].iter().find(|n| d.stat_at(n).is_ok()) {
            d.unlink_at(n).unwrap();
        }
    }
    let mut sorted = met.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), met.len(), "no entry twice: {met:?}");
    for name in ["low10", "low20", "low30", "new0", "new9", "low00", "low34"] {
        assert!(met.iter().any(|m| m == name), "{name} skipped: {met:?}");
    }
    assert!(!met.iter().any(|m| m == "low15" || m == "low25"), "{met:?}");
}

#[test]
fn inode_numbers_of_the_two_layers_never_collide() {
    let lower = lower();
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    root.mkdir_at("fresh").unwrap();
    file(root.open_at("f", WRITE.create(true)).unwrap());
    let mut inos: Vec<u64> = list(&*root).iter().map(|e| e.ino).collect();
    inos.push(root.stat().unwrap().ino);
    let n = inos.len();
    inos.sort();
    inos.dedup();
    assert_eq!(inos.len(), n);
    let st = root.stat_at("fresh").unwrap();
    assert_eq!(st.ino & UPPER_INO, UPPER_INO);
    assert_eq!(st.dev, root.stat().unwrap().dev);
    assert_ne!(st.dev, lower.metadata("").unwrap().dev);
    // A merged directory reports one link, as overlayfs does.
    root.mkdir_at("x").unwrap();
    assert_eq!(root.stat().unwrap().nlink, 1);
}

#[test]
fn a_full_upper_layer_fails_a_copy_up_and_leaves_nothing() {
    let lower = MemFs::from_entries([("big", vec![7u8; 300_000])]).unwrap();
    let upper = MemFs::builder().quota(100_000).build();
    let ov = Overlay::new(upper, ReadOnly::new(lower.clone())).unwrap();
    let root = ov.root().unwrap();
    assert_eq!(root.open_at("big", WRITE).err(), Some(Errno::Nospc));
    assert_eq!(ov.upper().read_dir("").unwrap(), Vec::<String>::new());
    assert_eq!(ov.upper().used_bytes(), 0);
    assert_eq!(read(&root, "big").len(), 4096);
    assert_eq!(lower.read_file("big").unwrap().len(), 300_000);
}

#[test]
fn an_unlinked_lower_file_stays_readable_and_writable_through_its_handle() {
    let lower = lower();
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    let f = file(root.open_at("top.txt", READ).unwrap());
    root.unlink_at("top.txt").unwrap();
    let mut buf = [0; 8];
    assert_eq!(f.read_at(&mut buf, 0), Ok(3));
    assert_eq!(f.stat().unwrap().nlink, 0);
    // A change copies it to an unnamed upper file, as a removed MemFs file stays writable.
    assert_eq!(f.write_at(b"T", 0), Ok(1));
    assert_eq!(f.read_at(&mut buf, 0), Ok(3));
    assert_eq!(&buf[..3], b"Top");
    assert_eq!(f.stat().unwrap().size, 3);
    assert_eq!(root.stat_at("top.txt"), Err(Errno::Noent));
    assert!(!names(&*root).iter().any(|n| n.starts_with(".hammertime")));
    assert_eq!(ov.upper().read_dir("").unwrap(), Vec::<String>::new());
    assert_eq!(lower.read_file("top.txt").unwrap(), b"top");
    drop(f);
    assert_eq!(ov.upper().used_bytes(), 0, "the copy goes with its last handle");
}

#[test]
fn an_archive_can_be_the_lower_layer() {
    let mut tar = ::tar::Builder::new(Vec::new());
    let mut h = ::tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "www/index.html", &b"hi"[..]).unwrap();
    let archive = crate::archive::Archive::open(tar.into_inner().unwrap()).unwrap();
    let ov = Overlay::new(MemFs::new(), archive).unwrap();
    let root = ov.root().unwrap();
    let www = at(&root, "www");
    file(www.open_at("index.html", WRITE).unwrap()).append(b"!").unwrap();
    assert_eq!(read(&www, "index.html"), b"hi!");
    www.mkdir_at("new").unwrap();
    assert_eq!(names(&*www), ["index.html", "new"]);
}

#[test]
fn a_host_directory_can_be_the_upper_layer() {
    let lower = lower();
    let tmp = tempfile::tempdir().unwrap();
    let ov = Overlay::new(crate::HostDir::open(tmp.path()).unwrap(), ReadOnly::new(lower.clone())).unwrap();
    let root = ov.root().unwrap();
    let etc = at(&root, "etc");
    file(etc.open_at("motd", WRITE).unwrap()).write_at(b"J", 0).unwrap();
    etc.unlink_at("hosts").unwrap();
    for i in 0..50 {
        file(etc.open_at(&format!("new{i}"), WRITE.create(true)).unwrap());
    }
    assert_eq!(std::fs::read(tmp.path().join("etc/motd")).unwrap(), b"Jello");
    assert!(!tmp.path().join("etc/hosts").exists());
    // The merged listing, resumed from every cookie, lists each entry once.
    let all = list(&*etc);
    assert_eq!(all.len(), 51);
    for (k, e) in all.iter().enumerate() {
        let mut rest = 0;
        etc.read_dir(e.next, &mut |_| {
            rest += 1;
            true
        })
        .unwrap();
        assert_eq!(rest, all.len() - k - 1, "after {}", e.name);
    }
    let mut sorted: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 51);
    root.rename_at("top.txt", &*etc, "top").unwrap();
    assert_eq!(read(&etc, "top"), b"top");
    assert_eq!(lower.read_file("top.txt").unwrap(), b"top");
}

/// A lower layer whose directory handles count themselves ([`Counting`]).
struct Counted {
    fs: MemFs,
    counters: Arc<Counters>,
}

impl FileSystem for Counted {
    fn root(&self) -> Result<Arc<dyn Dir>> {
        Ok(Counting::wrap(self.fs.root()?, &self.counters))
    }
}

#[test]
fn a_dropped_overlay_frees_everything_it_held() {
    let counters = Arc::new(Counters::default());
    let lower = Counted { fs: lower(), counters: counters.clone() };
    {
        let ov = Overlay::new(MemFs::new(), lower).unwrap();
        let root = ov.root().unwrap();
        let py = at(&root, "lib/py");
        file(py.open_at("os.py", WRITE).unwrap()).write_at(b"x", 0).unwrap();
        let _reader = file(py.open_at("re.py", READ).unwrap());
        py.unlink_at("re.py").unwrap();
        root.mkdir_at("new").unwrap();
        at(&root, "new").mkdir_at("sub").unwrap();
        root.rename_at("new", &*at(&root, "etc"), "moved").unwrap();
        assert!(counters.live.load(std::sync::atomic::Ordering::Relaxed) > 2);
    }
    assert_eq!(
        counters.live.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "directory handles of the lower layer outlived the overlay"
    );
}

#[test]
fn concurrent_copy_ups_removals_and_listings_agree() {
    let lower = MemFs::new();
    for i in 0..200 {
        lower.write_file(&format!("d/f{i:03}"), format!("{i}")).unwrap();
    }
    let ov = overlay(&lower);
    let root = ov.root().unwrap();
    std::thread::scope(|s| {
        // Copies up the even files, removes every fifth, renames every seventh.
        s.spawn(|| {
            let d = at(&root, "d");
            for i in 0..200 {
                let name = format!("f{i:03}");
                if i % 2 == 0 {
                    file(d.open_at(&name, WRITE).unwrap()).append(b"!").unwrap();
                }
                if i % 5 == 0 {
                    d.unlink_at(&name).unwrap();
                } else if i % 7 == 0 {
                    d.rename_at(&name, &*root, &format!("moved{i:03}")).unwrap();
                }
            }
        });
        // Lists and reads meanwhile: never an entry twice, never an error.
        for _ in 0..2 {
            s.spawn(|| {
                let d = at(&root, "d");
                for _ in 0..20 {
                    let all = list(&*d);
                    let mut names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
                    names.sort();
                    let n = names.len();
                    names.dedup();
                    assert_eq!(names.len(), n);
                    for e in all.iter().take(20) {
                        match d.open_at(&e.name, READ) {
                            Ok(Node::File(f)) => {
                                f.stat().unwrap();
                            }
                            Ok(Node::Dir(_)) => panic!("{} is a file", e.name),
                            Err(Errno::Noent) => {} // removed since it was listed
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
            });
        }
    });
    let d = at(&root, "d");
    let left = names(&*d);
    let want: Vec<String> = (0..200).filter(|i| i % 5 != 0 && i % 7 != 0).map(|i| format!("f{i:03}")).collect();
    assert_eq!(left, want);
    assert_eq!(read(&d, "f002"), b"2!");
    assert_eq!(read(&root, "moved014"), b"14!");
    assert_eq!(lower.read_dir("d").unwrap().len(), 200);
}
