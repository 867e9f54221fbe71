//! Sleeps for argv[1] milliseconds with `std::thread::sleep` (a `wasi:clocks/monotonic-clock`
//! pollable, blocked on) and prints how long the monotonic clock says it slept.
//!
//! stdout: "slept N ms\n"; exit 0; 2 on a bad argument.

use std::time::Instant;

fn main() {
    let Some(ms) = std::env::args().nth(1).and_then(|a| a.parse::<u64>().ok()) else {
        eprintln!("usage: sleep MILLISECONDS");
        std::process::exit(2);
    };
    let start = Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(ms));
    println!("slept {} ms", start.elapsed().as_millis());
}
