//! `wasi:io/streams` and `wasi:io/poll` called directly: stdout, stdin, file streams, splice, and
//! polls on clock and stream pollables.
//!
//! The check lines go to stderr; stdout carries exactly the data written under test:
//!
//! ```text
//! write
//! blocking-write-and-flush
//! spliced from a file
//! blocking-splice
//! ```
//!
//! Stdin must hold [`STDIN_LEN`] bytes, byte `i` being `i % 251`.
//! Needs a writable preopened `/`. Exit status: 0, 1 (a check failed), 2 (no `/`).

use std::time::Duration as StdDuration;

use hammertime_p2_guests::{Report, preopen};
use wasip2::clocks::monotonic_clock;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};
use wasip2::io::poll::{self, Pollable};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// How many bytes the host puts on stdin.
const STDIN_LEN: u64 = 100_000;

fn stdin_byte(offset: u64) -> u8 {
    (offset % 251) as u8
}

fn stream_err(e: &StreamError) -> String {
    match e {
        StreamError::Closed => "closed".to_string(),
        StreamError::LastOperationFailed(e) => format!("last-operation-failed({})", e.to_debug_string()),
    }
}

fn ns(d: StdDuration) -> u64 {
    d.as_nanos() as u64
}

fn main() {
    let mut r = Report::stderr();
    let stdout = wasip2::cli::stdout::get_stdout();
    stdout_checks(&mut r, &stdout);
    stdin_checks(&mut r);
    let root = preopen("/");
    file_checks(&mut r, &root);
    splice_checks(&mut r, &root, &stdout);
    poll_checks(&mut r, &root, &stdout);
    r.finish();
}

fn stdout_checks(r: &mut Report, stdout: &OutputStream) {
    let budget = match stdout.check_write() {
        Ok(n) => {
            r.check("stdout.check-write", n > 0, || format!("permits {n} bytes, expected > 0"));
            n
        }
        Err(e) => {
            r.fail("stdout.check-write", stream_err(&e));
            0
        }
    };
    let data = b"write\n";
    if budget >= data.len() as u64 {
        match stdout.write(data) {
            Ok(()) => r.ok("stdout.write"),
            Err(e) => r.fail("stdout.write", stream_err(&e)),
        }
    } else {
        r.fail("stdout.write", format!("check-write permits only {budget} bytes"));
    }
    match stdout.flush() {
        Ok(()) => r.ok("stdout.flush"),
        Err(e) => r.fail("stdout.flush", stream_err(&e)),
    }
    // After a flush the stream is writable again: its pollable is ready and `block` returns.
    let ready = stdout.subscribe();
    r.check("stdout.subscribe.ready", ready.ready(), || "stdout's pollable is not ready after flush".into());
    ready.block();
    drop(ready);
    match stdout.check_write() {
        Ok(n) => r.check("stdout.check-write.after-flush", n >= data.len() as u64, || format!("permits {n} bytes")),
        Err(e) => r.fail("stdout.check-write.after-flush", stream_err(&e)),
    };
    match stdout.blocking_write_and_flush(b"blocking-write-and-flush\n") {
        Ok(()) => r.ok("stdout.blocking-write-and-flush"),
        Err(e) => r.fail("stdout.blocking-write-and-flush", stream_err(&e)),
    }
    // A zero-length write is allowed.
    match stdout.write(b"") {
        Ok(()) => r.ok("stdout.write.empty"),
        Err(e) => r.fail("stdout.write.empty", stream_err(&e)),
    }
}

