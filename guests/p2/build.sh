#!/usr/bin/env bash
# Builds the WASI 0.2 guests (src/bin/NAME.rs) for wasm32-wasip2 and copies each component to
# guests/p2/NAME.wasm, the files tests/p2_guests.rs loads (committed, so `cargo test` needs
# only Rust).
#
# Usage: guests/p2/build.sh          (from any directory; rebuilds everything)
# Needs: rustup target add wasm32-wasip2
# Env:   CARGO  cargo to use (default: cargo)
#
# Each output is checked to be a component (its first 8 bytes are 00 61 73 6d 0d 00 01 00:
# the magic number, then layer 1, version 0x0d), never a core module.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CARGO="${CARGO:-cargo}"
target=wasm32-wasip2

die() { echo "build.sh: error: $*" >&2; exit 1; }

if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx "$target" ||
        die "the $target target is not installed; run: rustup target add $target"
fi

# Its own target dir (guests/p2/target, ignored by git), away from the outer workspace.
"$CARGO" build --manifest-path "$here/Cargo.toml" --release --target "$target" --bins \
    --target-dir "$here/target" --locked

shopt -s nullglob
sources=("$here"/src/bin/*.rs)
[ "${#sources[@]}" -gt 0 ] || die "no guests in $here/src/bin"

want="0061736d0d000100"
for src in "${sources[@]}"; do
    name="${src##*/}"
    name="${name%.rs}"
    built="$here/target/$target/release/$name.wasm"
    [ -f "$built" ] || die "$built was not built"
    magic="$(head -c 8 "$built" | od -An -tx1 | tr -d ' \n')"
    [ "$magic" = "$want" ] || die "$name.wasm is not a component (starts $magic, expected $want)"
    # Copy through a temporary file so a failure never leaves a broken component behind.
    cp "$built" "$here/$name.wasm.tmp"
    mv -f "$here/$name.wasm.tmp" "$here/$name.wasm"
    echo "built $name.wasm ($(wc -c <"$here/$name.wasm") bytes)"
done
