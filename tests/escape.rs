//! The sandbox-escape corpus: a guest must never leave its mounts, on any backend.
//!
//! Every case of `guests/src/escape.c` (`..` beyond the mount, absolute symlinks, relative
//! symlinks that climb out, host-made links pointing outside, dangling links used with
//! `O_CREAT`, hard links, renames in and out, guest-made links, wasi-libc's own path handling)
//! is run
//!
//! - as a guest (`guests/escape.wasm`) against `HostDir` and `MemFs` mounts, and
//! - directly against the resolver (`hammertime::vfs::resolve`), with the same attempts,
//!
//! and every attempt's result is checked exactly (`ok …` or the errno name). After every case the
//! host side checks that the outside is untouched: the same names, types, sizes, link counts,
//! inode numbers, contents and modification times, access times too where the host updates
//! them on reads (so nothing outside was read), and no new entry next to the mounts. The race
//! tests swap a sandbox directory for links to the outside while a guest (or a thread calling
//! the resolver) keeps opening, creating, listing and changing paths through it.
//!
//! The layout (guest `/sandbox` is fd 3, `/other` is fd 4):
//!
//! ```text
//! sandbox/file.txt            "inside"
//! sandbox/sub/inner.txt       "inner"
//! sandbox/sub/deep/
//! sandbox/abs_link   -> /etc
//! sandbox/abs_link2  -> <absolute path of outside>   (HostDir: host path; MemFs: /outside)
//! sandbox/climb      -> ../outside
//! sandbox/climb2     -> sub/../../outside/secret.txt
//! sandbox/dangling   -> ../outside/created_by_guest
//! sandbox/loop       -> loop
//! outside/secret.txt          SECRET
//! outside/dir/g               SECRET-g
//! outside/dir/outside_only.txt
//! other/o.txt                 "other"                 (MemFs: a separate instance)
//! ```
//!
//! For `MemFs` the sandbox is the `sandbox` directory of one `MemFs` that also holds `outside`
//! (mounted through [`SubTree`]), so that a resolver bug would really reach the outside of the
//! same instance; `/other` is another instance (renames and links to it answer `EXDEV`).
//!
//! Run: `cargo test --test escape`.

use std::collections::BTreeMap;
use std::fs::FileTimes;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::{Dir, Errno, FileSystem, FileType, HostDir, MemFs, Node, OpenOptions, SetTime, Stat, resolve};
use wasmtime::{Engine, Module};

// ---------------------------------------------------------------------------------------------
// The corpus: each case's attempts, in the order `escape.c` makes them, with their results.
// `{ABS}` stands for the target of `abs_link2`.

struct Case {
    name: &'static str,
    attempts: &'static [(&'static str, &'static str)],
}

const DOTDOT: Case = Case {
    name: "dotdot",
    attempts: &[
        ("open ../outside/secret.txt", "EPERM"),
        ("open-nofollow ../outside/secret.txt", "EPERM"),
        ("open ..", "EPERM"),
        ("opendir ..", "EPERM"),
        ("ls ..", "EPERM"),
        ("stat ..", "EPERM"),
        ("stat ../outside/secret.txt", "EPERM"),
        ("lstat ../outside/secret.txt", "EPERM"),
        ("readlink ../outside/secret.txt", "EPERM"),
        ("creat ../outside/secret.txt", "EPERM"),
        ("creat ../outside/new.txt", "EPERM"),
        ("creat-excl ../outside/new.txt", "EPERM"),
        ("trunc ../outside/secret.txt", "EPERM"),
        ("unlink ../outside/secret.txt", "EPERM"),
        ("rmdir ../outside/dir", "EPERM"),
        ("mkdir ../outside/newdir", "EPERM"),
        ("symlink file.txt ../outside/newlink", "EPERM"),
        ("rename ../outside/secret.txt stolen", "EPERM"),
        ("rename file.txt ../outside/planted", "EPERM"),
        ("rename sub ../escaped", "EPERM"),
        ("link ../outside/secret.txt stolen", "EPERM"),
        ("link-follow ../outside/secret.txt stolen", "EPERM"),
        ("link file.txt ../outside/planted", "EPERM"),
        ("utimes ../outside/secret.txt", "EPERM"),
        ("utimes-nofollow ../outside/secret.txt", "EPERM"),
        ("open sub/../../outside/secret.txt", "EPERM"),
        ("open ./../outside/secret.txt", "EPERM"),
        ("open .././outside/secret.txt", "EPERM"),
        ("open ..//outside//secret.txt", "EPERM"),
        ("open sub/./../../outside/secret.txt", "EPERM"),
        ("open sub/deep/../../..", "EPERM"),
        ("open sub/deep/../../../outside/secret.txt", "EPERM"),
        ("open sub/deep/../../../sandbox/file.txt", "EPERM"),
        ("open sub/deep/../deep/../../../outside/secret.txt", "EPERM"),
        ("open ../outside/dir/", "EPERM"),
        ("open ../../../../../../../../../../etc/passwd", "EPERM"),
        ("open /etc/passwd", "EPERM"),
        ("open /sandbox/file.txt", "EPERM"),
        ("open //outside/secret.txt", "EPERM"),
        ("stat /", "EPERM"),
        ("open @other:../outside/secret.txt", "EPERM"),
        ("open @other:../sandbox/file.txt", "EPERM"),
        ("open @other:..", "EPERM"),
        ("open sub/..", "ok dir"),
        ("open sub/deep/../../file.txt", "ok [inside]"),
        ("ls sub/deep/../..", "ok abs_link,abs_link2,climb,climb2,dangling,file.txt,loop,sub"),
    ],
};

