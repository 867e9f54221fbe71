//! `wasi:filesystem/types` metadata: `is-same-object`, `metadata-hash`/`metadata-hash-at`,
//! `stat`/`stat-at`, `get-flags`, `get-type`, `set-size`, `set-times`/`set-times-at`, links, and
//! errors, each printed by its WIT name.
//!
//! Works in a fresh writable preopened `/`, where it leaves `a.txt` (4 bytes, mtime
//! 1700000000.000000456), `c.txt` (1 byte, `b`), `sym` -> `a.txt` and directory `e`.
//! Exit status: 0, 1 (a check failed), 2 (no `/`, or the files could not be made).

use hammertime_p2_guests::{Report, preopen, setup_failed};
use wasip2::clocks::wall_clock::{self, Datetime};
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags as F, DescriptorType, ErrorCode as E, MetadataHashValue, NewTimestamp, OpenFlags as O,
    PathFlags,
};

const NONE: PathFlags = PathFlags::empty();
const FOLLOW: PathFlags = PathFlags::SYMLINK_FOLLOW;

fn type_name(t: DescriptorType) -> &'static str {
    match t {
        DescriptorType::Unknown => "unknown",
        DescriptorType::BlockDevice => "block-device",
        DescriptorType::CharacterDevice => "character-device",
        DescriptorType::Directory => "directory",
        DescriptorType::Fifo => "fifo",
        DescriptorType::SymbolicLink => "symbolic-link",
        DescriptorType::RegularFile => "regular-file",
        DescriptorType::Socket => "socket",
    }
}

fn flag_names(flags: F) -> String {
    let names = [
        (F::READ, "read"),
        (F::WRITE, "write"),
        (F::FILE_INTEGRITY_SYNC, "file-integrity-sync"),
        (F::DATA_INTEGRITY_SYNC, "data-integrity-sync"),
        (F::REQUESTED_WRITE_SYNC, "requested-write-sync"),
        (F::MUTATE_DIRECTORY, "mutate-directory"),
    ];
    let set: Vec<&str> = names.iter().filter(|(f, _)| flags.contains(*f)).map(|(_, n)| *n).collect();
    if set.is_empty() { "(none)".to_string() } else { set.join(" ") }
}

fn hash(h: MetadataHashValue) -> (u64, u64) {
    (h.lower, h.upper)
}

fn datetime(seconds: u64, nanoseconds: u32) -> Datetime {
    Datetime { seconds, nanoseconds }
}

fn time(t: Option<Datetime>) -> Option<(u64, u32)> {
    t.map(|t| (t.seconds, t.nanoseconds))
}

/// Opens `path` in `dir` or ends the guest (status 2).
fn open(dir: &Descriptor, path: &str, open: O, flags: F) -> Descriptor {
    dir.open_at(NONE, path, open, flags).unwrap_or_else(|e| setup_failed(format!("open-at {path}: {}", e.name())))
}

fn make_file(root: &Descriptor, path: &str, contents: &[u8]) {
    let f = open(root, path, O::CREATE | O::EXCLUSIVE, F::WRITE);
    match f.write(contents, 0) {
        Ok(n) if n == contents.len() as u64 => {}
        other => setup_failed(format!("write {path}: {other:?}")),
    }
}

