//! `-W`: the options that shape compiled code and execution, in `wasmtime run`'s spellings
//! (`-W help` lists them), parsed into a [`WasmOptions`] that makes the engine's `Config` and
//! the store's limits.

use std::time::Duration;

use wasmtime::Config;

use crate::options::parse_size;

/// A `Config` switch `-W` can turn on or off (a proposal, or another setting): its wasmtime
/// spelling and its `Config` method.
struct Switch {
    name: &'static str,
    set: fn(&mut Config, bool),
}

macro_rules! switches {
    ($($name:literal => $method:ident),* $(,)?) => {
        &[$(Switch { name: $name, set: |c, on| { c.$method(on); } }),*]
    };
}

/// The proposals, as `wasmtime run -W help` spells them. All are on by default (Wasmtime's
/// `Config::new()` defaults with the CLI's cargo features) but those Wasmtime leaves off:
/// stack-switching, shared-memory, custom-page-sizes, wide-arithmetic and the component-model
/// extensions (component-model-async and the rest), as in `wasmtime run`.
const PROPOSALS: &[Switch] = switches![
    "bulk-memory" => wasm_bulk_memory,
    "component-model" => wasm_component_model,
    "component-model-async" => wasm_component_model_async,
    "component-model-async-builtins" => wasm_component_model_more_async_builtins,
    "component-model-async-stackful" => wasm_component_model_async_stackful,
    "component-model-error-context" => wasm_component_model_error_context,
    "component-model-fixed-length-lists" => wasm_component_model_fixed_length_lists,
    "component-model-gc" => wasm_component_model_gc,
    "component-model-threading" => wasm_component_model_threading,
    "custom-page-sizes" => wasm_custom_page_sizes,
    "exceptions" => wasm_exceptions,
    "extended-const" => wasm_extended_const,
    "function-references" => wasm_function_references,
    "gc" => wasm_gc,
    "memory64" => wasm_memory64,
    "multi-memory" => wasm_multi_memory,
    "multi-value" => wasm_multi_value,
    "reference-types" => wasm_reference_types,
    "relaxed-simd" => wasm_relaxed_simd,
    "shared-everything-threads" => wasm_shared_everything_threads,
    "shared-memory" => shared_memory,
    "simd" => wasm_simd,
    "stack-switching" => wasm_stack_switching,
    "tail-call" => wasm_tail_call,
    "threads" => wasm_threads,
    "wide-arithmetic" => wasm_wide_arithmetic,
];

/// The other `-W` keys, with their help.
const OTHERS: &[(&str, &str)] = &[
    ("all-proposals[=y|n]", "turn every proposal above on (or off)"),
    ("async-stack-size=BYTES", "the stack of a guest run as async (default: max-wasm-stack + 512K)"),
    ("async-stack-zeroing[=y|n]", "zero async stacks before they are used again"),
    ("concurrency-support[=y|n]", "Wasmtime's component-model concurrency machinery"),
    ("epoch-interruption[=y|n]", "epoch interruption (on anyway with timeout)"),
    ("fuel=N", "run at most N units of fuel, then trap"),
    ("gc-support[=y|n]", "Wasmtime's GC infrastructure"),
    ("max-instances=N", "the most instances the guest's store may hold"),
    ("max-memories=N", "the most linear memories the guest's store may hold"),
    ("max-memory-size=BYTES", "the most bytes a linear memory may reach; memory.grow past it returns -1"),
    ("max-table-elements=N", "the most elements a table may reach; table.grow past it returns -1"),
    ("max-tables=N", "the most tables the guest's store may hold"),
    ("max-wasm-stack=BYTES", "the most stack wasm may use before a stack-overflow trap"),
    ("nan-canonicalization[=y|n]", "canonicalize every NaN float result"),
    ("relaxed-simd-deterministic[=y|n]", "the relaxed-simd instructions' deterministic results"),
    ("timeout=DURATION", "stop the guest after DURATION of wall-clock time (1, 2s, 100ms, 1m): exit 124"),
    ("trap-on-grow-failure[=y|n]", "trap, instead of returning -1, when memory.grow or table.grow fails"),
    ("unknown-exports-allow[=y|n]", "accepted: exports are never refused"),
    ("unknown-imports-default[=y|n]", "a core module's unknown function imports return zeros"),
    ("unknown-imports-trap[=y|n]", "unknown function imports trap when called"),
];

