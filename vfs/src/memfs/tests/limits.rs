//! Tests of what keeps a MemFs safe for hostile writers: sparse storage, the quota, the inode
//! limit, no clock call under a lock, atomic vectored writes.

use super::*;
use crate::File;
use crate::memfs::data::CHUNK;
use std::cell::Cell;
use std::io::IoSlice;
use std::sync::mpsc;
use std::time::Duration;

const CHUNK64: u64 = CHUNK as u64;

fn read_at(f: &dyn File, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0xEE; len];
    let n = f.read_at(&mut buf, offset).unwrap();
    buf.truncate(n);
    buf
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// The size and quota tests that came before the sparse storage (adapted: names count).

#[test]
fn sparse_writes_and_size_limits() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = new_file(&*root, "sparse", b"ab");
    assert_eq!(f.write_at(b"xy", 10), Ok(2));
    assert_eq!(read_all(&*f), b"ab\0\0\0\0\0\0\0\0xy");
    f.set_size(20).unwrap();
    assert_eq!(read_all(&*f), b"ab\0\0\0\0\0\0\0\0xy\0\0\0\0\0\0\0\0");
    f.set_size(3).unwrap();
    assert_eq!(read_all(&*f), b"ab\0");
    f.set_size(5).unwrap();
    assert_eq!(read_all(&*f), b"ab\0\0\0");
    assert_eq!(fs.used_bytes(), 3 + 6, "the stored bytes (growth leaves a hole) and the name");

    assert_eq!(f.write_at(b"x", 1 << 40), Err(Errno::Fbig));
    assert_eq!(f.write_at(b"x", MAX_FILE_SIZE), Err(Errno::Fbig));
    assert_eq!(f.write_at(b"x", u64::MAX), Err(Errno::Fbig));
    assert_eq!(f.set_size(1 << 40), Err(Errno::Fbig));
    assert_eq!(f.set_size(u64::MAX), Err(Errno::Fbig));
    assert_eq!(f.allocate(u64::MAX, 2), Err(Errno::Fbig));
    assert_eq!(f.allocate(MAX_FILE_SIZE, 1), Err(Errno::Fbig));
    assert_eq!(f.stat().unwrap().size, 5);

    // A smaller maximum: a write crossing it is cut short there.
    let small = MemFs::builder().max_file_size(8).build();
    let root = small.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    assert_eq!(f.write_at(b"0123456789", 0), Ok(8));
    assert_eq!(f.write_at(b"z", 8), Err(Errno::Fbig));
    assert_eq!(f.append(b"z"), Err(Errno::Fbig));
    assert_eq!(f.write_at(b"AB", 6), Ok(2));
    assert_eq!(read_all(&*f), b"012345AB");
    assert_eq!(f.set_size(9), Err(Errno::Fbig));
    assert_eq!(MemFs::builder().max_file_size(u64::MAX).max_file_size, MAX_FILE_SIZE);
}

#[test]
fn allocate_grows_within_quota() {
    // 100 bytes of data and the 1-byte name.
    let fs = MemFs::with_quota(101);
    let root = fs.root().unwrap();
    let f = new_file(&*root, "f", b"abc");
    assert_eq!(f.allocate(0, 0), Err(Errno::Inval));
    f.allocate(0, 2).unwrap();
    assert_eq!(f.stat().unwrap().size, 3);
    f.allocate(10, 40).unwrap();
    assert_eq!(f.stat().unwrap().size, 50);
    assert_eq!(read_all(&*f)[..4], *b"abc\0");
    assert_eq!(f.allocate(50, 51), Err(Errno::Nospc));
    assert_eq!(f.stat().unwrap().size, 50);
    f.allocate(99, 1).unwrap();
    assert_eq!(fs.used_bytes(), 101);
    // Growing by truncation leaves a hole, which costs nothing (as on tmpfs).
    assert_eq!(f.set_size(1000), Ok(()));
    assert_eq!(fs.used_bytes(), 101);
}