fn main() {
    let mut r = Report::stdout();
    let root = preopen("/");

    make_file(&root, "a.txt", b"aaaa");
    make_file(&root, "b.txt", b"bb");
    root.create_directory_at("d").unwrap_or_else(|e| setup_failed(format!("create-directory-at d: {}", e.name())));
    root.create_directory_at("e").unwrap_or_else(|e| setup_failed(format!("create-directory-at e: {}", e.name())));
    match root.link_at(NONE, "a.txt", &root, "d/a-link") {
        Ok(()) => r.ok("link-at"),
        Err(e) => setup_failed(format!("link-at a.txt d/a-link: {}", e.name())),
    }
    match root.symlink_at("a.txt", "sym") {
        Ok(()) => r.ok("symlink-at"),
        Err(e) => setup_failed(format!("symlink-at a.txt sym: {}", e.name())),
    }

    let a = open(&root, "a.txt", O::empty(), F::READ | F::WRITE);
    let a2 = open(&root, "a.txt", O::empty(), F::READ);
    let a_link = open(&root, "d/a-link", O::empty(), F::READ);
    let b = open(&root, "b.txt", O::empty(), F::READ | F::WRITE);
    let d = open(&root, "d", O::DIRECTORY, F::READ);
    let dot = open(&root, ".", O::DIRECTORY, F::READ);
    let via_sym = root
        .open_at(FOLLOW, "sym", O::empty(), F::READ)
        .unwrap_or_else(|e| setup_failed(format!("open-at sym (follow): {}", e.name())));

    // is-same-object
    r.eq("is-same-object.hard-link", a.is_same_object(&a_link), true);
    r.eq("is-same-object.same-path", a.is_same_object(&a2), true);
    r.eq("is-same-object.itself", a.is_same_object(&a), true);
    r.eq("is-same-object.through-symlink", via_sym.is_same_object(&a), true);
    r.eq("is-same-object.dot", root.is_same_object(&dot), true);
    r.eq("is-same-object.different-files", a.is_same_object(&b), false);
    r.eq("is-same-object.file-and-directory", a.is_same_object(&root), false);
    r.eq("is-same-object.different-directories", root.is_same_object(&d), false);

    // metadata-hash and metadata-hash-at
    let h = |r: &mut Report, name: &str, res: Result<MetadataHashValue, E>| r.fs_ok(name, res).map(hash);
    let ha = h(&mut r, "metadata-hash a.txt", a.metadata_hash());
    let ha_link = h(&mut r, "metadata-hash d/a-link", a_link.metadata_hash());
    let hb = h(&mut r, "metadata-hash b.txt", b.metadata_hash());
    let hroot = h(&mut r, "metadata-hash /", root.metadata_hash());
    let hat_a = h(&mut r, "metadata-hash-at a.txt", root.metadata_hash_at(NONE, "a.txt"));
    let hat_link = h(&mut r, "metadata-hash-at d/a-link", root.metadata_hash_at(NONE, "d/a-link"));
    let hat_b = h(&mut r, "metadata-hash-at b.txt", root.metadata_hash_at(NONE, "b.txt"));
    let hat_sym_follow = h(&mut r, "metadata-hash-at sym (follow)", root.metadata_hash_at(FOLLOW, "sym"));
    let hat_sym = h(&mut r, "metadata-hash-at sym", root.metadata_hash_at(NONE, "sym"));
    let hat_dot = h(&mut r, "metadata-hash-at .", root.metadata_hash_at(NONE, "."));
    if let (Some(ha), Some(ha_link), Some(hb), Some(hroot)) = (ha, ha_link, hb, hroot) {
        r.check("metadata-hash.hard-link-equal", ha == ha_link, || format!("{ha:?} != {ha_link:?}"));
        r.check("metadata-hash.different-files-differ", ha != hb, || format!("both {ha:?}"));
        r.check("metadata-hash.file-and-directory-differ", ha != hroot, || format!("both {ha:?}"));
        r.check("metadata-hash.same-at-twice", a.metadata_hash().ok().map(hash) == Some(ha), || "changed".into());
        if let (Some(x), Some(y), Some(z), Some(f), Some(s), Some(dt)) =
            (hat_a, hat_link, hat_b, hat_sym_follow, hat_sym, hat_dot)
        {
            r.check("metadata-hash-at.equals-metadata-hash", x == ha && y == ha && z == hb, || {
                format!("at a {x:?}, at d/a-link {y:?}, at b {z:?}; of a {ha:?}, of b {hb:?}")
            });
            r.check("metadata-hash-at.follows-symlink", f == ha, || format!("{f:?} != {ha:?}"));
            r.check("metadata-hash-at.symlink-itself-differs", s != ha, || format!("both {s:?}"));
            r.check("metadata-hash-at.dot-is-root", dt == hroot, || format!("{dt:?} != {hroot:?}"));
        }
    }
    r.fs_err("metadata-hash-at missing", root.metadata_hash_at(NONE, "missing").map(hash), E::NoEntry);

    // stat and stat-at
    if let Some(st) = r.fs_ok("stat a.txt", a.stat()) {
        r.eq("stat a.txt", (type_name(st.type_), st.size, st.link_count), ("regular-file", 4, 2));
    }
    if let Some(st) = r.fs_ok("stat /", root.stat()) {
        r.eq("stat /.type", type_name(st.type_), "directory");
    }
    if let Some(st) = r.fs_ok("stat-at b.txt", root.stat_at(NONE, "b.txt")) {
        r.eq("stat-at b.txt", (type_name(st.type_), st.size, st.link_count), ("regular-file", 2, 1));
    }
    if let Some(st) = r.fs_ok("stat-at d/a-link", root.stat_at(NONE, "d/a-link")) {
        r.eq("stat-at d/a-link", (type_name(st.type_), st.size, st.link_count), ("regular-file", 4, 2));
    }
    if let Some(st) = r.fs_ok("stat-at d", root.stat_at(NONE, "d")) {
        r.eq("stat-at d.type", type_name(st.type_), "directory");
    }
    if let Some(st) = r.fs_ok("stat-at sym", root.stat_at(NONE, "sym")) {
        r.eq("stat-at sym", (type_name(st.type_), st.size), ("symbolic-link", 5));
    }
    if let Some(st) = r.fs_ok("stat-at sym (follow)", root.stat_at(FOLLOW, "sym")) {
        r.eq("stat-at sym (follow)", (type_name(st.type_), st.size), ("regular-file", 4));
    }
    r.eq("readlink-at sym", root.readlink_at("sym").map_err(|e| e.name()), Ok("a.txt".to_string()));

    // get-type and get-flags
    let ty = |d: &Descriptor| d.get_type().map(type_name).map_err(|e| e.name());
    r.eq("get-type a.txt", ty(&a), Ok("regular-file"));
    r.eq("get-type /", ty(&root), Ok("directory"));
    r.eq("get-type d", ty(&d), Ok("directory"));
    let flags = |d: &Descriptor| d.get_flags().map(flag_names).map_err(|e| e.name());
    r.eq("get-flags a.txt (read write)", flags(&a), Ok("read write".to_string()));
    r.eq("get-flags a.txt (read)", flags(&a2), Ok("read".to_string()));
    match root.get_flags() {
        Ok(f) => r.check("get-flags /", f.contains(F::READ | F::MUTATE_DIRECTORY) && !f.contains(F::WRITE), || {
            format!("got {}, expected read mutate-directory", flag_names(f))
        }),
        Err(e) => r.fail("get-flags /", e.name()),
    }
    let sync = root.open_at(NONE, "b.txt", O::empty(), F::READ | F::DATA_INTEGRITY_SYNC);
    if let Some(sync) = r.fs_ok("open-at b.txt (read data-integrity-sync)", sync) {
        r.eq("get-flags b.txt (read data-integrity-sync)", flags(&sync), Ok("read data-integrity-sync".to_string()));
    }

    // set-size
    let read = |d: &Descriptor, len: u64| {
        d.read(len, 0).map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned()).map_err(|e| e.name())
    };
    r.fs_ok("set-size 10", b.set_size(10));
    r.eq("set-size 10.size", b.stat().map(|s| s.size).map_err(|e| e.name()), Ok(10));
    r.eq("set-size 10.contents", read(&b, 100), Ok("bb\0\0\0\0\0\0\0\0".to_string()));
    r.fs_ok("set-size 1", b.set_size(1));
    r.eq("set-size 1.contents", read(&b, 100), Ok("b".to_string()));
    // Linux's ftruncate says `invalid` for both; wasmtime-wasi says `bad-descriptor`.
    r.fs_err_any("set-size read-only descriptor", a2.set_size(0), &[E::BadDescriptor, E::Invalid]);
    r.fs_err_any("set-size directory", d.set_size(0), &[E::BadDescriptor, E::Invalid, E::IsDirectory]);
    r.eq("set-size read-only.size", a.stat().map(|s| s.size).map_err(|e| e.name()), Ok(4));

    // set-times and set-times-at
    let atime = datetime(1_600_000_000, 123);
    let mtime = datetime(1_700_000_000, 456);
    r.fs_ok("set-times", a.set_times(NewTimestamp::Timestamp(atime), NewTimestamp::Timestamp(mtime)));
    if let Some(st) = r.fs_ok("set-times.stat", a.stat()) {
        r.eq(
            "set-times.times",
            (time(st.data_access_timestamp), time(st.data_modification_timestamp)),
            (Some((1_600_000_000, 123)), Some((1_700_000_000, 456))),
        );
    }
    let b_atime = b.stat().ok().and_then(|s| time(s.data_access_timestamp));
    r.fs_ok(
        "set-times-at",
        root.set_times_at(NONE, "b.txt", NewTimestamp::NoChange, NewTimestamp::Timestamp(datetime(1_500_000_000, 7))),
    );
    if let Some(st) = r.fs_ok("set-times-at.stat", b.stat()) {
        r.eq("set-times-at.mtime", time(st.data_modification_timestamp), Some((1_500_000_000, 7)));
        r.check("set-times-at.atime-unchanged", time(st.data_access_timestamp) == b_atime, || {
            format!("{:?} became {:?}", b_atime, time(st.data_access_timestamp))
        });
    }
    r.fs_ok("set-times now", b.set_times(NewTimestamp::Now, NewTimestamp::NoChange));
    let now = wall_clock::now().seconds;
    match b.stat().map(|s| s.data_access_timestamp) {
        Ok(Some(t)) => r.check("set-times now.atime", t.seconds.abs_diff(now) <= 60, || {
            format!("atime {} s, wall clock {now} s", t.seconds)
        }),
        other => r.fail("set-times now.atime", format!("{other:?}")),
    }
    r.eq(
        "set-times now.mtime-unchanged",
        b.stat().map(|s| time(s.data_modification_timestamp)).map_err(|e| e.name()),
        Ok(Some((1_500_000_000, 7))),
    );
    // Times of the symlink itself, not its target.
    r.fs_ok(
        "set-times-at sym",
        root.set_times_at(NONE, "sym", NewTimestamp::NoChange, NewTimestamp::Timestamp(datetime(1_400_000_000, 0))),
    );
    r.eq(
        "set-times-at sym.target-unchanged",
        a.stat().map(|s| time(s.data_modification_timestamp)).map_err(|e| e.name()),
        Ok(Some((1_700_000_000, 456))),
    );

    // Errors, by their WIT names.
    r.fs_err("exist create-directory-at d", root.create_directory_at("d"), E::Exist);
    r.fs_err(
        "exist open-at a.txt create exclusive",
        root.open_at(NONE, "a.txt", O::CREATE | O::EXCLUSIVE, F::WRITE),
        E::Exist,
    );
    r.fs_err("exist link-at onto b.txt", root.link_at(NONE, "a.txt", &root, "b.txt"), E::Exist);
    r.fs_err("exist symlink-at onto a.txt", root.symlink_at("x", "a.txt"), E::Exist);
    r.fs_err("no-entry open-at missing", root.open_at(NONE, "missing", O::empty(), F::READ), E::NoEntry);
    r.fs_err("no-entry stat-at missing", root.stat_at(NONE, "missing"), E::NoEntry);
    r.fs_err("no-entry unlink-file-at missing", root.unlink_file_at("missing"), E::NoEntry);
    r.fs_err("no-entry remove-directory-at missing", root.remove_directory_at("missing"), E::NoEntry);
    r.fs_err("no-entry open-at missing/x create", root.open_at(NONE, "missing/x", O::CREATE, F::WRITE), E::NoEntry);
    r.fs_err("not-empty remove-directory-at d", root.remove_directory_at("d"), E::NotEmpty);
    r.fs_err("is-directory unlink-file-at d", root.unlink_file_at("d"), E::IsDirectory);
    r.fs_err("is-directory open-at d write", root.open_at(NONE, "d", O::empty(), F::WRITE), E::IsDirectory);
    r.fs_err(
        "not-directory open-at a.txt directory",
        root.open_at(NONE, "a.txt", O::DIRECTORY, F::READ),
        E::NotDirectory,
    );
    r.fs_err("not-directory remove-directory-at a.txt", root.remove_directory_at("a.txt"), E::NotDirectory);
    r.fs_err("not-directory stat-at a.txt/x", root.stat_at(NONE, "a.txt/x"), E::NotDirectory);
    r.fs_err("loop open-at sym nofollow", root.open_at(NONE, "sym", O::empty(), F::READ), E::Loop);
    r.fs_err("not-permitted open-at ..", root.open_at(NONE, "../outside", O::empty(), F::READ), E::NotPermitted);
    r.fs_err("not-permitted open-at absolute", root.open_at(NONE, "/a.txt", O::empty(), F::READ), E::NotPermitted);
    r.fs_err("bad-descriptor write read-only", a2.write(b"x", 0), E::BadDescriptor);

    // rename-at keeps the object; renames onto what is in the way fail as on Linux.
    r.fs_ok("rename-at b.txt c.txt", root.rename_at("b.txt", &root, "c.txt"));
    r.fs_err("rename-at.old-gone", root.stat_at(NONE, "b.txt"), E::NoEntry);
    let c = root.open_at(NONE, "c.txt", O::empty(), F::READ);
    r.eq("rename-at.same-object", c.map(|c| c.is_same_object(&b)).map_err(|e| e.name()), Ok(true));
    r.fs_err("not-empty rename-at e onto d", root.rename_at("e", &root, "d"), E::NotEmpty);
    r.fs_err("not-directory rename-at e onto c.txt", root.rename_at("e", &root, "c.txt"), E::NotDirectory);
    r.fs_err("is-directory rename-at c.txt onto e", root.rename_at("c.txt", &root, "e"), E::IsDirectory);

    // Unlinking the hard link drops the link count; then the directory can go.
    r.fs_ok("unlink-file-at d/a-link", root.unlink_file_at("d/a-link"));
    r.eq("unlink.link-count", a.stat().map(|s| s.link_count).map_err(|e| e.name()), Ok(1));
    r.eq("unlink.still-readable", read(&a_link, 10), Ok("aaaa".to_string()));
    r.fs_ok("remove-directory-at d", root.remove_directory_at("d"));
    r.fs_err("remove-directory-at.gone", root.stat_at(NONE, "d"), E::NoEntry);
    r.finish();
}
