//! Serve a tar bundled into the binary to a guest, read-only, without unpacking it.
//!
//! `site.tar` (next to this file; made with `tar --sort=name -cf examples/site.tar www`) is
//! included with `include_bytes!`, indexed once by [`Archive::open`], and mounted at `/`: the
//! guest's reads are copies straight out of the binary's bytes. Here the C guests `ls` and `cat`
//! list and print it, and `write_file` shows that nothing can change it (`EROFS`).
//!
//! `cargo run --example archive`

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::archive::Archive;

static SITE: &[u8] = include_bytes!("site.tar");

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Indexed once; clones share the index and the bytes.
    let site = Archive::open(SITE)?;
    println!("{:?}", site);

    let engine = wasmtime::Engine::default();
    let run = |guest: &str, args: &[&str]| -> Result<(i32, String, String), Box<dyn std::error::Error + Send + Sync>> {
        let path = format!("{}/guests/{guest}.wasm", env!("CARGO_MANIFEST_DIR"));
        let module = wasmtime::Module::from_file(&engine, path)?;
        let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
        let ctx = WasiCtx::builder()
            .arg(guest)
            .args(args.iter().copied())
            .preopen(site.clone(), "/")
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build()?;
        let code = hammertime::run(&engine, &module, ctx)?;
        Ok((code, stdout.to_string_lossy(), stderr.to_string_lossy()))
    };

    let (_, listing, _) = run("ls", &["/www"])?;
    print!("ls /www:\n{listing}");
    let (_, page, _) = run("cat", &["/www/index.html"])?;
    print!("cat /www/index.html:\n{page}");
    assert!(page.contains("Served from a tar"));
    let (code, _, err) = run("write_file", &["/www/index.html", "defaced"])?;
    print!("write_file /www/index.html: exit {code}, {err}");
    assert_eq!(code, 1);
    assert!(err.contains("Read-only file system"));
    Ok(())
}
