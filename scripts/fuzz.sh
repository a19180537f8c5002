#!/usr/bin/env bash
# Fuzzes the ops plan constructors and runners (cargo-fuzz, libFuzzer, nightly):
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [SANITIZER]
# SECONDS_PER_TARGET: default 60 (the documented long run is 3600).
# SANITIZER: cargo fuzz's -s value, default `address` (AddressSanitizer: catches out-of-bounds
# accesses in the kernels' unsafe code that do not crash). CI passes `none`: the ASan build of the
# depthwise crate's unrolled asm kernels alone takes over 10 minutes on 2 cores (the whole build
# without it: 2.5 min), and a 30 s smoke run still catches panics, debug-assertion failures and
# hangs.
# Installs cargo-fuzz if missing. A crash leaves its input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
sanitizer=${2:-address}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
# Build first, unfiltered: a build failure must fail this script (the run's output is filtered
# below and its exit status ignored, since cargo fuzz also exits non-zero on a crash).
cargo +nightly fuzz build --fuzz-dir fuzz -s "$sanitizer"
for t in conv matmul quantize; do
  echo "=== fuzz $t for ${secs}s ==="
  cargo +nightly fuzz run --fuzz-dir fuzz -s "$sanitizer" "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 2>&1 \
    | grep -E 'Done|ERROR|panicked|SUMMARY|stat::number_of_executed_units' || true
  # cargo fuzz exits non-zero on a crash; grep above would hide it, so check artifacts.
  if ls fuzz/artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "fuzz $t: crash inputs in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzz: no crash in ${secs}s per target (sanitizer: $sanitizer)"
