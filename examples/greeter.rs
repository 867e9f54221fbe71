//! The quick start: run a C greeter compiled to WebAssembly with names on stdin and its
//! stdout captured into a buffer, then print what it wrote.
//!
//! `cargo run --example greeter` (optionally with names as arguments).

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let input = if names.is_empty() { "Alice\nBob\n".to_owned() } else { names.join("\n") };

    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::from_file(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/guests/greeter.wasm"))?;

    // Capture stdout in memory and feed stdin from a string.
    let stdout = OutputBuffer::new();
    let ctx = WasiCtx::builder().arg("greeter").stdin_bytes(input).stdout(stdout.clone()).build()?;

    let code = hammertime::run(&engine, &module, ctx)?;
    print!("{}", stdout.to_string_lossy());
    println!("(exit status {code})");
    Ok(())
}
