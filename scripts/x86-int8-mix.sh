#!/usr/bin/env bash
# Builds and runs scripts/x86/int8-mix.c: the throughput (MACs per cycle) of the int8
# multiply-accumulate instruction mixes of an AVX2 CPU without VNNI: the exact vpmaddwd + vpaddd
# that igemm_6x8c4__avx2 runs, the saturating vpmaddubsw sequence of ONNX Runtime / fbgemm, the
# exact sign trick, and the 6x8 kernel's k-step. The ceiling an exact AVX2 GEMM can reach against
# the saturating kernels, measured on the machine at hand (the clock is calibrated with FMAs at 2
# per cycle). Needs a C compiler (cc) and an AVX2 CPU.
#
#   scripts/x86-int8-mix.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"${CC:-cc}" -O2 -mavx2 -o "$out/int8-mix" "$repo/scripts/x86/int8-mix.c"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
"$out/int8-mix"