/// The attempts made through each host-made link `L` that leads outside.
macro_rules! link_attempts {
    ($l:literal, $target:literal) => {
        [
            (concat!("open ", $l), "EPERM"),
            (concat!("open-nofollow ", $l), "ELOOP"),
            (concat!("opendir ", $l), "EPERM"),
            (concat!("ls ", $l), "EPERM"),
            (concat!("stat ", $l), "EPERM"),
            (concat!("lstat ", $l), "ok symlink"),
            (concat!("readlink ", $l), concat!("ok ", $target)),
            (concat!("open ", $l, "/"), "EPERM"),
            (concat!("open ", $l, "/secret.txt"), "EPERM"),
            (concat!("creat ", $l), "EPERM"),
            (concat!("creat ", $l, "/planted"), "EPERM"),
            (concat!("mkdir ", $l, "/newdir"), "EPERM"),
            (concat!("unlink ", $l, "/secret.txt"), "EPERM"),
            (concat!("rename ", $l, "/secret.txt stolen"), "EPERM"),
            (concat!("link ", $l, "/secret.txt stolen"), "EPERM"),
            (concat!("link-follow ", $l, " stolen"), "EPERM"),
            (concat!("utimes ", $l), "EPERM"),
        ]
    };
}

const LINK_ABS: [(&str, &str); 17] = link_attempts!("abs_link", "/etc");
const LINK_ABS2: [(&str, &str); 17] = link_attempts!("abs_link2", "{ABS}");
const LINK_CLIMB: [(&str, &str); 17] = link_attempts!("climb", "../outside");
const LINK_CLIMB2: [(&str, &str); 17] = link_attempts!("climb2", "sub/../../outside/secret.txt");
const LINK_REST: [(&str, &str); 9] = [
    ("open abs_link/passwd", "EPERM"),
    ("open sub/../climb/secret.txt", "EPERM"),
    ("open climb/../file.txt", "EPERM"),
    ("open loop", "ELOOP"),
    ("open-nofollow loop", "ELOOP"),
    ("stat loop", "ELOOP"),
    ("lstat loop", "ok symlink"),
    ("open loop/x", "ELOOP"),
    ("creat loop", "ELOOP"),
];

const fn concat_attempts<const N: usize>(
    parts: [&[(&'static str, &'static str)]; 5],
) -> [(&'static str, &'static str); N] {
    let mut out = [("", ""); N];
    let mut n = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N);
    out
}

const LINKS_ATTEMPTS: [(&str, &str); 77] =
    concat_attempts([&LINK_ABS, &LINK_ABS2, &LINK_CLIMB, &LINK_CLIMB2, &LINK_REST]);

const LINKS: Case = Case { name: "links", attempts: &LINKS_ATTEMPTS };

const DANGLING: Case = Case {
    name: "dangling",
    attempts: &[
        ("creat dangling", "EPERM"),
        ("creat-nofollow dangling", "ELOOP"),
        ("creat-excl dangling", "EEXIST"),
        ("trunc dangling", "EPERM"),
        ("open dangling", "EPERM"),
        ("stat dangling", "EPERM"),
        ("lstat dangling", "ok symlink"),
        ("readlink dangling", "ok ../outside/created_by_guest"),
        ("mkdir dangling", "EEXIST"),
        ("symlink x dangling", "EEXIST"),
        ("utimes dangling", "EPERM"),
        ("open dangling/", "EPERM"),
        ("creat dangling/", "EPERM"),
        ("symlink ../outside/guest_made gdangling", "ok"),
        ("creat gdangling", "EPERM"),
        ("symlink ../../outside/guest_made sub/gd2", "ok"),
        ("creat sub/gd2", "EPERM"),
        ("symlink sub/../../outside/guest_made gd3", "ok"),
        ("creat gd3", "EPERM"),
        // Renaming over the link replaces the link; nothing is followed.
        ("rename file.txt dangling", "ok"),
        ("lstat dangling", "ok file"),
        ("open dangling", "ok [inside]"),
    ],
};

const HARDLINK: Case = Case {
    name: "hardlink",
    attempts: &[
        // Linking a link links the link itself (it stays inside, and still cannot be followed).
        ("link climb hl_climb", "ok"),
        ("lstat hl_climb", "ok symlink"),
        ("readlink hl_climb", "ok ../outside"),
        ("open hl_climb", "EPERM"),
        ("open hl_climb/secret.txt", "EPERM"),
        ("link climb2 hl_climb2", "ok"),
        ("open hl_climb2", "EPERM"),
        ("link-follow climb hl2", "EPERM"),
        ("link-follow climb2 hl3", "EPERM"),
        ("link-follow abs_link2 hl4", "EPERM"),
        ("link-follow dangling hl5", "EPERM"),
        ("link ../outside/secret.txt stolen", "EPERM"),
        ("link climb/secret.txt stolen", "EPERM"),
        // A trailing slash on the source is not followed by `link`: the link is no directory.
        ("link climb2/ stolen", "ENOTDIR"),
        ("link file.txt ../outside/planted", "EPERM"),
        ("link file.txt climb/planted", "EPERM"),
        ("link file.txt dangling", "EEXIST"),
        ("link file.txt @other:stolen", "EXDEV"),
        ("link @other:o.txt imported", "EXDEV"),
        ("link sub hl_dir", "EPERM"),
        ("link file.txt hl_file", "ok"),
        ("open hl_file", "ok [inside]"),
        ("lstat stolen", "ENOENT"),
    ],
};