#[test]
fn quota_partial_writes_and_accounting() {
    // 10 bytes of data and the 1-byte name.
    let fs = MemFs::with_quota(11);
    assert_eq!(fs.quota(), Some(11));
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    assert_eq!(fs.used_bytes(), 1);
    assert_eq!(f.write_at(b"0123456", 0), Ok(7));
    // Only 3 bytes of room: a partial write, then none at all.
    assert_eq!(f.write_at(b"abcdef", 5), Ok(5));
    assert_eq!(read_all(&*f), b"01234abcde");
    assert_eq!(fs.used_bytes(), 11);
    assert_eq!(f.write_at(b"x", 10), Err(Errno::Nospc));
    assert_eq!(f.append(b"x"), Err(Errno::Nospc));
    // Overwriting inside the file needs no room.
    assert_eq!(f.write_at(b"ZZ", 0), Ok(2));
    // A gap that would eat all the room is refused without change.
    f.set_size(4).unwrap();
    assert_eq!(fs.used_bytes(), 5);
    assert_eq!(f.write_at(b"q", 10), Err(Errno::Nospc));
    assert_eq!(f.stat().unwrap().size, 4);
    assert_eq!(fs.used_bytes(), 5);
    assert_eq!(f.write_at(b"qrs", 8), Ok(2));
    assert_eq!(read_all(&*f), b"ZZ23\0\0\0\0qr");
    // Links count their target and their name; freeing gives room back.
    f.set_size(7).unwrap();
    assert_eq!(root.symlink_at("abc", "l"), Err(Errno::Nospc));
    assert_eq!(root.stat_at("l"), Err(Errno::Noent));
    root.symlink_at("ab", "l").unwrap();
    assert_eq!(fs.used_bytes(), 11);
    assert_eq!(f.append(b"x"), Err(Errno::Nospc));
    root.unlink_at("l").unwrap();
    assert_eq!(f.append(b"xyzw"), Ok((3, 10)));
    root.unlink_at("f").unwrap();
    assert_eq!(fs.used_bytes(), 10, "still open (its name is gone)");
    drop(f);
    assert_eq!(fs.used_bytes(), 0);
    // Host helpers report a full filesystem as StorageFull.
    let err = fs.write_file("big", [0u8; 11]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(fs.read_file("big").unwrap().len(), 11 - 3);
    // Zero quota: not even a name fits; a 1-byte quota holds a name and no data.
    let none = MemFs::with_quota(0);
    assert_eq!(open_err(&*none.root().unwrap(), "g", CREATE), Errno::Nospc);
    let one = MemFs::with_quota(1);
    let g = file(one.root().unwrap().open_at("g", CREATE).unwrap());
    assert_eq!(g.write_at(b"a", 0), Err(Errno::Nospc));
    assert_eq!(g.stat().unwrap().size, 0);
}

#[test]
fn holes_read_as_zeros() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    let far = 3 * CHUNK64 + 5;
    assert_eq!(f.write_at(b"xyz", far), Ok(3));
    assert_eq!(f.stat().unwrap().size, far + 3);
    assert_eq!(read_at(&*f, 0, 16), [0; 16]);
    // Across the missing chunks 0 to 2 and into the stored one.
    let all = read_at(&*f, 0, CHUNK * 4);
    assert_eq!(all.len() as u64, far + 3);
    assert!(all[..all.len() - 3].iter().all(|&b| b == 0));
    assert_eq!(&all[all.len() - 3..], b"xyz");
    assert_eq!(read_at(&*f, far - 2, 10), b"\0\0xyz");
    assert_eq!(read_at(&*f, far + 3, 10), b"");
    // Only the chunk written is stored: from its start to the end of the write.
    assert_eq!(fs.used_bytes(), 5 + 3 + 1);
    assert_eq!(fs.metadata("f").unwrap().size, far + 3);
    assert_eq!(fs.read_file("f").unwrap(), all);
}

#[test]
fn random_writes_truncations_and_reads_agree_with_a_dense_model() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    let mut model: Vec<u8> = Vec::new();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let span = 5 * CHUNK64;
    for round in 0..3_000u64 {
        match rng.below(10) {
            0 => {
                let size = rng.below(span);
                f.set_size(size).unwrap();
                model.resize(size as usize, 0);
            }
            1 => {
                // Allocation is invisible to reads.
                let offset = rng.below(span);
                let len = 1 + rng.below(CHUNK64 * 2);
                f.allocate(offset, len).unwrap();
                if model.len() < (offset + len) as usize {
                    model.resize((offset + len) as usize, 0);
                }
            }
            _ => {
                let offset = rng.below(span);
                let most = if rng.below(4) == 0 { 3 * CHUNK64 } else { 100 };
                let len = rng.below(most) as usize;
                let bytes: Vec<u8> = (0..len).map(|i| (round as u8).wrapping_add(i as u8) | 1).collect();
                // As two or three slices of a vectored write, or one plain write.
                let cut = rng.below(len as u64 + 1) as usize;
                let n = match rng.below(3) {
                    0 => f.write_at(&bytes, offset).unwrap(),
                    1 => f
                        .write_vectored_at(&[IoSlice::new(&bytes[..cut]), IoSlice::new(&bytes[cut..])], offset)
                        .unwrap(),
                    _ => f
                        .write_vectored_at(
                            &[IoSlice::new(&bytes[..cut]), IoSlice::new(&[]), IoSlice::new(&bytes[cut..])],
                            offset,
                        )
                        .unwrap(),
                };
                assert_eq!(n, len);
                if len > 0 {
                    let end = offset as usize + len;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[offset as usize..end].copy_from_slice(&bytes);
                }
            }
        }
        assert_eq!(f.stat().unwrap().size, model.len() as u64, "round {round}");
        let offset = rng.below(span + 10);
        let len = rng.below(2 * CHUNK64) as usize;
        let want = model.get(offset as usize..).map_or(&[][..], |rest| &rest[..rest.len().min(len)]);
        assert_eq!(read_at(&*f, offset, len), want, "round {round}");
    }
    assert_eq!(read_all(&*f), model);
    // Never more than the whole span stored, plus the name.
    assert!(fs.used_bytes() <= model.len() as u64 + 1);
}

