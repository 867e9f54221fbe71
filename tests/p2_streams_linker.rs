//! `wasi:io/streams` as `hammertime::p2::add_to_linker` registers it by hand (the two writes
//! borrow the guest's bytes): components whose core module calls the write methods directly,
//! with lengths the adapter never passes, encoded here from WAT with the repo's WIT embedded.

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use wasmtime::Engine;
use wasmtime::component::Component;

/// A command component whose `run` writes `len` bytes (`'x'`s) to stdout with `method`
/// (`write` or `blocking-write-and-flush`), then returns ok.
fn writer(engine: &Engine, method: &str, len: u32) -> Component {
    let wat = format!(
        r#"(module
            (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $stdout (result i32)))
            (import "wasi:io/streams@0.2.12" "[method]output-stream.{method}"
                (func $write (param i32 i32 i32 i32)))
            (memory (export "memory") 20)
            (func (export "wasi:cli/run@0.2.12#run") (result i32)
                (memory.fill (i32.const 64) (i32.const 120) (i32.const {len}))
                (call $write (call $stdout) (i32.const 64) (i32.const {len}) (i32.const 0))
                ;; result<_, stream-error> at 0: 0 is ok
                (if (i32.load8_u (i32.const 0)) (then unreachable))
                (i32.const 0))
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable))"#
    );
    let mut module = wat::parse_str(&wat).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/wit")).unwrap();
    let world = resolve.select_world(&[pkg], Some("wasi:cli/command@0.2.12")).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    let bytes = wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap();
    Component::new(engine, &bytes).unwrap()
}

fn run(method: &str, len: u32) -> (wasmtime::Result<i32>, usize) {
    let engine = Engine::default();
    let out = OutputBuffer::new();
    let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
    let result = hammertime::p2::run(&engine, &writer(&engine, method, len), ctx);
    (result, out.contents().len())
}

#[test]
fn writes_up_to_the_limit_land_whole() {
    for (method, len) in [("blocking-write-and-flush", 16), ("blocking-write-and-flush", 4096), ("write", 1 << 20)] {
        let (result, written) = run(method, len);
        assert_eq!(result.unwrap(), 0, "{method} of {len}");
        assert_eq!(written, len as usize, "{method} of {len}");
    }
}

#[test]
fn writes_past_the_limit_trap_before_any_byte_is_written() {
    for (method, len, msg) in [
        ("blocking-write-and-flush", 4097, "blocking-write-and-flush of more than 4096 bytes"),
        ("write", (1 << 20) + 1, "write of more bytes than check-write permitted"),
    ] {
        let (result, written) = run(method, len);
        let err = result.expect_err(method);
        assert!(format!("{err:?}").contains(msg), "{method}: {err:?}");
        assert_eq!(written, 0, "{method}");
    }
}
