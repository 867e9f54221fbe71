//! Differential test of the two ABIs: the same random sequence of path operations through
//! preview1 (the call functions of `hammertime::p1`, over a byte buffer as guest memory, from
//! the preopen fd 3 or a directory opened from it) and through WASI 0.2 (the `descriptor`
//! methods, from the preopen descriptor of `get-directories` or the same directory opened
//! from it), each on its own `MemFs`, must give the same outcome — "ok" with the same result,
//! or the same `error-code` (a preview1 errno compared through
//! [`hammertime::p2::filesystem::error_code`]) — and leave the same tree.
//!
//! Operations: mkdir, rmdir, unlink, open (read, write, create, truncate, exclusive, directory;
//! following or not), rename, link (following or not), symlink, readlink, stat (following or
//! not), set-times (an explicit time, now; following or not), and re-opening the second
//! directory handle.

use std::collections::BTreeMap;
use std::sync::Arc;

use hammertime::Errno;
use hammertime::WasiCtx;
use hammertime::p1::abi::memory::GuestMemory;
use hammertime::p1::abi::types::{fstflags, lookupflags, oflags, rights};
use hammertime::p1::{fd as p1fd, path as p1};
use hammertime::p2::bindings::wasi::clocks::wall_clock::Datetime;
use hammertime::p2::bindings::wasi::filesystem::preopens::Host as _;
use hammertime::p2::bindings::wasi::filesystem::types::{
    DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, NewTimestamp, OpenFlags, PathFlags,
};
use hammertime::p2::filesystem::{Descriptor, FsError, error_code};
use hammertime::random::SeededRandom;
use hammertime::vfs::{Dir, FileSystem, FileType, MemFs, Node, OpenOptions};
use wasmtime::component::Resource;

const NAMES: [&str; 7] = ["a", "b", "d", "l", "..", ".", "f"];
const TARGETS: [&str; 8] = ["a", "d", "d/a", "../x", "missing", "l", "d/", "/abs"];

/// Guest memory layout of the preview1 side.
const PATH_A: u32 = 0;
const PATH_B: u32 = 8192;
const OUT: u32 = 16384; // filestat, readlink buffer, new fd, counts
const IOV: u32 = 24576;
const DATA: u32 = 24600;
const MEM: usize = 32768;

fn path(r: &mut SeededRandom) -> String {
    match r.next_u64() % 40 {
        0 => String::new(),
        1 => "/a".into(),
        2 => "a\0".into(),
        3 => "n".repeat(256),
        _ => {
            let depth = [1, 1, 1, 2, 2, 3][(r.next_u64() % 6) as usize];
            let parts: Vec<&str> = (0..depth).map(|_| NAMES[(r.next_u64() % NAMES.len() as u64) as usize]).collect();
            let mut p = parts.join("/");
            if r.next_u64().is_multiple_of(8) {
                p.push('/');
            }
            p
        }
    }
}

/// One operation, described once and run through both ABIs.
#[derive(Debug, Clone)]
enum Op {
    Mkdir(String),
    Rmdir(String),
    Unlink(String),
    /// path, follow, create, exclusive, truncate, directory, read, write
    Open {
        p: String,
        follow: bool,
        create: bool,
        excl: bool,
        trunc: bool,
        dir: bool,
        read: bool,
        write: bool,
    },
    Rename(String, String),
    Link(String, bool, String),
    Symlink(String, String),
    Readlink(String),
    Stat(String, bool),
    /// path, follow, atime: Some(ns) explicit or None "now"
    SetTimes(String, bool, Option<u64>),
    /// Re-open the second directory handle at this path (relative to the preopen). Preview1
    /// asks for every directory right; p2 for `read` and, if the flag is set,
    /// `mutate-directory` — which a directory opened from a preopen gets either way (it
    /// inherits its parent's), so both handles may change the tree.
    Reopen(String, bool),
}

