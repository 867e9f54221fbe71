//! File I/O: positioned and vectored writes, atomic appends.

use super::*;

#[test]
fn file_io() {
    let fx = fixture();
    let root = rw_root(&fx);
    let f = file(root.open_at("f", CREATE));
    let mut buf = [0xffu8; 16];
    assert_eq!(f.read_at(&mut buf, 0), Ok(0));
    assert_eq!(f.write_at(b"abc", 4), Ok(3));
    assert_eq!(f.read_at(&mut buf, 0), Ok(7));
    assert_eq!(&buf[..7], b"\0\0\0\0abc");
    assert_eq!(f.read_at(&mut buf, 5), Ok(2));
    assert_eq!(f.read_at(&mut buf, 100), Ok(0));
    assert_eq!(f.read_at(&mut buf, u64::MAX), Ok(0));
    assert_eq!(f.write_at(b"", 0), Ok(0));
    assert_eq!(f.write_at(b"x", u64::MAX), Err(Errno::Fbig));

    assert_eq!(f.append(b"de"), Ok((2, 9)));
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0\0\0abcde");

    f.set_size(3).expect("truncate");
    assert_eq!(f.stat().expect("stat").size, 3);
    f.set_size(10).expect("extend");
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0\0\0\0\0\0\0\0\0");
    assert_eq!(f.set_size(u64::MAX), Err(Errno::Fbig));

    f.sync().expect("sync");
    f.datasync().expect("datasync");
    root.sync().expect("dir sync");
    for advice in
        [Advice::Normal, Advice::Sequential, Advice::Random, Advice::WillNeed, Advice::DontNeed, Advice::NoReuse]
    {
        f.advise(0, 10, advice).expect("advise");
    }
    f.advise(0, 0, Advice::Normal).expect("advise whole file");

    match f.allocate(0, 100) {
        Ok(()) => assert_eq!(f.stat().expect("stat").size, 100),
        Err(e) => assert_eq!(e, Errno::Notsup),
    }
    assert_eq!(f.allocate(u64::MAX, 2), Err(Errno::Fbig));
    assert_eq!(f.allocate(0, 0), Err(Errno::Inval));
}