/// Reads stdin with `read`, `blocking-read`, `skip` and `blocking-skip` until `closed`,
/// checking every byte read against its offset.
fn stdin_checks(r: &mut Report) {
    let stdin = wasip2::cli::stdin::get_stdin();
    let mut offset = 0u64;
    let mut bad: Option<String> = None;
    let mut verify = |bytes: &[u8], offset: &mut u64| {
        for &b in bytes {
            if b != stdin_byte(*offset) && bad.is_none() {
                bad = Some(format!("byte {} is {b}, expected {}", *offset, stdin_byte(*offset)));
            }
            *offset += 1;
        }
    };

    let pollable = stdin.subscribe();
    pollable.block();
    r.check("stdin.subscribe.ready", pollable.ready(), || "stdin's pollable is not ready after block".into());
    drop(pollable);

    // `read` may answer an empty list when nothing is ready yet: wait and try again.
    let mut first = Vec::new();
    for _ in 0..100 {
        match stdin.read(10) {
            Ok(bytes) if bytes.is_empty() => stdin.subscribe().block(),
            Ok(bytes) => {
                first = bytes;
                break;
            }
            Err(e) => {
                r.fail("stdin.read", stream_err(&e));
                break;
            }
        }
    }
    r.check("stdin.read", !first.is_empty() && first.len() <= 10, || format!("read {} bytes of 10", first.len()));
    verify(&first, &mut offset);

    match stdin.blocking_read(7) {
        Ok(bytes) => {
            r.check("stdin.blocking-read", !bytes.is_empty() && bytes.len() <= 7, || {
                format!("read {} bytes of 7", bytes.len())
            });
            verify(&bytes, &mut offset);
        }
        Err(e) => r.fail("stdin.blocking-read", stream_err(&e)),
    }

    match stdin.skip(1000) {
        Ok(n) => {
            r.check("stdin.skip", n <= 1000, || format!("skipped {n} of 1000"));
            offset += n;
        }
        Err(e) => r.fail("stdin.skip", stream_err(&e)),
    }
    match stdin.blocking_skip(3) {
        Ok(n) => {
            r.check("stdin.blocking-skip", (1..=3).contains(&n), || format!("skipped {n} of 3"));
            offset += n;
        }
        Err(e) => r.fail("stdin.blocking-skip", stream_err(&e)),
    }

    // The rest, alternately read and skipped, until `closed`.
    let mut end = None;
    for round in 0u64.. {
        let got = if round % 2 == 0 {
            stdin.blocking_read(4096).map(|bytes| {
                verify(&bytes, &mut offset);
                bytes.len() as u64
            })
        } else {
            stdin.blocking_skip(333).inspect(|&n| offset += n)
        };
        match got {
            Ok(0) if round > 1_000_000 => break,
            Ok(_) => {}
            Err(e) => {
                end = Some(e);
                break;
            }
        }
    }
    match end {
        Some(StreamError::Closed) => r.ok("stdin.closed"),
        Some(e) => r.fail("stdin.closed", format!("ended with {}", stream_err(&e))),
        None => r.fail("stdin.closed", "never closed"),
    }
    r.eq("stdin.length", offset, STDIN_LEN);
    match bad {
        None => r.ok("stdin.contents"),
        Some(why) => r.fail("stdin.contents", why),
    }
    // Once closed, every operation says so, and the pollable is ready at once.
    let closed = |res: Result<u64, StreamError>| matches!(res, Err(StreamError::Closed));
    let read = closed(stdin.read(1).map(|b| b.len() as u64));
    let blocking = closed(stdin.blocking_read(1).map(|b| b.len() as u64));
    let skip = closed(stdin.skip(1));
    r.check("stdin.closed.stays-closed", read && blocking && skip, || {
        format!("closed: read {read}, blocking-read {blocking}, skip {skip}")
    });
    r.check("stdin.closed.ready", stdin.subscribe().ready(), || "pollable of a closed stream is not ready".into());
}

fn open(root: &Descriptor, name: &str, open: OpenFlags, flags: DescriptorFlags) -> Descriptor {
    root.open_at(PathFlags::empty(), name, open, flags)
        .unwrap_or_else(|e| hammertime_p2_guests::setup_failed(format!("open-at {name}: {}", e.name())))
}

/// Everything the stream reads until `closed`.
fn read_all(input: &InputStream) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    loop {
        match input.blocking_read(5) {
            Ok(bytes) => all.extend_from_slice(&bytes),
            Err(StreamError::Closed) => return Ok(all),
            Err(e) => return Err(stream_err(&e)),
        }
    }
}

