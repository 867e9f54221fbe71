//! Directory listings: cookies, changes during a listing, shared descriptors, large directories.

use super::*;

/// The names listed from `cookie` on.
fn names_from(d: &dyn Dir, cookie: u64) -> Vec<String> {
    let mut out = Vec::new();
    d.read_dir(cookie, &mut |e| {
        out.push(e.name);
        true
    })
    .expect("read_dir");
    out
}

#[test]
fn read_dir_lists_once_with_types_and_inodes() {
    let fx = fixture();
    std::fs::write(fx.mount.join("f"), b"").expect("write");
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::os::unix::fs::symlink("d", fx.mount.join("l")).expect("symlink");
    for i in 0..5 {
        std::fs::write(fx.mount.join(format!("g{i}")), b"").expect("write");
    }
    let root = rw_root(&fx);
    let entries = list(&*root);
    let listed: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    for e in &entries {
        assert_eq!(e.ino, std::fs::symlink_metadata(fx.mount.join(&e.name)).expect("meta").ino());
        assert_ne!(e.next, 0, "{}: cookie 0 restarts", e.name);
    }
    // Continuing from an entry's cookie lists exactly the entries after it, in order.
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(names_from(&*root, e.next), listed[i + 1..], "after {}", e.name);
    }
    let mut types: Vec<(&str, FileType)> = entries.iter().map(|e| (e.name.as_str(), e.filetype)).collect();
    types.sort_by_key(|t| t.0);
    assert_eq!(&types[..3], [("d", FileType::Directory), ("f", FileType::RegularFile), ("g0", FileType::RegularFile)]);
    assert_eq!(types[7], ("l", FileType::SymbolicLink));

    // A cookie that is no kernel offset is past every entry: nothing is listed, as on MemFs.
    for cookie in [1 << 63, u64::MAX] {
        assert_eq!(names_from(&*root, cookie), Vec::<String>::new(), "cookie {cookie}");
    }

    // A listing continued across changes: an entry removed before it is reached is not listed,
    // none is listed twice, no unchanged one is skipped; restarting at 0 sees the changes.
    let mut first = Vec::new();
    root.read_dir(0, &mut |e| {
        first.push(e);
        false
    })
    .expect("read_dir");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].name, listed[0]);
    let removed = &listed[3];
    std::fs::write(fx.mount.join("added"), b"").expect("write");
    std::fs::remove_file(fx.mount.join(removed)).expect("rm");
    let rest = names_from(&*root, first[0].next);
    let mut all: Vec<String> = rest.iter().filter(|n| *n != "added").cloned().collect();
    all.insert(0, first[0].name.clone());
    let mut expected = listed.clone();
    expected.retain(|n| n != removed);
    assert_eq!(all, expected, "listed {rest:?}");
    let mut now = expected.clone();
    now.push("added".to_owned());
    now.sort();
    assert_eq!(names(&*root), now);

    // An empty directory lists nothing.
    let d = dir(root.open_at("d", DIRECTORY));
    assert!(list(&*d).is_empty());
}

#[test]
fn read_dir_handles_sharing_a_descriptor_list_independently() {
    let fx = fixture();
    for i in 0..100 {
        std::fs::write(fx.mount.join(format!("f{i:03}")), b"").expect("write");
    }
    // Two roots of one instance share the root descriptor (and its file position).
    let fs = HostDir::open(&fx.mount).expect("open");
    let (a, b) = (fs.root().expect("root"), fs.root().expect("root"));
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    let (mut cookie_a, mut cookie_b) = (0, 0);
    let step = |d: &dyn Dir, cookie: &mut u64, seen: &mut Vec<String>, n: usize| {
        let mut got = 0;
        d.read_dir(*cookie, &mut |e| {
            *cookie = e.next;
            seen.push(e.name);
            got += 1;
            got < n
        })
        .expect("read_dir");
        got
    };
    loop {
        let got_a = step(&*a, &mut cookie_a, &mut seen_a, 3);
        let got_b = step(&*b, &mut cookie_b, &mut seen_b, 7);
        if got_a == 0 && got_b == 0 {
            break;
        }
    }
    let expected: Vec<String> = (0..100).map(|i| format!("f{i:03}")).collect();
    for seen in [&mut seen_a, &mut seen_b] {
        seen.sort();
        assert_eq!(*seen, expected);
    }

    // Listings on several threads at once, each from its own cookies.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let root = fs.root().expect("root");
            std::thread::spawn(move || {
                let (mut cookie, mut seen) = (0, Vec::new());
                loop {
                    let mut got = 0;
                    root.read_dir(cookie, &mut |e| {
                        cookie = e.next;
                        seen.push(e.name);
                        got += 1;
                        got < 2 + t
                    })
                    .expect("read_dir");
                    if got == 0 {
                        break;
                    }
                }
                seen.sort();
                seen
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), expected);
    }
}