#[test]
fn appends_are_atomic() {
    let fx = fixture();
    let root = rw_root(&fx);
    let f = file(root.open_at("log", CREATE));
    let g = file(root.open_at("log", RW));
    // Positioned writes are not affected by appends (no O_APPEND on the descriptor).
    assert_eq!(f.append(b"0123456789"), Ok((10, 10)));
    assert_eq!(f.write_at(b"X", 0), Ok(1));
    assert_eq!(std::fs::read(fx.mount.join("log")).expect("read"), b"X123456789");

    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let h = if t % 2 == 0 { Arc::clone(&f) } else { Arc::clone(&g) };
            std::thread::spawn(move || {
                let record = [b'a' + t; 16];
                for _ in 0..200 {
                    let (n, size) = h.append(&record).expect("append");
                    assert_eq!(n, 16);
                    // The size seen right after this append: at least its end, and with other
                    // appenders at work possibly partway through theirs (the kernel grows a
                    // file page by page), so not necessarily a whole number of records.
                    assert!((26..=10 + 4 * 200 * 16).contains(&size), "size {size}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let data = std::fs::read(fx.mount.join("log")).expect("read");
    assert_eq!(data.len(), 10 + 4 * 200 * 16);
    let mut counts = [0; 4];
    for record in data[10..].chunks(16) {
        assert!(record.iter().all(|&b| b == record[0]), "torn record {record:?}");
        counts[usize::from(record[0] - b'a')] += 1;
    }
    assert_eq!(counts, [200; 4]);

    // The fallback path (kernels without RWF_APPEND) appends too.
    let host = f.as_any().downcast_ref::<HostFile>().expect("HostFile");
    host.no_rwf_append.store(true, Ordering::Relaxed);
    let len = data.len() as u64;
    assert_eq!(f.append(b"tail"), Ok((4, len + 4)));
    assert_eq!(&std::fs::read(fx.mount.join("log")).expect("read")[data.len()..], b"tail");
}

#[test]
fn vectored_writes_are_one_write() {
    use std::io::IoSlice;
    let fx = fixture();
    let root = rw_root(&fx);
    let f = file(root.open_at("f", CREATE));
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
    assert_eq!(f.write_vectored_at(&bufs, 2), Ok(5));
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0abcde");
    assert_eq!(f.write_vectored_at(&[], 0), Ok(0));
    assert_eq!(f.write_vectored_at(&bufs, u64::MAX), Err(Errno::Fbig));
    assert_eq!(f.append_vectored(&[IoSlice::new(b"fg"), IoSlice::new(b"h")]), Ok((3, 10)));
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"\0\0abcdefgh");

    // More buffers than one system call takes: still one write, in order.
    let many: Vec<Vec<u8>> = (0..3000u32).map(|i| vec![b'a' + (i % 26) as u8]).collect();
    let slices: Vec<IoSlice<'_>> = many.iter().map(|b| IoSlice::new(b)).collect();
    assert_eq!(f.write_vectored_at(&slices, 0), Ok(3000));
    assert_eq!(f.append_vectored(&slices), Ok((3000, 6000)));
    let data = std::fs::read(fx.mount.join("f")).expect("read");
    let expected: Vec<u8> = many.concat();
    assert_eq!(&data[..3000], &expected[..]);
    assert_eq!(&data[3000..], &expected[..]);

    // Not seekable: a positioned write is refused, an append is a write.
    let host = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
    rfs::mknodat(&host, "fifo", rfs::FileType::Fifo, Mode::from_bits_truncate(0o644), 0).expect("mkfifo");
    let r = file(root.open_at("fifo", RO));
    let w = file(root.open_at("fifo", OpenOptions { write: true, ..RO }));
    assert_eq!(w.write_vectored_at(&bufs, 0), Err(Errno::Spipe));
    assert_eq!(w.append_vectored(&bufs), Ok((5, 0)));
    drop((r, w));

    // Read-only: refused before any system call.
    let ro = file(HostDir::open_read_only(&fx.mount).expect("open").root().expect("root").open_at("f", RO));
    assert_eq!(ro.write_vectored_at(&bufs, 0), Err(Errno::Rofs));
    assert_eq!(ro.append_vectored(&bufs), Err(Errno::Rofs));
}

#[test]
fn vectored_appends_are_atomic() {
    use std::io::IoSlice;
    const THREADS: usize = 4;
    const RECORDS: usize = 2000;
    let fx = fixture();
    let root = rw_root(&fx);
    let f = file(root.open_at("log", CREATE));
    let g = file(root.open_at("log", RW));
    let run = |fallback: bool, f: &Arc<dyn File>, g: &Arc<dyn File>| {
        for h in [f, g] {
            let host = h.as_any().downcast_ref::<HostFile>().expect("HostFile");
            host.no_rwf_append.store(fallback, Ordering::Relaxed);
        }
        f.set_size(0).expect("truncate");
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                // Two handles (two host descriptors) on one file, two threads on each.
                let h = Arc::clone(if t % 2 == 0 { f } else { g });
                std::thread::spawn(move || {
                    for i in 0..RECORDS {
                        let line = format!("thread {t} record {i:05} {}", "x".repeat(i % 50));
                        let (n, size) =
                            h.append_vectored(&[IoSlice::new(line.as_bytes()), IoSlice::new(b"\n")]).expect("append");
                        assert_eq!(n, line.len() + 1);
                        assert!(size >= n as u64);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let data = String::from_utf8(std::fs::read(fx.mount.join("log")).expect("read")).expect("utf8");
        let mut next = [0usize; THREADS];
        for line in data.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            assert!(parts.len() == 5 && parts[0] == "thread", "torn line {line:?}");
            let (t, i): (usize, usize) = (parts[1].parse().expect("t"), parts[3].parse().expect("i"));
            assert_eq!(i, next[t], "thread {t}'s records in order");
            assert_eq!(parts[4], "x".repeat(i % 50), "torn line {line:?}");
            next[t] += 1;
        }
        assert!(data.ends_with('\n'));
        assert_eq!(next, [RECORDS; THREADS]);
    };
    run(false, &f, &g);
    // The fallback (kernels without RWF_APPEND) is atomic between the appends of one handle.
    run(true, &f, &f);
}

/// The host's largest offset (`off_t` is signed) bounds every request, as a file system's
/// largest file: reads there find nothing, writes past it are too big (where the kernel would say
/// `EINVAL`), and within it the kernel decides.
#[test]
fn the_largest_offset_is_the_end_of_every_file() {
    use std::io::IoSlice;
    const MAX: u64 = i64::MAX as u64;
    let fx = fixture();
    let f = file(rw_root(&fx).open_at("f", CREATE));
    assert_eq!(f.write_at(b"abc", 0), Ok(3));
    // An empty write is no write, wherever it is.
    assert_eq!(f.write_at(b"", MAX), Ok(0));
    assert_eq!(f.write_vectored_at(&[IoSlice::new(b"")], MAX), Ok(0));
    assert_eq!(f.write_at(b"", MAX + 1), Err(Errno::Fbig));
    for at in [MAX - 3, MAX - 1, MAX, MAX + 1, u64::MAX] {
        assert_eq!(f.read_at(&mut [0; 4], at), Ok(0), "read at {at}");
    }
    for (at, len) in [(MAX - 1, 2), (MAX, 1), (1, MAX), (u64::MAX, 1)] {
        let buf = vec![b'x'; len.min(4) as usize];
        if len <= 4 {
            assert_eq!(f.write_at(&buf, at), Err(Errno::Fbig), "write at {at}");
            assert_eq!(f.write_vectored_at(&[IoSlice::new(&buf), IoSlice::new(b"")], at), Err(Errno::Fbig));
        }
        assert_eq!(f.allocate(at, len), Err(Errno::Fbig), "allocate at {at}");
    }
    // Within the largest offset, past the largest file ext4 holds: the kernel's answer.
    assert_eq!(f.write_at(b"ab", MAX - 2), Err(Errno::Fbig));
    assert_eq!(std::fs::read(fx.mount.join("f")).expect("read"), b"abc");

    // tmpfs takes a file of the largest size; HostDir must not refuse it first.
    let Ok(shm) = tempfile::tempdir_in("/dev/shm") else { return };
    let f = file(HostDir::open(shm.path()).expect("open").root().expect("root").open_at("f", CREATE));
    assert_eq!(f.set_size(MAX), Ok(()));
    assert_eq!(f.stat().expect("stat").size, MAX);
    assert_eq!(f.set_size(MAX + 1), Err(Errno::Fbig));
    f.set_size(0).expect("truncate");
}

/// A vectored write the kernel shortens (it writes at most 2 GiB − 4 KiB per call) goes on
/// where it stopped until every byte is written: 3 GiB into `/dev/null`, one buffer 1,024 times.
#[test]
fn a_vectored_write_the_kernel_shortens_goes_on() {
    use std::io::IoSlice;
    let Ok(dev) = HostDir::open("/dev") else { return };
    let null = file(dev.root().expect("root").open_at("null", OpenOptions { read: false, write: true, ..RO }));
    let chunk = vec![7u8; 3 << 20];
    let bufs = vec![IoSlice::new(&chunk); 1024];
    assert_eq!(null.write_vectored_at(&bufs, 0), Ok(3 << 30));
    assert_eq!(null.write_vectored_at(&bufs, 1 << 40), Ok(3 << 30));
}

/// `sync`, `datasync` and `advise` pass the kernel's refusals on: a character device cannot be
/// synced (`EINVAL`), a pipe takes no advice (`ESPIPE`).
#[test]
fn sync_and_advice_report_what_the_host_refuses() {
    if let Ok(dev) = HostDir::open("/dev") {
        let null = file(dev.root().expect("root").open_at("null", RW));
        assert_eq!(null.sync(), Err(Errno::Inval));
        assert_eq!(null.datasync(), Err(Errno::Inval));
    }
    let fx = fixture();
    let host = rfs::open(&fx.mount, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).expect("open");
    rfs::mknodat(&host, "fifo", rfs::FileType::Fifo, Mode::from_bits_truncate(0o644), 0).expect("mkfifo");
    let fifo = file(rw_root(&fx).open_at("fifo", RW));
    assert_eq!(fifo.advise(0, 0, Advice::Normal), Err(Errno::Spipe));
}
