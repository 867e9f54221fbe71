//! `ww-run`: the reference runner, wasmtime-wasi 48 run the way `wasmtime run` runs a program
//! ([`hammertime_bench::reference`]).

fn main() -> std::process::ExitCode {
    hammertime_bench::reference::main(std::env::args().skip(1))
}
