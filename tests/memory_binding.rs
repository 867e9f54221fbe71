//! How calls find the caller's memory: by name, through a bound module, or pinned while a command
//! runs; and the linker `hammertime::run` reuses.

use hammertime::WasiCtx;
use hammertime::stdio::OutputBuffer;
use wasmtime::{Engine, Linker, Module, Store};

/// A module whose `say` export writes `text` (placed at offset `at` of its memory) to stdout.
fn speaker(engine: &Engine, text: &str, at: u32) -> Module {
    let wat = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const {at}) "{text}")
          (func (export "say") (result i32)
            (i32.store (i32.const 0) (i32.const {at}))
            (i32.store (i32.const 4) (i32.const {len}))
            (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (func (export "_start") (drop (call 1))))"#,
        len = text.len()
    );
    Module::new(engine, wat).unwrap()
}

fn say(store: &mut Store<WasiCtx>, instance: &wasmtime::Instance) -> i32 {
    instance.get_typed_func::<(), i32>(&mut *store, "say").unwrap().call(&mut *store, ()).unwrap()
}

#[test]
fn two_instances_each_use_their_own_memory_by_name_and_when_bound() {
    let engine = Engine::default();
    let a = speaker(&engine, "alpha ", 100);
    let b = speaker(&engine, "beta ", 200);
    for bind in [false, true] {
        let out = OutputBuffer::new();
        let mut ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
        if bind {
            ctx.bind_module(&a);
        }
        let mut linker = Linker::new(&engine);
        hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut store = Store::new(&engine, ctx);
        let ia = linker.instantiate(&mut store, &a).unwrap();
        let ib = linker.instantiate(&mut store, &b).unwrap();
        assert_eq!(say(&mut store, &ia), 0);
        assert_eq!(say(&mut store, &ib), 0);
        assert_eq!(say(&mut store, &ia), 0);
        assert_eq!(out.to_string_lossy(), "alpha beta alpha ", "bind: {bind}");
    }
}

#[test]
fn run_in_store_uses_the_commands_memory_and_leaves_other_instances_theirs() {
    let engine = Engine::default();
    let a = speaker(&engine, "alpha ", 100);
    let b = speaker(&engine, "beta ", 200);
    let out = OutputBuffer::new();
    let ctx = WasiCtx::builder().stdout(out.clone()).build().unwrap();
    let mut linker = Linker::new(&engine);
    hammertime::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
    let mut store = Store::new(&engine, ctx);
    let ia = linker.instantiate(&mut store, &a).unwrap();
    assert_eq!(say(&mut store, &ia), 0);
    // b's _start says "beta " from its own memory, and a still says "alpha " after.
    assert_eq!(hammertime::run_in_store(&mut store, &b, |c: &mut WasiCtx| c).unwrap(), 0);
    assert_eq!(say(&mut store, &ia), 0);
    assert_eq!(hammertime::run_in_store(&mut store, &a, |c: &mut WasiCtx| c).unwrap(), 0);
    assert_eq!(say(&mut store, &ia), 0);
    assert_eq!(out.to_string_lossy(), "alpha beta alpha alpha alpha ");
}

#[test]
fn run_reuses_its_linker_and_works_across_engines() {
    let first = Engine::default();
    let second = Engine::default();
    for engine in [&first, &second, &first, &second] {
        let module = speaker(engine, "hi ", 64);
        let out = OutputBuffer::new();
        let code = hammertime::run(engine, &module, WasiCtx::builder().stdout(out.clone()).build().unwrap());
        assert_eq!((code.unwrap(), out.to_string_lossy()), (0, "hi ".to_owned()));
    }
    drop(first);
    // A new engine after another was dropped still gets a working linker.
    let third = Engine::default();
    let module = speaker(&third, "again", 64);
    let out = OutputBuffer::new();
    assert_eq!(hammertime::run(&third, &module, WasiCtx::builder().stdout(out.clone()).build().unwrap()).unwrap(), 0);
    assert_eq!(out.to_string_lossy(), "again");
}

#[test]
fn run_does_not_keep_an_engine_alive_once_another_is_used() {
    let a = Engine::default();
    let module = speaker(&a, "a", 64);
    assert_eq!(hammertime::run(&a, &module, WasiCtx::builder().build().unwrap()).unwrap(), 0);
    let weak = a.weak();
    drop((a, module));
    let b = Engine::default();
    let module = speaker(&b, "b", 64);
    assert_eq!(hammertime::run(&b, &module, WasiCtx::builder().build().unwrap()).unwrap(), 0);
    assert!(weak.upgrade().is_none(), "the first engine is still alive");
}
