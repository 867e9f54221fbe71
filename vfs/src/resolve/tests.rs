//! Tests of the resolver: the path rules on MemFs, and the bounded walk on counting handles
//! and on a host directory.

use super::*;
use crate::test_support::{Counters, Counting, open_fds};
use crate::{FileSystem, MemFs};

fn fs() -> (MemFs, Arc<dyn Dir>) {
    let m = MemFs::new();
    m.create_dir_all("a/b").unwrap();
    m.write_file("a/b/f", b"data").unwrap();
    m.write_file("top", b"t").unwrap();
    m.symlink("a/b/f", "to_f").unwrap();
    m.symlink("a/b", "to_b").unwrap();
    m.symlink("../../top", "a/b/up2").unwrap();
    m.symlink("/etc/passwd", "abs").unwrap();
    m.symlink("../outside", "climb").unwrap();
    m.symlink("loop", "loop").unwrap();
    m.symlink("missing", "dangling").unwrap();
    let root = m.root().unwrap();
    (m, root)
}

fn read(node: Node) -> Vec<u8> {
    let Node::File(f) = node else { panic!("not a file") };
    let mut buf = vec![0u8; 64];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

const RO: OpenOptions =
    OpenOptions { read: true, write: false, create: false, exclusive: false, truncate: false, directory: false };

#[test]
fn dots_and_slashes_stay_inside() {
    let (_m, root) = fs();
    assert_eq!(read(open(&root, "a/./b//../b/f", false, RO).unwrap()), b"data");
    assert_eq!(read(open(&root, "a/b/../../top", false, RO).unwrap()), b"t");
    assert!(matches!(open(&root, "a/b/", false, RO).unwrap(), Node::Dir(_)));
    assert!(matches!(open(&root, ".", false, RO).unwrap(), Node::Dir(_)));
    assert!(matches!(open(&root, "a/..", false, RO).unwrap(), Node::Dir(_)));
}

#[test]
fn escapes_are_perm() {
    let (_m, root) = fs();
    assert_eq!(open(&root, "..", false, RO).err(), Some(Errno::Perm));
    assert_eq!(open(&root, "a/../../x", false, RO).err(), Some(Errno::Perm));
    assert_eq!(open(&root, "/top", false, RO).err(), Some(Errno::Perm));
    assert_eq!(open(&root, "abs", true, RO).err(), Some(Errno::Perm));
    assert_eq!(open(&root, "climb/x", false, RO).err(), Some(Errno::Perm));
    assert_eq!(stat(&root, "climb", true).err(), Some(Errno::Perm));
    // `..` is relative to the descriptor the walk starts from, not to the mount.
    let Node::Dir(a) = open(&root, "a", false, RO).unwrap() else { panic!() };
    assert_eq!(open(&a, "../top", false, RO).err(), Some(Errno::Perm));
    assert_eq!(read(open(&a, "b/../b/f", false, RO).unwrap()), b"data");
    // A link inside `a/b` that climbs to the root is fine from the root, not from `a`.
    assert_eq!(read(open(&root, "a/b/up2", true, RO).unwrap()), b"t");
    assert_eq!(open(&a, "b/up2", true, RO).err(), Some(Errno::Perm));
    // Creating an absolute link is refused.
    assert_eq!(symlink("/etc", &root, "new").err(), Some(Errno::Perm));
    assert_eq!(rename(&root, "top", &a, "../../top2").err(), Some(Errno::Perm));
    assert_eq!(link(&root, "top", false, &a, "../../top2").err(), Some(Errno::Perm));
}

#[test]
fn links_follow_only_where_asked() {
    let (_m, root) = fs();
    assert_eq!(read(open(&root, "to_f", true, RO).unwrap()), b"data");
    assert_eq!(open(&root, "to_f", false, RO).err(), Some(Errno::Loop));
    assert_eq!(read(open(&root, "to_b/f", false, RO).unwrap()), b"data");
    assert_eq!(stat(&root, "to_f", false).unwrap().filetype, FileType::SymbolicLink);
    assert_eq!(stat(&root, "to_f", true).unwrap().filetype, FileType::RegularFile);
    assert_eq!(stat(&root, "to_b/", false).unwrap().filetype, FileType::Directory);
    assert_eq!(readlink(&root, "to_b").unwrap(), "a/b");
    assert_eq!(readlink(&root, "top").err(), Some(Errno::Inval));
}

#[test]
fn loops_and_dangling_links() {
    let (m, root) = fs();
    assert_eq!(open(&root, "loop", true, RO).err(), Some(Errno::Loop));
    assert_eq!(open(&root, "loop/x", false, RO).err(), Some(Errno::Loop));
    assert_eq!(open(&root, "dangling", true, RO).err(), Some(Errno::Noent));
    // O_CREAT through a dangling link creates its target, inside.
    let create = OpenOptions { write: true, create: true, ..RO };
    open(&root, "dangling", true, create).unwrap();
    assert!(m.exists("missing"));
    // With O_EXCL the link itself exists.
    let excl = OpenOptions { exclusive: true, ..create };
    assert_eq!(open(&root, "dangling", true, excl).err(), Some(Errno::Exist));
    assert_eq!(open(&root, ".", false, excl).err(), Some(Errno::Exist));
}

#[test]
fn bad_paths() {
    let (_m, root) = fs();
    assert_eq!(open(&root, "", false, RO).err(), Some(Errno::Noent));
    assert_eq!(open(&root, "top\0", false, RO).err(), Some(Errno::Inval));
    let long = "x".repeat(MAX_NAME_LEN + 1);
    assert_eq!(open(&root, &long, false, RO).err(), Some(Errno::Nametoolong));
    let deep = "a/".repeat(MAX_PATH_LEN / 2 + 1);
    assert_eq!(open(&root, &deep, false, RO).err(), Some(Errno::Nametoolong));
    assert_eq!(open(&root, "top/x", false, RO).err(), Some(Errno::Notdir));
    assert_eq!(open(&root, "top/", false, RO).err(), Some(Errno::Notdir));
    assert_eq!(open(&root, "nope/x", false, RO).err(), Some(Errno::Noent));
}

#[test]
fn trailing_slash_rules() {
    let (m, root) = fs();
    m.create_dir_all("d").unwrap();
    assert_eq!(unlink(&root, "d").err(), Some(Errno::Isdir));
    assert_eq!(unlink(&root, "d/").err(), Some(Errno::Isdir));
    assert_eq!(unlink(&root, "top/").err(), Some(Errno::Notdir));
    assert_eq!(rmdir(&root, "top/").err(), Some(Errno::Notdir));
    assert_eq!(rmdir(&root, "to_b/").err(), Some(Errno::Notdir));
    // A link named with a trailing slash whose target leaves the sandbox: EPERM, as every way
    // out; without the slash, or to a target inside, ENOTDIR (the link is not removed).
    symlink("..", &root, "out").unwrap();
    assert_eq!(rmdir(&root, "out/").err(), Some(Errno::Perm));
    assert_eq!(rmdir(&root, "out").err(), Some(Errno::Notdir));
    symlink("d", &root, "in").unwrap();
    assert_eq!(rmdir(&root, "in/").err(), Some(Errno::Notdir));
    assert!(stat(&root, "d", false).is_ok(), "the link's target stays");
    assert_eq!(symlink("x", &root, "nothing/").err(), Some(Errno::Noent));
    assert_eq!(symlink("x", &root, "d/").err(), Some(Errno::Exist));
    assert_eq!(symlink("x", &root, "top/").err(), Some(Errno::Notdir));
    assert_eq!(link(&root, "top", false, &root, "new/").err(), Some(Errno::Noent));
    rename(&root, "d/", &root, "e/").unwrap();
    assert_eq!(rename(&root, "top/", &root, "x").err(), Some(Errno::Notdir));
    rmdir(&root, "e/").unwrap();
    assert_eq!(rmdir(&root, ".").err(), Some(Errno::Inval));
    assert_eq!(mkdir(&root, ".").err(), Some(Errno::Exist));
    mkdir(&root, "fresh/").unwrap();
    assert_eq!(stat(&root, "fresh", false).unwrap().filetype, FileType::Directory);
}

const DEEP: usize = 2000;

/// Builds `d/d/…/d` (`DEEP` levels) below `root`, with a link `up` at the bottom that climbs
/// 1,000 levels to another `up`, which climbs the other 1,000 to the file `top`: `"d/" × DEEP +
/// "up"` (4,002 bytes) walks down 2,000 levels and back up with `..`.
fn build_deep(root: &Arc<dyn Dir>) {
    let up = "../".repeat(DEEP / 2);
    let create = OpenOptions { write: true, create: true, ..RO };
    let Node::File(top) = root.open_at("top", create).unwrap() else { panic!("top") };
    top.write_at(b"top", 0).unwrap();
    let mut dir = root.clone();
    for level in 1..=DEEP {
        dir.mkdir_at("d").unwrap();
        dir = open_dir(&dir, "d").unwrap();
        if level == DEEP / 2 {
            dir.symlink_at(&format!("{up}top"), "up").unwrap();
        }
    }
    dir.symlink_at(&format!("{up}up"), "up").unwrap();
}

fn deep_path() -> String {
    format!("{}up", "d/".repeat(DEEP))
}

#[test]
fn deep_walks_hold_a_bounded_number_of_handles() {
    use std::sync::atomic::Ordering::Relaxed;
    let m = MemFs::new();
    let raw = m.root().unwrap();
    build_deep(&raw);
    let counters = Arc::new(Counters::default());
    let root = Counting::wrap(raw, &counters);
    let path = deep_path();
    assert!(path.len() <= MAX_PATH_LEN);

    assert_eq!(read(open(&root, &path, true, RO).unwrap()), b"top");
    // `start`, the held levels (18 at this depth: 8 + log2), one being re-opened.
    let max = counters.max_live.load(Relaxed);
    assert!(max <= DIR_WINDOW + 13, "{max} handles open at once");
    assert!(max > DIR_WINDOW, "{max}: the walk does hold a window");
    // Down 2,000 levels, back up with re-walks: O(d log d) opens, not O(d²).
    let opens = counters.opens.load(Relaxed);
    assert!(opens < 8 * DEEP, "{opens} opens");
    assert_eq!(counters.live.load(Relaxed), 1, "only `root` is left");

    // The same walk ending anywhere gives the entry there: the 1,000th level's `up` link.
    let halfway = format!("{}../../d/up", "d/".repeat(DEEP / 2 + 1));
    assert_eq!(read(open(&root, &halfway, true, RO).unwrap()), b"top");
    let r = resolve(&root, &format!("{}{}", "d/".repeat(600), "../".repeat(599)), false).unwrap();
    assert_eq!(r.name, None);
    assert_eq!(r.dir.stat().unwrap().ino, m.metadata("d").unwrap().ino);
    let above = format!("{}{}", "d/".repeat(600), "../".repeat(601));
    assert_eq!(stat(&root, &above, false).err(), Some(Errno::Perm));
}

#[test]
fn every_level_of_a_climb_is_the_right_one() {
    // Levels named after their depth: climbing from 300 down to each level lands there.
    let m = MemFs::new();
    let names: Vec<String> = (1..=300).map(|i| format!("l{i}")).collect();
    m.create_dir_all(&names.join("/")).unwrap();
    let root = m.root().unwrap();
    let down = names.join("/");
    for up in 0..=300 {
        let path = format!("{down}/.{}", "/..".repeat(up));
        let r = resolve(&root, &path, false).unwrap();
        let expected = if up == 300 { root.stat().unwrap() } else { m.metadata(&names[..300 - up].join("/")).unwrap() };
        assert_eq!(r.dir.stat().unwrap().ino, expected.ino, "up {up}");
    }
    // Zig-zags: down, up, down again.
    let zig = format!("{}/{}{}/.", names[..100].join("/"), "../".repeat(60), names[40..200].join("/"));
    let r = resolve(&root, &zig, false).unwrap();
    assert_eq!(r.dir.stat().unwrap().ino, m.metadata(&names[..200].join("/")).unwrap().ino);
}

#[test]
fn a_tree_changed_under_a_climb_answers_what_the_rewalk_finds() {
    // Renames `l3` as soon as the walk reaches level 40, then climbs back through it: the
    // re-walk finds no `l3` (the walk never goes anywhere the names do not lead).
    struct Renaming {
        inner: Arc<dyn Dir>,
        fs: MemFs,
        depth: usize,
    }
    impl Dir for Renaming {
        fn stat(&self) -> Result<Stat> {
            self.inner.stat()
        }
        fn stat_at(&self, name: &str) -> Result<Stat> {
            self.inner.stat_at(name)
        }
        fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
            match self.inner.open_at(name, options)? {
                Node::Dir(d) => {
                    let depth = self.depth + 1;
                    if depth == 40 {
                        let root = self.fs.root()?;
                        let l2 = open_dir(&open_dir(&root, "l1")?, "l2")?;
                        l2.rename_at("l3", &*root, "moved")?;
                    }
                    Ok(Node::Dir(Arc::new(Renaming { inner: d, fs: self.fs.clone(), depth })))
                }
                file => Ok(file),
            }
        }
        fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(crate::DirEntry) -> bool) -> Result<()> {
            self.inner.read_dir(cookie, sink)
        }
        fn readlink_at(&self, name: &str) -> Result<String> {
            self.inner.readlink_at(name)
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
    let m = MemFs::new();
    let names: Vec<String> = (1..=40).map(|i| format!("l{i}")).collect();
    m.create_dir_all(&names.join("/")).unwrap();
    let root: Arc<dyn Dir> = Arc::new(Renaming { inner: m.root().unwrap(), fs: m.clone(), depth: 0 });
    let path = format!("{}/{}", names.join("/"), "../".repeat(30));
    assert_eq!(resolve(&root, &path, false).err(), Some(Errno::Noent));
}

#[test]
fn deep_walks_on_a_host_directory_hold_a_bounded_number_of_descriptors() {
    use std::sync::atomic::Ordering::Relaxed;
    let tmp = tempfile::tempdir().unwrap();
    let fs = crate::HostDir::open(tmp.path()).unwrap();
    build_deep(&fs.root().unwrap());
    let counters = Arc::new(Counters { sample_fds: true, ..Counters::default() });
    let root = Counting::wrap(fs.root().unwrap(), &counters);
    let before = open_fds();
    assert_eq!(read(open(&root, &deep_path(), true, RO).unwrap()), b"top");
    let during = counters.max_fds.load(Relaxed).saturating_sub(before);
    // 18 held, plus whatever the other tests running meanwhile open: far from 2,000.
    assert!(during < 200, "{during} more descriptors open during the walk");
    let max = counters.max_live.load(Relaxed);
    assert!(max <= DIR_WINDOW + 13, "{max} handles open at once");
}

#[test]
fn plain_prefixes_stop_before_the_last_name_and_at_dots() {
    let prefix = |p| plain_prefix(p).map(|(joined, rest)| (joined.into_owned(), rest));
    assert_eq!(prefix("a/b/c"), Some(("a/b".into(), "/c")));
    assert!(matches!(plain_prefix("a/b/c"), Some((Cow::Borrowed("a/b"), _))));
    assert_eq!(prefix("a//b///c/"), Some(("a/b".into(), "///c/")));
    assert_eq!(prefix("a/../b"), Some(("a".into(), "/../b")));
    assert_eq!(prefix("a/b/"), Some(("a".into(), "/b/")));
    assert_eq!(prefix("./a/b"), None);
    assert_eq!(prefix("a"), None);
    assert_eq!(prefix("a//"), None);
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let path = format!("a/{long}/b");
    assert_eq!(prefix(&path), Some(("a".into(), &path[1..])));
}

#[test]
fn whole_paths_of_plain_names() {
    let joined = |p| plain_path(p).map(Cow::into_owned);
    assert_eq!(joined("a/b").as_deref(), Some("a/b"));
    assert!(matches!(plain_path("a/b/c"), Some(Cow::Borrowed("a/b/c"))));
    assert_eq!(joined("a//b///c").as_deref(), Some("a/b/c"));
    assert_eq!(joined("a/b//c").as_deref(), Some("a/b/c"), "repeated slashes after a borrowed prefix");
    for p in ["a", "a/", "a/./b", "a/..", "./a/b"] {
        assert_eq!(joined(p), None, "{p}");
    }
    assert_eq!(joined(&format!("a/{}", "x".repeat(MAX_NAME_LEN + 1))), None);
}

#[test]
fn name_and_path_limits_are_exact() {
    let (_m, root) = fs();
    let create = OpenOptions { create: true, write: true, ..RO };
    // A name of exactly NAME_MAX bytes is a name; one byte more is too long.
    let longest = "n".repeat(MAX_NAME_LEN);
    assert!(open(&root, &longest, false, create).is_ok());
    assert!(open(&root, &format!("a/../{longest}"), false, RO).is_ok());
    assert_eq!(open(&root, &format!("{longest}n"), false, RO).err(), Some(Errno::Nametoolong));
    // A path of exactly PATH_MAX bytes is walked; one byte more is too long.
    let path = format!("{}to", "./".repeat((MAX_PATH_LEN - 2) / 2));
    assert_eq!(path.len(), MAX_PATH_LEN);
    assert_eq!(open(&root, &path, false, RO).err(), Some(Errno::Noent));
    assert_eq!(open(&root, &format!("{path}p"), false, RO).err(), Some(Errno::Nametoolong));
    assert_eq!(open(&root, &format!(".{path}"), false, RO).err(), Some(Errno::Nametoolong));
}

/// A directory whose entry `flip` is a link when opened (`ELOOP`) but no link when read
/// (`EINVAL`), forever: a host swapping it back and forth faster than the walk.
struct Flipping {
    opens: std::sync::atomic::AtomicUsize,
}

impl Dir for Flipping {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat::new(FileType::Directory, 0))
    }
    fn stat_at(&self, _name: &str) -> Result<Stat> {
        Ok(Stat::new(FileType::Directory, 0))
    }
    fn open_at(&self, _name: &str, _options: OpenOptions) -> Result<Node> {
        self.opens.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(Errno::Loop)
    }
    fn read_dir(&self, _cookie: u64, _sink: &mut dyn FnMut(crate::DirEntry) -> bool) -> Result<()> {
        Ok(())
    }
    fn readlink_at(&self, _name: &str) -> Result<String> {
        Err(Errno::Inval)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn a_link_flipping_forever_ends_in_eloop_after_the_link_limit() {
    let flipping = Arc::new(Flipping { opens: Default::default() });
    let root: Arc<dyn Dir> = flipping.clone();
    assert_eq!(open(&root, "flip/x", false, RO).err(), Some(Errno::Loop));
    // The first try and one retry per link the limit allows.
    assert_eq!(flipping.opens.load(std::sync::atomic::Ordering::Relaxed), MAX_SYMLINK_FOLLOWS + 1);
}

#[test]
fn following_a_name_that_is_no_link_reads_no_link() {
    let (_m, inner) = fs();
    let counters = Arc::new(Counters::default());
    let root = Counting::wrap(inner, &counters);
    assert_eq!(stat(&root, "top", true).unwrap().filetype, FileType::RegularFile);
    assert_eq!(counters.readlinks.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(stat(&root, "to_f", true).unwrap().size, 4);
    assert_eq!(counters.readlinks.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn a_chain_of_exactly_the_link_limit_resolves_and_one_more_loops() {
    let m = MemFs::new();
    m.write_file("file", b"end").unwrap();
    // l1 -> l2 -> ... -> l40 -> file: 40 links followed.
    for i in 1..=MAX_SYMLINK_FOLLOWS {
        let target = if i == MAX_SYMLINK_FOLLOWS { "file".to_string() } else { format!("l{}", i + 1) };
        m.symlink(&target, &format!("l{i}")).unwrap();
    }
    m.symlink("l1", "l0").unwrap();
    let root = m.root().unwrap();
    assert_eq!(read(open(&root, "l1", true, RO).unwrap()), b"end");
    assert_eq!(open(&root, "l0", true, RO).err(), Some(Errno::Loop));
    assert_eq!(stat(&root, "l0", true).err(), Some(Errno::Loop));
}

#[test]
fn create_with_a_trailing_slash_answers_as_linux() {
    let (_m, root) = fs();
    let create = OpenOptions { create: true, write: true, ..RO };
    let exclusive = OpenOptions { exclusive: true, ..create };
    // O_CREAT on "name/": EISDIR for a directory or a missing name, ENOTDIR for a file.
    assert_eq!(open(&root, "a/", false, create).err(), Some(Errno::Isdir));
    assert_eq!(open(&root, "missing/", false, create).err(), Some(Errno::Isdir));
    assert_eq!(open(&root, "top/", false, create).err(), Some(Errno::Notdir));
    assert_eq!(open(&root, "to_b/", false, create).err(), Some(Errno::Isdir));
    // With O_EXCL the entry is refused for existing, whatever it is.
    assert_eq!(open(&root, "a/", false, exclusive).err(), Some(Errno::Exist));
    // Without O_CREAT, a trailing slash opens a directory only.
    assert!(matches!(open(&root, "a/", false, RO), Ok(Node::Dir(_))));
    assert_eq!(open(&root, "top/", false, RO).err(), Some(Errno::Notdir));
}

#[test]
fn dots_and_trailing_slashes_of_the_other_calls_answer_as_linux() {
    let (_m, root) = fs();
    // rmdir of a path ending in `..` or `.`: ENOTEMPTY and EINVAL.
    assert_eq!(rmdir(&root, "a/.."), Err(Errno::Notempty));
    assert_eq!(rmdir(&root, "a/b/../"), Err(Errno::Notempty));
    assert_eq!(rmdir(&root, "a/."), Err(Errno::Inval));
    assert_eq!(rmdir(&root, "."), Err(Errno::Inval));
    // Opening the directory itself (`.`): read only.
    let write = OpenOptions { write: true, ..RO };
    let create = OpenOptions { create: true, ..RO };
    assert!(matches!(open(&root, "a/.", false, RO), Ok(Node::Dir(_))));
    assert_eq!(open(&root, "a/.", false, write).err(), Some(Errno::Isdir));
    assert_eq!(open(&root, "a/.", false, OpenOptions { truncate: true, ..RO }).err(), Some(Errno::Isdir));
    assert_eq!(open(&root, ".", false, create).err(), Some(Errno::Isdir));
    assert_eq!(open(&root, ".", false, OpenOptions { exclusive: true, ..create }).err(), Some(Errno::Exist));
    // set_times with a trailing slash needs a directory.
    assert_eq!(set_times(&root, "top/", false, SetTime::At(1), SetTime::At(1)), Err(Errno::Notdir));
    assert_eq!(set_times(&root, "a/", false, SetTime::At(1), SetTime::At(2)), Ok(()));
    assert_eq!(stat(&root, "a", false).unwrap().mtim, 2);
    assert_eq!(set_times(&root, "to_b/", false, SetTime::At(1), SetTime::At(3)), Ok(()));
    assert_eq!(stat(&root, "a/b", false).unwrap().mtim, 3);
    // link of "name/": EPERM for a directory, ENOTDIR for anything else.
    assert_eq!(link(&root, "a/", false, &root, "x"), Err(Errno::Perm));
    assert_eq!(link(&root, "top/", false, &root, "x"), Err(Errno::Notdir));
}

#[test]
fn create_with_directory_is_einval_before_the_path_is_looked_at() {
    let o = OpenOptions::new().read(true).create(true).directory(true);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("a")).unwrap();
    // The kernel's own answer, for an existing directory and for a missing name.
    for name in ["a", "new"] {
        let raw = rustix::fs::open(
            tmp.path().join(name),
            rustix::fs::OFlags::CREATE | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::from_raw_mode(0o755),
        );
        assert_eq!(raw.err(), Some(rustix::io::Errno::INVAL), "{name}");
    }
    let (_m, mem) = fs();
    let host = crate::HostDir::open(tmp.path()).unwrap().root().unwrap();
    for root in [mem, host] {
        for path in ["a", "new", "a/", "", "..", "a\0"] {
            assert_eq!(open(&root, path, true, o).err(), Some(Errno::Inval), "{path:?}");
        }
    }
    assert!(!tmp.path().join("new").exists());
}

#[test]
fn setting_no_time_does_not_look_at_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (_m, mem) = fs();
    let host = crate::HostDir::open(tmp.path()).unwrap().root().unwrap();
    std::fs::write(tmp.path().join("top"), "t").unwrap();
    let ro = crate::ReadOnly::new(fs().0).root().unwrap();
    let host_ro = crate::HostDir::open_read_only(tmp.path()).unwrap().root().unwrap();
    let frozen = fs().0;
    let _snapshot = frozen.snapshot();
    for (root, read_only) in [(mem, false), (host, false), (ro, true), (host_ro, true), (frozen.root().unwrap(), true)]
    {
        for path in ["missing", "missing/x", "top/x", "..", "", "a\0"] {
            assert_eq!(set_times(&root, path, true, SetTime::Omit, SetTime::Omit), Ok(()), "{path:?}");
        }
        // Otherwise the path is looked up before a read-only filesystem refuses the change.
        assert_eq!(set_times(&root, "missing", true, SetTime::Now, SetTime::Omit), Err(Errno::Noent));
        let existing = set_times(&root, "top", true, SetTime::Now, SetTime::Omit);
        assert_eq!(existing, if read_only { Err(Errno::Rofs) } else { Ok(()) });
    }
}