const RENAME: Case = Case {
    name: "rename",
    attempts: &[
        ("rename sub ../escaped", "EPERM"),
        ("rename file.txt ../outside/secret.txt", "EPERM"),
        ("rename ../outside/secret.txt file.txt", "EPERM"),
        ("rename ../outside stolen_dir", "EPERM"),
        ("rename file.txt climb/secret.txt", "EPERM"),
        ("rename climb/secret.txt stolen", "EPERM"),
        ("rename climb2/ stolen", "ENOTDIR"),
        ("rename sub @other:sub", "EXDEV"),
        ("rename file.txt @other:file.txt", "EXDEV"),
        ("rename @other:o.txt imported", "EXDEV"),
        ("rename sub/deep ../deep", "EPERM"),
        ("rename sub/deep sub/../../deep", "EPERM"),
        ("rename .. x", "EPERM"),
        ("rename sub/deep/../.. x", "EBUSY"),
        // Moving a relative link moves what it points to: still inside or nowhere.
        ("rename climb moved_climb", "ok"),
        ("lstat moved_climb", "ok symlink"),
        ("open moved_climb/secret.txt", "EPERM"),
        ("rename moved_climb sub/deep/moved", "ok"),
        ("open sub/deep/moved/secret.txt", "ENOENT"),
        ("rename dangling sub/dangling", "ok"),
        ("creat sub/dangling", "ENOENT"),
        ("rename sub sub2", "ok"),
        ("open sub2/../../outside/secret.txt", "EPERM"),
        ("lstat ../escaped", "EPERM"),
    ],
};

const SYMLINK: Case = Case {
    name: "symlink",
    attempts: &[
        ("symlink ../outside evil", "ok"),
        ("open evil/secret.txt", "EPERM"),
        ("stat evil", "EPERM"),
        ("ls evil", "EPERM"),
        ("creat evil/planted", "EPERM"),
        ("mkdir evil/newdir", "EPERM"),
        ("symlink ../../outside sub/evil", "ok"),
        ("open sub/evil/secret.txt", "EPERM"),
        ("symlink /etc abs", "EPERM"),
        ("symlink /sandbox/file.txt abs2", "EPERM"),
        ("lstat abs", "ENOENT"),
        ("symlink file.txt ../outside/newlink", "EPERM"),
        ("symlink file.txt climb/newlink", "EPERM"),
        ("symlink ../../../outside/secret.txt @other:escape", "ok"),
        ("open @other:escape", "EPERM"),
        ("symlink sub c1", "ok"),
        ("symlink c1/.. c2", "ok"),
        ("open c2/file.txt", "ok [inside]"),
        ("symlink c2/.. c3", "ok"),
        ("open c3", "EPERM"),
        ("open c3/outside/secret.txt", "EPERM"),
        ("symlink sub/deep/../../.. c4", "ok"),
        ("open c4/outside/secret.txt", "EPERM"),
        ("symlink . self", "ok"),
        ("open self/self/self/file.txt", "ok [inside]"),
        ("open self/..", "EPERM"),
        ("symlink .. up", "ok"),
        ("open up", "EPERM"),
        ("open sub/deep/../../up/outside/secret.txt", "EPERM"),
        ("symlink ../../../../../../../../../../etc/passwd deep_climb", "ok"),
        ("open deep_climb", "EPERM"),
        ("symlink l2 l1", "ok"),
        ("symlink l1 l2", "ok"),
        ("open l1", "ELOOP"),
    ],
};

/// Through wasi-libc (guest only): it matches an absolute path against the preopen names
/// without normalizing `..` and hands the rest to the host, so `/sandbox/../x` reaches the
/// host as `../x` from fd 3 and answers `EPERM`; a path under no preopen never leaves the
/// guest (`ENOTCAPABLE`).
const LIBC: Case = Case {
    name: "libc",
    attempts: &[
        ("libc-open /sandbox/file.txt", "ok [inside]"),
        ("libc-open /sandbox/../outside/secret.txt", "EPERM"),
        ("libc-open /sandbox/sub/../../outside/secret.txt", "EPERM"),
        ("libc-open /sandbox/climb/secret.txt", "EPERM"),
        ("libc-open /outside/secret.txt", "ENOTCAPABLE"),
        ("libc-open /etc/passwd", "ENOTCAPABLE"),
        ("libc-open /", "ENOTCAPABLE"),
        ("libc-open ../outside/secret.txt", "ENOTCAPABLE"),
        ("libc-open sandbox/../outside/secret.txt", "EPERM"),
        ("libc-stat /sandbox/..", "EPERM"),
        ("libc-opendir /sandbox/..", "EPERM"),
        ("libc-opendir /sandbox/climb", "EPERM"),
        ("libc-creat /sandbox/dangling", "EPERM"),
        ("libc-creat /sandbox/climb/planted", "EPERM"),
        ("libc-creat /outside/planted", "ENOTCAPABLE"),
        ("libc-readlink /sandbox/climb", "ok ../outside"),
        ("libc-unlink /sandbox/../outside/secret.txt", "EPERM"),
        ("libc-mkdir /sandbox/../newdir", "EPERM"),
        ("libc-symlink /etc /sandbox/abs", "EPERM"),
        ("libc-symlink ../outside /sandbox/evil", "ok"),
        ("libc-open /sandbox/evil/secret.txt", "EPERM"),
        ("libc-rename /sandbox/file.txt /outside/planted", "ENOTCAPABLE"),
        ("libc-rename /sandbox/sub /sandbox/../escaped", "EPERM"),
        ("libc-rename /sandbox/file.txt /other/file.txt", "EXDEV"),
        ("libc-link /sandbox/file.txt /sandbox/../planted", "EPERM"),
        ("libc-link /sandbox/file.txt /other/planted", "EXDEV"),
        ("libc-chdir /sandbox/sub", "ok"),
        ("libc-open ../file.txt", "ok [inside]"),
        ("libc-open ../../outside/secret.txt", "EPERM"),
        ("libc-open ../climb/secret.txt", "EPERM"),
        ("libc-chdir /sandbox/..", "EPERM"),
        ("libc-open inner.txt", "ok [inner]"),
    ],
};

// ---------------------------------------------------------------------------------------------
// Fixtures.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Host,
    Mem,
}

/// Serves one directory of a `MemFs` as the root of a mount (the rest of the instance stays
/// outside the mount).
struct SubTree {
    fs: MemFs,
    dir: &'static str,
}