/// Keeps a `-W` value as given, but prints the list of `-W` options and exits for `-W help`
/// (before MODULE is required, as `wasmtime run -W help` does).
pub fn parse_raw(s: &str) -> Result<String, String> {
    if s == "help" || s == "help-long" {
        println!("Available -W (--wasm) options:\n");
        for p in PROPOSALS {
            println!("  -W {}[=y|n] -- the {} proposal", p.name, p.name);
        }
        for (key, doc) in OTHERS {
            println!("  -W {key} -- {doc}");
        }
        std::process::exit(0);
    }
    Ok(s.to_owned())
}

/// The stack Wasmtime's host code gets beyond the guest's on an async stack, as `wasmtime run`
/// adds it when only `max-wasm-stack` is given.
const HOST_STACK: usize = 512 << 10;

/// The `-W` options, parsed.
#[derive(Debug, Default)]
pub struct WasmOptions {
    /// Proposals turned on or off, in command-line order (`all-proposals` as every one).
    proposals: Vec<(&'static str, bool)>,
    /// `Config` switches given: `nan-canonicalization`, `relaxed-simd-deterministic`,
    /// `async-stack-zeroing`, `concurrency-support`, `gc-support`, `epoch-interruption`.
    switches: Vec<(&'static str, bool)>,
    /// `timeout=`.
    pub timeout: Option<Duration>,
    /// `fuel=`.
    pub fuel: Option<u64>,
    /// `max-memory-size=`.
    pub max_memory_size: Option<usize>,
    /// `max-table-elements=`.
    pub max_table_elements: Option<usize>,
    /// `max-instances=`, `max-tables=`, `max-memories=`.
    pub max_instances: Option<usize>,
    pub max_tables: Option<usize>,
    pub max_memories: Option<usize>,
    /// `trap-on-grow-failure`.
    pub trap_on_grow_failure: Option<bool>,
    /// `max-wasm-stack=`.
    pub max_wasm_stack: Option<usize>,
    /// `async-stack-size=`.
    pub async_stack_size: Option<usize>,
    /// `unknown-imports-trap`, `unknown-imports-default`.
    pub unknown_imports_trap: bool,
    pub unknown_imports_default: bool,
}

/// The other `Config` switches `-W` can set.
const SWITCHES: &[Switch] = switches![
    "async-stack-zeroing" => async_stack_zeroing,
    "concurrency-support" => concurrency_support,
    "epoch-interruption" => epoch_interruption,
    "gc-support" => gc_support,
    "nan-canonicalization" => cranelift_nan_canonicalization,
    "relaxed-simd-deterministic" => relaxed_simd_deterministic,
];

impl WasmOptions {
    /// Parses the raw `-W` values; the error is one line naming the offending option.
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut opts = WasmOptions::default();
        for (key, value) in crate::options::key_values(raw) {
            if let Some(p) = PROPOSALS.iter().find(|p| p.name == key) {
                opts.proposals.push((p.name, parse_bool(key, value)?));
                continue;
            }
            if let Some(switch) = SWITCHES.iter().find(|s| s.name == key) {
                opts.switches.push((switch.name, parse_bool(key, value)?));
                continue;
            }
            match key {
                "all-proposals" => {
                    let on = parse_bool(key, value)?;
                    opts.proposals.extend(PROPOSALS.iter().map(|p| (p.name, on)));
                }
                "timeout" => opts.timeout = Some(parse_duration(key, value)?),
                "fuel" => opts.fuel = Some(parse_number(key, value)?),
                "max-memory-size" => opts.max_memory_size = Some(parse_usize(key, value)?),
                "max-table-elements" => opts.max_table_elements = Some(parse_usize(key, value)?),
                "max-instances" => opts.max_instances = Some(parse_usize(key, value)?),
                "max-tables" => opts.max_tables = Some(parse_usize(key, value)?),
                "max-memories" => opts.max_memories = Some(parse_usize(key, value)?),
                "max-wasm-stack" => opts.max_wasm_stack = Some(parse_usize(key, value)?),
                "async-stack-size" => opts.async_stack_size = Some(parse_usize(key, value)?),
                "trap-on-grow-failure" => opts.trap_on_grow_failure = Some(parse_bool(key, value)?),
                "unknown-imports-trap" => opts.unknown_imports_trap = parse_bool(key, value)?,
                "unknown-imports-default" => opts.unknown_imports_default = parse_bool(key, value)?,
                // hammertime never refuses a command for its other exports.
                "unknown-exports-allow" => {
                    parse_bool(key, value)?;
                }
                _ => return Err(format!("unknown -W option `{key}` (`-W help` lists them)")),
            }
        }
        Ok(opts)
    }

    /// A Wasmtime configuration with these options: `Config::new()` (every proposal Wasmtime
    /// enables by default) with the proposals and switches given, the stack sizes, epoch
    /// interruption for a timeout and fuel consumption for fuel.
    pub fn config(&self) -> Config {
        let mut config = Config::new();
        for (list, given) in [(PROPOSALS, &self.proposals), (SWITCHES, &self.switches)] {
            for (name, on) in given {
                if let Some(switch) = list.iter().find(|s| s.name == *name) {
                    (switch.set)(&mut config, *on);
                }
            }
        }
        if let Some(max) = self.max_wasm_stack {
            config.max_wasm_stack(max);
        }
        if let Some(size) = self.async_stack() {
            config.async_stack_size(size);
        }
        if self.timeout.is_some() {
            config.epoch_interruption(true);
        }
        if self.fuel.is_some() {
            config.consume_fuel(true);
        }
        config
    }

    /// The async stack: as given, else the guest's stack plus the host's when `max-wasm-stack`
    /// is given (what `wasmtime run` does), else Wasmtime's default.
    fn async_stack(&self) -> Option<usize> {
        self.async_stack_size.or_else(|| self.max_wasm_stack.map(|m| m.saturating_add(HOST_STACK)))
    }

    /// The native stack a synchronous run needs beyond the main thread's when the guest may use
    /// `max-wasm-stack` bytes of it: `None` when the default thread stack holds it.
    pub fn run_thread_stack(&self) -> Option<usize> {
        /// What the main thread is sure to have (Linux's default 8 MiB, less what is in use).
        const MAIN_STACK: usize = 6 << 20;
        let max = self.max_wasm_stack?;
        let needed = max.saturating_add(2 * HOST_STACK);
        (needed > MAIN_STACK).then_some(needed)
    }
}

fn parse_bool(key: &str, value: Option<&str>) -> Result<bool, String> {
    crate::options::parse_bool("W", key, value)
}

/// A number, decimal or `0x` hexadecimal (as wasmtime takes them); sizes may also end in K, M
/// or G.
fn parse_number(key: &str, value: Option<&str>) -> Result<u64, String> {
    let v = value.ok_or_else(|| format!("-W {key} needs a value: -W {key}=N"))?;
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).map_err(|e| e.to_string()),
        None => parse_size(v),
    };
    parsed.map_err(|_| format!("-W {key}={v}: not a number"))
}

fn parse_usize(key: &str, value: Option<&str>) -> Result<usize, String> {
    let n = parse_number(key, value)?;
    usize::try_from(n).map_err(|_| format!("-W {key}={n}: too large"))
}

/// A duration as wasmtime takes it: a bare number of seconds, or a number with a unit (ns, us,
/// ms, s, m, h).
fn parse_duration(key: &str, value: Option<&str>) -> Result<Duration, String> {
    let v = value.ok_or_else(|| format!("-W {key} needs a value: -W {key}=10s"))?;
    let bad = || format!("-W {key}={v}: not a duration (like 10, 10s, 500ms or 2m)");
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "us" => Some(Duration::from_micros(n)),
        "ns" => Some(Duration::from_nanos(n)),
        "m" | "min" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    };
    d.ok_or_else(bad)
}

#[cfg(test)]
mod tests;
