#!/usr/bin/env bash
# ARM instruction counts: runs kbench's workloads for aarch64 under qemu-aarch64 with a counting
# TCG plugin, on three CPU models, and writes instructions per run and per MAC, beside the shared
# ARM anchors' fewest exact count (ONNX Runtime's MLAS, PyTorch's QNNPACK / XNNPACK), into
# bench-results/aarch64-qemu/counts.{json,md}; with --arch armv7, the same for 32-bit ARM
# (armv7-unknown-linux-gnueabihf under qemu-arm, default CPU cortex-a7, the plugin classifying
# A32 encodings) into bench-results/armv7-qemu/ (no anchor column: the shared anchors are aarch64).
#
#   scripts/arm-count.sh [--arch aarch64|armv7] [--only ID,ID]
#                        [--cpus 'cortex-a53;neoverse-n1;max,sve=off,sme=off']
#                        [--iterations N] [--int8-only] [--files shared,mobile] [--out DIR] [-P JOBS]
#                        [--q8-conv-algorithm qconv-direct|winograd]
#
# int8 GEMM workloads run twice: as QLinearMatMul (u8 output, kbench's default) and as
# MatMulInteger (i32 output, `kbench bench --int8-gemm-op matmul-integer`), the two ONNX forms
# the anchors are counted in; the report lists both and, per workload, the fewer of ours beside
# the fewest anchor.
# --q8-conv-algorithm forces the algorithm of int8 convolutions (kbench bench
# --q8-conv-algorithm) instead of ops's choice, to count the alternatives ops chooses between.
# A CPU entry CPU@ISA (e.g. 'cortex-a7;cortex-a7@scalar') runs that model with dispatch capped at
# ISA (EDGE_KERNELS_ISA=ISA in the guest's environment); its rows are labelled CPU@ISA.
#
# Steps: builds the plugin (scripts/qemu/qemu-insncount.c) with plain gcc; builds kbench for
# aarch64 (release, -j 2); under each CPU model runs `kbench probe --json` (what dispatch sees) and
# `kbench bench --iterations N --json` over the public workload list (bench/workloads.json)
# and bench/mobile-int8.json; then
# scripts/qemu/arm_count_report.py computes per run = median(run intervals) - median(empty
# intervals) from the markers (crates/kbench/src/count.rs) and renders the tables.
# Installs what is missing (rustup target, Debian cross gcc + libc, qemu-user) like
# scripts/test-aarch64.sh. Raw outputs go to target/arm-count/raw (raw-armv7 for --arch armv7; not
# committed).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

arch=aarch64
only=""
cpus=""
iters=3
int8_only=0
files="shared,mobile"
out=""
par=2
q8alg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --iterations) iters=$2; shift 2 ;;
    --int8-only) int8_only=1; shift ;;
    --files) files=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -P) par=$2; shift 2 ;;
    --q8-conv-algorithm) q8alg=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "arm-count.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$arch" in
  aarch64)
    target=aarch64-unknown-linux-gnu
    gnu=aarch64-linux-gnu
    libc_pkg=libc6-dev-arm64-cross
    qemu_bin=qemu-aarch64
    plugin_arch=a64
    default_cpus="cortex-a53;neoverse-n1;max,sve=off,sme=off"
    default_out="bench-results/aarch64-qemu"
    ;;
  armv7)
    target=armv7-unknown-linux-gnueabihf
    gnu=arm-linux-gnueabihf
    libc_pkg=libc6-dev-armhf-cross
    qemu_bin=qemu-arm
    plugin_arch=a32
    default_cpus="cortex-a7"
    default_out="bench-results/armv7-qemu"
    ;;
  *) echo "arm-count.sh: --arch aarch64 or armv7, not $arch" >&2; exit 2 ;;
esac
[ -n "$cpus" ] || cpus=$default_cpus
[ -n "$out" ] || out=$default_out
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
need=()
command -v "$gnu-gcc" >/dev/null || need+=("gcc-$gnu")
[ -d "/usr/$gnu/lib" ] || need+=("$libc_pkg")
command -v "$qemu_bin" >/dev/null || need+=(qemu-user)
command -v gcc >/dev/null || need+=(gcc)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

# ../shared is next to the main checkout; from a git worktree, next to the main worktree.
shared="$repo/../shared"
if [ ! -d "$shared" ]; then
  common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  [ -n "$common" ] && [ -d "$(dirname "$common")/../shared" ] && shared="$(dirname "$common")/../shared"
fi
anchors="$shared/anchors/arm/results/arm-anchors.json"

work="$repo/target/arm-count"
raw="$work/raw"
[ "$arch" = aarch64 ] || raw="$work/raw-$arch"
rm -rf "$raw"
mkdir -p "$raw"
plugin="$work/libqemu-insncount.so"
gcc -O2 -Wall -shared -fPIC -o "$plugin" scripts/qemu/qemu-insncount.c -lpthread
cargo build --release -q -p kbench --target "$target" -j 2
bin="$repo/target/$target/release/kbench"

wfiles=()
IFS=, read -ra fsel <<<"$files"
for f in "${fsel[@]}"; do
  case "$f" in
    shared) wfiles+=("$repo/bench/workloads.json") ;;  # the public list, shipped in bench/
    mobile) wfiles+=("$repo/bench/mobile-int8.json") ;;
    *) [ -f "$f" ] && wfiles+=("$f") || { echo "arm-count.sh: no workload file $f" >&2; exit 2; } ;;
  esac
