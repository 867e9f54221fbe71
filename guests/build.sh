#!/usr/bin/env bash
# Builds every guests/src/*.c into guests/<name>.wasm: WASI preview1 command
# modules that export `_start` and `memory` and import only from
# `wasi_snapshot_preview1`.
#
# Usage: guests/build.sh [DIR]      (from any directory; idempotent and
#                                    deterministic, rebuilds everything)
#        DIR: build DIR/src/*.c into DIR instead (bench/guests uses this)
# Env:   CC       compiler            (default: clang-19)
#        SYSROOT  wasi-libc sysroot   (default: /usr, Debian's wasi-libc)
#        OPT      optimisation flag   (default: -Oz, smallest code)
#        STD      C standard          (default: c11)
#
# If wasm-objdump (wabt) is installed, each module's imports and exports are
# checked and the build fails if they are not as described above.
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
here="$(cd "${1:-$here}" && pwd)"
CC="${CC:-clang-19}"
SYSROOT="${SYSROOT:-/usr}"

die() { echo "build.sh: error: $*" >&2; exit 1; }

command -v "$CC" >/dev/null 2>&1 ||
    die "'$CC' not found; install clang-19, lld-19 and wasi-libc" \
        "(Debian: apt-get install clang-19 lld-19 wasi-libc) or set CC"
[ -e "$SYSROOT/lib/wasm32-wasi/libc.a" ] || [ -e "$SYSROOT/lib/wasm32-wasip1/libc.a" ] ||
    die "wasi-libc not found under SYSROOT=$SYSROOT (Debian: apt-get install wasi-libc)"

# --strip-all drops debug info and the name section
# (the `_start`/`memory` exports are kept).
CFLAGS=(--target=wasm32-wasi "--sysroot=$SYSROOT" "-std=${STD:-c11}" "${OPT:--Oz}"
        -Wall -Wextra -Werror -Wl,--strip-all)

shopt -s nullglob
sources=("$here"/src/*.c)
[ "${#sources[@]}" -gt 0 ] || die "no sources in $here/src"

tmp=""
trap '[ -n "$tmp" ] && rm -f "$tmp"' EXIT

# check_module FILE: exports _start and memory, imports only WASI preview1.
check_module() {
    local dump bad
    dump="$(wasm-objdump -x "$1" 2>/dev/null)" ||
        die "$1: wasm-objdump failed"
    grep -q -- '-> "_start"$' <<<"$dump" || die "$1: does not export _start"
    grep -q -- '-> "memory"$' <<<"$dump" || die "$1: does not export memory"
    bad="$(grep -- ' <- ' <<<"$dump" | grep -v -- ' <- wasi_snapshot_preview1\.' || true)"
    [ -z "$bad" ] || die "$1: unexpected imports:"$'\n'"$bad"
}

for src in "${sources[@]}"; do
    name="${src##*/}"
    name="${name%.c}"
    out="$here/$name.wasm"
    # Build to a temporary file so a failed build never leaves a broken module.
    tmp="$out.tmp"
    "$CC" "${CFLAGS[@]}" "$src" -o "$tmp"
    if command -v wasm-objdump >/dev/null 2>&1; then
        check_module "$tmp"
    fi
    mv -f "$tmp" "$out"
    tmp=""
    echo "built $name.wasm ($(wc -c <"$out") bytes)"
done