#[test]
fn a_write_at_4_gib_costs_kilobytes() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("big", CREATE).unwrap());
    assert_eq!(f.write_at(b"!", MAX_FILE_SIZE - 1), Ok(1));
    assert_eq!(f.stat().unwrap().size, MAX_FILE_SIZE);
    assert_eq!(fs.used_bytes(), CHUNK64 + 3, "one chunk and the name");
    assert_eq!(read_at(&*f, MAX_FILE_SIZE - 4, 8), b"\0\0\0!");
    assert_eq!(read_at(&*f, 1 << 31, 4096), [0; 4096]);
    // At the start of a chunk, a byte costs a byte.
    let g = file(root.open_at("g", CREATE).unwrap());
    assert_eq!(g.write_at(b"?", MAX_FILE_SIZE - CHUNK64), Ok(1));
    assert_eq!(fs.used_bytes(), CHUNK64 + 3 + 1 + 1);
    // Growing by truncation costs nothing.
    let h = file(root.open_at("h", CREATE).unwrap());
    h.set_size(MAX_FILE_SIZE).unwrap();
    assert_eq!(h.stat().unwrap().size, MAX_FILE_SIZE);
    assert_eq!(fs.used_bytes(), CHUNK64 + 3 + 1 + 1 + 1);
    assert_eq!(read_at(&*h, MAX_FILE_SIZE - 3, 8), [0; 3]);
    // Truncating frees the chunks.
    f.set_size(10).unwrap();
    g.set_size(0).unwrap();
    assert_eq!(fs.used_bytes(), 3 + 1 + 1);
}

#[test]
fn truncate_then_extend_reads_zeros() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    let len = 3 * CHUNK + 1000;
    assert_eq!(f.write_at(&vec![0xAB; len], 0), Ok(len));
    assert_eq!(fs.used_bytes(), len as u64 + 1);
    // Into the middle of a chunk, then back out past the old end.
    let keep = CHUNK + 100;
    f.set_size(keep as u64).unwrap();
    assert_eq!(fs.used_bytes(), keep as u64 + 1);
    f.set_size(len as u64 + 500).unwrap();
    let all = read_all(&*f);
    assert!(all[..keep].iter().all(|&b| b == 0xAB));
    assert!(all[keep..].iter().all(|&b| b == 0), "the old tail must not come back");
    assert_eq!(fs.used_bytes(), keep as u64 + 1);
    // A write past the truncation point, in the same chunk: the gap reads as zeros.
    assert_eq!(f.write_at(b"z", keep as u64 + 50), Ok(1));
    assert_eq!(read_at(&*f, keep as u64 - 1, 52), [&[0xAB][..], &[0; 50], b"z"].concat());
    // Truncating to a chunk boundary, and to zero.
    f.set_size(CHUNK64).unwrap();
    assert_eq!(fs.used_bytes(), CHUNK64 + 1);
    f.set_size(CHUNK64 + 10).unwrap();
    assert_eq!(read_at(&*f, CHUNK64 - 1, 20), [&[0xAB][..], &[0; 10]].concat());
    f.set_size(0).unwrap();
    assert_eq!(fs.used_bytes(), 1);
    f.set_size(100).unwrap();
    assert_eq!(read_all(&*f), [0; 100]);
    // O_TRUNC frees too.
    f.write_at(&[1; 1000], 0).unwrap();
    file(root.open_at("f", OpenOptions { truncate: true, ..RW }).unwrap());
    assert_eq!((f.stat().unwrap().size, fs.used_bytes()), (0, 1));
}

