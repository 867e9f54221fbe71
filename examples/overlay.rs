//! Run guests over a bundled tar with an in-memory layer on top: the guest changes what it
//! likes, the changes live in a `MemFs`, and the tar is never touched.
//!
//! `site.tar` (next to this file) is included with `include_bytes!` and indexed once by
//! [`Archive::open`]; each "request" gets a fresh [`Overlay`] of an empty `MemFs` over it (cheap:
//! nothing is copied until the guest changes a file). Within one overlay the C guests see each
//! other's changes — `write_file` rewrites the page, `cat` prints the new one — while a new
//! overlay starts again from the tar. The changes can be read back from the upper layer.
//!
//! `cargo run --example overlay`

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use hammertime::vfs::archive::Archive;
use hammertime::vfs::{FileSystem, MemFs, Overlay};

static SITE: &[u8] = include_bytes!("site.tar");

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let site = Archive::open(SITE)?;
    let engine = wasmtime::Engine::default();
    let run = |fs: &dyn Fn() -> Overlay<MemFs, Archive>, guest: &str, args: &[&str]| -> Result<(i32, String), Error> {
        let path = format!("{}/guests/{guest}.wasm", env!("CARGO_MANIFEST_DIR"));
        let module = wasmtime::Module::from_file(&engine, path)?;
        let (stdout, stderr) = (OutputBuffer::new(), OutputBuffer::new());
        let ctx = WasiCtx::builder()
            .arg(guest)
            .args(args.iter().copied())
            .preopen(fs(), "/")
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build()?;
        let code = hammertime::run(&engine, &module, ctx)?;
        Ok((code, stdout.to_string_lossy() + &stderr.to_string_lossy()))
    };

    // One request: its own overlay, shared by the guests it runs.
    let request = Overlay::new(MemFs::new(), site.clone())?;
    let this_request = || request.clone();
    let (code, _) = run(&this_request, "write_file", &["/www/index.html", "<h1>edited in memory</h1>\n"])?;
    assert_eq!(code, 0);
    let (_, page) = run(&this_request, "cat", &["/www/index.html"])?;
    print!("this request's /www/index.html: {page}");
    assert_eq!(page, "<h1>edited in memory</h1>\n");
    let (_, listing) = run(&this_request, "ls", &["/www"])?;
    print!("ls /www:\n{listing}");

    // What the guest changed is in the upper layer, and only there.
    println!("upper layer: {:?}", request.upper().read_dir("www")?);
    assert_eq!(request.upper().read_file("www/index.html")?, b"<h1>edited in memory</h1>\n");

    // The next request starts from the tar again.
    let next_request = || Overlay::new(MemFs::new(), site.clone()).expect("the archive's root opens");
    let (_, page) = run(&next_request, "cat", &["/www/index.html"])?;
    print!("the next request's /www/index.html: {page}");
    assert!(page.contains("Served from a tar"));
    assert!(site.root()?.stat_at("www").is_ok());
    Ok(())
}