fn file_checks(r: &mut Report, root: &Descriptor) {
    let rw = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let file = open(root, "streams.txt", OpenFlags::CREATE | OpenFlags::TRUNCATE, rw);

    match file.write_via_stream(0) {
        Ok(out) => {
            let first = out.blocking_write_and_flush(b"hello ");
            let budget = out.check_write();
            let second = out.write(b"world");
            let flushed = out.blocking_flush();
            r.check(
                "file.write-via-stream",
                first.is_ok() && budget.as_ref().is_ok_and(|&n| n >= 5) && second.is_ok() && flushed.is_ok(),
                || format!("write {first:?}, check-write {budget:?}, write {second:?}, flush {flushed:?}"),
            );
        }
        Err(e) => r.fail("file.write-via-stream", e.name()),
    }
    match file.append_via_stream() {
        Ok(out) => {
            let res = out.blocking_write_and_flush(b"!\n").and_then(|()| out.blocking_write_zeroes_and_flush(3));
            r.check("file.append-via-stream", res.is_ok(), || format!("{res:?}"));
        }
        Err(e) => r.fail("file.append-via-stream", e.name()),
    }
    // A stream at an offset overwrites in place.
    match file.write_via_stream(2) {
        Ok(out) => {
            let res = out.blocking_write_and_flush(b"LLO");
            r.check("file.write-via-stream.offset", res.is_ok(), || format!("{res:?}"));
        }
        Err(e) => r.fail("file.write-via-stream.offset", e.name()),
    }
    let want: &[u8] = b"heLLO world!\n\0\0\0";
    match file.stat() {
        Ok(stat) => r.eq("file.size", stat.size, want.len() as u64),
        Err(e) => r.fail("file.size", e.name()),
    };
    match file.read_via_stream(0) {
        Ok(input) => {
            let pollable = input.subscribe();
            pollable.block();
            r.check("file.read-via-stream.ready", pollable.ready(), || "not ready after block".into());
            drop(pollable);
            match read_all(&input) {
                Ok(all) => r.eq("file.read-via-stream", String::from_utf8_lossy(&all), String::from_utf8_lossy(want)),
                Err(e) => r.fail("file.read-via-stream", e),
            };
        }
        Err(e) => r.fail("file.read-via-stream", e.name()),
    }
    match file.read_via_stream(6) {
        Ok(input) => match read_all(&input) {
            Ok(all) => {
                r.eq("file.read-via-stream.offset", String::from_utf8_lossy(&all), String::from_utf8_lossy(&want[6..]))
            }
            Err(e) => r.fail("file.read-via-stream.offset", e),
        },
        Err(e) => r.fail("file.read-via-stream.offset", e.name()),
    };
    // At and past the end of the file, a read stream is closed at once.
    match file.read_via_stream(1000) {
        Ok(input) => {
            let got = input.blocking_read(10);
            r.check("file.read-via-stream.past-end", matches!(got, Err(StreamError::Closed)), || format!("{got:?}"));
        }
        Err(e) => r.fail("file.read-via-stream.past-end", e.name()),
    }
    // A read-only descriptor cannot write through a stream: either it gets none, or the
    // stream's first write fails (the host test checks the file is unchanged).
    let ro = open(root, "streams.txt", OpenFlags::empty(), DescriptorFlags::READ);
    match ro.write_via_stream(0) {
        Err(_) => r.ok("file.write-via-stream.read-only"),
        Ok(out) => {
            let res = out.blocking_write_and_flush(b"X");
            r.check("file.write-via-stream.read-only", res.is_err(), || "a read-only descriptor wrote".into());
        }
    }
}

fn splice_checks(r: &mut Report, root: &Descriptor, stdout: &OutputStream) {
    let rw = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let text = b"spliced from a file\n";
    let file = open(root, "splice.txt", OpenFlags::CREATE | OpenFlags::TRUNCATE, rw);
    if let Err(e) = file.write(text, 0) {
        r.fail("splice", format!("write: {}", e.name()));
        return;
    }
    let input = match file.read_via_stream(0) {
        Ok(input) => input,
        Err(e) => {
            r.fail("splice", format!("read-via-stream: {}", e.name()));
            return;
        }
    };
    // Splice in pieces of at most 7 bytes: each splice moves at most what it is asked.
    let mut moved = 0u64;
    let mut oversize = false;
    let mut rounds = 0u32;
    let end = loop {
        match stdout.splice(&input, 7) {
            Ok(n) => {
                oversize |= n > 7;
                moved += n;
                if n == 0 {
                    input.subscribe().block();
                }
            }
            Err(e) => break e,
        }
        rounds += 1;
        if moved > 1000 || rounds > 10_000 {
            r.fail("splice.ends", format!("{moved} bytes in {rounds} splices and no end"));
            break StreamError::Closed;
        }
    };
    let _ = stdout.blocking_flush();
    r.check("splice.len", !oversize, || "a splice moved more than asked".into());
    r.eq("splice.moved", moved, text.len() as u64);
    r.check("splice.closed", matches!(end, StreamError::Closed), || format!("ended with {}", stream_err(&end)));

    let text = b"blocking-splice\n";
    let file = open(root, "splice2.txt", OpenFlags::CREATE | OpenFlags::TRUNCATE, rw);
    let res = file.write(text, 0).map_err(|e| e.name().to_string()).and_then(|_| {
        let input = file.read_via_stream(0).map_err(|e| e.name().to_string())?;
        let mut moved = 0;
        loop {
            match stdout.blocking_splice(&input, 1 << 20) {
                Ok(n) => moved += n,
                Err(StreamError::Closed) => return Ok(moved),
                Err(e) => return Err(stream_err(&e)),
            }
        }
    });
    let _ = stdout.blocking_flush();
    r.eq("blocking-splice.moved", res, Ok(text.len() as u64));
}