#[test]
fn quota_counts_allocated_chunks_not_holes() {
    // Room for the name `f` and three chunks.
    let fs = MemFs::with_quota(1 + 3 * CHUNK64);
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    // A byte at the start of a far chunk costs a byte; at its end, the whole chunk.
    assert_eq!(f.write_at(b"a", 10 * CHUNK64), Ok(1));
    assert_eq!(fs.used_bytes(), 1 + 1);
    assert_eq!(f.write_at(b"b", 20 * CHUNK64 + CHUNK64 - 1), Ok(1));
    assert_eq!(fs.used_bytes(), 1 + 1 + CHUNK64);
    // Holes are free, however large.
    f.set_size(1 << 30).unwrap();
    assert_eq!(fs.used_bytes(), 1 + 1 + CHUNK64);
    // Rewriting stored bytes is free; extending chunk 10 costs what it grows by.
    assert_eq!(f.write_at(b"A", 10 * CHUNK64), Ok(1));
    assert_eq!(f.write_at(&[7; 99], 10 * CHUNK64 + 1), Ok(99));
    assert_eq!(fs.used_bytes(), 1 + 100 + CHUNK64);
    // A write over a hole needs the whole prefix of its chunk: cut short where the room ends.
    let room = 3 * CHUNK64 - 100 - CHUNK64;
    let n = f.write_at(&vec![9; 3 * CHUNK], 30 * CHUNK64).unwrap() as u64;
    assert_eq!(n, room);
    assert_eq!(fs.used_bytes(), 1 + 3 * CHUNK64);
    assert_eq!(read_at(&*f, 30 * CHUNK64 + n - 1, 4), [9, 0, 0, 0]);
    assert_eq!(f.write_at(b"x", 40 * CHUNK64), Err(Errno::Nospc));
    assert_eq!(f.write_at(b"x", 10 * CHUNK64 + 100), Err(Errno::Nospc));
    assert_eq!(f.write_at(b"rewrite", 30 * CHUNK64), Ok(7), "stored bytes need no room");
    // Truncation gives the chunks back.
    f.set_size(20 * CHUNK64).unwrap();
    assert_eq!(fs.used_bytes(), 1 + 100);
    // Unlinked and closed: everything back.
    root.unlink_at("f").unwrap();
    drop(f);
    assert_eq!(fs.used_bytes(), 0);
}

#[test]
fn allocate_reserves_quota_without_memory() {
    let fs = MemFs::with_quota(1 + 2 * CHUNK64);
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    f.allocate(CHUNK64 / 2, CHUNK64).unwrap();
    // Chunk 0 from its start (the allocation starts inside it) and chunk 1 up to the end.
    assert_eq!(fs.used_bytes(), 1 + CHUNK64 + CHUNK64 / 2);
    assert_eq!(f.stat().unwrap().size, CHUNK64 + CHUNK64 / 2);
    assert_eq!(read_all(&*f), vec![0; CHUNK + CHUNK / 2]);
    // All or nothing over quota; past the maximum size, Fbig.
    assert_eq!(f.allocate(0, 3 * CHUNK64), Err(Errno::Nospc));
    assert_eq!(fs.used_bytes(), 1 + CHUNK64 + CHUNK64 / 2);
    assert_eq!(f.stat().unwrap().size, CHUNK64 + CHUNK64 / 2);
    assert_eq!(f.allocate(MAX_FILE_SIZE - 1, 2), Err(Errno::Fbig));
    // Allocating what is allocated costs nothing; the rest of the room is CHUNK / 2.
    f.allocate(0, CHUNK64).unwrap();
    f.allocate(0, 2 * CHUNK64).unwrap();
    assert_eq!(fs.used_bytes(), 1 + 2 * CHUNK64);
    // Writing into the reservation needs no more quota, even with none left.
    assert_eq!(f.write_at(&vec![5; CHUNK + 10], 100), Ok(CHUNK + 10));
    assert_eq!(fs.used_bytes(), 1 + 2 * CHUNK64);
    assert_eq!(f.write_at(b"x", 2 * CHUNK64), Err(Errno::Nospc));
    // Truncation frees reservations past the end.
    f.set_size(10).unwrap();
    assert_eq!(fs.used_bytes(), 1 + 10);

    // Without a quota, 4 GiB are accounted, not committed: writing into it is free.
    let big = MemFs::new();
    let g = file(big.root().unwrap().open_at("g", CREATE).unwrap());
    g.allocate(0, MAX_FILE_SIZE).unwrap();
    assert_eq!(big.used_bytes(), MAX_FILE_SIZE + 1);
    assert_eq!(g.write_at(b"data", 1 << 31), Ok(4));
    assert_eq!(big.used_bytes(), MAX_FILE_SIZE + 1);
    assert_eq!(read_at(&*g, (1 << 31) - 1, 6), b"\0data\0");
    g.set_size(0).unwrap();
    assert_eq!(big.used_bytes(), 1);
}

