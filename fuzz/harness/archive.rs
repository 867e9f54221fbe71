//! The archive harness, shared by the fuzz target (`fuzz_targets/archive.rs`) and the stable
//! replay of its regressions (`tests/fuzz_regressions.rs` at the workspace root).
//!
//! Input: one byte choosing the format (tar, tar.gz, zip), then the archive's bytes. Oracles:
//! opening never panics, and refuses with `InvalidData` only; an opened archive can be walked
//! whole — every listed name a valid component, listed once, with a `stat` whose type matches
//! the listing; every file read to its end in at most `size` bytes (never more than it
//! declares); every symbolic link followed without a panic (the resolver's own tests prove it
//! stays inside); all within the limits below (1 MiB unpacked, 4096 entries).

use std::collections::HashSet;
use std::sync::Arc;

use hammertime_vfs::archive::{Archive, ArchiveFormat};
use hammertime_vfs::{Dir, Errno, FileSystem, FileType, Node, OpenOptions, resolve};

/// Runs the oracles on `data`; `true` when the archive opened (and was walked).
pub fn check(data: &[u8]) -> bool {
    let Some((&which, bytes)) = data.split_first() else { return false };
    let format = [ArchiveFormat::Tar, ArchiveFormat::TarGz, ArchiveFormat::Zip][usize::from(which % 3)];
    let opened = Archive::builder()
        .max_entries(4096)
        .max_unpacked_size(1 << 20)
        .max_unpacked_in_memory(4 << 20)
        .open_format(format, bytes.to_vec());
    let fs = match opened {
        Ok(fs) => fs,
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
            return false;
        }
    };
    let root = fs.root().expect("an archive's root opens");
    let read = OpenOptions::new().read(true);
    let mut stack: Vec<(String, Arc<dyn Dir>)> = vec![(String::new(), root.clone())];
    let mut dirs = 0;
    while let Some((path, dir)) = stack.pop() {
        dirs += 1;
        assert!(dirs <= 4096 + 1, "more directories than entries");
        let mut seen = HashSet::new();
        let mut listed = Vec::new();
        dir.read_dir(0, &mut |e| {
            listed.push(e);
            true
        })
        .expect("listing");
        for e in listed {
            assert!(!e.name.is_empty() && e.name != "." && e.name != ".." && !e.name.contains(['/', '\0']));
            assert!(seen.insert(e.name.clone()), "{path}/{} listed twice", e.name);
            let st = dir.stat_at(&e.name).expect("a listed name has a stat");
            assert_eq!(st.filetype, e.filetype);
            let full = if path.is_empty() { e.name.clone() } else { format!("{path}/{}", e.name) };
            match e.filetype {
                FileType::Directory => match dir.open_at(&e.name, read.directory(true)) {
                    Ok(Node::Dir(sub)) => stack.push((full, sub)),
                    other => panic!("directory {full} opens as {other:?}"),
                },
                FileType::SymbolicLink => {
                    let target = dir.readlink_at(&e.name).expect("a link has a target");
                    assert_eq!(target.len() as u64, st.size);
                    // Following it gives a node or an errno, never a panic.
                    let _ = resolve::open(&root, &full, true, read);
                }
                _ => match dir.open_at(&e.name, read) {
                    Ok(Node::File(f)) => {
                        let mut total = 0u64;
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = f.read_at(&mut buf, total).expect("reading") as u64;
                            if n == 0 {
                                break;
                            }
                            total += n;
                            assert!(total <= st.size, "{full}: more bytes than its size");
                        }
                        assert_eq!(total, st.size, "{full}: fewer bytes than its size");
                    }
                    Err(Errno::Nomem | Errno::Io) => {}
                    other => panic!("file {full} opens as {other:?}"),
                },
            }
        }
    }
    assert_eq!(root.mkdir_at("x"), Err(Errno::Rofs));
    true
}
