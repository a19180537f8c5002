#!/usr/bin/env python3
"""Time the public workloads with established CPU libraries and put them side by side with
`kbench bench --json`.

Anchors (each checked against a NumPy reference before it is timed; one whose output differs is
timed all the same and marked inexact, since it is what that library's users run):
  * ONNX Runtime: Conv (fp32), QLinearConv (int8; ORT's level-3 optimiser runs it NHWC),
    QLinearMatMul and MatMulInteger (int8 gemm).
  * PyTorch, when `--with-torch` is given and torch imports: NNPACK
    (torch._nnpack_spatial_convolution, if torch._nnpack_available()), oneDNN fp32 conv
    (torch.nn.functional.conv2d), and the quantized engines qnnpack / fbgemm / onednn
    (quantized conv2d and linear).

Usage:
  scripts/compare-anchors.py --workloads bench/workloads.json \
      --kbench-json bench-results/x86_64-zen5/report.json --out bench-results/x86_64-zen5/anchors.md

The script creates a virtual environment in scripts/.venv (numpy, onnx, onnxruntime; torch with
--with-torch) on first use and re-runs itself inside it. Thread count: --threads (default 1).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")


def ensure_venv(with_torch):
    """Re-exec inside scripts/.venv, creating it and installing the extras if needed."""
    if os.environ.get("EDGE_KERNELS_ANCHORS_VENV") == "1":
        return
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    pkgs = ["numpy", "onnx", "onnxruntime"] + (["torch"] if with_torch else [])
    missing = []
    for p in pkgs:
        if subprocess.call([py, "-c", "import " + p], stderr=subprocess.DEVNULL) != 0:
            missing.append(p)
    if missing:
        subprocess.check_call([py, "-m", "pip", "install", "-q"] + missing)
    env = dict(os.environ, EDGE_KERNELS_ANCHORS_VENV="1")
    os.execve(py, [py] + sys.argv, env)


def stats(samples_us):
    import numpy as np

    s = np.sort(np.asarray(samples_us))
    return {
        "n": int(s.size),
        "min": float(s[0]),
        "p10": float(np.percentile(s, 10)),
        "median": float(np.median(s)),
        "mean": float(s.mean()),
        "p90": float(np.percentile(s, 90)),
        "max": float(s[-1]),
        "stddev": float(s.std(ddof=1)) if s.size > 1 else 0.0,
    }


def time_fn(fn, min_time):
    for _ in range(3):
        fn()
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < 5:
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return stats(samples)


# ----------------------------------------------------------------------------------------------
# Data and NumPy references (the workload file's int8 semantics: u8 activations with zero point
# 128, symmetric per-tensor i8 weights, requantized u8 output).

A_SCALE, A_ZP = 0.02, 128
W_SCALE = 0.005
Y_SCALE, Y_ZP = 0.1, 128


def make_data(w, rng):
    import numpy as np

    if w["kind"] == "gemm":
        m, k, n = w["m"], w["k"], w["n"]
        if w["dtype"] == "fp32":
            return rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32)
        return (rng.integers(0, 256, (m, k), dtype=np.uint8),
                rng.integers(-127, 128, (k, n), dtype=np.int8))
    cin, cout, g, k = w["cin"], w["cout"], w.get("groups", 1), w["k"]
    x_shape = (1, cin, w["h"], w["w"])
    w_shape = (cout, cin // g, k, k)
    if w["dtype"] == "fp32":
        return rng.standard_normal(x_shape, np.float32), \
            (rng.standard_normal(w_shape, np.float32) / np.sqrt(cin // g * k * k)).astype(np.float32)
    return rng.integers(0, 256, x_shape, dtype=np.uint8), rng.integers(-127, 128, w_shape, dtype=np.int8)


def conv_ref(x, wt, stride, pad, groups):
    """Direct NCHW convolution in float64 (fp32 inputs) or int64 (integer inputs)."""
    import numpy as np

    acc_t = np.int64 if x.dtype.kind in "iu" else np.float64
    x = x.astype(acc_t)
    wt = wt.astype(acc_t)
    n, cin, h, wd = x.shape
    cout, cin_g, k, _ = wt.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, cout, oh, ow), acc_t)
    cout_g = cout // groups
    for gi in range(groups):
        xs = xp[:, gi * cin_g:(gi + 1) * cin_g]
        ws = wt[gi * cout_g:(gi + 1) * cout_g]
        for ky in range(k):
            for kx in range(k):
                patch = xs[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
                out[:, gi * cout_g:(gi + 1) * cout_g] += np.einsum("nchw,oc->nohw", patch, ws[:, :, ky, kx])
    return out


def requant_ref(acc):
    import numpy as np

    scale = np.float32(A_SCALE) * np.float32(W_SCALE) / np.float32(Y_SCALE)
    v = np.rint(acc.astype(np.float32) * scale) + Y_ZP
    return np.clip(v, 0, 255).astype(np.uint8)


def reference(w, data):
    import numpy as np

    x, wt = data
    if w["kind"] == "gemm":
        if w["dtype"] == "fp32":
            return x.astype(np.float64) @ wt.astype(np.float64)
        acc = (x.astype(np.int64) - A_ZP) @ wt.astype(np.int64)
        return requant_ref(acc)
    if w["dtype"] == "fp32":
        return conv_ref(x, wt, w["stride"], w["pad"], w.get("groups", 1))
    acc = conv_ref(x.astype(np.int64) - A_ZP, wt, w["stride"], w["pad"], w.get("groups", 1))
    return requant_ref(acc)


def check(w, got, want):
    """fp32: max|err| <= 1e-3 * RMS; int8: max |diff| <= 1 (ORT rounds in float)."""
    import numpy as np

    got = np.asarray(got).reshape(want.shape)
    if w["dtype"] == "fp32":
        rms = float(np.sqrt(np.mean(want.astype(np.float64) ** 2))) or 1.0
        err = float(np.max(np.abs(got.astype(np.float64) - want))) / rms
        return err <= 1e-3, "max|err| = %.1e RMS" % err
    d = int(np.max(np.abs(got.astype(np.int64) - want.astype(np.int64))))
    return d <= (0 if want.dtype == np.int64 else 1), "max|diff| = %d" % d


# ----------------------------------------------------------------------------------------------
# ONNX Runtime

def ort_model(w, data, integer=False):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x, wt = data
    inits = []
    if w["kind"] == "gemm":
        if w["dtype"] == "fp32":
            node = helper.make_node("MatMul", ["x", "w"], ["y"])
            inits.append(numpy_helper.from_array(wt, "w"))
            xt, yt = TensorProto.FLOAT, TensorProto.FLOAT
        elif integer:
            node = helper.make_node("MatMulInteger", ["x", "w", "xz", "wz"], ["y"])
            xt, yt = TensorProto.UINT8, TensorProto.INT32
        else:
            node = helper.make_node("QLinearMatMul", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"])
            xt, yt = TensorProto.UINT8, TensorProto.UINT8
    else:
        attrs = dict(kernel_shape=[w["k"], w["k"]], strides=[w["stride"]] * 2, pads=[w["pad"]] * 4,
                     group=w.get("groups", 1))
        if w["dtype"] == "fp32":
            node = helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
            inits.append(numpy_helper.from_array(wt, "w"))
            xt, yt = TensorProto.FLOAT, TensorProto.FLOAT
        else:
            node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], **attrs)
            xt, yt = TensorProto.UINT8, TensorProto.UINT8
    if w["dtype"] == "int8":
        inits += [
            numpy_helper.from_array(np.array(A_SCALE, np.float32), "xs"),
            numpy_helper.from_array(np.array(A_ZP, np.uint8), "xz"),
            numpy_helper.from_array(wt, "w"),
            numpy_helper.from_array(np.array(W_SCALE, np.float32), "ws"),
            numpy_helper.from_array(np.array(0, np.int8), "wz"),
            numpy_helper.from_array(np.array(Y_SCALE, np.float32), "ys"),
            numpy_helper.from_array(np.array(Y_ZP, np.uint8), "yz"),
        ]
    graph = helper.make_graph([node], "anchor", [helper.make_tensor_value_info("x", xt, list(x.shape))],
                              [helper.make_tensor_value_info("y", yt, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def ort_anchors(w, data, threads):
    """[(name, fn, expected or None)]: None means the workload's own reference."""
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # unused-initializer warnings of the MatMulInteger model are noise
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    feed = {"x": data[0]}
    out = []

    def session(integer):
        sess = ort.InferenceSession(ort_model(w, data, integer), so, providers=["CPUExecutionProvider"])
        return lambda: sess.run(None, feed)[0]

    name = {"fp32": "Conv" if w["kind"] == "conv2d" else "MatMul"}.get(
        w["dtype"], "QLinearConv" if w["kind"] == "conv2d" else "QLinearMatMul")
    out.append(("onnxruntime " + ort.__version__ + " " + name, session(False), None))
    if w["kind"] == "gemm" and w["dtype"] == "int8":
        acc = (data[0].astype(np.int64) - A_ZP) @ data[1].astype(np.int64)
        out.append(("onnxruntime " + ort.__version__ + " MatMulInteger (i32 out)", session(True), acc))
    return out