#[test]
fn inode_limit_answers_nospc_and_frees_on_unlink_and_rmdir() {
    let fs = MemFs::builder().max_inodes(4).build();
    assert_eq!((fs.max_inodes(), fs.used_inodes()), (Some(4), 1), "the root counts");
    let root = fs.root().unwrap();
    let f = new_file(&*root, "f", b"data");
    root.mkdir_at("d").unwrap();
    root.symlink_at("f", "l").unwrap();
    assert_eq!(fs.used_inodes(), 4);
    // Full: every way to make an entry fails, and changes nothing.
    assert_eq!(open_err(&*root, "g", CREATE), Errno::Nospc);
    assert_eq!(root.mkdir_at("e"), Err(Errno::Nospc));
    assert_eq!(root.symlink_at("f", "m"), Err(Errno::Nospc));
    assert_eq!(root.link_at("f", &*root, "hard"), Err(Errno::Nospc), "a hard link counts, as on tmpfs");
    assert_eq!(fs.write_file("d/x", "x").unwrap_err().kind(), io::ErrorKind::StorageFull);
    assert_eq!(names(&*root), ["d", "f", "l"]);
    assert_eq!(fs.used_inodes(), 4);
    // Opening what exists, and renaming, take nothing.
    file(root.open_at("f", CREATE).unwrap());
    root.rename_at("l", &*open_dir(&*root, "d"), "l2").unwrap();
    open_dir(&*root, "d").rename_at("l2", &*root, "l").unwrap();
    assert_eq!(fs.used_inodes(), 4);
    // Unlink and rmdir give the inode back.
    root.unlink_at("l").unwrap();
    assert_eq!(fs.used_inodes(), 3);
    root.mkdir_at("e").unwrap();
    assert_eq!(root.mkdir_at("e2"), Err(Errno::Nospc));
    root.rmdir_at("e").unwrap();
    root.rmdir_at("d").unwrap();
    assert_eq!(fs.used_inodes(), 2);
    // A hard link holds one until it goes.
    root.link_at("f", &*root, "hard").unwrap();
    assert_eq!(fs.used_inodes(), 3);
    root.unlink_at("hard").unwrap();
    assert_eq!(fs.used_inodes(), 2);
    // An unlinked file still counts while it is open.
    root.unlink_at("f").unwrap();
    assert_eq!(fs.used_inodes(), 2);
    new_file(&*root, "a", b"");
    new_file(&*root, "b", b"");
    assert_eq!(open_err(&*root, "c", CREATE), Errno::Nospc);
    drop(f);
    assert_eq!(fs.used_inodes(), 3);
    new_file(&*root, "c", b"");
    // A rename over a file frees the replaced one.
    root.rename_at("c", &*root, "a").unwrap();
    assert_eq!(fs.used_inodes(), 3);
    // Removed but open directories count too.
    root.unlink_at("b").unwrap();
    root.mkdir_at("kept").unwrap();
    let kept = open_dir(&*root, "kept");
    root.rmdir_at("kept").unwrap();
    assert_eq!(fs.used_inodes(), 3);
    drop(kept);
    assert_eq!(fs.used_inodes(), 2);
    // No limit by default; the count is kept anyway.
    let free = MemFs::new();
    free.write_file("a/b/c", "x").unwrap();
    assert_eq!((free.max_inodes(), free.used_inodes()), (None, 4));
}