impl FileSystem for SubTree {
    fn root(&self) -> hammertime::vfs::Result<Arc<dyn Dir>> {
        match self.fs.root()?.open_at(self.dir, OpenOptions::new().read(true).directory(true))? {
            Node::Dir(d) => Ok(d),
            Node::File(_) => Err(Errno::Notdir),
        }
    }
}

/// An access time far in the past, given to everything outside so that any read of it (which
/// sets the access time on a `relatime` host) shows.
const OLD_ATIME: Duration = Duration::from_secs(1_000_000_000);

struct Fixture {
    backend: Backend,
    /// HostDir: the temporary parent of `sandbox/`, `outside/` and `other/`.
    tmp: Option<tempfile::TempDir>,
    /// MemFs: the instance holding `sandbox/` and `outside/`.
    world: MemFs,
    /// MemFs: the `/other` mount.
    other: MemFs,
    secret: String,
    /// The target of `abs_link2`.
    abs_outside: String,
}

fn unique_secret() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("TOP-SECRET-{}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos)
}

impl Fixture {
    fn new(backend: Backend, race: bool) -> Fixture {
        let secret = unique_secret();
        let tmp = (backend == Backend::Host).then(|| tempfile::tempdir().expect("tempdir"));
        let abs_outside = match &tmp {
            Some(t) => t.path().join("outside").to_str().expect("utf-8 temp path").to_owned(),
            None => "/outside".to_owned(),
        };
        let mut files = vec![
            ("sandbox/file.txt", "inside".to_owned()),
            ("sandbox/sub/inner.txt", "inner".to_owned()),
            ("outside/secret.txt", secret.clone()),
            ("outside/dir/g", format!("{secret}-g")),
            ("outside/dir/outside_only.txt", format!("{secret}-only")),
        ];
        let mut dirs = vec!["sandbox/sub/deep"];
        let mut links = vec![
            ("/etc".to_owned(), "sandbox/abs_link"),
            (abs_outside.clone(), "sandbox/abs_link2"),
            ("../outside".to_owned(), "sandbox/climb"),
            ("sub/../../outside/secret.txt".to_owned(), "sandbox/climb2"),
            ("../outside/created_by_guest".to_owned(), "sandbox/dangling"),
            ("loop".to_owned(), "sandbox/loop"),
        ];
        if race {
            files.push(("sandbox/swap/f", String::new()));
            files.push(("sandbox/swap/g", "inside-g".to_owned()));
            links.push(("../outside/dir".to_owned(), "sandbox/swap_rel"));
            links.push((format!("{abs_outside}/dir"), "sandbox/swap_abs"));
            dirs.push("sandbox/swap");
        }
        let world = MemFs::new();
        let other = MemFs::new();
        match &tmp {
            Some(t) => {
                let p = t.path();
                for d in dirs.iter().chain(&["outside/dir", "other"]) {
                    std::fs::create_dir_all(p.join(d)).expect("mkdir");
                }
                for (f, content) in &files {
                    std::fs::create_dir_all(p.join(f).parent().expect("parent")).expect("mkdir");
                    std::fs::write(p.join(f), content).expect("write");
                }
                std::fs::write(p.join("other/o.txt"), "other").expect("write");
                for (target, path) in &links {
                    std::os::unix::fs::symlink(target, p.join(path)).expect("symlink");
                }
            }
            None => {
                for d in dirs.iter().chain(&["outside/dir"]) {
                    world.create_dir_all(d).expect("mkdir");
                }
                for (f, content) in &files {
                    world.write_file(f, content).expect("write");
                }
                other.write_file("o.txt", "other").expect("write");
                for (target, path) in &links {
                    world.symlink(target, path).expect("symlink");
                }
            }
        }
        let fx = Fixture { backend, tmp, world, other, secret, abs_outside };
        fx.age_atimes();
        fx
    }

    fn parent(&self) -> &Path {
        self.tmp.as_ref().expect("HostDir fixture").path()
    }

    /// The guest context: `/sandbox` (fd 3) and `/other` (fd 4).
    fn builder(&self) -> hammertime::WasiCtxBuilder {
        let mut b = WasiCtx::builder();
        match self.backend {
            Backend::Host => b
                .preopen_dir(self.parent().join("sandbox"), "/sandbox")
                .preopen_dir(self.parent().join("other"), "/other"),
            Backend::Mem => b
                .preopen(SubTree { fs: self.world.clone(), dir: "sandbox" }, "/sandbox")
                .preopen(self.other.clone(), "/other"),
        };
        b
    }

    /// The roots of the two mounts, for the resolver-level tests.
    fn roots(&self) -> (Arc<dyn Dir>, Arc<dyn Dir>) {
        match self.backend {
            Backend::Host => (
                HostDir::open(self.parent().join("sandbox")).expect("open").root().expect("root"),
                HostDir::open(self.parent().join("other")).expect("open").root().expect("root"),
            ),
            Backend::Mem => (
                SubTree { fs: self.world.clone(), dir: "sandbox" }.root().expect("root"),
                self.other.root().expect("root"),
            ),
        }
    }

    /// The root holding `sandbox` and `outside`, seen through the backend.
    fn world_root(&self) -> Arc<dyn Dir> {
        match self.backend {
            Backend::Host => HostDir::open(self.parent()).expect("open").root().expect("root"),
            Backend::Mem => self.world.root().expect("root"),
        }
    }

    /// HostDir: sets the access time of everything outside to [`OLD_ATIME`].
    fn age_atimes(&self) {
        if self.backend != Backend::Host {
            return;
        }
        fn age(path: &Path) {
            let meta = std::fs::symlink_metadata(path).expect("meta");
            if meta.file_type().is_symlink() {
                return;
            }
            let f = std::fs::File::open(path).expect("open");
            f.set_times(FileTimes::new().set_accessed(UNIX_EPOCH + OLD_ATIME)).expect("set atime");
            if meta.is_dir() {
                for e in std::fs::read_dir(path).expect("read_dir") {
                    age(&e.expect("entry").path());
                }
                // Listing it set its access time again.
                f.set_times(FileTimes::new().set_accessed(UNIX_EPOCH + OLD_ATIME)).expect("set atime");
            }
        }
        age(&self.parent().join("outside"));
    }