done
[ ${#wfiles[@]} -gt 0 ] || { echo "arm-count.sh: no workload file to run" >&2; exit 2; }

# The ids of FILE to run (intersection with --only, int8 only with --int8-only), comma-separated;
# with a second argument `gemm`, only its int8 GEMM workloads (the MatMulInteger pass).
ids_of() {
  python3 - "$1" "$only" "$int8_only" "${2:-}" <<'PY'
import json, sys
ws = json.load(open(sys.argv[1]))["workloads"]
only = [x for x in sys.argv[2].split(",") if x]
ids = [w["id"] for w in ws if (not only or w["id"] in only) and (sys.argv[3] != "1" or w["dtype"] == "int8")
       and (sys.argv[4] != "gemm" or (w["kind"] == "gemm" and w["dtype"] == "int8"))]
print(",".join(ids))
PY
}

qemu() { # qemu CPU[@ISA] ARGS...: kbench under that CPU model (dispatch capped at ISA if given)
  local cpu=${1%%@*} cap=""
  [ "$1" = "$cpu" ] || cap=${1#*@}
  shift
  if [ -n "$cap" ]; then
    EDGE_KERNELS_ISA=$cap "$qemu_bin" -cpu "$cpu" -L "/usr/$gnu" "$@"
  else
    "$qemu_bin" -cpu "$cpu" -L "/usr/$gnu" "$@"
  fi
}

jobs_list=()
IFS=';' read -ra cpu_list <<<"$cpus"
n=0
for cpu in "${cpu_list[@]}"; do
  n=$((n + 1))
  # What the guest sees and what dispatch picks from it (HWCAP: QEMU gives each model its own).
  qemu "$cpu" "$bin" probe --json >"$raw/probe-$n.raw" 2>"$raw/probe-$n.log" || true
  python3 -c 'import json,sys; p=sys.argv[1]; t=open(p).read(); d=json.loads(t) if t.strip() else {}; print(json.dumps({"_cpu": sys.argv[2], "probe": d}))' \
    "$raw/probe-$n.raw" "$cpu" >"$raw/probe-$n.json" || echo "arm-count.sh: kbench probe failed under $cpu (see $raw/probe-$n.log)" >&2
  m=0
  for wf in "${wfiles[@]}"; do
    m=$((m + 1))
    ids=$(ids_of "$wf")
    [ -n "$ids" ] || continue
    jobs_list+=("$cpu|$wf|$ids|run-$n-$m|")
    # int8 GEMMs once more as MatMulInteger (i32 out): the anchors count both ONNX forms.
    ids=$(ids_of "$wf" gemm)
    [ -z "$ids" ] || jobs_list+=("$cpu|$wf|$ids|run-$n-$m-mmi|--int8-gemm-op matmul-integer")
  done
done

run_one() { # CPU|FILE|IDS|NAME|EXTRA kbench ARGS
  local cpu wf ids name more t0 rc
  IFS='|' read -r cpu wf ids name more <<<"$1"
  t0=$(date +%s)
  echo "arm-count.sh: $cpu $(basename "$wf") ($ids)" >&2
  rc=0
  local extra=()
  [ -z "$q8alg" ] || extra=(--q8-conv-algorithm "$q8alg")
  if [ -n "$more" ]; then
    local more_args=()
    read -ra more_args <<<"$more"
    extra+=("${more_args[@]}")
  fi
  qemu "$cpu" -plugin "$plugin,outfile=$raw/$name.counts,percpu=on,arch=$plugin_arch" \
    "$bin" bench --workloads "$wf" --only "$ids" --iterations "$iters" --threads 1 "${extra[@]}" \
    --json "$raw/$name.json" >"$raw/$name.md" 2>"$raw/$name.log" || rc=$?
  python3 -c 'import json,sys; print(json.dumps({"cpu": sys.argv[1], "file": sys.argv[2], "rc": int(sys.argv[3]), "wall_s": int(sys.argv[4])}))' \
    "$cpu" "$(basename "$wf")" "$rc" "$(($(date +%s) - t0))" >"$raw/$name.meta"
  [ "$rc" -eq 0 ] || echo "arm-count.sh: exit $rc for $cpu $(basename "$wf") (see $raw/$name.log)" >&2
}

running=0
for j in "${jobs_list[@]}"; do
  run_one "$j" &
  running=$((running + 1))
  if [ "$running" -ge "$par" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

mkdir -p "$out"
args_line="scripts/arm-count.sh"
[ "$arch" != aarch64 ] && args_line+=" --arch $arch"
[ -n "$only" ] && args_line+=" --only $only"
[ "$cpus" != "$default_cpus" ] && args_line+=" --cpus '$cpus'"
[ "$iters" != 3 ] && args_line+=" --iterations $iters"
[ "$int8_only" = 1 ] && args_line+=" --int8-only"
[ "$files" != "shared,mobile" ] && args_line+=" --files $files"
[ -n "$q8alg" ] && args_line+=" --q8-conv-algorithm $q8alg"
[ "$out" != "$default_out" ] && args_line+=" --out $out"
anc=()
if [ "$arch" != aarch64 ]; then
  echo "arm-count.sh: the shared ARM anchors are aarch64 only: no anchor column for $arch" >&2
elif [ -f "$anchors" ]; then
  anc=(--anchors "$anchors")
  # bench/mobile-int8.json's anchors, counted by the same harness (see the folder's README).
  mobile_anchors="$repo/bench-results/aarch64-qemu/anchors-mobile/arm-anchors-mobile.json"
  [ -f "$mobile_anchors" ] && anc+=(--anchors "$mobile_anchors")
else
  echo "arm-count.sh: no anchor results at $anchors: the anchor column stays empty" >&2
fi
python3 scripts/qemu/arm_count_report.py --raw "$raw" --out "$out" "${anc[@]}" --command "$args_line" \
  --qemu "$qemu_bin"
echo "arm-count.sh: wrote $out/counts.json and $out/counts.md (raw outputs: $raw)" >&2
