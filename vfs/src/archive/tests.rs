//! Archives built in the tests (tar with hand-made headers, so hostile names can be written;
//! gzip; zip stored and deflated), served and attacked.

use std::io::Write;
use std::sync::Arc;

use super::*;
use crate::resolve;
use crate::test_support::{dir, file, list};

const READ: OpenOptions = OpenOptions::new().read(true);

/// One tar entry: its name, type flag (`b'0'` file, `b'5'` directory, `b'2'` symbolic link,
/// `b'1'` hard link), data and link target.
struct T<'a>(&'a str, u8, &'a [u8], &'a str);

/// A tar of `entries`, headers written byte by byte (any name, even hostile), mtime 1000 + i.
fn raw_tar(entries: &[T<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, T(name, kind, data, link)) in entries.iter().enumerate() {
        let mut h = ::tar::Header::new_ustar();
        {
            let old = h.as_old_mut();
            old.name = [0; 100];
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname = [0; 100];
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1000 + i as u64);
        h.set_entry_type(::tar::EntryType::new(*kind));
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// The tree most tests serve: `a/b.txt` ("bee"), `a/c/` (empty), `top.txt` ("top\n"), `ln`
/// (a link to `a/b.txt`), `hard` (a hard link to `top.txt`), `up` (a link to `../outside`).
fn sample() -> Vec<u8> {
    raw_tar(&[
        T("a/b.txt", b'0', b"bee", ""),
        T("a/c/", b'5', b"", ""),
        T("top.txt", b'0', b"top\n", ""),
        T("ln", b'2', b"", "a/b.txt"),
        T("hard", b'1', b"", "top.txt"),
        T("up", b'2', b"", "../outside"),
    ])
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A zip of `(name, data, deflated)` files; names ending in `/` are directories.
fn zip_of(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, deflated) in entries {
        let method = if *deflated { ::zip::CompressionMethod::Deflated } else { ::zip::CompressionMethod::Stored };
        let options = ::zip::write::SimpleFileOptions::default().compression_method(method);
        if name.ends_with('/') {
            w.add_directory(*name, options).unwrap();
        } else {
            w.start_file(*name, options).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn read_all(root: &Arc<dyn Dir>, path: &str) -> std::result::Result<Vec<u8>, Errno> {
    let f = file(resolve::open(root, path, true, READ)?);
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = f.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The listing of `d` in its order: name, cookie, type.
fn names(d: &dyn Dir) -> Vec<(String, u64, FileType)> {
    list(d).into_iter().map(|e| (e.name, e.next, e.filetype)).collect()
}

fn error_of(result: io::Result<Archive>) -> String {
    match result {
        Ok(a) => panic!("expected an error, got {a:?}"),
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn a_tar_serves_its_tree() {
    let fs = Archive::open(sample()).unwrap();
    assert_eq!(fs.format(), ArchiveFormat::Tar);
    assert!(fs.is_read_only());
    let root = fs.root().unwrap();
    assert_eq!(read_all(&root, "a/b.txt").unwrap(), b"bee");
    assert_eq!(read_all(&root, "top.txt").unwrap(), b"top\n");
    assert_eq!(read_all(&root, "hard").unwrap(), b"top\n");
    assert_eq!(read_all(&root, "ln").unwrap(), b"bee", "a link followed by the resolver");
    assert_eq!(read_all(&root, "./a/../top.txt").unwrap(), b"top\n");
    assert_eq!(
        names(&*root),
        [
            ("a".to_string(), 1, FileType::Directory),
            ("hard".to_string(), 2, FileType::RegularFile),
            ("ln".to_string(), 3, FileType::SymbolicLink),
            ("top.txt".to_string(), 4, FileType::RegularFile),
            ("up".to_string(), 5, FileType::SymbolicLink),
        ]
    );
    // Listing from a cookie, and past the end.
    let mut rest = Vec::new();
    root.read_dir(3, &mut |e| {
        rest.push(e.name);
        true
    })
    .unwrap();
    assert_eq!(rest, ["top.txt", "up"]);
    root.read_dir(99, &mut |_| panic!("nothing past the end")).unwrap();

    let top = root.stat_at("top.txt").unwrap();
    let hard = root.stat_at("hard").unwrap();
    assert_eq!((top.ino, top.nlink, top.size, top.mtim), (hard.ino, 2, 4, 1002 * 1_000_000_000));
    let a = root.stat_at("a").unwrap();
    assert_eq!((a.filetype, a.nlink), (FileType::Directory, 3), "a and its subdirectory c");
    assert_eq!(root.stat().unwrap().nlink, 3, "the root and a");
    assert_ne!(a.ino, top.ino);
    assert_eq!(a.dev, top.dev);
    assert_eq!(root.readlink_at("ln").unwrap(), "a/b.txt");
    assert_eq!(root.readlink_at("top.txt"), Err(Errno::Inval));
    assert_eq!(root.stat_at("ln").unwrap().size, 7);
    let f = file(resolve::open(&root, "a/b.txt", false, READ).unwrap());
    assert_eq!(f.stat().unwrap().size, 3);
    assert_eq!(f.filetype(), Ok(FileType::RegularFile));
    assert_eq!(f.read_at(&mut [0u8; 4], 99), Ok(0));
    let c = dir(resolve::open(&root, "a/c", false, READ.directory(true)).unwrap());
    assert!(names(&*c).is_empty());
}

#[test]
fn an_archive_is_read_only_and_keeps_links_inside() {
    let root = Archive::open(sample()).unwrap().root().unwrap();
    assert_eq!(root.mkdir_at("x"), Err(Errno::Rofs));
    assert_eq!(resolve::open(&root, "top.txt", false, OpenOptions::new().write(true)).err(), Some(Errno::Rofs));
    assert_eq!(resolve::open(&root, "new", false, READ.create(true)).err(), Some(Errno::Rofs));
    assert_eq!(resolve::open(&root, "top.txt", false, READ.create(true).exclusive(true)).err(), Some(Errno::Exist));
    assert_eq!(resolve::unlink(&root, "top.txt"), Err(Errno::Rofs));
    assert_eq!(file(resolve::open(&root, "top.txt", false, READ).unwrap()).write_at(b"x", 0), Err(Errno::Rofs));
    // `up` points above the root: the resolver refuses, as for any backend.
    assert_eq!(resolve::open(&root, "up", true, READ).err(), Some(Errno::Perm));
    assert_eq!(resolve::open(&root, "top.txt/x", true, READ).err(), Some(Errno::Notdir));
    assert_eq!(resolve::open(&root, "a", true, READ).map(|n| matches!(n, Node::Dir(_))), Ok(true));
    assert_eq!(resolve::open(&root, "top.txt", true, READ.directory(true)).err(), Some(Errno::Notdir));
    assert_eq!(root.open_at("ln", READ).err(), Some(Errno::Loop));
}

#[test]
fn a_gzip_compressed_tar_serves_the_same_tree() {
    let fs = Archive::open(gz(&sample())).unwrap();
    assert_eq!(fs.format(), ArchiveFormat::TarGz);
    let root = fs.root().unwrap();
    assert_eq!(read_all(&root, "ln").unwrap(), b"bee");
    assert_eq!(names(&*root).len(), 5);
    // Over the limit: an error when opened.
    let err = error_of(Archive::builder().max_unpacked_size(1024).open(gz(&sample())));
    assert!(err.contains("more than 1024 bytes"), "{err}");
    // A gzip bomb: 64 MiB of zeros in ~64 KiB, refused at 1 MiB without unpacking it all.
    let bomb = gz(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let err = error_of(Archive::builder().max_unpacked_size(1 << 20).open(bomb));
    assert!(err.contains("more than 1048576 bytes"), "{err}");
}

#[test]
fn a_zip_serves_stored_and_deflated_entries() {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let bytes = zip_of(&[
        ("docs/", b"", false),
        ("docs/readme.txt", b"stored", false),
        ("docs/big.bin", &big, true),
        ("lib/x.py", b"print(1)\n", true),
    ]);
    let fs = Archive::open(bytes.clone()).unwrap();
    assert_eq!(fs.format(), ArchiveFormat::Zip);
    let root = fs.root().unwrap();
    assert_eq!(read_all(&root, "docs/readme.txt").unwrap(), b"stored");
    assert_eq!(read_all(&root, "lib/x.py").unwrap(), b"print(1)\n");
    assert_eq!(read_all(&root, "docs/big.bin").unwrap(), big);
    assert_eq!(resolve::stat(&root, "docs/big.bin", false).unwrap().size, 100_000);
    assert_eq!(names(&*root).iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["docs", "lib"]);

    // Unpacked entries in memory are bounded: open files hold theirs, the cache gives way.
    let small = Archive::builder().max_unpacked_in_memory(150_000).open(bytes).unwrap();
    let root = small.root().unwrap();
    let first = resolve::open(&root, "docs/big.bin", false, READ).unwrap();
    let second = resolve::open(&root, "docs/big.bin", false, READ).unwrap();
    assert_eq!(read_all(&root, "lib/x.py").unwrap(), b"print(1)\n");
    drop((first, second));
    assert_eq!(read_all(&root, "docs/big.bin").unwrap().len(), 100_000, "served again from the cache");
    let tiny = Archive::builder().max_unpacked_in_memory(50_000).open(zip_of(&[("big", &big, true)])).unwrap();
    assert_eq!(resolve::open(&tiny.root().unwrap(), "big", false, READ).err(), Some(Errno::Nomem));
}

#[test]
fn a_corrupt_zip_entry_is_eio_when_opened() {
    let data = b"the quick brown fox jumps over the lazy dog, again and again and again".repeat(20);
    let mut bytes = zip_of(&[("f.txt", &data, true)]);
    // Flip bytes inside the deflated data (after the 30-byte local header and the name).
    let at = 30 + "f.txt".len() + 10;
    bytes[at] ^= 0xff;
    bytes[at + 1] ^= 0xff;
    let fs = Archive::open(bytes).unwrap();
    assert_eq!(resolve::open(&fs.root().unwrap(), "f.txt", false, READ).err(), Some(Errno::Io));
}

#[test]
fn hostile_tars_are_refused_when_opened() {
    for (entries, needle) in [
        (vec![T("/etc/passwd", b'0', b"x", "")], "absolute name"),
        (vec![T("a/../../x", b'0', b"x", "")], "`..` component"),
        (vec![T("..", b'5', b"", "")], "`..` component"),
        (vec![T("f", b'0', b"x", ""), T("f/g", b'0', b"y", "")], "is not a directory"),
        (vec![T("d/", b'5', b"", ""), T("d", b'0', b"y", "")], "a directory of that name exists"),
        (vec![T("h", b'1', b"", "missing")], "is not in the archive"),
        (vec![T("d/", b'5', b"", ""), T("h", b'1', b"", "d")], "is a directory"),
        (vec![T("h", b'1', b"", "../x")], "`..` component"),
        (vec![T("s", b'2', b"", "")], "a link without a target"),
        (vec![T("./", b'0', b"x", "")], "a file named as the root"),
    ] {
        let err = error_of(Archive::open(raw_tar(&entries)));
        assert!(err.contains(needle), "{err} (expected {needle:?})");
    }
    // Truncated: a header whose data runs past the end.
    let mut cut = raw_tar(&[T("f", b'0', &[7u8; 5000], "")]);
    cut.truncate(2048);
    let err = error_of(Archive::open(cut));
    assert!(err.contains("truncated") || err.contains("tar:"), "{err}");
    // Too many entries.
    let many: Vec<T<'_>> = (0..20).map(|_| T("same", b'0', b"", "")).collect();
    let err = error_of(Archive::builder().max_entries(10).open(raw_tar(&many)));
    assert!(err.contains("more than 10 entries"), "{err}");
    // A later entry of the same name replaces the earlier one; link loops are left to the
    // resolver.
    let root = Archive::open(raw_tar(&[T("f", b'0', b"old", ""), T("f", b'0', b"new", ""), T("l", b'2', b"", "l")]))
        .unwrap()
        .root()
        .unwrap();
    assert_eq!(read_all(&root, "f").unwrap(), b"new");
    assert_eq!(root.stat_at("f").unwrap().nlink, 1);
    assert_eq!(resolve::open(&root, "l", true, READ).err(), Some(Errno::Loop));
}

#[test]
fn hostile_zips_are_refused_when_opened() {
    for (name, needle) in [("/abs", "absolute name"), ("a/../../x", "`..` component")] {
        let err = error_of(Archive::open(zip_of(&[(name, b"x", false)])));
        assert!(err.contains(needle), "{err}");
    }
    let big = vec![0u8; 10_000];
    let err = error_of(Archive::builder().max_unpacked_size(1000).open(zip_of(&[("z", &big, true)])));
    assert!(err.contains("declares 10000 bytes"), "{err}");
    let mut cut = zip_of(&[("f", &big, false)]);
    cut.truncate(cut.len() / 2);
    error_of(Archive::open(cut));
}

#[test]
fn random_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = [sample(), gz(&sample()), zip_of(&[("a/b", b"hello", true), ("c", b"x", false)])];
    for round in 0..3000 {
        let mut bytes = valid[round % 3].clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        if next() % 4 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        let format = [ArchiveFormat::Tar, ArchiveFormat::TarGz, ArchiveFormat::Zip][round % 3];
        if let Ok(fs) = Archive::builder().max_unpacked_size(1 << 20).open_format(format, bytes) {
            // Whatever it indexed can be walked and read.
            let root = fs.root().unwrap();
            let mut stack = vec![root];
            while let Some(d) = stack.pop() {
                for (name, _, kind) in names(&*d) {
                    let _ = d.stat_at(&name);
                    match (kind, d.open_at(&name, READ)) {
                        (FileType::Directory, Ok(Node::Dir(sub))) => stack.push(sub),
                        (_, Ok(Node::File(f))) => {
                            let _ = f.read_at(&mut [0u8; 64], 0);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert_eq!(ArchiveFormat::detect(&[]), None);
    assert!(Archive::open(Vec::new()).is_err());
}
