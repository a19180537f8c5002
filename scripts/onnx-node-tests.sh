#!/usr/bin/env bash
# ONNX's official node tests for the operators `ops` implements, run through `kbench conformance`.
#
#   scripts/onnx-node-tests.sh [OUT_DIR]        (default OUT_DIR: target/onnx-node-tests)
#
# 1. Creates a Python venv (scripts/.venv-onnx, or $ONNX_VENV) and pip-installs onnx (pinned,
#    $ONNX_VERSION overrides) and numpy.
# 2. Collects the node test cases with onnx.backend.test.case.node.collect_testcases and writes
#    those whose graph is one node of the listed operators in ONNX's data layout
#    (OUT_DIR/<case>/model.onnx, test_data_set_N/input_I.pb, output_I.pb), as onnx's own
#    `backend-test-tools generate-data` does. The `_expanded` variants (the operator's function
#    body as a multi-node graph of other operators) are listed and left out.
# 3. Runs `cargo run --release -p kbench -- conformance OUT_DIR --json OUT_DIR/results.json`
#    ($KBENCH_PROFILE picks another cargo profile; $KBENCH_BIN runs that kbench binary instead of
#    `cargo run`, e.g. CI's target/debug/kbench, which its `cargo test --workspace` step built).
#
# Exit status: kbench's (0: no FAIL, 1: some FAIL, 2: usage error), or non-zero if a step failed.
set -euo pipefail

t_start=$SECONDS
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/target/onnx-node-tests}
VENV=${ONNX_VENV:-$ROOT/scripts/.venv-onnx}
ONNX_VERSION=${ONNX_VERSION:-1.23.2}
OPS="Conv ConvInteger QLinearConv MatMul Gemm QLinearMatMul MatMulInteger QuantizeLinear DequantizeLinear DynamicQuantizeLinear Relu Clip"

# --- 1. venv ------------------------------------------------------------------------------------
t0=$SECONDS
if ! "$VENV/bin/python" -c "import numpy, onnx, sys; sys.exit(onnx.__version__ != '$ONNX_VERSION')" 2>/dev/null; then
    echo "::: creating $VENV with onnx==$ONNX_VERSION"
    if ! python3 -m venv "$VENV"; then
        # Debian/Ubuntu ship venv's pip bootstrap separately.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq python3-venv
            rm -rf "$VENV"
            python3 -m venv "$VENV"
        else
            echo "onnx-node-tests: python3 -m venv failed (install python3-venv)" >&2
            exit 2
        fi
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "onnx==$ONNX_VERSION" numpy
fi
echo "::: venv ready ($("$VENV/bin/python" -c 'import onnx, numpy; print("onnx", onnx.__version__, "numpy", numpy.__version__)')) in $((SECONDS - t0)) s"

# --- 2. generate the node tests -------------------------------------------------------------------
t0=$SECONDS
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
"$VENV/bin/python" -W ignore - "$OUT" $OPS <<'PY'
import collections
import os
import shutil
import sys

from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node as node_cases

out, ops = sys.argv[1], set(sys.argv[2:])

# Remove what an earlier run wrote (only node-test folders, never anything else in OUT).
for name in os.listdir(out):
    path = os.path.join(out, name)
    if name.startswith("test_") and os.path.isfile(os.path.join(path, "model.onnx")):
        shutil.rmtree(path)

def tensor_bytes(value, name):
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()

kept = collections.Counter()
expanded = []
for case in node_cases.collect_testcases():
    graph = case.model.graph
    if len(graph.node) != 1 or graph.node[0].op_type not in ops:
        if "_expanded" in case.name:
            expanded.append(case.name)
        continue
    case_dir = os.path.join(out, case.name)
    os.makedirs(case_dir)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    for i, (inputs, outputs) in enumerate(case.data_sets):
        set_dir = os.path.join(case_dir, f"test_data_set_{i}")
        os.makedirs(set_dir)
        for j, value in enumerate(inputs):
            with open(os.path.join(set_dir, f"input_{j}.pb"), "wb") as f:
                f.write(tensor_bytes(value, graph.input[j].name))
        for j, value in enumerate(outputs):
            with open(os.path.join(set_dir, f"output_{j}.pb"), "wb") as f:
                f.write(tensor_bytes(value, graph.output[j].name))
    kept[graph.node[0].op_type] += 1

print(f"wrote {sum(kept.values())} single-node cases to {out}:")
for op in sorted(kept):
    print(f"  {op}: {kept[op]}")
missing = sorted(ops - set(kept))
if missing:
    print(f"  (no official node test for: {', '.join(missing)})")
# test_clip_expanded is Clip's function body (Less, Where, ...): a graph of other operators.
kept_names = {name for name in os.listdir(out) if os.path.isfile(os.path.join(out, name, "model.onnx"))}
related = [n for n in expanded if n.split("_expanded")[0] in kept_names]
if related:
    print(f"left out {len(related)} _expanded function-body variants: {' '.join(related)}")
PY
echo "::: generated in $((SECONDS - t0)) s"

# --- 3. run kbench conformance -------------------------------------------------------------------
t0=$SECONDS
cd "$ROOT"
status=0
if [ -n "${KBENCH_BIN-}" ]; then
  "$KBENCH_BIN" conformance "$OUT" --json "$OUT/results.json" || status=$?
else
  cargo run --profile "${KBENCH_PROFILE:-release}" -q -p kbench -- conformance "$OUT" --json "$OUT/results.json" || status=$?
fi
echo "::: kbench conformance (build + run) in $((SECONDS - t0)) s, exit $status"
echo "::: results: $OUT/results.json; total $((SECONDS - t_start)) s"
exit "$status"