# ----------------------------------------------------------------------------------------------
# PyTorch (optional)

def torch_anchors(w, data, threads):
    try:
        import torch
    except Exception as e:  # torch absent or broken: say so, do not fail
        return [], "torch unavailable: %s" % e
    import warnings

    import numpy as np

    # torch.quantize_per_tensor is deprecated upstream; it is still what the quantized engines take.
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.set_num_threads(threads)
    out = []
    x, wt = data
    if w["kind"] == "conv2d" and w["dtype"] == "fp32":
        xt, wt_t = torch.from_numpy(x), torch.from_numpy(wt)
        g, s, p = w.get("groups", 1), w["stride"], w["pad"]
        out.append(("torch %s oneDNN Conv2d" % torch.__version__,
                    lambda: torch.nn.functional.conv2d(xt, wt_t, None, s, p, 1, g).numpy()))
        if g == 1 and s == 1 and getattr(torch, "_nnpack_available", lambda: False)():
            bias = torch.zeros(wt.shape[0])
            out.append(("torch NNPACK", lambda: torch._nnpack_spatial_convolution(xt, wt_t, bias, [p, p]).numpy()))
    if w["dtype"] == "int8":
        for engine in ("qnnpack", "fbgemm", "onednn"):
            if engine not in torch.backends.quantized.supported_engines:
                continue
            torch.backends.quantized.engine = engine
            qx = torch.quantize_per_tensor(torch.from_numpy(x.astype(np.float32) - A_ZP) * A_SCALE, A_SCALE, A_ZP, torch.quint8)
            qw = torch.quantize_per_tensor(torch.from_numpy(wt.astype(np.float32)) * W_SCALE, W_SCALE, 0, torch.qint8)
            if w["kind"] == "conv2d":
                import torch.ao.nn.quantized.functional as qf

                g, s, p = w.get("groups", 1), w["stride"], w["pad"]
                fn = (lambda qx=qx, qw=qw, g=g, s=s, p=p:
                      qf.conv2d(qx, qw, None, s, p, 1, g, scale=Y_SCALE, zero_point=Y_ZP).int_repr().numpy())
            else:
                packed = torch.ops.quantized.linear_prepack(qw.t().contiguous(), None)
                fn = (lambda qx=qx, packed=packed:
                      torch.ops.quantized.linear(qx, packed, Y_SCALE, Y_ZP).int_repr().numpy())
            out.append(("torch %s quantized %s" % (torch.__version__, engine), fn))
    return out, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=os.path.join(HERE, "..", "bench", "workloads.json"))
    ap.add_argument("--kbench-json", help="kbench bench --json output to merge")
    ap.add_argument("--only", default="", help="comma-separated workload ids")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--with-torch", action="store_true")
    ap.add_argument("--json", help="write anchor timings as JSON here")
    ap.add_argument("--out", help="write the side-by-side Markdown table here")
    args = ap.parse_args()
    ensure_venv(args.with_torch)
    import numpy as np

    workloads = json.load(open(args.workloads))["workloads"]
    if args.only:
        keep = set(args.only.split(","))
        workloads = [w for w in workloads if w["id"] in keep]
    ours = {}
    if args.kbench_json:
        for row in json.load(open(args.kbench_json))["rows"]:
            ours[row["id"]] = row
    rng = np.random.default_rng(7)
    results = []
    torch_note = None
    for w in workloads:
        data = make_data(w, rng)
        want = reference(w, data)
        anchors = ort_anchors(w, data, args.threads)
        if args.with_torch:
            extra, torch_note = torch_anchors(w, data, args.threads)
            anchors += [(n, f, None) for n, f in extra]
        for name, fn, expected in anchors:
            try:
                ok, verdict = check(w, fn(), want if expected is None else expected)
            except Exception as e:
                results.append({"id": w["id"], "anchor": name, "error": str(e)})
                print("%-4s %-45s ERROR %s" % (w["id"], name, e), flush=True)
                continue
            # A wrong output is timed too and marked inexact: it is what the users of that
            # library run (e.g. the saturating `vpmaddubsw` int8 kernels on CPUs without VNNI).
            st = time_fn(fn, args.min_time)
            row = {"id": w["id"], "anchor": name, "check": verdict, "latency_us": st}
            if not ok:
                row["inexact"] = True
            results.append(row)
            print("%-4s %-45s median %9.1f us  (%s%s)" % (
                w["id"], name, st["median"], "INEXACT: " if not ok else "", verdict), flush=True)
    if torch_note:
        print("note:", torch_note)
    lines = ["| id | anchor | anchor median µs | anchor min..max µs | edge-kernels median µs | ratio (ours / anchor) |",
             "|---|---|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append("| %s | %s | %s | | | |" % (r["id"], r["anchor"], r["error"]))
            continue
        o = ours.get(r["id"])
        om = o["latency_us"]["median"] if o else None
        name = r["anchor"] + (" (inexact: %s)" % r["check"] if r.get("inexact") else "")
        name = name.replace("|", "\\|")
        lines.append("| %s | %s | %.1f | %.1f..%.1f | %s | %s |" % (
            r["id"], name, r["latency_us"]["median"], r["latency_us"]["min"], r["latency_us"]["max"],
            "%.1f" % om if om else "-", "%.2f" % (om / r["latency_us"]["median"]) if om else "-"))
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write("Command: `%s`\n\nThreads: %d. Anchors checked against a NumPy reference before timing; "
                    "those whose output differs are timed too and marked inexact.\n\n"
                    % (" ".join(["scripts/compare-anchors.py"] + sys.argv[1:]), args.threads))
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
