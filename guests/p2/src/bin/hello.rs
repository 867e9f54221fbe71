//! The components quick start: reads `/data/greeting.txt` with `std::fs` and prints it, then
//! its arguments, one `argv[i]=…` line each, on stdout.
//!
//! Exit status: 0; 1 when the greeting cannot be read, with the reason on stderr
//! (`std::process::exit` leaves through wasi-libc, which calls `wasi:cli/exit.exit(err)` for
//! every non-zero status: the host sees 1).

fn main() {
    let greeting = match std::fs::read_to_string("/data/greeting.txt") {
        Ok(text) => text,
        Err(e) => {
            eprintln!("hello: cannot read /data/greeting.txt: {e}");
            std::process::exit(1);
        }
    };
    print!("{greeting}");
    for (i, arg) in std::env::args().enumerate() {
        println!("argv[{i}]={arg}");
    }
}
