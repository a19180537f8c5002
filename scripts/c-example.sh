#!/usr/bin/env bash
# Builds the C example (examples/c/kbench_workloads.c) with a plain C compiler against the
# committed header and the static library, and runs it: three int8 workloads of
# bench/workloads.json checked bit-exactly against the values a Rust test computes from the
# reference kernels (examples/c/kbench_expected.h).
#
#   scripts/c-example.sh [x86_64|aarch64|all]     (default: all)
#
# x86_64: the host `cc`. aarch64: aarch64-linux-gnu-gcc, run under user-mode QEMU twice
# (QEMU_CPU=cortex-a53: NEON only; QEMU_CPU=max: dotprod, i8mm). CAPI_PROFILE selects the
# cargo profile (default release; CI passes `test`: then the libraries come from the very
# `cargo test --workspace --no-run` build of the test steps, for both targets, so nothing is
# compiled again. A `cargo build -p edge-kernels-capi` would not reuse them: without the
# workspace's dev-dependencies, features unify differently (num-traits' `std`, for one), and
# cargo recompiles every crate below the C ABI, which cost CI ~170 s.)
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
profile=${CAPI_PROFILE:-release}
# The directory cargo writes a profile's artifacts to (dev and test share `debug`).
case "$profile" in
  dev | test) dir=debug ;;
  *) dir=$profile ;;
esac
# build TRIPLE_ARGS...: makes sure the libraries exist and prints the directory holding them.
build() {
  local sub=$1
  shift
  if [ "$profile" = test ]; then
    # cargo test builds the C ABI crate with all its crate types (cdylib, staticlib, rlib) into
    # deps/; a no-op when the test step already ran.
    cargo test -q --workspace --no-run "$@" >&2
    echo "target/${sub}$dir/deps"
  else
    cargo build -q --profile "$profile" -p edge-kernels-capi "$@" >&2
    echo "target/${sub}$dir"
  fi
}
out=target/c-example
mkdir -p "$out"
cflags=(-std=c99 -Wall -Wextra -Werror -O2 -I crates/capi/include -I examples/c)
libs=(-lpthread -ldl -lm)

if [ "$which" = x86_64 ] || [ "$which" = all ]; then
  lib=$(build "")
  cc "${cflags[@]}" examples/c/kbench_workloads.c "$lib/libedge_kernels.a" "${libs[@]}" \
    -o "$out/kbench_workloads-x86_64"
  echo "=== C example, x86_64 (static library) ==="
  "$out/kbench_workloads-x86_64"
  # The shared library too, through the same header.
  cc "${cflags[@]}" examples/c/kbench_workloads.c -L "$lib" -ledge_kernels \
    -Wl,-rpath,"$PWD/$lib" "${libs[@]}" -o "$out/kbench_workloads-x86_64-shared"
  echo "=== C example, x86_64 (shared library) ==="
  "$out/kbench_workloads-x86_64-shared"
  # The header from C++ (c++ of the host).
  c++ -std=c++11 -Wall -Wextra -Werror -O2 -I crates/capi/include examples/c/cpp_smoke.cpp \
    "$lib/libedge_kernels.a" "${libs[@]}" -o "$out/cpp_smoke-x86_64"
  echo "=== C++ smoke, x86_64 ==="
  "$out/cpp_smoke-x86_64"
fi

if [ "$which" = aarch64 ] || [ "$which" = all ]; then
  target=aarch64-unknown-linux-gnu
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  lib=$(build "$target/" --target "$target")
  aarch64-linux-gnu-gcc "${cflags[@]}" examples/c/kbench_workloads.c \
    "$lib/libedge_kernels.a" "${libs[@]}" -o "$out/kbench_workloads-aarch64"
  for cpu in cortex-a53 max; do
    echo "=== C example, aarch64 under QEMU_CPU=$cpu ==="
    QEMU_CPU=$cpu qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/kbench_workloads-aarch64"
  done
fi
echo "c-example.sh: passed ($which)"