#[test]
fn names_count_against_the_quota() {
    let fs = MemFs::with_quota(10);
    let root = fs.root().unwrap();
    new_file(&*root, "abcd", b"");
    root.mkdir_at("efg").unwrap();
    root.symlink_at("x", "y").unwrap();
    assert_eq!(fs.used_bytes(), 4 + 3 + 1 + 1);
    assert_eq!(root.mkdir_at("zz"), Err(Errno::Nospc));
    assert_eq!(open_err(&*root, "zz", CREATE), Errno::Nospc);
    assert_eq!(root.symlink_at("x", "z"), Err(Errno::Nospc), "1 for the name, 1 for the target");
    // A hard link costs its own name.
    root.link_at("abcd", &*root, "q").unwrap();
    assert_eq!(fs.used_bytes(), 10);
    assert_eq!(root.link_at("abcd", &*root, "r"), Err(Errno::Nospc));
    // A rename to a longer name needs the difference; to a shorter one gives it back.
    assert_eq!(root.rename_at("q", &*root, "qq"), Err(Errno::Nospc));
    assert_eq!(root.rename_at("q", &*open_dir(&*root, "efg"), "qq"), Err(Errno::Nospc));
    assert_eq!(names(&*root), ["abcd", "efg", "q", "y"]);
    root.rename_at("abcd", &*root, "a").unwrap();
    assert_eq!(fs.used_bytes(), 7);
    root.rename_at("q", &*open_dir(&*root, "efg"), "qqqq").unwrap();
    assert_eq!(fs.used_bytes(), 10);
    // Over an existing name: the source's old name goes, the target's passes to it, and the
    // replaced link goes with its target.
    root.rename_at("a", &*root, "y").unwrap();
    assert_eq!(root.readlink_at("y"), Err(Errno::Inval));
    assert_eq!(fs.used_bytes(), 3 + 4 + 1, "efg, qqqq, y");
    // Unlink and rmdir give the name back.
    open_dir(&*root, "efg").unlink_at("qqqq").unwrap();
    assert_eq!(fs.used_bytes(), 3 + 1);
    root.unlink_at("y").unwrap();
    root.rmdir_at("efg").unwrap();
    assert_eq!(fs.used_bytes(), 0);
    // A name of NAME_MAX bytes needs NAME_MAX bytes.
    let tight = MemFs::with_quota(NAME_MAX as u64 - 1);
    assert_eq!(tight.root().unwrap().mkdir_at(&"n".repeat(NAME_MAX)), Err(Errno::Nospc));
    assert_eq!(tight.used_bytes(), 0);
}

thread_local! {
    /// Set while the re-entrant clock is calling back into its filesystem.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// A clock whose `now` uses the filesystem it stamps: lists, stats and reads every entry, and
/// moves a file between two directories (which takes the tree lock exclusive).
struct ReentrantClock {
    fs: OnceLock<MemFs>,
    calls: AtomicU64,
    pokes: AtomicU64,
}

impl WallClock for ReentrantClock {
    fn now(&self) -> u64 {
        let t = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(fs) = self.fs.get()
            && !INSIDE.get()
        {
            INSIDE.set(true);
            poke(fs);
            INSIDE.set(false);
            self.pokes.fetch_add(1, Ordering::SeqCst);
        }
        t
    }
}

fn poke(fs: &MemFs) {
    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        for name in fs.read_dir(&dir).unwrap_or_default() {
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            match fs.metadata(&path).map(|st| st.filetype) {
                Ok(FileType::Directory) => stack.push(path),
                Ok(FileType::RegularFile) => {
                    let _ = fs.read_file(&path);
                }
                _ => {}
            }
        }
    }
    let root = fs.root().unwrap();
    let (a, b) = (open_dir(&*root, "clock-a"), open_dir(&*root, "clock-b"));
    if a.rename_at("token", &*b, "token").is_err() {
        b.rename_at("token", &*a, "token").unwrap();
    }
    fs.write_file("clock-a/tick", "tick").unwrap();
}

#[test]
fn a_clock_may_call_back_into_the_filesystem() {
    let clock = Arc::new(ReentrantClock { fs: OnceLock::new(), calls: AtomicU64::new(0), pokes: AtomicU64::new(0) });
    let fs = MemFs::with_clock(clock.clone());
    fs.write_file("clock-a/token", "t").unwrap();
    fs.create_dir_all("clock-b").unwrap();
    let _ = clock.fs.set(fs.clone());
    let host = tempfile::tempdir().unwrap();
    std::fs::create_dir(host.path().join("sub")).unwrap();
    std::fs::write(host.path().join("sub/file"), b"from the host").unwrap();

    let (done, finished) = mpsc::channel();
    let worker_fs = fs.clone();
    let host_path = host.path().to_path_buf();
    std::thread::spawn(move || {
        let fs = worker_fs;
        let root = fs.root().unwrap();
        root.mkdir_at("d").unwrap();
        let d = open_dir(&*root, "d");
        let f = file(d.open_at("f", CREATE).unwrap());
        f.write_at(b"hello", 0).unwrap();
        f.append(b"!").unwrap();
        f.append_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]).unwrap();
        f.write_vectored_at(&[IoSlice::new(b"c"), IoSlice::new(b"d")], 1).unwrap();
        f.set_size(3).unwrap();
        f.allocate(0, 10).unwrap();
        f.set_times(SetTime::Now, SetTime::Now).unwrap();
        file(d.open_at("f", OpenOptions { truncate: true, ..RW }).unwrap());
        d.symlink_at("f", "l").unwrap();
        d.link_at("f", &*root, "g").unwrap();
        root.rename_at("g", &*root, "g2").unwrap();
        root.rename_at("g2", &*d, "g3").unwrap();
        d.set_times_at("f", SetTime::Now, SetTime::Omit).unwrap();
        root.set_times(SetTime::Omit, SetTime::Now).unwrap();
        d.unlink_at("l").unwrap();
        d.unlink_at("g3").unwrap();
        d.mkdir_at("sub").unwrap();
        d.rmdir_at("sub").unwrap();
        fs.write_file("h/i", "x").unwrap();
        fs.symlink("i", "h/j").unwrap();
        fs.remove("h/j").unwrap();
        fs.copy_from_host_dir(&host_path, "copy").unwrap();
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("a clock calling back into the MemFs deadlocked (or the worker panicked)");
    assert_eq!(fs.read_file("copy/sub/file").unwrap(), b"from the host");
    assert!(clock.pokes.load(Ordering::SeqCst) >= 20, "the clock was called back into");
}

