#!/usr/bin/env bash
# Builds every bench/guests/src/*.c into bench/guests/<name>.wasm with the project's guest
# build script, optimised for speed (-O2) rather than size. The built modules are committed,
# so running the benchmarks needs no wasm toolchain; rerun this after editing a source.
# The benchmark runner compiles the same sources natively (`cc -O2`) at start.
#
# Usage: bench/guests/build.sh        (from any directory)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OPT=-O2 STD=gnu11 exec "$here/../../guests/build.sh" "$here"
