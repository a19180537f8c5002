#!/usr/bin/env bash
# Runs the whole workspace test suite for aarch64 under user-mode QEMU, twice:
#   QEMU_CPU=cortex-a53  ARMv8.0: NEON only (no dot product, no i8mm)
#   QEMU_CPU=max         every extension QEMU emulates (dotprod, i8mm, ...)
# and proves which paths each run exercised (the feature-detection test prints and asserts them).
# Installs what is missing: the rustup target and the Debian cross toolchain + qemu-user.
# Extra arguments are passed to `cargo test` (e.g. `-p qgemm`).
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -d /usr/aarch64-linux-gnu/lib ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

# With no arguments: the whole workspace; otherwise the given cargo test arguments (e.g. -p qgemm).
scope=(--workspace)
[ $# -eq 0 ] || scope=()
# Build once; both runs reuse the test binaries.
cargo test "${scope[@]}" --target "$target" --no-run "$@"

for cpu in cortex-a53 max; do
  echo "=== aarch64 tests under QEMU_CPU=$cpu ==="
  export QEMU_CPU=$cpu
  # The proof of what ran: prints the detected features and asserts dotprod/i8mm per CPU.
  # Same package selection as the build above (a lone `-p cpu-probe` would unify features
  # differently and compile cpu-probe and its dependents a second time).
  cargo test -q "${scope[@]}" --target "$target" "$@" --lib -- live_features_match_the_platform --nocapture 2>&1 \
    | { grep -E 'detected features|QEMU_CPU=' || true; }
  cargo test "${scope[@]}" --target "$target" "$@"
done
unset QEMU_CPU
echo "aarch64: both QEMU_CPU settings passed"
