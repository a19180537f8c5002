#!/usr/bin/env bash
# Runs the whole workspace test suite for 32-bit ARM (armv7-unknown-linux-gnueabihf, the
# armeabi-v7a class) under user-mode QEMU, twice:
#   QEMU_CPU=cortex-a7   ARMv7-A with NEON + VFPv4 + integer divide (the low-end phone core)
#   QEMU_CPU=cortex-a15  the same ISA on a big core (QEMU emulates both; it is the ISA that matters)
# and proves what each run detected (the feature-detection test prints and asserts NEON).
# Installs what is missing: the rustup target and the Debian cross toolchain + qemu-user.
# Extra arguments are passed to `cargo test` (e.g. `-p qgemm`).
#
# Cost under emulation: the tests are built once (test profile) and both runs reuse the binaries
# (the doctests, compiled when they run, run under the first CPU only);
# proptest blocks that pick their own case count already use fewer cases off x86 (`cfg!` on the
# target arch), and PROPTEST_CASES (default 32 here) caps those that keep proptest's default 256.
set -euo pipefail
cd "$(dirname "$0")/.."

target=armv7-unknown-linux-gnueabihf
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
need=()
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf)
[ -d /usr/arm-linux-gnueabihf/lib ] || need+=(libc6-dev-armhf-cross)
command -v qemu-arm >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

export PROPTEST_CASES=${PROPTEST_CASES:-32}
# With no arguments: the whole workspace; otherwise the given cargo test arguments (e.g. -p qgemm).
scope=(--workspace)
[ $# -eq 0 ] || scope=()
# Build once; both runs reuse the test binaries.
t0=$SECONDS
cargo test "${scope[@]}" --target "$target" --no-run "$@"
echo "armv7: test build took $((SECONDS - t0)) s"

for cpu in cortex-a7 cortex-a15; do
  echo "=== armv7 tests under QEMU_CPU=$cpu ==="
  t0=$SECONDS
  export QEMU_CPU=$cpu
  # The proof of what ran: prints the detected features and asserts NEON per CPU.
  # Same package selection as the build above (a lone `-p cpu-probe` would unify features
  # differently and compile cpu-probe and its dependents a second time).
  cargo test -q "${scope[@]}" --target "$target" "$@" --lib -- live_features_match_the_platform --nocapture 2>&1 \
    | { grep -E 'detected features|QEMU_CPU=' || true; }
  # The doctests (compiled at run time, one binary each) run under the first CPU only; the
  # second run takes the already-built library, binary and integration-test targets.
  if [ "$cpu" = cortex-a7 ]; then
    cargo test "${scope[@]}" --target "$target" "$@"
  else
    cargo test "${scope[@]}" --target "$target" --lib --bins --tests "$@"
  fi
  echo "armv7: QEMU_CPU=$cpu took $((SECONDS - t0)) s"
done
unset QEMU_CPU
echo "armv7: both QEMU_CPU settings passed"
