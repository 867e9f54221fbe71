//! Indexing tar archives (plain, or inside a gzip stream).

use std::io::{self, Read};
use std::sync::Arc;

use super::index::{Add, Data, Index, Tree};
use super::{ArchiveBuilder, Bytes, invalid};

/// Whether `bytes` start with a tar header: the `ustar` magic, or a header whose checksum
/// matches (the old v7 format).
pub(crate) fn looks_like_tar(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..512) else { return false };
    if &header[257..262] == b"ustar" {
        return true;
    }
    let stored = std::str::from_utf8(&header[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 =
        header.iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u32::from(*b) }).sum();
    stored == Some(sum) && header[0] != 0
}

/// Unpacks a gzip-compressed tar (every gzip member, as `gzip -d` does) into memory, at most
/// the builder's `max_unpacked_size` bytes, and indexes the tar.
pub(crate) fn index_gz(limits: &ArchiveBuilder, bytes: Bytes) -> io::Result<Index> {
    let mut tar = Vec::new();
    let limit = limits.max_unpacked_size;
    flate2::read::MultiGzDecoder::new(bytes.as_ref())
        .take(limit.saturating_add(1))
        .read_to_end(&mut tar)
        .map_err(|e| invalid(format!("gzip: {e}")))?;
    if tar.len() as u64 > limit {
        return Err(invalid(format!("gzip: unpacks to more than {limit} bytes (the limit)")));
    }
    index(limits, Bytes(Arc::new(tar)))
}

/// Indexes a tar archive held in `bytes`.
pub(crate) fn index(limits: &ArchiveBuilder, bytes: Bytes) -> io::Result<Index> {
    let mut tree = Tree::new(limits);
    {
        let data: &[u8] = bytes.as_ref();
        let mut archive = tar::Archive::new(data);
        let entries = archive.entries().map_err(|e| invalid(format!("tar: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| invalid(format!("tar: {e}")))?;
            tree.count()?;
            let name = utf8(&entry.path_bytes(), "name")?;
            let kind = entry.header().entry_type();
            let mtime = entry.header().mtime().unwrap_or(0).saturating_mul(1_000_000_000);
            let add = if kind.is_dir() {
                Add::Dir
            } else if kind.is_file() || kind.is_contiguous() {
                let start = usize::try_from(entry.raw_file_position()).map_err(|_| truncated(&name))?;
                let len = usize::try_from(entry.size()).map_err(|_| truncated(&name))?;
                if start.checked_add(len).is_none_or(|end| end > data.len()) {
                    return Err(truncated(&name));
                }
                Add::File(Data::Range { start, len })
            } else if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    return Err(invalid(format!("entry {name:?}: a link without a target")));
                };
                let target = utf8(&target, "link target")?;
                if kind.is_symlink() { Add::Symlink(target) } else { Add::Link(target) }
            } else if kind.is_gnu_sparse() {
                return Err(invalid(format!("entry {name:?}: GNU sparse files are not supported")));
            } else {
                // Devices, FIFOs: left out.
                continue;
            };
            tree.add(&name, add, mtime)?;
        }
    }
    Ok(tree.finish(bytes, None, limits))
}

fn utf8(bytes: &[u8], what: &str) -> io::Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| invalid(format!("tar: a {what} that is not UTF-8: {bytes:?}")))
}

fn truncated(name: &str) -> io::Error {
    invalid(format!("entry {name:?}: its data runs past the end of the archive (truncated)"))
}
