//! The library does not narrow what the embedder's `Config` enables: modules using Wasmtime's
//! default proposals (exception handling, GC) run through `hammertime::run` on
//! `Engine::default()` (the test build enables Wasmtime's `gc` cargo feature, as an embedder
//! would).

use hammertime::WasiCtx;

fn run(wat: &str) -> i32 {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wat).expect("compiles with Wasmtime's defaults");
    hammertime::run(&engine, &module, WasiCtx::builder().build().unwrap()).expect("runs")
}

#[test]
fn an_exception_thrown_and_caught_across_functions() {
    assert_eq!(run(include_str!("../guests/wat/exceptions.wat")), 42);
}

#[test]
fn gc_structs_and_arrays() {
    assert_eq!(run(include_str!("../guests/wat/gc.wat")), 34);
}

#[test]
fn an_engine_without_the_proposal_refuses_the_module_itself() {
    let mut config = wasmtime::Config::new();
    config.wasm_exceptions(false);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let err = wasmtime::Module::new(&engine, include_str!("../guests/wat/exceptions.wat")).unwrap_err();
    assert!(format!("{err:#}").contains("exceptions"), "{err:#}");
}
