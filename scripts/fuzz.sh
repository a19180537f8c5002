#!/usr/bin/env bash
# Fuzzes edge-kernels with cargo-fuzz (libFuzzer, nightly):
#   scripts/fuzz.sh [SECONDS] [SANITIZER] [TARGET...]
#
# Targets (TARGETS below is the one list; fuzz/Cargo.toml registers them):
#   conv matmul quantize       ops: plan_node + run on arbitrary nodes (attribute ints from the
#                              full i64 range, huge shapes with tiny data)
#   qgemm qconv_direct depthwise winograd fft_conv
#                              each kernel crate's own API, sizes from the full usize range;
#                              small valid problems compared with the crate's scalar reference
#                              (int8 bit-exact, fp32 within a tolerance, NaN == NaN)
#   onnx                       kbench's ONNX reader (model.onnx / *.pb bytes, TensorProtos)
#   quant_params               from_bytes parsers, observers (NaN/inf), parameter constructors
#   cpu_probe_sysroot          cpu-probe's readers of recorded /proc and /sys files
#
# SECONDS (default 60): the run's budget unit. Targets run two at a time (FUZZ_JOBS, default 2:
#   one per core; a libFuzzer run is one process) and each runs SECONDS / 2 seconds, so all of
#   them take about 3 x SECONDS of wall time, what the original three targets took at SECONDS
#   each. CI: `scripts/fuzz.sh 30 none` (about 15 s per target, 90 s of fuzzing plus the build).
#   The documented long run: `scripts/fuzz.sh 3600` (30 min per target, about 3 h, with ASan).
# SANITIZER: cargo fuzz's -s value, default `address` (AddressSanitizer: reports out-of-bounds
#   reads and writes in the kernels' unsafe code that do not crash by themselves). CI passes
#   `none`: the ASan build of the depthwise crate's unrolled asm kernels alone takes over 10
#   minutes on 2 cores; without a sanitizer the targets still catch panics, their own oracles
#   (length checks, sentinels around outputs, reference mismatches), SIGSEGVs, OOMs and hangs.
# TARGET...: run only these (default: all of TARGETS).
#
# Release semantics, on purpose: the targets are built with `cargo fuzz build -O` and without
# `-a`, i.e. optimised, overflow checks OFF and debug assertions OFF (fuzz/Cargo.toml states the
# same in its [profile.release]; without -O, cargo-fuzz 0.12/0.13 adds -Cdebug-assertions, which
# also turns overflow checks on). The bugs this is after are size computations that wrap in
# release builds: there they pass the "buffer large enough" checks and show up as memory errors
# (ASan, SIGSEGV) or as the targets' assertions that an accepted call was valid, as they would
# for a user; with overflow checks on they would be panics at the wrap instead. Set
# FUZZ_DEBUG_ASSERTIONS=1 to build with -a (debug assertions and overflow checks) instead.
#
# Every run also replays fuzz/regressions/<target>/ (committed reproducers of bugs found so far:
# a crash there is a regression, or a bug still open in the crate it names). A crash leaves its
# input under fuzz/artifacts/<target>/ and makes the script exit 1; reproduce it with
#   cargo +nightly fuzz run -O -s none TARGET fuzz/artifacts/TARGET/crash-... 
# (EK_FUZZ_VERBOSE=1 prints the decoded call). Installs cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(conv matmul quantize qgemm qconv_direct depthwise winograd fft_conv onnx quant_params
  cpu_probe_sysroot)

secs=${1:-60}
sanitizer=${2:-address}
shift $(($# < 2 ? $# : 2))
if [ $# -gt 0 ]; then
  TARGETS=("$@")
fi
jobs=${FUZZ_JOBS:-2}
per_target=$((secs / 2 > 0 ? secs / 2 : 1))

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

flags=(-O -s "$sanitizer")
if [ "${FUZZ_DEBUG_ASSERTIONS:-0}" = 1 ]; then
  flags+=(-a)
fi
# Build first, unfiltered: a build failure must fail this script.
cargo +nightly fuzz build --fuzz-dir fuzz "${flags[@]}"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin=fuzz/target/$triple/release

logs=$(mktemp -d)
stamp=$logs/stamp
touch "$stamp"
trap '[ -n "${FUZZ_KEEP_LOGS:-}" ] || rm -rf "$logs"' EXIT

run_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/regressions/$t"
  # The corpus directory comes first: new inputs go there, the regressions are only read.
  "$bin/$t" "fuzz/corpus/$t" "fuzz/regressions/$t" \
    -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$per_target" -timeout=120 \
    -rss_limit_mb=4096 -print_final_stats=1 >"$logs/$t.log" 2>&1 || true
}

summary() {
  local t=$1
  local log=$logs/$t.log runs secs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if [ -n "$runs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ]; then
    echo "fuzz $t: $runs runs in ${secs}s ($((runs / secs)) exec/s)"
  else
    echo "fuzz $t: ${runs:-?} runs"
  fi
  grep -E '^(==[0-9]+== ?ERROR|SUMMARY)|panicked at|^Running: ' "$log" | head -5 || true
}

echo "=== fuzzing ${#TARGETS[@]} targets, ${per_target}s each, $jobs at a time (sanitizer: $sanitizer)"
running=()
for t in "${TARGETS[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz: no target $t (see TARGETS in $0)" >&2; exit 2; }
  run_one "$t" &
  running+=("$!:$t")
  if [ "${#running[@]}" -ge "$jobs" ]; then
    wait "${running[0]%%:*}"
    summary "${running[0]#*:}"
    running=("${running[@]:1}")
  fi
done
for r in "${running[@]}"; do
  wait "${r%%:*}"
  summary "${r#*:}"
done

failed=0
for t in "${TARGETS[@]}"; do
  new=$(find "fuzz/artifacts/$t" -type f -newer "$stamp" \
    \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | sort)
  if [ -n "$new" ]; then
    echo "fuzz $t: failing inputs:" >&2
    echo "$new" | sed 's/^/  /' >&2
    failed=1
  fi
done
if [ "$failed" = 1 ]; then
  exit 1
fi
echo "fuzz: no crash in ${per_target}s per target (sanitizer: $sanitizer)"
