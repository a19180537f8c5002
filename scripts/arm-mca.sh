#!/usr/bin/env bash
# Static cycle estimates (llvm-mca) of the NEON / dot-product / i8mm inner loops: ours, cut from the
# release aarch64 kbench binary, and the published kernels we compare with (QNNPACK, XNNPACK),
# assembled / compiled from their public sources in a temporary directory (never committed).
# Writes bench-results/aarch64-qemu/mca.{md,json}.
#
#   scripts/arm-mca.sh [--arch aarch64|armv7] [--qnnpack DIR] [--xnnpack DIR] [--cpus a,b,...]
#                      [--out DIR] [--mca PATH] [--keep]
#
# --arch armv7: the 32-bit ARM (A32) loops instead: ours (functions ending in __aarch32_neon) from
# the release armv7-unknown-linux-gnueabihf kbench, beside QNNPACK's q8gemm / q8conv
# 4x8-aarch32-neon.S and XNNPACK's qs8-qc8w gemm / igemm 4x8 aarch32-neon-mlal-lane-cortex-a7
# (arm-linux-gnueabihf-gcc -march=armv7-a -mfpu=neon), with llvm-mca
# -mtriple=armv7-linux-gnueabihf -mattr=+neon for --cpus (default cortex-a9,swift,cortex-a57:
# LLVM has no Cortex-A7 model), into bench-results/armv7-qemu/mca.{md,json}.
#
# --qnnpack / --xnnpack: a checkout or a bare git directory of github.com/pytorch/QNNPACK and
# github.com/google/XNNPACK (default: shallow clones into the temporary directory). Each function
# whose name ends in __neon, __neondot or __neoni8mm is disassembled (aarch64-linux-gnu-objdump),
# its innermost loops found from backward branches, and its hot loop (no calls, the most
# multiply-accumulate lane products) fed to llvm-mca for each -mcpu, every variant of it the
# function holds a row (e.g. with and without the activations' `eor`; scripts/qemu/arm_mca.py).
# --mca PATH: the llvm-mca to use; default: `llvm-mca` of Debian's `llvm` package (LLVM 14 on
# Debian 12, installed when missing), the instrument the ARM issue names. Newer LLVMs have other
# models (LLVM 19, Debian 12's `llvm-19`: a Neoverse-N1 model of its own, a revised Cortex-A55),
# e.g. `--mca llvm-mca-19 --out bench-results/aarch64-qemu/llvm19`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

arch=aarch64
qnnpack=""
xnnpack=""
cpus=""
out=""
keep=0
mca=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --qnnpack) qnnpack=$2; shift 2 ;;
    --xnnpack) xnnpack=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --mca) mca=$(command -v "$2" || true); [ -n "$mca" ] || { echo "arm-mca.sh: no $2" >&2; exit 2; }; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "arm-mca.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$arch" in
  aarch64)
    target=aarch64-unknown-linux-gnu
    gnu=aarch64-linux-gnu
    libc_pkg=libc6-dev-arm64-cross
    [ -n "$cpus" ] || cpus="cortex-a53,cortex-a55,cortex-a76,neoverse-n1"
    [ -n "$out" ] || out="bench-results/aarch64-qemu"
    ;;
  armv7)
    target=armv7-unknown-linux-gnueabihf
    gnu=arm-linux-gnueabihf
    libc_pkg=libc6-dev-armhf-cross
    [ -n "$cpus" ] || cpus="cortex-a9,swift,cortex-a57"
    [ -n "$out" ] || out="bench-results/armv7-qemu"
    ;;
  *) echo "arm-mca.sh: --arch aarch64 or armv7, not $arch" >&2; exit 2 ;;
esac
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
need=()
command -v "$gnu-gcc" >/dev/null || need+=("gcc-$gnu")
command -v "$gnu-objdump" >/dev/null || need+=("binutils-$gnu")
[ -d "/usr/$gnu/lib" ] || need+=("$libc_pkg")
[ -n "$mca" ] || command -v llvm-mca >/dev/null || need+=(llvm)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
[ -n "$mca" ] || mca=$(command -v llvm-mca)

cargo build --release -q -p kbench --target "$target" -j 2
bin="$repo/target/$target/release/kbench"