fn op(r: &mut SeededRandom) -> Op {
    let p = path(r);
    let q = path(r);
    let flag = r.next_u64().is_multiple_of(2);
    match r.next_u64() % 13 {
        0 => Op::Mkdir(p),
        1 => Op::Rmdir(p),
        2 => Op::Unlink(p),
        3 | 4 => {
            let bits = r.next_u64();
            let bit = |i: u32, one_in: u64| (bits >> (i * 4)).is_multiple_of(one_in);
            Op::Open {
                p,
                follow: bit(0, 2),
                create: bit(1, 2),
                excl: bit(2, 4),
                trunc: bit(3, 4),
                dir: bit(4, 4),
                read: bit(5, 2),
                write: bit(6, 2),
            }
        }
        5 => Op::Rename(p, q),
        6 => Op::Link(p, flag, q),
        7 => Op::Symlink(TARGETS[(r.next_u64() % TARGETS.len() as u64) as usize].to_string(), p),
        8 => Op::Readlink(p),
        9 => Op::Stat(p, flag),
        10 => Op::SetTimes(p, flag, if r.next_u64().is_multiple_of(4) { None } else { Some(5 + r.next_u64() % 1000) }),
        11 => Op::Reopen(["d", "d/d", ".", "l", "d/..", "a"][(r.next_u64() % 6) as usize].into(), flag),
        _ => {
            Op::Open { p, follow: false, create: true, excl: true, trunc: false, dir: false, read: false, write: true }
        }
    }
}

/// An outcome, comparable across the ABIs.
fn err(code: ErrorCode) -> String {
    format!("err {}", code.name())
}

fn kind(t: DescriptorType) -> &'static str {
    match t {
        DescriptorType::Directory => "dir",
        DescriptorType::RegularFile => "file",
        DescriptorType::SymbolicLink => "link",
        _ => "other",
    }
}

/// A stat as compared: type, link count, size (not for directories), and the access time when
/// it was set explicitly (a time "now" differs between the two runs).
fn stat_desc(t: &str, nlink: u64, size: u64, atim_ns: u64) -> String {
    let size = if t == "dir" { String::new() } else { format!(" size={size}") };
    let atim = if atim_ns < 1_000_000_000_000 { format!(" atim={atim_ns}") } else { String::new() };
    format!("ok {t} nlink={nlink}{size}{atim}")
}

// ---------------------------------------------------------------------------------------------
// preview1

struct P1 {
    ctx: WasiCtx,
    mem: Vec<u8>,
    /// The second directory handle, if open.
    sub: Option<u32>,
}

impl P1 {
    fn new(fs: MemFs) -> Self {
        let ctx = WasiCtx::builder().preopen(fs, "/").build().unwrap();
        let mut mem = vec![0u8; MEM];
        mem[DATA as usize] = b'x';
        mem[IOV as usize..IOV as usize + 4].copy_from_slice(&DATA.to_le_bytes());
        mem[IOV as usize + 4..IOV as usize + 8].copy_from_slice(&1u32.to_le_bytes());
        P1 { ctx, mem, sub: None }
    }

