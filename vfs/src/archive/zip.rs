//! Indexing zip archives.

use std::io::{self, Read};

use super::index::{Add, Data, Index, SYMLINK_MAX, Tree};
use super::{ArchiveBuilder, Bytes, invalid};

/// Indexes a zip archive held in `bytes`: stored entries are served as ranges of `bytes`,
/// deflated ones unpacked on their first open.
pub(crate) fn index(limits: &ArchiveBuilder, bytes: Bytes) -> io::Result<Index> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes.clone())).map_err(|e| invalid(format!("zip: {e}")))?;
    if archive.len() > limits.max_entries {
        return Err(invalid(format!("more than {} entries", limits.max_entries)));
    }
    let mut tree = Tree::new(limits);
    for i in 0..archive.len() {
        tree.count()?;
        let file = archive.by_index_raw(i).map_err(|e| invalid(format!("zip entry {i}: {e}")))?;
        let name = String::from_utf8(file.name_raw().to_vec())
            .map_err(|_| invalid(format!("zip entry {i}: a name that is not UTF-8")))?;
        if file.encrypted() {
            return Err(invalid(format!("entry {name:?}: encrypted")));
        }
        let mtime = file.last_modified().map_or(0, |t| {
            unix_seconds(t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()).saturating_mul(1_000_000_000)
        });
        let method = file.compression();
        let (size, packed) = (file.size(), file.compressed_size());
        if size > limits.max_unpacked_size {
            return Err(invalid(format!(
                "entry {name:?}: declares {size} bytes unpacked, more than the limit of {}",
                limits.max_unpacked_size
            )));
        }
        let Some(start) = file.data_start() else {
            return Err(invalid(format!("entry {name:?}: no data offset")));
        };
        let stored = method == zip::CompressionMethod::Stored;
        if !stored && method != zip::CompressionMethod::Deflated {
            return Err(invalid(format!("entry {name:?}: compression method {method} is not supported")));
        }
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(packed).ok())
            .filter(|(s, l)| s.checked_add(*l).is_some_and(|end| end <= bytes.as_ref().len()));
        let Some((start, packed)) = range else {
            return Err(invalid(format!("entry {name:?}: its data runs past the end of the archive (truncated)")));
        };
        if stored && packed as u64 != size {
            return Err(invalid(format!("entry {name:?}: stored with {packed} bytes but declares {size}")));
        }
        let is_dir = file.is_dir();
        let is_symlink = file.is_symlink();
        drop(file);
        let add = if is_dir {
            Add::Dir
        } else if is_symlink {
            if size > SYMLINK_MAX as u64 {
                return Err(invalid(format!("symbolic link {name:?}: a target of {size} bytes")));
            }
            let mut target = Vec::new();
            let file = archive.by_index(i).map_err(|e| invalid(format!("entry {name:?}: {e}")))?;
            file.take(size).read_to_end(&mut target).map_err(|e| invalid(format!("entry {name:?}: {e}")))?;
            Add::Symlink(String::from_utf8(target).map_err(|_| invalid(format!("symbolic link {name:?}: not UTF-8")))?)
        } else if stored {
            Add::File(Data::Range { start, len: packed })
        } else {
            Add::File(Data::Zip { entry: i, size })
        };
        tree.add(&name, add, mtime)?;
    }
    Ok(tree.finish(bytes, Some(archive), limits))
}

/// Seconds since the Unix epoch of a civil date and time (UTC), from the days-from-civil
/// algorithm; zip times have no zone and are read as UTC.
fn unix_seconds(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> u64 {
    let (y, m) = (i64::from(year) - i64::from(month <= 2), i64::from(month));
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    u64::try_from(secs).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates_convert_to_unix_seconds() {
        assert_eq!(super::unix_seconds(1980, 1, 1, 0, 0, 0), 315_532_800);
        assert_eq!(super::unix_seconds(2024, 2, 29, 12, 30, 15), 1_709_209_815);
    }
}
