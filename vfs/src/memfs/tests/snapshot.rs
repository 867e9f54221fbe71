//! Tests of [`MemFs::snapshot`]: independent copies in constant time, a frozen base.

use super::*;
use crate::test_support::{file, names};
use crate::{FileType, resolve};

const WRITE: OpenOptions = OpenOptions::new().read(true).write(true);

fn base() -> MemFs {
    let fs = MemFs::from_entries([("lib/std.py", "def f(): pass"), ("data/in.txt", "1 2 3"), ("top", "t")]).unwrap();
    for i in 0..200 {
        fs.write_file(&format!("bulk/d{}/f{i}", i % 10), vec![b'x'; 1000]).unwrap();
    }
    fs
}

#[test]
fn snapshots_are_independent_and_see_the_base() {
    let base = base();
    let (a, b) = (base.snapshot().unwrap(), base.snapshot().unwrap());
    let (ra, rb) = (a.root().unwrap(), b.root().unwrap());
    let f = file(resolve::open(&ra, "data/in.txt", false, WRITE).unwrap());
    f.write_at(b"9", 0).unwrap();
    resolve::unlink(&ra, "top").unwrap();
    resolve::mkdir(&ra, "out").unwrap();
    resolve::rename(&ra, "lib/std.py", &ra, "std.py").unwrap();

    assert_eq!(a.upper().read_file("data/in.txt").unwrap(), b"9 2 3");
    assert_eq!(names(&*rb), ["bulk", "data", "lib", "top"]);
    assert_eq!(names(&*ra), ["bulk", "data", "lib", "out", "std.py"]);
    let g = file(resolve::open(&rb, "data/in.txt", false, OpenOptions::new().read(true)).unwrap());
    let mut buf = [0; 5];
    g.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"1 2 3");
    assert_eq!(base.read_file("data/in.txt").unwrap(), b"1 2 3");
    // Only what changed was copied: the root, `data`, `lib` and their entries.
    assert!(a.upper().used_inodes() <= 6, "{}", a.upper().used_inodes());
    assert!(a.upper().used_bytes() < 100, "{}", a.upper().used_bytes());
    assert_eq!(b.upper().used_inodes(), 1);
    // Each snapshot is its own device; entries keep the base's inode numbers.
    assert_ne!(ra.stat().unwrap().dev, rb.stat().unwrap().dev);
    assert_eq!(rb.stat_at("top").unwrap().ino, base.metadata("top").unwrap().ino);
}

#[test]
fn the_first_snapshot_freezes_the_base() {
    let base = base();
    let clone = base.clone();
    let root = base.root().unwrap();
    let open = file(root.open_at("top", WRITE).unwrap());
    assert!(!base.is_frozen() && !base.is_read_only());
    let _snap = base.snapshot().unwrap();
    assert!(clone.is_frozen() && clone.is_read_only());
    // Handles made before answer EROFS for every change.
    assert_eq!(open.write_at(b"x", 0), Err(Errno::Rofs));
    assert_eq!(open.append(b"x"), Err(Errno::Rofs));
    assert_eq!(open.set_size(0), Err(Errno::Rofs));
    assert_eq!(open.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(open.allocate(0, 10), Err(Errno::Rofs));
    assert_eq!(root.mkdir_at("new"), Err(Errno::Rofs));
    assert_eq!(root.rmdir_at("lib"), Err(Errno::Rofs));
    assert_eq!(root.unlink_at("top"), Err(Errno::Rofs));
    assert_eq!(root.symlink_at("top", "l"), Err(Errno::Rofs));
    assert_eq!(root.rename_at("top", &*root, "top2"), Err(Errno::Rofs));
    assert_eq!(root.link_at("top", &*root, "top2"), Err(Errno::Rofs));
    assert_eq!(root.set_times_at("top", SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(root.set_times(SetTime::Now, SetTime::Now), Err(Errno::Rofs));
    assert_eq!(root.open_at("new", WRITE.create(true)).err(), Some(Errno::Rofs));
    // Each flag that would change something alone is refused too.
    assert_eq!(root.open_at("top", OpenOptions::new().write(true)).err(), Some(Errno::Rofs));
    assert_eq!(root.open_at("top", OpenOptions::new().truncate(true)).err(), Some(Errno::Rofs));
    assert_eq!(root.open_at("new", OpenOptions::new().create(true)).err(), Some(Errno::Rofs));
    assert!(root.open_at("top", OpenOptions::new().read(true)).is_ok());
    // The path helpers fail as on a read-only filesystem.
    assert_eq!(clone.write_file("x", "y").unwrap_err().kind(), io::ErrorKind::ReadOnlyFilesystem);
    assert_eq!(clone.create_dir_all("a/b").unwrap_err().kind(), io::ErrorKind::ReadOnlyFilesystem);
    // A new root answers as a read-only mount, in Linux's order.
    let ro = base.root().unwrap();
    assert_eq!(ro.open_at("lib", WRITE).err(), Some(Errno::Rofs));
    assert_eq!(ro.mkdir_at("top"), Err(Errno::Rofs));
    assert_eq!(ro.open_at("top", OpenOptions::new().create(true).exclusive(true)).err(), Some(Errno::Exist));
    // Reading still works, and nothing changed.
    assert_eq!(base.read_file("top").unwrap(), b"t");
    assert_eq!(ro.stat_at("lib").unwrap().filetype, FileType::Directory);
}

#[test]
fn a_snapshot_keeps_the_base_limits_for_its_changes() {
    let base = MemFs::builder().quota(50_000).max_inodes(20).build();
    base.write_file("big", vec![1u8; 40_000]).unwrap();
    let snap = base.snapshot().unwrap();
    assert_eq!(snap.upper().quota(), Some(50_000));
    let root = snap.root().unwrap();
    // Copying `big` up fits (40 KB of 50), a second copy would not.
    file(root.open_at("big", WRITE).unwrap()).write_at(b"2", 0).unwrap();
    resolve::link(&root, "big", false, &root, "big2").unwrap();
    let f = file(root.open_at("new", WRITE.create(true)).unwrap());
    assert_eq!(f.write_at(&[0u8; 20_000], 0), Ok(50_000 - 40_000 - 3 - 4 - 3));
    assert_eq!(base.read_file("big").unwrap()[0], 1);
}