tmp=$(mktemp -d /tmp/arm-mca.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT
# Copies PATHS... of a checkout or a bare git directory SRC into DEST.
extract() {
  local src=$1 dest=$2
  shift 2
  mkdir -p "$dest"
  if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
    (cd "$src" && git archive HEAD -- "$@") | tar -x -C "$dest"
  else
    git --git-dir="$src" archive HEAD -- "$@" | tar -x -C "$dest"
  fi
}
if [ "$arch" = armv7 ]; then
  if [ -z "$qnnpack" ]; then
    git clone -q --depth 1 https://github.com/pytorch/QNNPACK "$tmp/qnnpack-git"
    qnnpack="$tmp/qnnpack-git"
  fi
  if [ -z "$xnnpack" ]; then
    git clone -q --depth 1 --filter=blob:none https://github.com/google/XNNPACK "$tmp/xnnpack-git"
    xnnpack="$tmp/xnnpack-git"
  fi
  q="$tmp/q"
  x="$tmp/x"
  xg=src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x8-minmax-fp32-asm-aarch32-neon-mlal-lane-cortex-a7.S
  xig=src/qs8-qc8w-igemm/gen/qs8-qc8w-igemm-4x8-minmax-fp32-asm-aarch32-neon-mlal-lane-cortex-a7.S
  extract "$qnnpack" "$q" src include
  extract "$xnnpack" "$x" include ':(glob)src/**/*.h' ':(glob)src/**/*.inc' "$xg" "$xig"
  qrev=$(git -C "$qnnpack" rev-parse --short HEAD 2>/dev/null || git --git-dir="$qnnpack" rev-parse --short HEAD)
  xrev=$(git -C "$xnnpack" rev-parse --short HEAD 2>/dev/null || git --git-dir="$xnnpack" rev-parse --short HEAD)
  cc=(arm-linux-gnueabihf-gcc -c -O2 -march=armv7-a -mfpu=neon -mfloat-abi=hard)
  o="$tmp/obj"
  mkdir -p "$o"
  "${cc[@]}" -I "$q/include" -I "$q/src" "$q/src/q8gemm/4x8-aarch32-neon.S" -o "$o/q8gemm.o"
  "${cc[@]}" -I "$q/include" -I "$q/src" "$q/src/q8conv/4x8-aarch32-neon.S" -o "$o/q8conv.o"
  "${cc[@]}" -I "$x" -I "$x/include" -I "$x/src" "$x/$xg" -o "$o/xgemm.o"
  "${cc[@]}" -I "$x" -I "$x/include" -I "$x/src" "$x/$xig" -o "$o/xigemm.o"
  mkdir -p "$out"
  python3 scripts/qemu/arm_mca.py --arch a32 --mca "$mca" --cpus "$cpus" --ours "$bin" \
    --published "QNNPACK q8gemm 4x8 aarch32-neon (.S)=$o/q8gemm.o:q8gemm" \
    --published "QNNPACK q8conv 4x8 aarch32-neon (.S)=$o/q8conv.o:q8conv" \
    --published "XNNPACK qs8-qc8w-gemm 4x8 aarch32-neon-mlal-lane-cortex-a7 (.S)=$o/xgemm.o:gemm" \
    --published "XNNPACK qs8-qc8w-igemm 4x8 aarch32-neon-mlal-lane-cortex-a7 (.S)=$o/xigemm.o:igemm" \
    --note "Sources: QNNPACK $qrev, XNNPACK $xrev; $(arm-linux-gnueabihf-gcc --version | head -1). Ours: \`target/$target/release/kbench\` (cargo release profile)." \
    --command "scripts/arm-mca.sh --arch armv7" \
    --json "$out/mca.json" --md "$out/mca.md" >/dev/null
  echo "arm-mca.sh: wrote $out/mca.md and $out/mca.json" >&2
  exit 0
fi
if [ -z "$qnnpack" ]; then
  git clone -q --depth 1 https://github.com/pytorch/QNNPACK "$tmp/qnnpack-git"
  qnnpack="$tmp/qnnpack-git"
fi
if [ -z "$xnnpack" ]; then
  git clone -q --depth 1 --filter=blob:none https://github.com/google/XNNPACK "$tmp/xnnpack-git"
  xnnpack="$tmp/xnnpack-git"
fi
q="$tmp/q"
x="$tmp/x"
extract "$qnnpack" "$q" src include
extract "$xnnpack" "$x" include ':(glob)src/**/*.h' ':(glob)src/**/*.inc' \
  src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c4-minmax-fp32-asm-aarch64-neondot-ld128.S \
  src/qs8-qc8w-igemm/gen/qs8-qc8w-igemm-4x16c4-minmax-fp32-asm-aarch64-neondot-ld128.S \
  src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c8-minmax-fp32-neoni8mm.c \
  src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-2x8c16-minmax-fp32-asm-aarch64-neon-mlal.S \
  src/qu8-gemm/gen/qu8-gemm-4x16-minmax-rndnu-asm-aarch64-neon-mlal-lane-cortex-a53.S \
  src/qs8-dwconv/gen/qs8-dwconv-9p16c-minmax-rndnu-neon-mla8-ld64.c \
  src/qs8-dwconv/gen/qs8-dwconv-25p16c-minmax-rndnu-neon-mla8-ld64.c
qrev=$(git -C "$qnnpack" rev-parse --short HEAD 2>/dev/null || git --git-dir="$qnnpack" rev-parse --short HEAD)
xrev=$(git -C "$xnnpack" rev-parse --short HEAD 2>/dev/null || git --git-dir="$xnnpack" rev-parse --short HEAD)
# Just enough of the headers their sources include (the kernels use none of it).
mkdir -p "$tmp/stub"
printf 'typedef struct pthreadpool* pthreadpool_t;\n' >"$tmp/stub/pthreadpool.h"
printf '#include <stdbool.h>\n#include <stdint.h>\n#define CPUINFO_ARCH_ARM64 1\n#define CPUINFO_ARCH_ARM 0\n' >"$tmp/stub/cpuinfo.h"
cc=(aarch64-linux-gnu-gcc -c -O2 -I "$tmp/stub")
dot=(-march=armv8.2-a+dotprod+i8mm)
o="$tmp/obj"
mkdir -p "$o"
"${cc[@]}" -I "$q/include" -I "$q/src" "$q/src/q8gemm/8x8-aarch64-neon.S" -o "$o/q8gemm.o"
"${cc[@]}" -I "$q/include" -I "$q/src" "$q/src/q8dwconv/up8x9-neon.c" -o "$o/q8dwconv.o"
xi=(-I "$x" -I "$x/include" -I "$x/src")
"${cc[@]}" "${dot[@]}" "${xi[@]}" "$x/src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c4-minmax-fp32-asm-aarch64-neondot-ld128.S" -o "$o/xgemm.o"
"${cc[@]}" "${dot[@]}" "${xi[@]}" "$x/src/qs8-qc8w-igemm/gen/qs8-qc8w-igemm-4x16c4-minmax-fp32-asm-aarch64-neondot-ld128.S" -o "$o/xigemm.o"
"${cc[@]}" "${dot[@]}" "${xi[@]}" "$x/src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-4x16c8-minmax-fp32-neoni8mm.c" -o "$o/xi8mm.o"
"${cc[@]}" "${xi[@]}" "$x/src/qs8-qc8w-gemm/gen/qs8-qc8w-gemm-2x8c16-minmax-fp32-asm-aarch64-neon-mlal.S" -o "$o/x2x8c16.o"
"${cc[@]}" "${xi[@]}" "$x/src/qu8-gemm/gen/qu8-gemm-4x16-minmax-rndnu-asm-aarch64-neon-mlal-lane-cortex-a53.S" -o "$o/xqu8.o"
"${cc[@]}" "${xi[@]}" "$x/src/qs8-dwconv/gen/qs8-dwconv-9p16c-minmax-rndnu-neon-mla8-ld64.c" -o "$o/xdw9.o"
"${cc[@]}" "${xi[@]}" "$x/src/qs8-dwconv/gen/qs8-dwconv-25p16c-minmax-rndnu-neon-mla8-ld64.c" -o "$o/xdw25.o"

mkdir -p "$out"
python3 scripts/qemu/arm_mca.py --mca "$mca" --cpus "$cpus" --ours "$bin" \
  --published "QNNPACK q8gemm 8x8 aarch64-neon (.S)=$o/q8gemm.o:q8gemm" \
  --published "XNNPACK qs8-qc8w-gemm 4x16c4 aarch64-neondot-ld128 (.S)=$o/xgemm.o:gemm" \
  --published "XNNPACK qs8-qc8w-igemm 4x16c4 aarch64-neondot-ld128 (.S)=$o/xigemm.o:igemm" \
  --published "XNNPACK qs8-qc8w-gemm 4x16c8 neoni8mm (C, gcc -O2)=$o/xi8mm.o:gemm" \
  --published "XNNPACK qs8-qc8w-gemm 2x8c16 aarch64-neon-mlal (.S)=$o/x2x8c16.o:gemm" \
  --published "XNNPACK qu8-gemm 4x16 aarch64-neon-mlal-lane-cortex-a53 (.S; u8 activations)=$o/xqu8.o:gemm" \
  --published "XNNPACK qs8-dwconv 9p16c rndnu neon-mla8-ld64 (C, gcc -O2)=$o/xdw9.o:dwconv" \
  --published "XNNPACK qs8-dwconv 25p16c rndnu neon-mla8-ld64 (C, gcc -O2)=$o/xdw25.o:dwconv" \
  --published "QNNPACK q8dwconv up8x9 neon (C, gcc -O2)=$o/q8dwconv.o:dwconv" \
  --note "Sources: QNNPACK $qrev, XNNPACK $xrev; $(aarch64-linux-gnu-gcc --version | head -1). Ours: \`target/$target/release/kbench\` (cargo release profile)." \
  --command "scripts/arm-mca.sh" \
  --json "$out/mca.json" --md "$out/mca.md" >/dev/null
echo "arm-mca.sh: wrote $out/mca.md and $out/mca.json" >&2
