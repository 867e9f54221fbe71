//! A large directory through `read-directory` / `read-directory-entry`: creates `big/` with
//! [`COUNT`] empty files `f00000` … `f09999` (the first argument, when given, is another count),
//! reads the directory back and checks that each name comes exactly once, as a regular file, and
//! nothing else comes. Prints `count N`.
//!
//! Needs a writable preopened `/`. Exit status: 0, 1 (a check failed), 2 (no `/`).

use hammertime_p2_guests::{Report, preopen, setup_failed};
use wasip2::filesystem::types::{DescriptorFlags, DescriptorType, OpenFlags, PathFlags};

const COUNT: usize = 10_000;

fn main() {
    let count = match std::env::args().nth(1) {
        Some(n) => n.parse().unwrap_or_else(|_| setup_failed(format!("bad count {n:?}"))),
        None => COUNT,
    };
    let mut r = Report::stdout();
    let root = preopen("/");
    if let Err(e) = root.create_directory_at("big") {
        setup_failed(format!("create-directory-at big: {}", e.name()));
    }
    let dir = root
        .open_at(
            PathFlags::empty(),
            "big",
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
        )
        .unwrap_or_else(|e| setup_failed(format!("open-at big: {}", e.name())));

    let mut created = 0;
    for i in 0..count {
        let name = format!("f{i:05}");
        match dir.open_at(PathFlags::empty(), &name, OpenFlags::CREATE | OpenFlags::EXCLUSIVE, DescriptorFlags::WRITE) {
            Ok(_file) => created += 1,
            Err(e) => {
                r.fail("create", format!("open-at {name}: {}", e.name()));
                break;
            }
        }
    }
    r.eq("create", created, count);

    let entries = match dir.read_directory() {
        Ok(entries) => entries,
        Err(e) => {
            r.fail("read-directory", e.name());
            r.finish();
            return;
        }
    };
    let mut seen = vec![false; count];
    let (mut total, mut dupes, mut strangers, mut wrong_type) = (0usize, Vec::new(), Vec::new(), Vec::new());
    let end = loop {
        match entries.read_directory_entry() {
            Ok(Some(entry)) => {
                total += 1;
                if entry.type_ != DescriptorType::RegularFile {
                    wrong_type.push(format!("{} is {:?}", entry.name, entry.type_));
                }
                let index = entry.name.strip_prefix('f').filter(|n| n.len() == 5).and_then(|n| n.parse::<usize>().ok());
                match index {
                    Some(i) if i < count => {
                        if std::mem::replace(&mut seen[i], true) {
                            dupes.push(entry.name);
                        }
                    }
                    _ => strangers.push(entry.name),
                }
                if total > 2 * count + 10 {
                    break Some("the listing never ends".to_string());
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e.name().to_string()),
        }
    };
    match end {
        None => r.ok("read-directory-entry.end"),
        Some(why) => r.fail("read-directory-entry.end", why),
    }
    let missing: Vec<usize> = (0..count).filter(|&i| !seen[i]).collect();
    r.check("names.each-once", dupes.is_empty(), || format!("{} duplicates, first {:?}", dupes.len(), dupes.first()));
    r.check("names.all", missing.is_empty(), || format!("{} missing, first f{:05}", missing.len(), missing[0]));
    r.check("names.no-others", strangers.is_empty(), || {
        format!("unexpected entries {:?}", &strangers[..strangers.len().min(5)])
    });
    r.check("types", wrong_type.is_empty(), || format!("{} wrong types, first {}", wrong_type.len(), wrong_type[0]));
    // After the end, the stream stays at its end.
    let again = entries.read_directory_entry();
    r.check("read-directory-entry.after-end", matches!(again, Ok(None)), || format!("{again:?}"));
    // A second stream lists the same number again.
    let mut second = 0usize;
    if let Ok(entries) = dir.read_directory() {
        while let Ok(Some(_)) = entries.read_directory_entry() {
            second += 1;
        }
    }
    r.eq("read-directory.again", second, count);
    // An empty directory lists nothing (no `.` or `..`).
    let empty = root
        .create_directory_at("empty")
        .and_then(|()| root.open_at(PathFlags::empty(), "empty", OpenFlags::DIRECTORY, DescriptorFlags::READ))
        .and_then(|d| d.read_directory())
        .and_then(|s| s.read_directory_entry());
    r.check("read-directory.empty", matches!(empty, Ok(None)), || format!("{empty:?}"));
    r.info(format!("count {total}"));
    r.finish();
}
