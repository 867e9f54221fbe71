//! Serve a `HashMap` of assets to a guest as a read-only directory.
//!
//! The map's keys are file paths (`css/site.css`); directories are implied by them.
//! [`SimpleFsAdapter`] turns the map into a filesystem that a guest can list and read but not
//! change (every write answers `EROFS`). Here two C guests, `ls` and `cat`, run against it with
//! their stdout captured.
//!
//! `cargo run --example assets`

use std::collections::HashMap;

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::SimpleFsAdapter;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The assets: static bytes, so opening a file copies nothing but a reference.
    let assets: HashMap<&'static str, &'static [u8]> = HashMap::from([
        ("index.html", &b"<!doctype html>\n<link rel=stylesheet href=css/site.css>\n<h1>Hello</h1>\n"[..]),
        ("css/site.css", &b"h1 { color: rebeccapurple; }\n"[..]),
        ("img/logo.svg", &b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"[..]),
    ]);
    // One adapter, cloned for each guest: clones share the same map.
    let fs = SimpleFsAdapter::new(assets);

    let engine = wasmtime::Engine::default();
    let guest = |name: &str| {
        let path = format!("{}/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
        wasmtime::Module::from_file(&engine, path)
    };

    // Runs `module` with `args` and the assets mounted at /assets; returns its stdout.
    let run = |module: &wasmtime::Module, args: &[&str]| -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let stdout = OutputBuffer::new();
        let ctx = WasiCtx::builder()
            .args(args.iter().copied())
            .preopen(fs.clone(), "/assets")
            .stdout(stdout.clone())
            .inherit_stderr() // let the guest's error messages through, if any
            .build()?;
        let code = hammertime::run(&engine, module, ctx)?;
        if code != 0 {
            return Err(format!("{} exited with status {code}", args[0]).into());
        }
        Ok(stdout.to_string_lossy())
    };

    // `ls` lists each directory (with `.` and `..`, which the guest's readdir reports).
    let listing = run(&guest("ls")?, &["ls", "/assets", "/assets/css"])?;
    println!("$ ls /assets /assets/css\n{listing}");

    // `cat` reads a file through the same mount.
    let css = run(&guest("cat")?, &["cat", "/assets/css/site.css"])?;
    println!("$ cat /assets/css/site.css\n{css}");
    Ok(())
}