    fn put(&mut self, at: u32, s: &str) -> u32 {
        self.mem[at as usize..at as usize + s.len()].copy_from_slice(s.as_bytes());
        s.len() as u32
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.mem[at as usize..at as usize + 8].try_into().unwrap())
    }

    fn apply(&mut self, op: &Op, use_sub: bool, use_sub2: bool) -> String {
        let fd = if use_sub { self.sub.unwrap_or(3) } else { 3 };
        let fd2 = if use_sub2 { self.sub.unwrap_or(3) } else { 3 };
        let follow = |f: bool| if f { lookupflags::SYMLINK_FOLLOW } else { 0 };
        let res = |r: Result<String, Errno>| match r {
            Ok(s) => s,
            Err(e) => err(error_code(e)),
        };
        match op {
            Op::Mkdir(p) => {
                let n = self.put(PATH_A, p);
                let r = p1::path_create_directory(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), fd, PATH_A, n);
                res(r.map(|_| "ok".into()))
            }
            Op::Rmdir(p) => {
                let n = self.put(PATH_A, p);
                let r = p1::path_remove_directory(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), fd, PATH_A, n);
                res(r.map(|_| "ok".into()))
            }
            Op::Unlink(p) => {
                let n = self.put(PATH_A, p);
                let r = p1::path_unlink_file(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), fd, PATH_A, n);
                res(r.map(|_| "ok".into()))
            }
            Op::Open { p, follow: f, create, excl, trunc, dir, read, write } => {
                let n = self.put(PATH_A, p);
                let mut of = 0u32;
                for (on, bit) in [
                    (*create, oflags::CREAT),
                    (*excl, oflags::EXCL),
                    (*trunc, oflags::TRUNC),
                    (*dir, oflags::DIRECTORY),
                ] {
                    if on {
                        of |= u32::from(bit);
                    }
                }
                let mut base = rights::FD_FILESTAT_GET;
                if *read {
                    base |= rights::FD_READ | rights::FD_READDIR;
                }
                if *write {
                    base |= rights::FD_WRITE | rights::FD_SEEK;
                }
                let r = p1::path_open(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    fd,
                    follow(*f),
                    PATH_A,
                    n,
                    of,
                    base,
                    rights::ALL,
                    0,
                    OUT,
                );
                res(r.and_then(|()| {
                    let new = self.u32_at(OUT);
                    let t = self.filetype_of(new)?;
                    if *write && t == "file" {
                        p1fd::fd_pwrite(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), new, IOV, 1, 0, OUT + 64)?;
                    }
                    p1fd::fd_close(&mut self.ctx, new)?;
                    Ok(format!("ok {t}"))
                }))
            }
            Op::Rename(p, q) => {
                let (n, m) = (self.put(PATH_A, p), self.put(PATH_B, q));
                let r =
                    p1::path_rename(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), fd, PATH_A, n, fd2, PATH_B, m);
                res(r.map(|_| "ok".into()))
            }
            Op::Link(p, f, q) => {
                let (n, m) = (self.put(PATH_A, p), self.put(PATH_B, q));
                let r = p1::path_link(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    fd,
                    follow(*f),
                    PATH_A,
                    n,
                    fd2,
                    PATH_B,
                    m,
                );
                res(r.map(|_| "ok".into()))
            }
            Op::Symlink(t, p) => {
                let (n, m) = (self.put(PATH_A, t), self.put(PATH_B, p));
                let r = p1::path_symlink(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), PATH_A, n, fd, PATH_B, m);
                res(r.map(|_| "ok".into()))
            }
            Op::Readlink(p) => {
                let n = self.put(PATH_A, p);
                let r = p1::path_readlink(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    fd,
                    PATH_A,
                    n,
                    OUT,
                    4096,
                    OUT + 4096,
                );
                res(r.map(|_| {
                    let used = self.u32_at(OUT + 4096) as usize;
                    format!("ok {:?}", String::from_utf8_lossy(&self.mem[OUT as usize..OUT as usize + used]))
                }))
            }
            Op::Stat(p, f) => {
                let n = self.put(PATH_A, p);
                let r = p1::path_filestat_get(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    fd,
                    follow(*f),
                    PATH_A,
                    n,
                    OUT,
                );
                res(r.map(|_| {
                    let t = match self.mem[OUT as usize + 16] {
                        3 => "dir",
                        4 => "file",
                        7 => "link",
                        _ => "other",
                    };
                    stat_desc(t, self.u64_at(OUT + 24), self.u64_at(OUT + 32), self.u64_at(OUT + 40))
                }))
            }
            Op::SetTimes(p, f, at) => {
                let n = self.put(PATH_A, p);
                let (atim, flags) = match at {
                    Some(ns) => (*ns, fstflags::ATIM),
                    None => (0, fstflags::ATIM_NOW | fstflags::MTIM_NOW),
                };
                let r = p1::path_filestat_set_times(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    fd,
                    follow(*f),
                    PATH_A,
                    n,
                    atim,
                    0,
                    u32::from(flags),
                );
                res(r.map(|_| "ok".into()))
            }
            Op::Reopen(p, _) => {
                let n = self.put(PATH_A, p);
                let (base, inheriting) = (rights::DIRECTORY, rights::ALL);
                let r = p1::path_open(
                    &mut self.ctx,
                    &mut GuestMemory::new(&mut self.mem),
                    3,
                    lookupflags::SYMLINK_FOLLOW,
                    PATH_A,
                    n,
                    u32::from(oflags::DIRECTORY),
                    base,
                    inheriting,
                    0,
                    OUT,
                );
                res(r.and_then(|()| {
                    if let Some(old) = self.sub.take() {
                        p1fd::fd_close(&mut self.ctx, old)?;
                    }
                    self.sub = Some(self.u32_at(OUT));
                    Ok("ok".into())
                }))
            }
        }
    }

    fn filetype_of(&mut self, fd: u32) -> Result<&'static str, Errno> {
        p1fd::fd_filestat_get(&mut self.ctx, &mut GuestMemory::new(&mut self.mem), fd, OUT + 128)?;
        Ok(match self.mem[OUT as usize + 128 + 16] {
            3 => "dir",
            4 => "file",
            7 => "link",
            _ => "other",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// WASI 0.2

struct P2 {
    ctx: WasiCtx,
    pre: u32,
    sub: Option<u32>,
}

fn b(rep: u32) -> Resource<Descriptor> {
    Resource::new_borrow(rep)
}

impl P2 {
    fn new(fs: MemFs) -> Self {
        let mut ctx = WasiCtx::builder().preopen(fs, "/").build().unwrap();
        let dirs = ctx.get_directories().unwrap();
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[0].1, "/");
        let pre = dirs[0].0.rep();
        P2 { ctx, pre, sub: None }
    }

    fn apply(&mut self, op: &Op, use_sub: bool, use_sub2: bool) -> String {
        let fd = if use_sub { self.sub.unwrap_or(self.pre) } else { self.pre };
        let fd2 = if use_sub2 { self.sub.unwrap_or(self.pre) } else { self.pre };
        let pf = |f: bool| if f { PathFlags::SYMLINK_FOLLOW } else { PathFlags::empty() };
        let res = |ctx: &mut WasiCtx, r: Result<String, FsError>| match r {
            Ok(s) => s,
            Err(e) => match hammertime::p2::bindings::wasi::filesystem::types::Host::convert_error_code(ctx, e) {
                Ok(code) => err(code),
                Err(trap) => format!("trap {trap:#}"),
            },
        };
        let ctx = &mut self.ctx;
        match op {
            Op::Mkdir(p) => {
                let r = ctx.create_directory_at(b(fd), p.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Rmdir(p) => {
                let r = ctx.remove_directory_at(b(fd), p.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Unlink(p) => {
                let r = ctx.unlink_file_at(b(fd), p.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Open { p, follow, create, excl, trunc, dir, read, write } => {
                let mut of = OpenFlags::empty();
                for (on, flag) in [
                    (*create, OpenFlags::CREATE),
                    (*excl, OpenFlags::EXCLUSIVE),
                    (*trunc, OpenFlags::TRUNCATE),
                    (*dir, OpenFlags::DIRECTORY),
                ] {
                    if on {
                        of |= flag;
                    }
                }
                let mut df = DescriptorFlags::empty();
                if *read {
                    df |= DescriptorFlags::READ;
                }
                if *write {
                    df |= DescriptorFlags::WRITE;
                }
                let r = ctx.open_at(b(fd), pf(*follow), p.clone(), of, df).and_then(|d| {
                    let rep = d.rep();
                    let t = kind(ctx.get_type(b(rep))?);
                    if *write && t == "file" {
                        ctx.write(b(rep), b"x".to_vec(), 0)?;
                    }
                    HostDescriptor::drop(ctx, Resource::new_own(rep)).map_err(FsError::Trap)?;
                    Ok(format!("ok {t}"))
                });
                res(ctx, r)
            }
            Op::Rename(p, q) => {
                let r = ctx.rename_at(b(fd), p.clone(), b(fd2), q.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Link(p, f, q) => {
                let r = ctx.link_at(b(fd), pf(*f), p.clone(), b(fd2), q.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Symlink(t, p) => {
                let r = ctx.symlink_at(b(fd), t.clone(), p.clone()).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Readlink(p) => {
                let r = ctx.readlink_at(b(fd), p.clone()).map(|s| format!("ok {s:?}"));
                res(ctx, r)
            }
            Op::Stat(p, f) => {
                let r = ctx.stat_at(b(fd), pf(*f), p.clone()).map(|st| {
                    let atim = st.data_access_timestamp.map(|d| d.seconds * 1_000_000_000 + u64::from(d.nanoseconds));
                    stat_desc(kind(st.type_), st.link_count, st.size, atim.unwrap_or(u64::MAX))
                });
                res(ctx, r)
            }
            Op::SetTimes(p, f, at) => {
                let (a, m) = match at {
                    Some(ns) => (
                        NewTimestamp::Timestamp(Datetime {
                            seconds: ns / 1_000_000_000,
                            nanoseconds: (ns % 1_000_000_000) as u32,
                        }),
                        NewTimestamp::NoChange,
                    ),
                    None => (NewTimestamp::Now, NewTimestamp::Now),
                };
                let r = ctx.set_times_at(b(fd), pf(*f), p.clone(), a, m).map(|_| "ok".to_string());
                res(ctx, r)
            }
            Op::Reopen(p, mutate) => {
                let flags = if *mutate {
                    DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY
                } else {
                    DescriptorFlags::READ
                };
                let r = ctx
                    .open_at(b(self.pre), PathFlags::SYMLINK_FOLLOW, p.clone(), OpenFlags::DIRECTORY, flags)
                    .and_then(|d| {
                        if let Some(old) = self.sub.take() {
                            HostDescriptor::drop(ctx, Resource::new_own(old)).map_err(FsError::Trap)?;
                        }
                        self.sub = Some(d.rep());
                        Ok("ok".to_string())
                    });
                res(ctx, r)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Trees

/// The tree under `dir`: path → type, size and content (files), nlink, target (links).
fn tree(dir: &Arc<dyn Dir>, prefix: &str, out: &mut BTreeMap<String, String>) {
    let mut entries = Vec::new();
    dir.read_dir(0, &mut |e| {
        entries.push(e);
        true
    })
    .unwrap();
    for e in entries {
        if e.name == "." || e.name == ".." {
            continue;
        }
        let p = format!("{prefix}{}", e.name);
        let st = dir.stat_at(&e.name).unwrap();
        let desc = match st.filetype {
            FileType::Directory => {
                let Ok(Node::Dir(d)) = dir.open_at(&e.name, OpenOptions::new().directory(true).read(true)) else {
                    panic!("{p} is a directory that does not open")
                };
                tree(&d, &format!("{p}/"), out);
                format!("dir nlink={}", st.nlink)
            }
            FileType::SymbolicLink => format!("link -> {}", dir.readlink_at(&e.name).unwrap()),
            t => {
                let Ok(Node::File(f)) = dir.open_at(&e.name, OpenOptions::new().read(true)) else {
                    panic!("{p} is a file that does not open")
                };
                let mut buf = vec![0u8; st.size as usize];
                let n = f.read_at(&mut buf, 0).unwrap();
                format!("{t:?} size={} nlink={} {:?}", st.size, st.nlink, &buf[..n])
            }
        };
        out.insert(p, desc);
    }
}

fn trees(fs: &MemFs) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    tree(&fs.root().unwrap(), "", &mut t);
    t
}

/// Runs `steps` random operations from `seed`; returns the outcomes counted, or the first
/// divergence.
fn run(seed: u64, steps: usize, outcomes: &mut BTreeMap<String, usize>) -> Result<(), String> {
    let (m1, m2) = (MemFs::new(), MemFs::new());
    let (mut a, mut b) = (P1::new(m1.clone()), P2::new(m2.clone()));
    let mut r = SeededRandom::new(seed);
    let mut log = Vec::new();
    for step in 0..steps {
        let op = op(&mut r);
        let use_sub = r.next_u64().is_multiple_of(4);
        let use_sub2 = r.next_u64().is_multiple_of(4);
        let (x, y) = (a.apply(&op, use_sub, use_sub2), b.apply(&op, use_sub, use_sub2));
        let on = match (use_sub, use_sub2) {
            (false, false) => "",
            (true, false) => " [on the second handle]",
            (false, true) => " [second path on the second handle]",
            (true, true) => " [both on the second handle]",
        };
        log.push(format!("{op:?}{on} -> {x}"));
        if x != y {
            let tail = log[log.len().saturating_sub(12)..].join("\n    ");
            return Err(format!("seed {seed} step {step}: {op:?}{on}: p1 {x} vs p2 {y}\n  last ops:\n    {tail}"));
        }
        let key = x.split(' ').take(2).collect::<Vec<_>>().join(" ");
        *outcomes.entry(key).or_default() += 1;
        if step % 16 == 0 || step + 1 == steps {
            let (t1, t2) = (trees(&m1), trees(&m2));
            if t1 != t2 {
                return Err(format!("seed {seed} step {step}: trees differ after {op:?}:\n  p1 {t1:?}\n  p2 {t2:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn preview1_and_p2_agree_on_random_path_operations() {
    let start = std::time::Instant::now();
    let mut outcomes = BTreeMap::new();
    let mut divergences = Vec::new();
    let (seeds, steps) = (40, 400);
    for seed in 0..seeds {
        if let Err(d) = run(seed, steps, &mut outcomes) {
            divergences.push(d);
        }
    }
    eprintln!("{} ops in {:.2?}: {outcomes:?}", seeds as usize * steps, start.elapsed());
    assert!(divergences.is_empty(), "{} divergences:\n{}", divergences.len(), divergences.join("\n"));
    let ok: usize = outcomes.iter().filter(|(k, _)| k.starts_with("ok")).map(|(_, v)| v).sum();
    assert!(ok > 2000, "{outcomes:?}");
    assert!(outcomes.keys().filter(|k| k.starts_with("err")).count() >= 8, "{outcomes:?}");
}

/// An empty MemFs and a HostDir over the empty `tmp`, by name.
fn memfs_and_hostdir(tmp: &tempfile::TempDir) -> [(&'static str, Arc<dyn FileSystem>); 2] {
    [("memfs", Arc::new(MemFs::new())), ("hostdir", Arc::new(hammertime::vfs::HostDir::open(tmp.path()).unwrap()))]
}

/// The `error-code` a guest receives for `e` (what `convert-error-code` makes of it).
fn code_of(ctx: &mut WasiCtx, e: FsError) -> ErrorCode {
    hammertime::p2::bindings::wasi::filesystem::types::Host::convert_error_code(ctx, e).unwrap()
}

/// `set-size` of a directory is `invalid` in WASI 0.2 and `EINVAL` in preview1, as
/// `ftruncate(2)` of a directory on Linux: the preopen and a directory opened from it, on MemFs
/// and on HostDir.
#[test]
fn both_abis_refuse_to_truncate_a_directory_with_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, fs) in memfs_and_hostdir(&tmp) {
        fs.root().unwrap().mkdir_at("d").unwrap();
        let mut p1ctx = WasiCtx::builder().preopen(Arc::clone(&fs), "/").build().unwrap();
        assert_eq!(p1fd::fd_filestat_set_size(&mut p1ctx, 3, 0), Err(Errno::Inval), "{backend}: preview1");

        let mut ctx = WasiCtx::builder().preopen(Arc::clone(&fs), "/").build().unwrap();
        let pre = ctx.get_directories().unwrap()[0].0.rep();
        let d =
            ctx.open_at(b(pre), PathFlags::empty(), "d".into(), OpenFlags::DIRECTORY, DescriptorFlags::READ).unwrap();
        for rep in [pre, d.rep()] {
            let e = ctx.set_size(b(rep), 0).unwrap_err();
            assert_eq!(code_of(&mut ctx, e), ErrorCode::Invalid, "{backend}: descriptor {rep}");
        }
    }
}

/// Offsets, lengths and sizes past `i64::MAX` (negative to Linux's `loff_t`) are `invalid` for
/// `read`, `write`, `advise`, `set-size` and the streams' starting offsets on every backend, as
/// `EINVAL` in preview1 (a read or write whose bytes would end past it too, as `rw_verify_area`
/// checks); up to `i64::MAX` they reach the backend.
#[test]
fn p2_offsets_past_i64_max_are_invalid_on_every_backend() {
    use hammertime::p2::bindings::wasi::filesystem::types::Advice;
    const MAX: u64 = i64::MAX as u64;
    let tmp = tempfile::tempdir().unwrap();
    for (backend, fs) in memfs_and_hostdir(&tmp) {
        let mut ctx = WasiCtx::builder().preopen(Arc::clone(&fs), "/").build().unwrap();
        let pre = ctx.get_directories().unwrap()[0].0.rep();
        let flags = DescriptorFlags::READ | DescriptorFlags::WRITE;
        let f = ctx.open_at(b(pre), PathFlags::empty(), "f".into(), OpenFlags::CREATE, flags).unwrap().rep();
        let code = |ctx: &mut WasiCtx, r: Result<(), FsError>| r.map_err(|e| code_of(ctx, e));
        for (what, r) in [
            ("read past", ctx.read(b(f), 1, MAX + 1).map(drop)),
            ("read across", ctx.read(b(f), 2, MAX - 1).map(drop)),
            ("empty read past", ctx.read(b(f), 0, u64::MAX).map(drop)),
            ("write past", ctx.write(b(f), b"x".to_vec(), MAX + 1).map(drop)),
            ("write across", ctx.write(b(f), b"xy".to_vec(), MAX).map(drop)),
            ("advise", ctx.advise(b(f), 0, MAX + 1, Advice::Normal)),
            ("set-size", ctx.set_size(b(f), MAX + 1)),
            ("read-via-stream", ctx.read_via_stream(b(f), MAX + 1).map(drop)),
            ("write-via-stream", ctx.write_via_stream(b(f), u64::MAX).map(drop)),
        ] {
            assert_eq!(code(&mut ctx, r), Err(ErrorCode::Invalid), "{backend}: {what}");
        }
        for (len, offset) in [(0, MAX), (1, MAX - 1)] {
            let r = ctx.read(b(f), len, offset).map(|(data, _)| assert!(data.is_empty(), "{backend}"));
            assert_eq!(code(&mut ctx, r), Ok(()), "{backend}: {len} bytes at {offset}, ending at i64::MAX");
        }
        let r = ctx.advise(b(f), 0, MAX, Advice::Normal);
        assert_eq!(code(&mut ctx, r), Ok(()), "{backend}: advise up to i64::MAX");
        // Advice on a directory does nothing, as on Linux, but a negative length is refused.
        let r = ctx.advise(b(pre), 0, MAX, Advice::WillNeed);
        assert_eq!(code(&mut ctx, r), Ok(()), "{backend}: advise on a directory");
        let r = ctx.advise(b(pre), 0, MAX + 1, Advice::WillNeed);
        assert_eq!(code(&mut ctx, r), Err(ErrorCode::Invalid), "{backend}: advise on a directory past i64::MAX");
        assert_eq!(fs.root().unwrap().stat_at("f").unwrap().size, 0, "{backend}: nothing written");
    }
}