fn elapsed_since(start: u64) -> u64 {
    monotonic_clock::now().saturating_sub(start)
}

fn poll_checks(r: &mut Report, root: &Descriptor, stdout: &OutputStream) {
    let hour = ns(StdDuration::from_secs(3600));
    let file = open(root, "streams.txt", OpenFlags::empty(), DescriptorFlags::READ);
    let input = match file.read_via_stream(0) {
        Ok(input) => input,
        Err(e) => {
            r.fail("poll", format!("read-via-stream: {}", e.name()));
            return;
        }
    };

    // Several at once: two far clocks, the ready stdout and the ready file stream. The ready
    // ones come back without waiting for the clocks.
    let far1 = monotonic_clock::subscribe_duration(hour);
    let out_ready = stdout.subscribe();
    let far2 = monotonic_clock::subscribe_instant(monotonic_clock::now() + hour);
    let in_ready = input.subscribe();
    let start = monotonic_clock::now();
    let ready = poll::poll(&[&far1, &out_ready, &far2, &in_ready]);
    let took = elapsed_since(start);
    let mut sorted = ready.clone();
    sorted.sort_unstable();
    r.check("poll.many.ready-index", !sorted.is_empty() && sorted.iter().all(|i| [1, 3].contains(i)), || {
        format!("ready indexes {ready:?}, expected some of [1, 3]")
    });
    r.check("poll.many.no-wait", took < ns(StdDuration::from_secs(2)), || format!("poll took {took} ns"));
    r.check("poll.far-clock.not-ready", !far1.ready() && !far2.ready(), || "an hour-long clock is ready".into());

    // Only the stdout pollable among far clocks: its index alone.
    let ready = poll::poll(&[&far1, &far2, &out_ready]);
    r.eq("poll.stdout-index", ready, vec![2]);
    drop((out_ready, in_ready, far2));

    // A short clock really waits.
    let wait = ns(StdDuration::from_millis(50));
    let start = monotonic_clock::now();
    let short = monotonic_clock::subscribe_duration(wait);
    let ready = poll::poll(&[&far1, &short]);
    let took = elapsed_since(start);
    r.eq("poll.short-clock.index", ready, vec![1]);
    r.check("poll.short-clock.waits", took >= wait, || format!("returned after {took} ns, expected >= {wait}"));
    r.check("poll.short-clock.not-too-long", took < ns(StdDuration::from_secs(5)), || format!("took {took} ns"));
    r.check("poll.short-clock.ready-after", short.ready(), || "an expired clock is not ready".into());

    // `block` on a clock, and `subscribe-instant` at an instant already past.
    let wait = ns(StdDuration::from_millis(20));
    let start = monotonic_clock::now();
    monotonic_clock::subscribe_duration(wait).block();
    let took = elapsed_since(start);
    r.check("pollable.block.waits", took >= wait, || format!("returned after {took} ns, expected >= {wait}"));
    let past = monotonic_clock::subscribe_instant(start);
    r.check("subscribe-instant.past.ready", past.ready(), || "an instant in the past is not ready".into());
    let zero = monotonic_clock::subscribe_duration(0);
    r.eq("poll.zero-duration", poll::poll(&[&far1, &zero]), vec![1]);

    // The same pollable twice in one list: both indexes.
    let p: Pollable = monotonic_clock::subscribe_duration(0);
    let mut got = poll::poll(&[&p, &far1, &p]);
    got.sort_unstable();
    r.eq("poll.same-pollable-twice", got, vec![0, 2]);
}