    /// What the host sees next to and outside the mounts.
    fn snapshot(&self) -> Snapshot {
        let root = self.world_root();
        let mut top = names(&root);
        top.sort();
        let mut outside = BTreeMap::new();
        let st = root.stat_at("outside").expect("stat outside");
        walk(&root, "outside", st, self.backend == Backend::Mem || atime_updates_on_read(), &mut outside);
        self.age_atimes();
        Snapshot { top, outside }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    /// The names next to the mounts.
    top: Vec<String>,
    /// Every entry under `outside`, by path.
    outside: BTreeMap<String, Entry>,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    filetype: FileType,
    size: u64,
    nlink: u64,
    ino: u64,
    mtim: u64,
    /// Only where reads set it.
    atim: Option<u64>,
    /// A file's bytes or a link's target.
    content: Vec<u8>,
}

fn names(dir: &Arc<dyn Dir>) -> Vec<String> {
    let mut v = Vec::new();
    dir.read_dir(0, &mut |e| {
        v.push(e.name);
        true
    })
    .expect("read_dir");
    v
}

fn open_dir(dir: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match dir.open_at(name, OpenOptions::new().read(true).directory(true)).expect("open dir") {
        Node::Dir(d) => d,
        Node::File(_) => panic!("{name} is not a directory"),
    }
}

fn read_all(dir: &Arc<dyn Dir>, name: &str) -> Vec<u8> {
    let Node::File(f) = dir.open_at(name, OpenOptions::new().read(true)).expect("open file") else {
        panic!("{name} is not a file");
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = f.read_at(&mut buf, out.len() as u64).expect("read");
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Records `name` (in `parent`, attributes `st` taken before anything is read) and below.
fn walk(parent: &Arc<dyn Dir>, path: &str, st: Stat, with_atime: bool, out: &mut BTreeMap<String, Entry>) {
    let name = path.rsplit('/').next().expect("name");
    let mut entry = Entry {
        filetype: st.filetype,
        size: st.size,
        nlink: st.nlink,
        ino: st.ino,
        mtim: st.mtim,
        atim: with_atime.then_some(st.atim),
        content: Vec::new(),
    };
    match st.filetype {
        FileType::Directory => {
            // Directory sizes are the host's business; the entries are compared one by one.
            entry.size = 0;
            let dir = open_dir(parent, name);
            let mut children: Vec<(String, Stat)> =
                names(&dir).into_iter().map(|n| (n.clone(), dir.stat_at(&n).expect("stat"))).collect();
            children.sort_by(|a, b| a.0.cmp(&b.0));
            for (child, st) in children {
                walk(&dir, &format!("{path}/{child}"), st, with_atime, out);
            }
        }
        FileType::RegularFile => entry.content = read_all(parent, name),
        FileType::SymbolicLink => entry.content = parent.readlink_at(name).expect("readlink").into_bytes(),
        _ => {}
    }
    out.insert(path.to_owned(), entry);
}

/// Whether the host sets a file's access time when it is read (relatime with an old atime):
/// then the snapshots also prove that nothing outside was read.
fn atime_updates_on_read() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("probe");
        std::fs::write(&path, "probe").expect("write");
        let f = std::fs::File::open(&path).expect("open");
        f.set_times(FileTimes::new().set_accessed(UNIX_EPOCH + OLD_ATIME)).expect("set atime");
        drop(f);
        std::fs::read(&path).expect("read");
        let atime = std::fs::metadata(&path).expect("meta").accessed().expect("atime");
        let works = atime != UNIX_EPOCH + OLD_ATIME;
        if !works {
            eprintln!(
                "escape: the host does not update access times on reads; reads are checked from the guest side only"
            );
        }
        works
    })
}

// ---------------------------------------------------------------------------------------------
// Running the guest.

fn guest() -> &'static (Engine, Module) {
    static GUEST: OnceLock<(Engine, Module)> = OnceLock::new();
    GUEST.get_or_init(|| {
        let engine = Engine::default();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/escape.wasm");
        let module = Module::from_file(&engine, &path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        (engine, module)
    })
}

/// Runs `escape.wasm ARGS...` in the fixture; its stdout.
fn run_guest(fx: &Fixture, args: &[&str]) -> String {
    let (engine, module) = guest();
    let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
    let ctx = fx
        .builder()
        .arg("escape")
        .args(args.iter().copied())
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build()
        .expect("build");
    let code = hammertime::run(engine, module, ctx).expect("run");
    assert_eq!((code, stderr.to_string_lossy()), (0, String::new()), "escape {args:?}");
    stdout.to_string_lossy()
}

// ---------------------------------------------------------------------------------------------
// The same attempts, straight through the resolver.

fn errno_name(e: Errno) -> String {
    format!("E{}", e.name().to_uppercase())
}

fn describe(node: Node) -> Result<String, Errno> {
    match node {
        Node::Dir(_) => Ok("dir".to_owned()),
        Node::File(f) => {
            let mut buf = [0u8; 200];
            let mut n = 0;
            while n < buf.len() {
                let got = f.read_at(&mut buf[n..], n as u64)?;
                if got == 0 {
                    break;
                }
                n += got;
            }
            Ok(format!("[{}]", String::from_utf8_lossy(&buf[..n])))
        }
    }
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Directory => "dir",
        FileType::RegularFile => "file",
        FileType::SymbolicLink => "symlink",
        _ => "other",
    }
}

