use super::*;

fn parse(s: &str) -> Result<WasmOptions, String> {
    WasmOptions::parse(&[s.to_owned()])
}

#[test]
fn stack_and_store_limits_parse_in_wasmtimes_spellings() {
    let o = parse("max-wasm-stack=8388608,max-instances=3,max-tables=4,max-memories=5").unwrap();
    assert_eq!(o.max_wasm_stack, Some(8 << 20));
    assert_eq!((o.max_instances, o.max_tables, o.max_memories), (Some(3), Some(4), Some(5)));
    // The async stack follows the guest's, with room for the host, unless given.
    assert_eq!(o.async_stack(), Some((8 << 20) + HOST_STACK));
    assert_eq!(parse("max-wasm-stack=1M,async-stack-size=4M").unwrap().async_stack(), Some(4 << 20));
    assert_eq!(parse("fuel=1").unwrap().async_stack(), None);
    // A stack the main thread may not hold gets a thread of its own; a small one does not.
    assert_eq!(o.run_thread_stack(), Some((8 << 20) + 2 * HOST_STACK));
    assert_eq!(parse("max-wasm-stack=1M").unwrap().run_thread_stack(), None);
    // The engine takes them.
    wasmtime::Engine::new(&o.config()).unwrap();
}

#[test]
fn switches_and_proposals_reach_the_config() {
    let o =
        parse("nan-canonicalization,relaxed-simd-deterministic=y,async-stack-zeroing=n,unknown-exports-allow").unwrap();
    assert_eq!(o.switches.len(), 3);
    let o = parse("all-proposals=n,simd=y").unwrap();
    assert_eq!(o.proposals.len(), PROPOSALS.len() + 1);
    assert_eq!(o.proposals.last(), Some(&("simd", true)));
    let o = parse("component-model-async,unknown-imports-trap,unknown-imports-default=y").unwrap();
    assert!(o.unknown_imports_trap && o.unknown_imports_default);
    wasmtime::Engine::new(&o.config()).unwrap();
}

#[test]
fn bad_values_are_one_line_errors_naming_the_option() {
    assert_eq!(parse("max-wasm-stack").unwrap_err(), "-W max-wasm-stack needs a value: -W max-wasm-stack=N");
    assert_eq!(parse("max-instances=x").unwrap_err(), "-W max-instances=x: not a number");
    assert_eq!(parse("nan-canonicalization=maybe").unwrap_err(), "-W nan-canonicalization=maybe: expected y or n");
    assert_eq!(parse("bogus").unwrap_err(), "unknown -W option `bogus` (`-W help` lists them)");
}