#[test]
fn vectored_writes_are_one_write() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("f", CREATE).unwrap());
    let parts = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
    assert_eq!(f.write_vectored_at(&parts, 2), Ok(5));
    assert_eq!(read_all(&*f), b"\0\0abcde");
    assert_eq!(f.append_vectored(&[IoSlice::new(b"f"), IoSlice::new(b"gh")]), Ok((3, 10)));
    assert_eq!(read_all(&*f), b"\0\0abcdefgh");
    assert_eq!(f.write_vectored_at(&[], 100), Ok(0));
    assert_eq!(f.write_vectored_at(&[IoSlice::new(b""), IoSlice::new(b"")], 100), Ok(0));
    assert_eq!(f.append_vectored(&[IoSlice::new(b"")]), Ok((0, 10)));
    assert_eq!(f.stat().unwrap().size, 10);
    // Across a chunk boundary, from many small slices.
    let pieces: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 7]).collect();
    let slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
    assert_eq!(f.write_vectored_at(&slices, CHUNK64 - 300), Ok(700));
    assert_eq!(read_at(&*f, CHUNK64 - 300, 700), pieces.concat());

    // The rules of write_at: cut short where the quota runs out, ENOSPC when nothing fits...
    let tight = MemFs::with_quota(1 + 3);
    let g = file(tight.root().unwrap().open_at("g", CREATE).unwrap());
    assert_eq!(g.write_vectored_at(&[IoSlice::new(b"ab"), IoSlice::new(b"cdef")], 0), Ok(3));
    assert_eq!(read_all(&*g), b"abc");
    assert_eq!(g.append_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")]), Err(Errno::Nospc));
    assert_eq!(g.write_vectored_at(&[IoSlice::new(b"AB"), IoSlice::new(b"CDEF")], 0), Ok(3));
    assert_eq!(read_all(&*g), b"ABC");
    // ...cut short at the maximum size, EFBIG at it.
    let short = MemFs::builder().max_file_size(4).build();
    let h = file(short.root().unwrap().open_at("h", CREATE).unwrap());
    assert_eq!(h.write_vectored_at(&[IoSlice::new(b"a"), IoSlice::new(b"bcdef")], 1), Ok(3));
    assert_eq!(h.write_vectored_at(&[IoSlice::new(b"a"), IoSlice::new(b"b")], 4), Err(Errno::Fbig));
    assert_eq!(h.append_vectored(&[IoSlice::new(b"a")]), Err(Errno::Fbig));
    assert_eq!(read_all(&*h), b"\0abc");
}

#[test]
fn vectored_appends_never_interleave() {
    const THREADS: usize = 4;
    const RECORDS: usize = 2_000;
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let log = file(root.open_at("log", CREATE).unwrap());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = Arc::clone(&log);
            s.spawn(move || {
                for i in 0..RECORDS {
                    let head = format!("{t}-{i}:");
                    let record = [IoSlice::new(head.as_bytes()), IoSlice::new(b"payload\n")];
                    let (n, size) = log.append_vectored(&record).unwrap();
                    assert_eq!(n, head.len() + 8);
                    assert!(size >= n as u64);
                }
            });
        }
    });
    let text = String::from_utf8(read_all(&*log)).unwrap();
    let mut next = [0usize; THREADS];
    let mut lines = 0;
    for line in text.lines() {
        let (head, rest) = line.split_once(':').unwrap_or_else(|| panic!("broken line {line:?}"));
        assert_eq!(rest, "payload", "line {line:?}");
        let (t, i) = head.split_once('-').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[t], "thread {t}'s records in order, each once");
        next[t] += 1;
        lines += 1;
    }
    assert_eq!(lines, THREADS * RECORDS);
    assert_eq!(next, [RECORDS; THREADS]);
}

#[test]
fn many_small_appends() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let f = file(root.open_at("log", CREATE).unwrap());
    let record = *b"0123456789abcde\n";
    for i in 0..50_000u64 {
        assert_eq!(f.append(&record), Ok((16, (i + 1) * 16)));
    }
    assert_eq!(fs.used_bytes(), 50_000 * 16 + 3);
    let all = read_all(&*f);
    assert!(all.chunks(16).all(|c| c == record));
}