#[test]
fn read_dir_skips_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let fx = fixture();
    for i in 0..10 {
        std::fs::write(fx.mount.join(format!("ok{i}")), b"").expect("write");
    }
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff\xfe");
    std::fs::write(fx.mount.join(bad), b"").expect("write non-UTF-8 name");
    let root = rw_root(&fx);
    let mut seen = Vec::new();
    let mut cookie = 0;
    loop {
        let mut got = 0;
        root.read_dir(cookie, &mut |e| {
            cookie = e.next;
            seen.push(e.name);
            got += 1;
            got < 2
        })
        .expect("read_dir");
        if got == 0 {
            break;
        }
    }
    seen.sort();
    let expected: Vec<String> = (0..10).map(|i| format!("ok{i}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn read_dir_of_a_removed_directory_is_empty() {
    let fx = fixture();
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    let root = rw_root(&fx);
    let d = dir(root.open_at("d", DIRECTORY));
    std::fs::remove_dir(fx.mount.join("d")).expect("rmdir");
    assert!(list(&*d).is_empty());
}

#[test]
fn read_dir_sink_may_reenter_the_handle() {
    let fx = fixture();
    std::fs::write(fx.mount.join("a"), b"").expect("write");
    std::fs::write(fx.mount.join("b"), b"").expect("write");
    let root = rw_root(&fx);
    let mut seen = Vec::new();
    let r2 = Arc::clone(&root);
    root.read_dir(0, &mut |e| {
        // Re-entering (a stat and a nested continued listing) must not deadlock.
        assert_eq!(r2.stat_at(&e.name).expect("stat").filetype, FileType::RegularFile);
        r2.read_dir(e.next, &mut |_| false).expect("nested");
        seen.push(e.name);
        true
    })
    .expect("read_dir");
    seen.sort();
    assert_eq!(seen, ["a", "b"]);
}

#[test]
fn read_dir_ten_thousand_entries_three_at_a_time() {
    let fx = fixture();
    const N: usize = 10_000;
    for i in 0..N {
        std::fs::write(fx.mount.join(format!("file{i:05}")), b"").expect("write");
    }
    let root = rw_root(&fx);
    let mut seen = HashSet::new();
    let mut cookie = 0;
    let mut calls = 0;
    loop {
        let mut batch = Vec::new();
        root.read_dir(cookie, &mut |e| {
            batch.push(e);
            batch.len() < 3
        })
        .expect("read_dir");
        calls += 1;
        let Some(last) = batch.last() else { break };
        assert!(batch.len() == 3 || batch.len() == N % 3, "batch of {}", batch.len());
        cookie = last.next;
        for e in batch {
            let path = fx.mount.join(&e.name);
            let m = std::fs::symlink_metadata(&path).expect("meta");
            assert_eq!(e.ino, m.ino(), "{}", e.name);
            assert_eq!(e.filetype, FileType::RegularFile);
            let st = root.stat_at(&e.name).expect("stat");
            assert_eq!((st.dev, st.ino, st.nlink), (m.dev(), m.ino(), m.nlink()), "{}", e.name);
            assert!(seen.insert(e.name.clone()), "{} listed twice", e.name);
        }
    }
    assert_eq!(seen.len(), N);
    assert_eq!(calls, N.div_ceil(3) + 1);
    for i in 0..N {
        assert!(seen.contains(&format!("file{i:05}")));
    }
}
