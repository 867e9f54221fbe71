//! Records the Wasmtime version the binary is built with (from the workspace's Cargo.lock) as
//! `HAMMERTIME_WASMTIME_VERSION`, for `hammertime --version`.

fn main() {
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = text
        .split("[[package]]")
        .find(|block| block.lines().any(|l| l.trim() == "name = \"wasmtime\""))
        .and_then(|block| block.lines().find_map(|l| l.trim().strip_prefix("version = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or("unknown");
    println!("cargo::rustc-env=HAMMERTIME_WASMTIME_VERSION={version}");
}