/// A link racing an unlink of its source (the link count check after the lookup answers
/// `ENOENT`) gives back the quota and the inode unit it took: once everything is removed,
/// nothing is charged. A third thread keeps the destination directory busy, which widens the
/// window between the link's lookup and its check.
#[test]
fn a_link_losing_a_race_with_an_unlink_gives_its_charge_back() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let fs = MemFs::builder().quota(1 << 20).max_inodes(1000).build();
    let root = fs.root().unwrap();
    root.mkdir_at("d").unwrap();
    let Node::Dir(d) = root.open_at("d", OpenOptions::new().directory(true)).unwrap() else { panic!() };
    let (base_bytes, base_inodes) = (fs.used_bytes(), fs.used_inodes());
    let done = Arc::new(AtomicBool::new(false));
    let create = OpenOptions::new().write(true).create(true);
    let busy = {
        let (d, done) = (d.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                drop(d.open_at("busy", create).unwrap());
                d.unlink_at("busy").unwrap();
            }
        })
    };
    let linker = {
        let (root, d) = (root.clone(), d.clone());
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                match root.link_at("f", &*d, "g") {
                    Ok(()) => d.unlink_at("g").unwrap(),
                    Err(Errno::Noent) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
    };
    for _ in 0..20_000 {
        drop(root.open_at("f", create).unwrap());
        root.unlink_at("f").unwrap();
    }
    linker.join().unwrap();
    done.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    assert_eq!((fs.used_bytes(), fs.used_inodes()), (base_bytes, base_inodes));
}

/// `allocate` changes the modification time only when it grows the file (as `fallocate(2)`
/// without `FALLOC_FL_KEEP_SIZE`): not for a range ending at the end, nor inside.
#[test]
fn allocate_touches_the_file_only_when_it_grows() {
    let fs = MemFs::builder().clock(Arc::new(Ticking(0.into()))).build();
    let root = fs.root().unwrap();
    let f = new_file(&*root, "f", b"abcd");
    let mtime = f.stat().unwrap().mtim;
    f.allocate(0, 4).unwrap();
    f.allocate(1, 2).unwrap();
    assert_eq!(f.stat().unwrap().mtim, mtime);
    f.allocate(2, 4).unwrap();
    assert!(f.stat().unwrap().mtim > mtime);
}

/// A write past the end whose quota covers the gap of zeros but not one byte of the data
/// stores nothing and keeps no quota.
#[test]
fn a_write_whose_quota_covers_only_the_gap_takes_nothing() {
    // The 1-byte name and 10 bytes: the gap before offset 10, not the byte at it.
    let fs = MemFs::with_quota(11);
    let root = fs.root().unwrap();
    let f = new_file(&*root, "f", b"");
    assert_eq!(f.write_at(b"x", 10), Err(Errno::Nospc));
    assert_eq!((fs.used_bytes(), f.stat().unwrap().size), (1, 0));
}

/// Reads that end just before, at and just after a chunk boundary, with data stored past it.
#[test]
fn reads_ending_around_a_chunk_boundary_stop_there() {
    let fs = MemFs::new();
    let root = fs.root().unwrap();
    let data: Vec<u8> = (0..2 * CHUNK + 10).map(|i| (i % 251) as u8).collect();
    let f = new_file(&*root, "f", &data);
    for (offset, len) in [(0, CHUNK - 1), (1, CHUNK - 1), (0, CHUNK), (1, CHUNK), (5, CHUNK + 1)] {
        let mut buf = vec![0xAA; len];
        assert_eq!(f.read_at(&mut buf, offset as u64), Ok(len));
        assert_eq!(buf, data[offset..offset + len], "{offset} {len}");
    }
}

/// `allocate` of ranges ending just before and at a chunk boundary charges exactly their bytes.
#[test]
fn allocations_ending_around_a_chunk_boundary_charge_their_bytes() {
    let fs = MemFs::with_quota(1 << 20);
    let root = fs.root().unwrap();
    let f = new_file(&*root, "f", b"");
    f.allocate(0, CHUNK as u64 - 1).unwrap();
    assert_eq!(fs.used_bytes(), 1 + CHUNK as u64 - 1);
    f.allocate(0, CHUNK as u64).unwrap();
    f.allocate(CHUNK as u64, CHUNK as u64).unwrap();
    assert_eq!((fs.used_bytes(), f.stat().unwrap().size), (1 + 2 * CHUNK as u64, 2 * CHUNK as u64));
}
