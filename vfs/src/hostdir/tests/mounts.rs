//! `same_filesystem`: host mount points below the root are refused.

use super::*;

#[test]
fn same_filesystem_refuses_mount_points() {
    use std::os::unix::fs::MetadataExt;
    let on_root = |p: &str| std::fs::symlink_metadata(p).map(|m| m.dev()).ok();
    let (Some(root_dev), Some(proc_dev)) = (on_root("/"), on_root("/proc")) else {
        eprintln!("skipped: no / or /proc here");
        return;
    };
    if root_dev == proc_dev || !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: /proc is not mounted here");
        return;
    }
    let fs = HostDir::builder("/").read_only(true).same_filesystem(true).open().expect("open /");
    assert!(fs.is_read_only() && fs.is_same_filesystem());
    let root = fs.root().expect("root");
    assert_eq!(open_err(&*root, "proc", DIRECTORY), Errno::Xdev);
    assert_eq!(open_err(&*root, "proc", RO), Errno::Xdev);
    assert_eq!(root.stat_at("proc").err(), Some(Errno::Xdev));
    let path = crate::resolve::open(&root, "proc/self/status", true, RO);
    assert_eq!(path.err(), Some(Errno::Xdev));
    // The filesystem of the root itself is served.
    let etc = dir(root.open_at("etc", DIRECTORY));
    assert!(!list(&*etc).is_empty());
    assert_eq!(root.stat_at("etc").expect("stat").dev, root_dev);
    // The name is looked up before a read-only instance refuses the change (as `utimensat`
    // does), and the lookup refuses the mount point.
    assert_eq!(root.set_times_at("proc", SetTime::Now, SetTime::Now), Err(Errno::Xdev));
    assert_eq!(root.set_times_at("etc", SetTime::Now, SetTime::Now), Err(Errno::Rofs));

    // Without the option, the mount point is crossed.
    let plain = HostDir::open_read_only("/").expect("open /").root().expect("root");
    assert!(!HostDir::open_read_only("/").expect("open").is_same_filesystem());
    let proc_dir = dir(plain.open_at("proc", DIRECTORY));
    assert_eq!(proc_dir.stat().expect("stat").dev, proc_dev);
    assert_eq!(plain.stat_at("proc").expect("stat").dev, proc_dev);

    // The same refusals without openat2 (the check kernels before 5.6 get).
    let mut old = HostDir::builder("/").same_filesystem(true).open().expect("open /");
    Arc::get_mut(&mut old.inner).expect("sole owner").openat2 = false;
    let root = old.root().expect("root");
    assert_eq!(open_err(&*root, "proc", DIRECTORY), Errno::Xdev);
    assert_eq!(open_err(&*root, "proc", RO), Errno::Xdev);
    assert_eq!(root.set_times_at("proc", SetTime::Omit, SetTime::Omit), Err(Errno::Xdev));
    assert!(!list(&*dir(root.open_at("etc", DIRECTORY))).is_empty());
    // And without the option nor openat2, the mount point is crossed.
    let mut old = HostDir::open_read_only("/").expect("open /");
    Arc::get_mut(&mut old.inner).expect("sole owner").openat2 = false;
    let root = old.root().expect("root");
    assert_eq!(dir(root.open_at("proc", DIRECTORY)).stat().expect("stat").dev, proc_dev);
    assert_eq!(root.stat_at("proc").expect("stat").dev, proc_dev);
}

#[test]
fn same_filesystem_serves_an_ordinary_tree() {
    let fx = fixture();
    std::fs::create_dir(fx.mount.join("d")).expect("mkdir");
    std::fs::write(fx.mount.join("d/f"), b"data").expect("write");
    let fs = HostDir::builder(&fx.mount).same_filesystem(true).open().expect("open");
    assert!(!fs.is_read_only());
    let root = fs.root().expect("root");
    let d = dir(root.open_at("d", DIRECTORY));
    let f = file(d.open_at("f", RW));
    assert_eq!(f.write_at(b"DATA", 0), Ok(4));
    assert_eq!(d.stat_at("f").expect("stat").size, 4);
    assert_eq!(d.stat_at("missing").err(), Some(Errno::Noent));
    d.set_times_at("f", SetTime::At(1), SetTime::At(2)).expect("utimes");
    assert_eq!(d.stat_at("f").expect("stat").mtim, 2);
    assert_stat_matches(&d.stat_at("f").expect("stat"), &fx.mount.join("d/f"));
    let created = file(root.open_at("new", CREATE));
    assert_eq!(created.write_at(b"x", 0), Ok(1));
    assert_eq!(open_err(&*root, "missing", RO), Errno::Noent);
    std::os::unix::fs::symlink("d", fx.mount.join("l")).expect("symlink");
    assert_eq!(open_err(&*root, "l", DIRECTORY), Errno::Loop);
    // The link itself, not followed (where the look for a mount point is a `statx`).
    assert_eq!(root.stat_at("l").expect("stat").filetype, FileType::SymbolicLink);
    // From a descriptor too.
    let fd = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("open");
    let fs = HostDir::builder_from_fd(fd).same_filesystem(true).read_only(true).open().expect("from fd");
    assert_eq!(names(&*fs.root().expect("root")), ["d", "l", "new"]);
}