/// Makes one attempt line of `escape.c` with `resolve::*`; the line the guest would print.
fn direct(line: &str, sandbox: &Arc<dyn Dir>, other: &Arc<dyn Dir>) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    let at = |spec: &str| -> (Arc<dyn Dir>, String) {
        match spec.strip_prefix("@other:") {
            Some(p) => (other.clone(), p.to_owned()),
            None => (sandbox.clone(), spec.to_owned()),
        }
    };
    let (d, p) = at(args[1]);
    let (d2, p2) = args.get(2).map(|a| at(a)).unwrap_or_else(|| (d.clone(), String::new()));
    const RO: OpenOptions = OpenOptions::new().read(true);
    const WO: OpenOptions = OpenOptions::new().write(true);
    let write_guest = |node: Node| -> Result<String, Errno> {
        match node {
            Node::File(f) => f.write_at(b"guest", 0).map(|_| String::new()),
            Node::Dir(_) => Err(Errno::Isdir),
        }
    };
    let mtime = SetTime::At(1_234_567_890 * 1_000_000_000);
    let result: Result<String, Errno> = match args[0] {
        "open" => resolve::open(&d, &p, true, RO).and_then(describe),
        "open-nofollow" => resolve::open(&d, &p, false, RO).and_then(describe),
        "opendir" => resolve::open(&d, &p, true, RO.directory(true)).and_then(describe),
        "ls" => resolve::open(&d, &p, true, RO.directory(true)).map(|n| match n {
            Node::Dir(dir) => {
                let mut v = names(&dir);
                v.sort();
                if v.is_empty() { "-".to_owned() } else { v.join(",") }
            }
            Node::File(_) => unreachable!("opened a directory"),
        }),
        "creat" => resolve::open(&d, &p, true, WO.create(true)).and_then(write_guest),
        "creat-nofollow" => resolve::open(&d, &p, false, WO.create(true)).and_then(write_guest),
        "creat-excl" => resolve::open(&d, &p, true, WO.create(true).exclusive(true)).and_then(write_guest),
        "trunc" => resolve::open(&d, &p, true, WO.truncate(true)).and_then(write_guest),
        "stat" => resolve::stat(&d, &p, true).map(|st| type_name(st.filetype).to_owned()),
        "lstat" => resolve::stat(&d, &p, false).map(|st| type_name(st.filetype).to_owned()),
        "readlink" => resolve::readlink(&d, &p),
        "unlink" => resolve::unlink(&d, &p).map(|()| String::new()),
        "rmdir" => resolve::rmdir(&d, &p).map(|()| String::new()),
        "mkdir" => resolve::mkdir(&d, &p).map(|()| String::new()),
        // `symlink TARGET PATH`: the target is verbatim, the path is the second argument.
        "symlink" => resolve::symlink(args[1], &d2, &p2).map(|()| String::new()),
        "rename" => resolve::rename(&d, &p, &d2, &p2).map(|()| String::new()),
        "link" => resolve::link(&d, &p, false, &d2, &p2).map(|()| String::new()),
        "link-follow" => resolve::link(&d, &p, true, &d2, &p2).map(|()| String::new()),
        "utimes" => resolve::set_times(&d, &p, true, SetTime::Omit, mtime).map(|()| String::new()),
        "utimes-nofollow" => resolve::set_times(&d, &p, false, SetTime::Omit, mtime).map(|()| String::new()),
        op => panic!("unknown op {op} in {line:?}"),
    };
    match result {
        Ok(detail) if detail.is_empty() => format!("{line}: ok"),
        Ok(detail) => format!("{line}: ok {detail}"),
        Err(e) => format!("{line}: {}", errno_name(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking a case.

#[derive(Clone, Copy, Debug)]
enum Layer {
    /// `escape.wasm CASE`.
    Guest,
    /// The same attempts through `resolve::*`.
    Resolver,
}

fn check(case: &Case, backend: Backend, layer: Layer) {
    let fx = Fixture::new(backend, false);
    let before = fx.snapshot();
    let expected: Vec<String> = case
        .attempts
        .iter()
        .map(|(line, result)| format!("{line}: {}", result.replace("{ABS}", &fx.abs_outside)))
        .collect();
    let actual: Vec<String> = match layer {
        Layer::Guest => run_guest(&fx, &[case.name]).lines().map(str::to_owned).collect(),
        Layer::Resolver => {
            let (sandbox, other) = fx.roots();
            case.attempts.iter().map(|(line, _)| direct(line, &sandbox, &other)).collect()
        }
    };
    let after = fx.snapshot();

    let all = actual.join("\n");
    assert!(!all.contains(&fx.secret), "{} {backend:?} {layer:?}: the secret was read:\n{all}", case.name);
    let mut wrong = Vec::new();
    for i in 0..expected.len().max(actual.len()) {
        let (e, a) = (expected.get(i), actual.get(i));
        if e != a {
            wrong.push(format!("  expected {:?}\n       got {:?}", e.map(String::as_str), a.map(String::as_str)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} {backend:?} {layer:?}: {} attempt(s) differ:\n{}",
        case.name,
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(before, after, "{} {backend:?} {layer:?}: the outside changed", case.name);
    assert_eq!(before.top, expected_top(backend));
}

fn expected_top(backend: Backend) -> Vec<String> {
    let v: &[&str] = match backend {
        Backend::Host => &["other", "outside", "sandbox"],
        Backend::Mem => &["outside", "sandbox"],
    };
    v.iter().map(|s| (*s).to_owned()).collect()
}

macro_rules! corpus {
    ($($name:ident: $case:ident, $backend:ident, $layer:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check(&$case, Backend::$backend, Layer::$layer);
            }
        )*
    };
}

corpus! {
    dotdot_hostdir: DOTDOT, Host, Guest;
    dotdot_memfs: DOTDOT, Mem, Guest;
    dotdot_hostdir_resolver: DOTDOT, Host, Resolver;
    dotdot_memfs_resolver: DOTDOT, Mem, Resolver;
    links_hostdir: LINKS, Host, Guest;
    links_memfs: LINKS, Mem, Guest;
    links_hostdir_resolver: LINKS, Host, Resolver;
    links_memfs_resolver: LINKS, Mem, Resolver;
    dangling_hostdir: DANGLING, Host, Guest;
    dangling_memfs: DANGLING, Mem, Guest;
    dangling_hostdir_resolver: DANGLING, Host, Resolver;
    dangling_memfs_resolver: DANGLING, Mem, Resolver;
    hardlink_hostdir: HARDLINK, Host, Guest;
    hardlink_memfs: HARDLINK, Mem, Guest;
    hardlink_hostdir_resolver: HARDLINK, Host, Resolver;
    hardlink_memfs_resolver: HARDLINK, Mem, Resolver;
    rename_hostdir: RENAME, Host, Guest;
    rename_memfs: RENAME, Mem, Guest;
    rename_hostdir_resolver: RENAME, Host, Resolver;
    rename_memfs_resolver: RENAME, Mem, Resolver;
    symlink_hostdir: SYMLINK, Host, Guest;
    symlink_memfs: SYMLINK, Mem, Guest;
    symlink_hostdir_resolver: SYMLINK, Host, Resolver;
    symlink_memfs_resolver: SYMLINK, Mem, Resolver;
    libc_hostdir: LIBC, Host, Guest;
    libc_memfs: LIBC, Mem, Guest;
}

/// The guest's `ops` mode runs the lines it is given: a quick check that the case tables and
/// the guest agree on what each line does, on an attempt that is not in any case.
#[test]
fn ops_mode_runs_given_lines() {
    for backend in [Backend::Host, Backend::Mem] {
        let fx = Fixture::new(backend, false);
        let out = run_guest(&fx, &["ops", "open climb2", "readlink abs_link2", "open file.txt"]);
        let want =
            format!("open climb2: EPERM\nreadlink abs_link2: ok {}\nopen file.txt: ok [inside]\n", fx.abs_outside);
        assert_eq!(out, want, "{backend:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The race: the host swaps `sandbox/swap` between a directory and links to `outside/dir`.

/// The attempts repeated during the race (the guest's `race` mode makes the same ones).
const RACE_OPS: [&str; 7] =
    ["creat swap/f", "open swap/g", "ls swap", "mkdir swap/d", "rmdir swap/d", "stat swap/g", "utimes swap/g"];

/// What an attempt may answer while the name changes under it: a refusal (`EPERM` for a link
/// followed out, `ELOOP` for a name that became a link between two calls, as `HostDir`
/// documents), or `ENOENT`/`EEXIST` (MemFs's swap is not atomic; `mkdir`/`rmdir swap/d`).
const RACE_ERRNOS: &[&str] = &["EPERM", "ELOOP", "ENOENT", "EEXIST"];

/// Also seen under the race, and accepted by the no-escape race tests (nothing leaves the
/// sandbox), but wrong: the resolver finds a link, the host swaps the directory back, and the
/// follow-up call answers for the directory: `EINVAL` from `readlink_at` (resolve.rs:120 and
/// :132), `ENOTDIR` from HostDir's `open_at` (hostdir.rs:261-265, which documents `ELOOP`).
const RACE_ERRNOS_WRONG: &[&str] = &["EINVAL", "ENOTDIR"];

/// Spins for `d` (keeps a swapped state for a while without leaving the core).
fn spin(d: Duration) {
    let t = std::time::Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Swaps `swap` with `swap_rel` and back, then with `swap_abs` and back, until `stop`.
fn swapper(fx: &Fixture, stop: &AtomicBool) -> u64 {
    let mut swaps = 0u64;
    match fx.backend {
        Backend::Host => {
            let sandbox = fx.parent().join("sandbox");
            let (swap, alts) = (sandbox.join("swap"), [sandbox.join("swap_rel"), sandbox.join("swap_abs")]);
            while !stop.load(Ordering::Relaxed) {
                for alt in &alts {
                    for _ in 0..2 {
                        rustix::fs::renameat_with(
                            rustix::fs::CWD,
                            &swap,
                            rustix::fs::CWD,
                            alt,
                            rustix::fs::RenameFlags::EXCHANGE,
                        )
                        .expect("exchange");
                        swaps += 1;
                    }
                }
            }
        }
        Backend::Mem => {
            let (sandbox, _) = fx.roots();
            let mv = |a: &str, b: &str| sandbox.rename_at(a, &*sandbox, b).expect("rename");
            while !stop.load(Ordering::Relaxed) {
                for alt in ["swap_rel", "swap_abs"] {
                    // Not atomic: `swap` is missing for a moment at each step.
                    mv("swap", "swap_stash");
                    mv(alt, "swap");
                    spin(Duration::from_micros(30));
                    mv("swap", alt);
                    mv("swap_stash", "swap");
                    spin(Duration::from_micros(30));
                    swaps += 2;
                }
            }
        }
    }
    swaps
}

/// The direct attacker: the race ops through the resolver, `iterations` times, reported as the
/// guest reports them.
fn direct_race(fx: &Fixture, iterations: usize) -> String {
    let (sandbox, other) = fx.roots();
    let mut counts: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); RACE_OPS.len()];
    let mut out = String::new();
    for _ in 0..iterations {
        for (i, op) in RACE_OPS.iter().enumerate() {
            let line = direct(op, &sandbox, &other);
            let result = &line[op.len() + 2..];
            let key = if result.starts_with("ok") { "ok" } else { result };
            *counts[i].entry(key.to_owned()).or_default() += 1;
            let leaked = match *op {
                "open swap/g" => result.starts_with("ok") && result != "ok [inside-g]",
                "ls swap" => {
                    result.starts_with("ok ") && result[3..].split(',').any(|n| !["f", "g", "d", "-"].contains(&n))
                }
                _ => false,
            };
            if leaked {
                out.push_str(&format!("LEAK {op}: {result}\n"));
            }
        }
    }
    for (op, c) in RACE_OPS.iter().zip(&counts) {
        out.push_str(&format!("race {op}:"));
        for (k, n) in c {
            out.push_str(&format!(" {k}={n}"));
        }
        out.push('\n');
    }
    out
}

/// Runs the race; `strict`: only [`RACE_ERRNOS`] are accepted, else also
/// [`RACE_ERRNOS_WRONG`].
fn race(backend: Backend, layer: Layer, strict: bool) {
    let fx = Fixture::new(backend, true);
    guest(); // compiled before the clock starts
    let before = fx.snapshot();
    let stop = AtomicBool::new(false);
    let (out, swaps) = std::thread::scope(|s| {
        let swapper = s.spawn(|| swapper(&fx, &stop));
        // Let the swapping start, then attack for a while (about 300 ms or more).
        std::thread::sleep(Duration::from_millis(5));
        let started = std::time::Instant::now();
        let mut out = String::new();
        while started.elapsed() < Duration::from_millis(300) {
            out.push_str(&match layer {
                Layer::Guest => run_guest(&fx, &["race", "500"]),
                Layer::Resolver => direct_race(&fx, 500),
            });
        }
        stop.store(true, Ordering::Relaxed);
        (out, swapper.join().expect("swapper"))
    });
    let after = fx.snapshot();

    assert!(!out.contains(&fx.secret), "{backend:?} {layer:?}: the secret was read:\n{out}");
    assert!(!out.contains("LEAK"), "{backend:?} {layer:?}: read outside:\n{out}");
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for line in out.lines() {
        let (op, counts) = line.strip_prefix("race ").and_then(|l| l.split_once(": ")).expect("race line");
        assert!(RACE_OPS.contains(&op), "{line}");
        for kv in counts.split(' ') {
            let (k, n) = kv.split_once('=').expect("count");
            let accepted = k == "ok" || RACE_ERRNOS.contains(&k) || !strict && RACE_ERRNOS_WRONG.contains(&k);
            assert!(accepted, "{backend:?} {layer:?}: unexpected {k} in {line}");
            *totals.entry(k.to_owned()).or_default() += n.parse::<u64>().expect("number");
        }
    }
    eprintln!("race {backend:?} {layer:?}: {swaps} swaps, results {totals:?}");
    if std::env::var_os("ESCAPE_RACE_VERBOSE").is_some() {
        eprintln!("{out}");
    }
    assert!(swaps > 0, "the swapper never ran");
    assert!(totals.get("ok").is_some_and(|&n| n > 0), "{backend:?} {layer:?}: nothing succeeded: {totals:?}");
    assert!(totals.keys().any(|k| k != "ok"), "{backend:?} {layer:?}: nothing was refused: {totals:?}");
    assert_eq!(before, after, "{backend:?} {layer:?}: the outside changed");
    assert_eq!(after.top, expected_top(backend));
}

#[test]
fn race_hostdir() {
    race(Backend::Host, Layer::Guest, false);
}

#[test]
fn race_memfs() {
    race(Backend::Mem, Layer::Guest, false);
}

#[test]
fn race_hostdir_resolver() {
    race(Backend::Host, Layer::Resolver, false);
}

#[test]
fn race_memfs_resolver() {
    race(Backend::Mem, Layer::Resolver, false);
}

#[test]
fn race_hostdir_errnos() {
    race(Backend::Host, Layer::Guest, true);
}

#[test]
fn race_memfs_errnos() {
    race(Backend::Mem, Layer::Guest, true);
}

// ---------------------------------------------------------------------------------------------
// Self-checks of the harness: a change or a read outside is seen.

#[test]
fn snapshots_see_changes_outside() {
    for backend in [Backend::Host, Backend::Mem] {
        let fx = Fixture::new(backend, false);
        let before = fx.snapshot();
        assert_eq!(before, fx.snapshot(), "{backend:?}: snapshots are not stable");
        assert!(before.outside.contains_key("outside/secret.txt"));
        assert!(before.outside.contains_key("outside/dir/g"));
        match backend {
            Backend::Host => {
                std::fs::write(fx.parent().join("outside/dir/new"), "").expect("write");
            }
            Backend::Mem => fx.world.write_file("outside/dir/new", "").expect("write"),
        }
        assert_ne!(before, fx.snapshot(), "{backend:?}: a new file was not seen");
    }
    // A hard link to the secret shows in its link count.
    let fx = Fixture::new(Backend::Host, false);
    let before = fx.snapshot();
    std::fs::hard_link(fx.parent().join("outside/secret.txt"), fx.parent().join("sandbox/stolen")).expect("link");
    assert_ne!(before, fx.snapshot(), "a hard link was not seen");
    // A read shows in the access time, where the host keeps it.
    if atime_updates_on_read() {
        let fx = Fixture::new(Backend::Host, false);
        let before = fx.snapshot();
        std::fs::read(fx.parent().join("outside/secret.txt")).expect("read");
        assert_ne!(before, fx.snapshot(), "a read was not seen");
    }
}

/// The guest-side check sees the secret when the guest can reach it (here the host itself put
/// a hard link to it in the sandbox).
#[test]
fn harness_sees_a_reachable_secret() {
    let fx = Fixture::new(Backend::Mem, false);
    let root = fx.world.root().expect("root");
    let outside = open_dir(&root, "outside");
    let sandbox = open_dir(&root, "sandbox");
    outside.link_at("secret.txt", &*sandbox, "leak").expect("link");
    let out = run_guest(&fx, &["ops", "open leak"]);
    assert_eq!(out, format!("open leak: ok [{}]\n", fx.secret));
}
